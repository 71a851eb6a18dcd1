//! One error type for the whole domain. Each variant is one `extensions.code` of the contract.
//!
//! The schema (`todoql-graphql`) turns each variant into its `extensions.code` and extensions;
//! `AppError` deliberately does not implement `Display`, because async-graphql has a blanket
//! `From<T: Display>` conversion that would silently drop them.

use sea_orm::{DbErr, SqlErr};

/// A failure that a client sees as a GraphQL error with `extensions.code`.
#[derive(Debug)]
pub enum AppError {
    /// No valid access token where one is required.
    Unauthenticated,
    /// Signed in, but not allowed.
    Forbidden(String),
    /// The operation needs a verified email address.
    EmailNotVerified,
    /// An invalid argument; `field` names the input field.
    BadUserInput { field: String, message: String },
    /// Wrong email/password pair (never says which half was wrong).
    InvalidCredentials,
    /// Unknown, expired, already used or revoked code, token, refresh token or state.
    InvalidToken(String),
    /// No such object visible to the caller.
    NotFound(String),
    /// A uniqueness rule.
    Conflict(String),
    /// Too many attempts; the client may retry after this many seconds.
    RateLimited { retry_after_secs: u64 },
    /// The first factor was right; the account has a second one. Nothing is signed in yet:
    /// `verifyMfa` with `mfa_token` and one of `methods` finishes the sign-in.
    MfaRequired {
        mfa_token: String,
        methods: Vec<&'static str>,
    },
    /// A sensitive change needs a sign-in less than `max_age_secs` old (or the current
    /// password, where the operation takes one).
    ReauthenticationRequired { max_age_secs: u64 },
    /// `since` is older than the kept change history: the client fetches the list again.
    ResyncRequired,
    /// An outside service (an OAuth provider) failed. Shown as INTERNAL_SERVER_ERROR with a
    /// message that names the provider but no internals; the cause is logged where it happens.
    ProviderUnavailable(String),
    /// Anything else. The cause is logged, never shown.
    Internal(anyhow::Error),
}

/// Shorthand for domain results.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// BAD_USER_INPUT for `field`.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An internal error from any cause.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(cause.into())
    }

    /// The message a client sees. An internal error's cause is never shown.
    pub fn message(&self) -> String {
        match self {
            AppError::Unauthenticated => "You must be signed in to do this.".into(),
            AppError::Forbidden(m)
            | AppError::InvalidToken(m)
            | AppError::NotFound(m)
            | AppError::Conflict(m)
            | AppError::ProviderUnavailable(m) => m.clone(),
            AppError::EmailNotVerified => "Verify your email address first.".into(),
            AppError::BadUserInput { message, .. } => message.clone(),
            AppError::InvalidCredentials => "Invalid email or password.".into(),
            AppError::RateLimited { retry_after_secs } => {
                format!("Too many attempts. Try again in {retry_after_secs} seconds.")
            }
            AppError::MfaRequired { .. } => "Enter a code from your authenticator app, or a \
                 recovery code, to finish signing in (verifyMfa)."
                .into(),
            AppError::ReauthenticationRequired { max_age_secs } => format!(
                "Sign in again to do this: it needs a sign-in less than {max_age_secs} seconds old."
            ),
            AppError::ResyncRequired => {
                "The changes after this revision are no longer kept: fetch the list again.".into()
            }
            AppError::Internal(_) => "Internal server error.".into(),
        }
    }

    /// Maps a unique-constraint violation to CONFLICT with `message`; any other database error
    /// stays internal.
    pub fn conflict_on_unique(err: DbErr, message: &str) -> Self {
        if is_unique_violation(&err) {
            AppError::Conflict(message.to_owned())
        } else {
            AppError::from(err)
        }
    }
}

/// True when the database refused a write because of a unique index.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        AppError::Internal(anyhow::Error::new(err))
    }
}
