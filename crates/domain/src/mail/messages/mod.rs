//! The texts of every mail: a subject, a plain-text part (the 6-digit code on a line of its own
//! when the flow has one, and the full link `{app_url}/{page}?token=...`) and an HTML part.
//! The wording lives in `templates/` ([`bodies`] names what each template shows); the HTML part
//! is escaped by the template engine, so an address with markup in it shows as text.

mod bodies;
mod pages;

pub use pages::{LinkPages, link_pages};

use bodies::render;
use chrono::{DateTime, Utc};
use todoql_entity::email_outbox::MailKind;

/// A composed mail, ready for the outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct MailContent {
    /// What it is for: verify_email, sign_in, password_reset, change_email, password_changed,
    /// email_changed.
    pub kind: MailKind,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

impl std::fmt::Debug for MailContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The parts hold live codes and links.
        f.debug_struct("MailContent")
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// `{app_url}/{page}?token={token}`. Tokens are base64url, so they need no escaping.
pub fn link(app_url: &str, page: &str, token: &str) -> String {
    format!("{}/{page}?token={token}", app_url.trim_end_matches('/'))
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The verification mail (sign-up and sendVerificationEmail).
pub fn verify_email(
    app_url: &str,
    code: &str,
    token: &str,
    expires_in_minutes: i64,
) -> MailContent {
    let subject = "Verify your email address for todoql";
    let url = &link(app_url, link_pages().verify_email, token);
    MailContent {
        kind: MailKind::VerifyEmail,
        subject: subject.to_owned(),
        text: render(&bodies::VerifyEmailText {
            code,
            url,
            expires_in_minutes,
        }),
        html: render(&bodies::VerifyEmailHtml {
            subject,
            code,
            url,
            expires_in_minutes,
        }),
    }
}

/// The passwordless sign-in mail. The same text whether or not the address has an account.
pub fn sign_in(app_url: &str, code: &str, token: &str, expires_in_minutes: i64) -> MailContent {
    let subject = "Your todoql sign-in code";
    let url = &link(app_url, link_pages().sign_in, token);
    MailContent {
        kind: MailKind::SignIn,
        subject: subject.to_owned(),
        text: render(&bodies::SignInText {
            code,
            url,
            expires_in_minutes,
        }),
        html: render(&bodies::SignInHtml {
            subject,
            code,
            url,
            expires_in_minutes,
        }),
    }
}

/// The password-reset mail (a link only: a 6-digit code would be too easy to guess for a
/// 30-minute secret that takes over an account).
pub fn password_reset(app_url: &str, token: &str, expires_in_minutes: i64) -> MailContent {
    let subject = "Reset your todoql password";
    let url = &link(app_url, link_pages().reset_password, token);
    MailContent {
        kind: MailKind::PasswordReset,
        subject: subject.to_owned(),
        text: render(&bodies::PasswordResetText {
            url,
            expires_in_minutes,
        }),
        html: render(&bodies::PasswordResetHtml {
            subject,
            url,
            expires_in_minutes,
        }),
    }
}

/// The confirmation mail of an email change, sent to the NEW address.
pub fn email_change(
    app_url: &str,
    new_email: &str,
    code: &str,
    token: &str,
    expires_in_minutes: i64,
) -> MailContent {
    let subject = "Confirm your new email address for todoql";
    let url = &link(app_url, link_pages().confirm_email, token);
    MailContent {
        kind: MailKind::ChangeEmail,
        subject: subject.to_owned(),
        text: render(&bodies::EmailChangeText {
            new_email,
            code,
            url,
            expires_in_minutes,
        }),
        html: render(&bodies::EmailChangeHtml {
            subject,
            new_email,
            code,
            url,
            expires_in_minutes,
        }),
    }
}

/// The security notice after a password change or reset.
pub fn password_changed(at: DateTime<Utc>) -> MailContent {
    let subject = "Your todoql password was changed";
    let changed_at = &stamp(at);
    MailContent {
        kind: MailKind::PasswordChanged,
        subject: subject.to_owned(),
        text: render(&bodies::PasswordChangedText { changed_at }),
        html: render(&bodies::PasswordChangedHtml {
            subject,
            changed_at,
        }),
    }
}

/// The security notice after an email change, sent to the OLD address.
pub fn email_changed(old_email: &str, new_email: &str, at: DateTime<Utc>) -> MailContent {
    let subject = "Your todoql email address was changed";
    let changed_at = &stamp(at);
    MailContent {
        kind: MailKind::EmailChanged,
        subject: subject.to_owned(),
        text: render(&bodies::EmailChangedText {
            old_email,
            new_email,
            changed_at,
        }),
        html: render(&bodies::EmailChangedHtml {
            subject,
            old_email,
            new_email,
            changed_at,
        }),
    }
}

#[cfg(test)]
mod tests;
