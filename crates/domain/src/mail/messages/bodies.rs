//! The values each mail's templates show (`templates/`): a text part per mail, and an HTML part
//! per mail that fills the shared frame `layout.html`.
//!
//! Why askama rather than minijinja: askama compiles the templates into the binary and checks
//! them with the compiler, so a misspelt variable or an unclosed tag fails the build instead of
//! a mail at run time, and nothing is parsed at start-up. Its HTML escaping (chosen by the
//! `.html` extension) touches only the values, while minijinja's also turns every `/` of a link
//! into `&#x2f;`. The text parts (`.txt`) are not escaped: they are plain text.

use askama::Template;

/// Renders one part of a mail.
pub(super) fn render(part: &impl Template) -> String {
    // What askama leaves to run time is writing each value with its `Display`, and the values
    // here are strings and integers, whose `Display` cannot fail; the tests render every mail,
    // so a template that could fail would not pass them.
    let mut rendered = part
        .render()
        .expect("mail parts show strings and integers only");
    // askama drops the final newline of a template file, as Jinja does; a part ends with one.
    rendered.push('\n');
    rendered
}

#[derive(Template)]
#[template(path = "verify_email.txt")]
pub(super) struct VerifyEmailText<'a> {
    pub code: &'a str,
    pub url: &'a str,
    pub expires_in_minutes: i64,
}

#[derive(Template)]
#[template(path = "verify_email.html")]
pub(super) struct VerifyEmailHtml<'a> {
    pub subject: &'a str,
    pub code: &'a str,
    pub url: &'a str,
    pub expires_in_minutes: i64,
}

#[derive(Template)]
#[template(path = "sign_in.txt")]
pub(super) struct SignInText<'a> {
    pub code: &'a str,
    pub url: &'a str,
    pub expires_in_minutes: i64,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub(super) struct SignInHtml<'a> {
    pub subject: &'a str,
    pub code: &'a str,
    pub url: &'a str,
    pub expires_in_minutes: i64,
}

#[derive(Template)]
#[template(path = "password_reset.txt")]
pub(super) struct PasswordResetText<'a> {
    pub url: &'a str,
    pub expires_in_minutes: i64,
}

#[derive(Template)]
#[template(path = "password_reset.html")]
pub(super) struct PasswordResetHtml<'a> {
    pub subject: &'a str,
    pub url: &'a str,
    pub expires_in_minutes: i64,
}

#[derive(Template)]
#[template(path = "email_change.txt")]
pub(super) struct EmailChangeText<'a> {
    pub new_email: &'a str,
    pub code: &'a str,
    pub url: &'a str,
    pub expires_in_minutes: i64,
}

#[derive(Template)]
#[template(path = "email_change.html")]
pub(super) struct EmailChangeHtml<'a> {
    pub subject: &'a str,
    pub new_email: &'a str,
    pub code: &'a str,
    pub url: &'a str,
    pub expires_in_minutes: i64,
}

#[derive(Template)]
#[template(path = "password_changed.txt")]
pub(super) struct PasswordChangedText<'a> {
    pub changed_at: &'a str,
}

#[derive(Template)]
#[template(path = "password_changed.html")]
pub(super) struct PasswordChangedHtml<'a> {
    pub subject: &'a str,
    pub changed_at: &'a str,
}

#[derive(Template)]
#[template(path = "email_changed.txt")]
pub(super) struct EmailChangedText<'a> {
    pub old_email: &'a str,
    pub new_email: &'a str,
    pub changed_at: &'a str,
}

#[derive(Template)]
#[template(path = "email_changed.html")]
pub(super) struct EmailChangedHtml<'a> {
    pub subject: &'a str,
    pub old_email: &'a str,
    pub new_email: &'a str,
    pub changed_at: &'a str,
}
