//! The frontend pages that mail links open, read from `pages.json`: the one list that the mails
//! and the example web app (`examples/web`, which imports the same file for its routes) share,
//! so that renaming a page in one cannot leave the other pointing at a page that is gone.

use serde::Deserialize;
use std::sync::LazyLock;

/// The path segment of each page a mail links to: `{app_url}/{page}?token=...`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkPages {
    /// The page of a verification link.
    pub verify_email: &'static str,
    /// The page of a sign-in link.
    pub sign_in: &'static str,
    /// The page of a password-reset link.
    pub reset_password: &'static str,
    /// The page of an email-change link.
    pub confirm_email: &'static str,
}

static LINK_PAGES: LazyLock<LinkPages> = LazyLock::new(|| {
    // The file is compiled in, so it either parses on every run or on none: the tests parse it
    // (and check each page is a plain path segment), so a broken file cannot pass them.
    serde_json::from_str(include_str!("pages.json")).expect("pages.json is checked by the tests")
});

/// The pages mail links open, parsed once.
pub fn link_pages() -> &'static LinkPages {
    &LINK_PAGES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_is_one_plain_path_segment_and_no_two_are_the_same() {
        let pages = link_pages();
        let all = [
            pages.verify_email,
            pages.sign_in,
            pages.reset_password,
            pages.confirm_email,
        ];
        for page in all {
            assert!(!page.is_empty());
            assert!(
                page.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{page:?} must need no escaping in a URL or in HTML"
            );
        }
        let mut distinct = all.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), all.len(), "{all:?}");
    }
}
