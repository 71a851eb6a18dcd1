//! The texts of every mail: a subject, a plain-text part (the 6-digit code on a line of its own
//! when the flow has one, and the full link `{app_url}/{page}?token=...`) and an HTML part.
//! Mails hold only server-made text and addresses; anything from a user is HTML-escaped.

use chrono::{DateTime, Utc};

/// The frontend page of a link: `{app_url}/verify-email?token=...`.
pub const VERIFY_EMAIL_PAGE: &str = "verify-email";
/// The frontend page of a sign-in link.
pub const SIGN_IN_PAGE: &str = "sign-in";
/// The frontend page of a password-reset link.
pub const RESET_PASSWORD_PAGE: &str = "reset-password";
/// The frontend page of an email-change link.
pub const CONFIRM_EMAIL_PAGE: &str = "confirm-email";

/// A composed mail, ready for the outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct MailContent {
    /// What it is for: verify_email, sign_in, password_reset, change_email, password_changed,
    /// email_changed.
    pub kind: &'static str,
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

/// Escapes text for HTML content and attribute values.
pub fn escape_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Paragraphs of plain text, each already escaped, into the shared HTML frame.
fn html_page(subject: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5; color: #222;\">\n{body}\
         <p style=\"color: #777; font-size: 12px;\">todoql</p>\n</body>\n</html>\n",
        escape_html(subject)
    )
}

fn html_code(code: &str) -> String {
    format!(
        "<p style=\"font-size: 28px; font-weight: bold; letter-spacing: 6px;\">{}</p>\n",
        escape_html(code)
    )
}

fn html_link(url: &str, label: &str) -> String {
    let url = escape_html(url);
    format!(
        "<p><a href=\"{url}\">{}</a></p>\n<p style=\"font-size: 12px;\">Or copy this link into \
         your browser: {url}</p>\n",
        escape_html(label)
    )
}

fn html_p(text: &str) -> String {
    format!("<p>{}</p>\n", escape_html(text))
}

/// The verification mail (sign-up and sendVerificationEmail).
pub fn verify_email(
    app_url: &str,
    code: &str,
    token: &str,
    expires_in_minutes: i64,
) -> MailContent {
    let subject = "Verify your email address for todoql".to_owned();
    let url = link(app_url, VERIFY_EMAIL_PAGE, token);
    let expiry = format!(
        "The code and the link work once and expire in {expires_in_minutes} minutes. \
         If you did not create a todoql account, ignore this mail."
    );
    let text = format!(
        "Confirm that this address is yours. Your verification code is:\n\n{code}\n\n\
         Or open this link:\n{url}\n\n{expiry}\n"
    );
    let html = html_page(
        &subject,
        &[
            html_p("Confirm that this address is yours. Your verification code is:"),
            html_code(code),
            html_link(&url, "Verify my address"),
            html_p(&expiry),
        ]
        .concat(),
    );
    MailContent {
        kind: "verify_email",
        subject,
        text,
        html,
    }
}

/// The passwordless sign-in mail. The same text whether or not the address has an account.
pub fn sign_in(app_url: &str, code: &str, token: &str, expires_in_minutes: i64) -> MailContent {
    let subject = "Your todoql sign-in code".to_owned();
    let url = link(app_url, SIGN_IN_PAGE, token);
    let expiry = format!(
        "The code and the link work once and expire in {expires_in_minutes} minutes. \
         If you did not ask to sign in, ignore this mail: nobody can sign in without it."
    );
    let text = format!(
        "Your code to sign in to todoql is:\n\n{code}\n\nOr open this link:\n{url}\n\n{expiry}\n"
    );
    let html = html_page(
        &subject,
        &[
            html_p("Your code to sign in to todoql is:"),
            html_code(code),
            html_link(&url, "Sign in"),
            html_p(&expiry),
        ]
        .concat(),
    );
    MailContent {
        kind: "sign_in",
        subject,
        text,
        html,
    }
}

/// The password-reset mail (a link only: a 6-digit code would be too easy to guess for a
/// 30-minute secret that takes over an account).
pub fn password_reset(app_url: &str, token: &str, expires_in_minutes: i64) -> MailContent {
    let subject = "Reset your todoql password".to_owned();
    let url = link(app_url, RESET_PASSWORD_PAGE, token);
    let expiry = format!(
        "The link works once and expires in {expires_in_minutes} minutes. If you did not ask \
         for it, ignore this mail: your password stays as it is."
    );
    let text = format!("Open this link to choose a new password:\n{url}\n\n{expiry}\n");
    let html = html_page(
        &subject,
        &[
            html_p("Open this link to choose a new password:"),
            html_link(&url, "Choose a new password"),
            html_p(&expiry),
        ]
        .concat(),
    );
    MailContent {
        kind: "password_reset",
        subject,
        text,
        html,
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
    let subject = "Confirm your new email address for todoql".to_owned();
    let url = link(app_url, CONFIRM_EMAIL_PAGE, token);
    let intro = format!(
        "Someone signed in to todoql asked to use {new_email} as their address. \
         Your confirmation code is:"
    );
    let expiry = format!(
        "The code and the link work once and expire in {expires_in_minutes} minutes. \
         If you did not ask for this, ignore this mail: nothing changes without it."
    );
    let text = format!("{intro}\n\n{code}\n\nOr open this link:\n{url}\n\n{expiry}\n");
    let html = html_page(
        &subject,
        &[
            html_p(&intro),
            html_code(code),
            html_link(&url, "Confirm my new address"),
            html_p(&expiry),
        ]
        .concat(),
    );
    MailContent {
        kind: "change_email",
        subject,
        text,
        html,
    }
}

/// The security notice after a password change or reset.
pub fn password_changed(at: DateTime<Utc>) -> MailContent {
    let subject = "Your todoql password was changed".to_owned();
    let body = format!(
        "The password of your todoql account was changed on {}. Your other sessions were \
         signed out.",
        stamp(at)
    );
    let advice = "If this was you, there is nothing to do. If it was not, reset your \
                  password right away from the sign-in page.";
    let text = format!("{body}\n\n{advice}\n");
    let html = html_page(&subject, &[html_p(&body), html_p(advice)].concat());
    MailContent {
        kind: "password_changed",
        subject,
        text,
        html,
    }
}

/// The security notice after an email change, sent to the OLD address.
pub fn email_changed(old_email: &str, new_email: &str, at: DateTime<Utc>) -> MailContent {
    let subject = "Your todoql email address was changed".to_owned();
    let body = format!(
        "The address of your todoql account was changed from {old_email} to {new_email} on {}. \
         Mail for the account now goes to the new address.",
        stamp(at)
    );
    let advice = "If this was you, there is nothing to do. If it was not, someone else may \
                  control your account: contact the service's support.";
    let text = format!("{body}\n\n{advice}\n");
    let html = html_page(&subject, &[html_p(&body), html_p(advice)].concat());
    MailContent {
        kind: "email_changed",
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests;
