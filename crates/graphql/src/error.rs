//! One error type for the whole domain. Each variant is one `extensions.code` of the contract.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql has a blanket
//! `From<T: Display>` conversion that would silently drop our extensions. The only way out of
//! this type into GraphQL is [`From<AppError> for async_graphql::Error`], below.

use async_graphql::ErrorExtensions;
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
    /// A sensitive change needs a sign-in less than `max_age_secs` old (or the current
    /// password, where the operation takes one).
    ReauthenticationRequired { max_age_secs: u64 },
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

    /// The contract's `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            AppError::BadUserInput { .. } => "BAD_USER_INPUT",
            AppError::InvalidCredentials => "INVALID_CREDENTIALS",
            AppError::InvalidToken(_) => "INVALID_TOKEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::Conflict(_) => "CONFLICT",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::ReauthenticationRequired { .. } => "REAUTHENTICATION_REQUIRED",
            AppError::ProviderUnavailable(_) | AppError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    fn message(&self) -> String {
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
            AppError::ReauthenticationRequired { max_age_secs } => format!(
                "Sign in again to do this: it needs a sign-in less than {max_age_secs} seconds old."
            ),
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

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        if let AppError::Internal(cause) = &err {
            // Logged inside the request span, so the line carries the request id.
            tracing::error!(error = ?cause, "internal error");
            metrics::counter!("todoql_internal_errors_total").increment(1);
        }
        let code = err.code();
        let base = async_graphql::Error::new(err.message());
        base.extend_with(|_, ext| {
            ext.set("code", code);
            match &err {
                AppError::BadUserInput { field, .. } => ext.set("field", field.as_str()),
                AppError::RateLimited { retry_after_secs } => {
                    ext.set("retryAfter", *retry_after_secs)
                }
                AppError::ReauthenticationRequired { max_age_secs } => {
                    ext.set("maxAge", *max_age_secs)
                }
                _ => {}
            }
        })
    }
}
