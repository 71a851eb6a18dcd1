//! A mail waiting to be sent. Deleted once sent, since its text holds a live code or link.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_name = "to")]
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub kind: MailKind,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// Set while a sender holds the row, so two instances never send one mail twice.
    pub locked_until: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
}

/// What a queued mail is, stored as its string value. Every kind but
/// `PasswordResetRequest` is a finished mail; that one is a job whose text the sender has
/// written at send time (see the domain's mail jobs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum MailKind {
    /// The code and link that prove an address.
    #[sea_orm(string_value = "verify_email")]
    VerifyEmail,
    /// The passwordless sign-in code and link.
    #[sea_orm(string_value = "sign_in")]
    SignIn,
    /// The password-reset link.
    #[sea_orm(string_value = "password_reset")]
    PasswordReset,
    /// The confirmation code and link of a new address.
    #[sea_orm(string_value = "change_email")]
    ChangeEmail,
    /// The notice after a password change or reset.
    #[sea_orm(string_value = "password_changed")]
    PasswordChanged,
    /// The notice to the old address after an address change.
    #[sea_orm(string_value = "email_changed")]
    EmailChanged,
    /// A reset request not yet looked at: names an address, holds no text.
    #[sea_orm(string_value = "password_reset_request")]
    PasswordResetRequest,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
