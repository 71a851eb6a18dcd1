//! Checking a second-factor answer: a TOTP code or a recovery code, used up as it is
//! accepted, and every answer counted against the user's guesses before it is checked.

use super::{recovery_codes, totp, unavailable};
use crate::auth::client::{AuthMethod, ClientInfo};
use crate::error::{AppError, AppResult};
use crate::rate_limit::{self, Key, Taken};
use crate::security_log::{self, Event, EventType};
use crate::state::{AppState, Ctx};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use todoql_entity::totp_factor;
use uuid::Uuid;

/// A second-factor answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A code from the authenticator.
    Totp(String),
    /// One of the recovery codes.
    RecoveryCode(String),
}

impl Answer {
    /// verifyMfa's input: exactly one of `totp_code` and `recovery_code`.
    pub fn one_of(totp_code: Option<String>, recovery_code: Option<String>) -> AppResult<Self> {
        match (totp_code, recovery_code) {
            (Some(code), None) => Self::totp(&code, "totpCode"),
            (None, Some(code)) => Ok(Answer::RecoveryCode(code)),
            _ => Err(AppError::bad_input(
                "totpCode",
                "Give exactly one of totpCode and recoveryCode.",
            )),
        }
    }

    /// A code of either kind in one field (`field`), told apart by its shape.
    pub fn either(code: &str, field: &str) -> AppResult<Self> {
        if totp::parse_code(code).is_some() {
            return Self::totp(code, field);
        }
        if recovery_codes::looks_like_code(code) {
            return Ok(Answer::RecoveryCode(code.to_owned()));
        }
        Err(AppError::bad_input(
            field,
            "Enter the 6-digit code from your authenticator app or one of your recovery codes.",
        ))
    }

    /// A TOTP code in `field`: 6 digits.
    pub fn totp(code: &str, field: &str) -> AppResult<Self> {
        totp::parse_code(code).map(Answer::Totp).ok_or_else(|| {
            AppError::bad_input(field, "Enter the 6-digit code from your authenticator app.")
        })
    }

    /// How the answer authenticates.
    pub fn method(&self) -> AuthMethod {
        match self {
            Answer::Totp(_) => AuthMethod::Totp,
            Answer::RecoveryCode(_) => AuthMethod::RecoveryCode,
        }
    }
}

/// Counts one guess against `user_id`'s limit (RATE_LIMITED when used up). Give the units
/// back when the answer was right; [`refused`] keeps them.
pub(crate) async fn count_guess(app: &AppState, user_id: Uuid) -> AppResult<Taken> {
    let user = user_id.to_string();
    rate_limit::take(
        app.db(),
        &app.settings().rate_limits,
        &[Key::SecondFactorUser(&user)],
        app.now(),
    )
    .await
}

/// Checks `answer` for `user_id` in the caller's transaction and uses it up: a TOTP code's
/// time step (accepted once per user, by a compare-and-set, whichever instance asks), or the
/// recovery code. False when it is wrong or already used.
pub(crate) async fn check_and_use<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
    answer: &Answer,
) -> AppResult<bool> {
    match answer {
        Answer::Totp(code) => use_totp_code(cx, user_id, code).await,
        Answer::RecoveryCode(code) => recovery_codes::use_code(cx, user_id, code).await,
    }
}

async fn use_totp_code<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
    code: &str,
) -> AppResult<bool> {
    let cipher = cx.services().cipher().ok_or_else(unavailable)?;
    let Some(factor) = totp_factor::Entity::find()
        .filter(totp_factor::Column::UserId.eq(user_id))
        .filter(totp_factor::Column::ConfirmedAt.is_not_null())
        .one(cx.db())
        .await?
    else {
        return Ok(false);
    };
    let authenticator = totp::Authenticator::decrypt(cipher, &factor.secret)?;
    let Some(step) = authenticator.matching_step(code, cx.now(), factor.last_used_step) else {
        return Ok(false);
    };
    use_step(cx.db(), factor.id, step).await
}

/// Records `step` as used on factor `id` unless it (or a later step) was used already.
async fn use_step<C: ConnectionTrait>(db: &C, id: Uuid, step: i64) -> AppResult<bool> {
    let used = totp_factor::Entity::update_many()
        .col_expr(totp_factor::Column::LastUsedStep, Expr::value(step))
        .filter(totp_factor::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(totp_factor::Column::LastUsedStep.is_null())
                .add(totp_factor::Column::LastUsedStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(used.rows_affected == 1)
}

/// A wrong (or replayed) answer by `user_id`: keeps the guess counted, records MFA_FAILED and
/// gives the error to answer with.
pub(crate) async fn refused(
    app: &AppState,
    taken: Taken,
    user_id: Uuid,
    answer: &Answer,
    client: &ClientInfo,
) -> AppError {
    taken.keep();
    metrics::counter!("todoql_mfa_failures_total").increment(1);
    let event = Event::sign_in(EventType::MfaFailed, answer.method(), None);
    if let Err(err) = security_log::record(app.on(app.db()), user_id, event, client).await {
        tracing::warn!(error = %err.message(), "could not record a failed second factor");
    }
    AppError::InvalidToken(
        "This code is wrong or was used already. Enter the current code from your \
         authenticator app, or an unused recovery code."
            .into(),
    )
}
