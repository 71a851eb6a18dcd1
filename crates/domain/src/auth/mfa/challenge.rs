//! Pending sign-ins: a first factor was accepted for an account with a second one. The client
//! holds an mfaToken (stored only as its SHA-256); the row lives 5 minutes, takes at most 5
//! answers, and is consumed by the answer that finishes the sign-in.

use crate::auth::client::AuthMethod;
use crate::error::{AppError, AppResult};
use crate::secrets::{random_token, sha256_hex};
use crate::state::{AppState, Ctx};
use chrono::Duration;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use todoql_entity::mfa_challenge;
use uuid::Uuid;

/// How long an mfaToken lives.
pub const TTL_MINUTES: i64 = 5;
/// Answers one mfaToken takes, right or wrong; then it is dead.
pub const MAX_ANSWERS: i32 = 5;

/// MFA_REQUIRED's content: the token and the second factors the user can give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The opaque mfaToken.
    pub mfa_token: String,
    /// `TOTP` (when the server can read authenticator secrets) and `RECOVERY_CODE`.
    pub methods: Vec<&'static str>,
}

impl From<Pending> for AppError {
    fn from(pending: Pending) -> Self {
        AppError::MfaRequired {
            mfa_token: pending.mfa_token,
            methods: pending.methods,
        }
    }
}

/// Opens a pending sign-in of `user_id` whose first factor was `first` (through `provider`).
pub(crate) async fn open<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
    first: AuthMethod,
    provider: Option<&str>,
) -> AppResult<Pending> {
    let now = cx.now();
    let token = random_token();
    mfa_challenge::ActiveModel {
        id: Set(Uuid::now_v7()),
        token_hash: Set(sha256_hex(&token)),
        user_id: Set(user_id),
        first_factor: Set(first.as_str().to_owned()),
        provider: Set(provider.map(str::to_owned)),
        attempts: Set(0),
        expires_at: Set(now + Duration::minutes(TTL_MINUTES)),
        created_at: Set(now),
    }
    .insert(cx.db())
    .await?;
    let mut methods = Vec::with_capacity(2);
    if super::totp_available(cx.services()) {
        methods.push(AuthMethod::Totp.as_str());
    }
    methods.push(AuthMethod::RecoveryCode.as_str());
    Ok(Pending {
        mfa_token: token,
        methods,
    })
}

/// Counts one answer against the live pending sign-in of `token`, before the answer is
/// checked, and returns it; INVALID_TOKEN when there is none (unknown, expired, finished, or
/// out of answers). One atomic statement, so concurrent answers cannot exceed the count.
pub(crate) async fn count_answer(app: &AppState, token: &str) -> AppResult<mfa_challenge::Model> {
    let counted = mfa_challenge::Entity::update_many()
        .col_expr(
            mfa_challenge::Column::Attempts,
            Expr::col(mfa_challenge::Column::Attempts).add(1),
        )
        .filter(mfa_challenge::Column::TokenHash.eq(sha256_hex(token)))
        .filter(mfa_challenge::Column::Attempts.lt(MAX_ANSWERS))
        .filter(mfa_challenge::Column::ExpiresAt.gt(app.now()))
        .exec_with_returning(app.db())
        .await?;
    counted.into_iter().next().ok_or_else(|| {
        AppError::InvalidToken(
            "This sign-in has expired, was finished, or took too many wrong codes. Sign in \
             again."
                .into(),
        )
    })
}

/// Consumes the pending sign-in `id` in the caller's transaction; false when another answer
/// consumed it first.
pub(crate) async fn consume<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<bool> {
    let deleted = mfa_challenge::Entity::delete_by_id(id).exec(db).await?;
    Ok(deleted.rows_affected == 1)
}

/// Ends every pending sign-in of `user_id`: whatever ends the user's sessions (a new password,
/// revoking the others, a new or removed factor) also ends sign-ins waiting for their second
/// step.
pub(crate) async fn end_all<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<()> {
    mfa_challenge::Entity::delete_many()
        .filter(mfa_challenge::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}
