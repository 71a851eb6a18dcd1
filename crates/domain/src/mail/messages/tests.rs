//! Snapshots of every mail (subject, text part and HTML part) with a fixed code, token and time:
//! a change of wording or markup shows up as a diff in `snapshots/` to review and accept.
//! Besides the snapshots, a few properties that every mail must keep whatever its wording.

use super::*;
use sea_orm::ActiveEnum;

const APP: &str = "https://app.example.com";
const CODE: &str = "042917";
const TOKEN: &str = "tOkEn_-0123456789abcdefghijklmnopqrstuvwxy";
/// An address with every character that HTML escaping must handle. Address validation accepts
/// such a quoted local part, so the mails must show it as text, never as markup.
const HOSTILE_EMAIL: &str = "\"<script>&'\"@example.com";

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T10:05:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// One document per mail with its three parts between markers, so that the exact whitespace
/// of each part (its trailing newline included, which insta would trim from a snapshot of a
/// part alone) is under review too.
fn document(mail: &MailContent) -> String {
    format!(
        "kind: {}\nsubject: {}\n----- text -----\n{}----- html -----\n{}----- end -----\n",
        mail.kind.to_value(),
        mail.subject,
        mail.text,
        mail.html
    )
}

fn assert_mail_snapshot(name: &str, mail: &MailContent) {
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, document(mail));
    });
}

#[test]
fn verify_email_snapshot() {
    assert_mail_snapshot("verify_email", &verify_email(APP, CODE, TOKEN, 15));
}

#[test]
fn sign_in_snapshot() {
    assert_mail_snapshot("sign_in", &sign_in(APP, CODE, TOKEN, 15));
}

#[test]
fn password_reset_snapshot() {
    assert_mail_snapshot("password_reset", &password_reset(APP, TOKEN, 30));
}

#[test]
fn email_change_snapshot() {
    assert_mail_snapshot(
        "email_change",
        &email_change(APP, "new@example.com", CODE, TOKEN, 15),
    );
}

#[test]
fn email_change_to_an_address_with_markup_snapshot() {
    assert_mail_snapshot(
        "email_change_escaped",
        &email_change(APP, HOSTILE_EMAIL, CODE, TOKEN, 15),
    );
}

#[test]
fn password_changed_snapshot() {
    assert_mail_snapshot("password_changed", &password_changed(at()));
}

#[test]
fn email_changed_snapshot() {
    assert_mail_snapshot(
        "email_changed",
        &email_changed("old@example.com", "new@example.com", at()),
    );
}

#[test]
fn email_changed_between_addresses_with_markup_snapshot() {
    assert_mail_snapshot(
        "email_changed_escaped",
        &email_changed(HOSTILE_EMAIL, "new<b>@example.com", at()),
    );
}

#[test]
fn user_provided_text_is_escaped_in_html_and_verbatim_in_text() {
    for mail in [
        email_change(APP, HOSTILE_EMAIL, CODE, TOKEN, 15),
        email_changed(HOSTILE_EMAIL, HOSTILE_EMAIL, at()),
    ] {
        assert!(mail.text.contains(HOSTILE_EMAIL), "{:?}", mail.kind);
        assert!(!mail.html.contains("<script>"), "{:?}", mail.kind);
        assert!(!mail.html.contains(HOSTILE_EMAIL), "{:?}", mail.kind);
    }
}

/// Every mail with the fixed inputs, the ones with markup in addresses included.
fn every_mail() -> Vec<MailContent> {
    vec![
        verify_email(APP, CODE, TOKEN, 15),
        sign_in(APP, CODE, TOKEN, 15),
        password_reset(APP, TOKEN, 30),
        email_change(APP, "new@example.com", CODE, TOKEN, 15),
        email_change(APP, HOSTILE_EMAIL, CODE, TOKEN, 15),
        password_changed(at()),
        email_changed("old@example.com", "new@example.com", at()),
        email_changed(HOSTILE_EMAIL, "new<b>@example.com", at()),
    ]
}

/// The HTML part as a reader sees it: tags dropped and the template engine's entities decoded.
fn visible_text(html: &str) -> String {
    let mut visible = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => visible.push(c),
            _ => {}
        }
    }
    visible
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

#[test]
fn the_html_part_says_everything_the_text_part_says() {
    // Each mail's wording is written twice, in its .txt and its .html template: this keeps the
    // two from drifting apart. The text part's "Or open this link:" is the anchor's label there.
    for mail in every_mail() {
        let visible = visible_text(&mail.html);
        for line in mail.text.lines() {
            if line.is_empty() || line == "Or open this link:" {
                continue;
            }
            assert!(
                visible.contains(line),
                "{:?}: the HTML part lacks {line:?}",
                mail.kind
            );
        }
    }
}

#[test]
fn every_part_ends_with_one_newline() {
    for mail in every_mail() {
        for part in [&mail.text, &mail.html] {
            assert!(
                part.ends_with('\n') && !part.ends_with("\n\n"),
                "{:?}",
                mail.kind
            );
        }
    }
}

#[test]
fn every_code_mail_has_the_code_on_a_line_of_its_own_and_the_full_link() {
    for (mail, page) in [
        (verify_email(APP, CODE, TOKEN, 15), "verify-email"),
        (sign_in(APP, CODE, TOKEN, 15), "sign-in"),
        (
            email_change(APP, "n@example.com", CODE, TOKEN, 15),
            "confirm-email",
        ),
    ] {
        let url = format!("{APP}/{page}?token={TOKEN}");
        assert!(mail.text.lines().any(|l| l == CODE), "{:?}", mail.kind);
        assert!(mail.text.lines().any(|l| l == url), "{:?}", mail.kind);
        assert!(mail.html.contains(CODE), "{:?}", mail.kind);
        assert!(
            mail.html.contains(&format!("href=\"{url}\"")),
            "{:?}",
            mail.kind
        );
    }
}

#[test]
fn the_reset_mail_carries_the_link_and_no_code() {
    let mail = password_reset(APP, TOKEN, 30);
    let url = format!("{APP}/reset-password?token={TOKEN}");
    assert!(mail.text.lines().any(|l| l == url));
    assert!(mail.html.contains(&format!("href=\"{url}\"")));
}

#[test]
fn a_trailing_slash_of_the_app_url_does_not_double() {
    assert_eq!(
        link("http://localhost:3000/", "sign-in", "t"),
        "http://localhost:3000/sign-in?token=t"
    );
}
