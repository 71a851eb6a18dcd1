//! Domain errors as GraphQL errors: the one place that gives each `AppError` its
//! `extensions.code` and the extensions that go with it (`field`, `retryAfter`, `maxAge`, `mfaToken`, `methods`).

use async_graphql::resolver_utils::EnumType;
use async_graphql::{Enum, ErrorExtensions};
use todoql_domain::AppError;

/// Every `extensions.code` the API answers with. Part of the schema so that clients get the
/// list by code generation instead of copying it.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// No valid access token where one is required.
    Unauthenticated,
    /// Signed in, but not allowed.
    Forbidden,
    /// The operation needs a verified email address.
    EmailNotVerified,
    /// An invalid argument or document; `extensions.field` names the input field.
    BadUserInput,
    /// Wrong email/password pair (never says which half was wrong).
    InvalidCredentials,
    /// Unknown, expired, already used or revoked code, token, refresh token or state.
    InvalidToken,
    /// No such object visible to the caller.
    NotFound,
    /// A uniqueness rule.
    Conflict,
    /// Too many attempts; `extensions.retryAfter` says after how many seconds to retry.
    RateLimited,
    /// The change needs a sign-in younger than `extensions.maxAge` seconds.
    ReauthenticationRequired,
    /// The first factor was right and a second is needed: `extensions.mfaToken` (5 minutes,
    /// single use) and `extensions.methods`; finish with verifyMfa. No session exists yet.
    MfaRequired,
    /// `since` is older than the kept change history: fetch the list again.
    ResyncRequired,
    /// Anything else; the cause is logged, never shown.
    InternalServerError,
    /// The document is not GraphQL (a syntax error). HTTP 400 under
    /// `application/graphql-response+json`.
    GraphqlParseFailed,
    /// The document is not valid against the schema (an unknown field, a missing argument…).
    /// HTTP 400 under `application/graphql-response+json`.
    GraphqlValidationFailed,
    /// An Automatic Persisted Query hash the server does not know: send the query with it.
    PersistedQueryNotFound,
}

impl ErrorCode {
    /// The code of a domain error.
    pub fn of(err: &AppError) -> Self {
        match err {
            AppError::Unauthenticated => ErrorCode::Unauthenticated,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::EmailNotVerified => ErrorCode::EmailNotVerified,
            AppError::BadUserInput { .. } => ErrorCode::BadUserInput,
            AppError::InvalidCredentials => ErrorCode::InvalidCredentials,
            AppError::InvalidToken(_) => ErrorCode::InvalidToken,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::RateLimited { .. } => ErrorCode::RateLimited,
            AppError::ReauthenticationRequired { .. } => ErrorCode::ReauthenticationRequired,
            AppError::MfaRequired { .. } => ErrorCode::MfaRequired,
            AppError::ResyncRequired => ErrorCode::ResyncRequired,
            AppError::ProviderUnavailable(_) | AppError::Internal(_) => {
                ErrorCode::InternalServerError
            }
        }
    }

    /// The code as it appears in `extensions.code` (its name in the schema).
    pub fn as_str(self) -> &'static str {
        Self::items()
            .iter()
            .find(|item| item.value == self)
            .map_or("INTERNAL_SERVER_ERROR", |item| item.name)
    }
}

/// A resolver's error: a GraphQL error that carries its extensions. Resolvers use `?` on both
/// domain results and async-graphql results.
#[derive(Debug, Clone)]
pub struct ApiError(async_graphql::Error);

/// A resolver's result.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl From<async_graphql::Error> for ApiError {
    fn from(err: async_graphql::Error) -> Self {
        ApiError(err)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        err.0
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        ApiError(to_graphql(err))
    }
}

/// The GraphQL error of a domain error.
pub fn to_graphql(err: AppError) -> async_graphql::Error {
    if let AppError::Internal(cause) = &err {
        // Logged inside the request span, so the line carries the request id.
        tracing::error!(error = ?cause, "internal error");
        metrics::counter!("todoql_internal_errors_total").increment(1);
    }
    let code = ErrorCode::of(&err).as_str();
    async_graphql::Error::new(err.message()).extend_with(|_, ext| {
        ext.set("code", code);
        match &err {
            AppError::BadUserInput { field, .. } => ext.set("field", field.as_str()),
            AppError::RateLimited { retry_after_secs } => ext.set("retryAfter", *retry_after_secs),
            AppError::ReauthenticationRequired { max_age_secs } => ext.set("maxAge", *max_age_secs),
            AppError::MfaRequired { mfa_token, methods } => {
                ext.set("mfaToken", mfa_token.as_str());
                ext.set("methods", methods.clone());
            }
            _ => {}
        }
    })
}
