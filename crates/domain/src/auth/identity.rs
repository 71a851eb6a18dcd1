//! Validation and normalisation of what identifies and describes a user: email, username,
//! avatar.

use crate::error::{AppError, AppResult};
use email_address::{EmailAddress, Options};

/// Longest accepted address (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 50;
/// Longest avatar URL, in characters.
pub const MAX_AVATAR_CHARS: usize = 2048;

/// Trims and lowercases an address and checks its syntax; BAD_USER_INPUT on `field` otherwise.
pub fn normalize_email(raw: &str, field: &str) -> AppResult<String> {
    let email = raw.trim().to_lowercase();
    let options = Options::default()
        .without_display_text()
        .without_domain_literal()
        .with_required_tld();
    if email.is_empty() {
        return Err(AppError::bad_input(field, "Enter an email address."));
    }
    // Requests were checked already; an address from an OAuth provider was not (a quoted
    // local part may hold control characters).
    if email.len() > MAX_EMAIL_LEN
        || crate::input::check_text(&email, crate::input::TextKind::Line).is_err()
        || EmailAddress::parse_with_options(&email, options).is_err()
    {
        return Err(AppError::bad_input(
            field,
            "This is not a valid email address.",
        ));
    }
    Ok(email)
}

/// Trims a username and checks it is 1–50 characters.
pub fn validate_username(raw: &str) -> AppResult<String> {
    let username = raw.trim();
    let chars = username.chars().count();
    if chars == 0 {
        return Err(AppError::bad_input(
            "username",
            "Username must not be empty.",
        ));
    }
    if chars > MAX_USERNAME_CHARS {
        return Err(AppError::bad_input(
            "username",
            format!("Username must be at most {MAX_USERNAME_CHARS} characters."),
        ));
    }
    // Requests were checked already; a name from an OAuth profile was not.
    if crate::input::check_text(username, crate::input::TextKind::Line).is_err() {
        return Err(AppError::bad_input(
            "username",
            "Username must not contain control characters.",
        ));
    }
    Ok(username.to_owned())
}

/// The default username: the part of the address before `@`, cut to 50 characters.
pub fn username_from_email(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email);
    local.chars().take(MAX_USERNAME_CHARS).collect()
}

/// Checks an avatar URL: https, with a host, at most 2048 characters.
pub fn validate_avatar(raw: &str) -> AppResult<String> {
    let avatar = raw.trim();
    if avatar.chars().count() > MAX_AVATAR_CHARS {
        return Err(AppError::bad_input(
            "avatar",
            format!("Avatar URL must be at most {MAX_AVATAR_CHARS} characters."),
        ));
    }
    match url::Url::parse(avatar) {
        Ok(url) if url.scheme() == "https" && url.host().is_some() => Ok(avatar.to_owned()),
        _ => Err(AppError::bad_input(
            "avatar",
            "Avatar must be an https URL.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ", "email").unwrap(),
            "ada@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_bad_input_on_the_field() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "Ada <ada@example.com>",
            "ada@localhost",
        ] {
            match normalize_email(bad, "email") {
                Err(AppError::BadUserInput { field, .. }) => assert_eq!(field, "email"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn avatar_must_be_https() {
        assert!(validate_avatar("https://example.com/a.png").is_ok());
        assert!(validate_avatar("http://example.com/a.png").is_err());
        assert!(validate_avatar("javascript:alert(1)").is_err());
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert!(validate_avatar(&long).is_err());
    }

    #[test]
    fn username_defaults_to_the_local_part() {
        assert_eq!(
            username_from_email("ada.lovelace@example.com"),
            "ada.lovelace"
        );
    }
}
