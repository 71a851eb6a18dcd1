//! Turning TOTP on and off: enrollment (start, then confirm with a code), removal, and new
//! recovery codes.
//!
//! Starting needs a verified address (an account someone set up with another person's
//! address cannot lock its owner out with a factor) and a recent sign-in (a stolen access
//! token must not be enough to add a factor). Confirming activates the factor, issues the
//! recovery codes and ends every other session and pending sign-in: from then on, each needs
//! the second factor. Removing the factor and new recovery codes need a code.

use super::proof::{self, Answer};
use super::totp::Authenticator;
use super::{challenge, recovery_codes, unavailable};
use crate::auth::client::{AuthMethod, ClientInfo, Factors};
use crate::auth::reauth::{lock_for_credential_change, require_recent_sign_in};
use crate::auth::session_revocation;
use crate::auth::viewer::Viewer;
use crate::error::{AppError, AppResult};
use crate::security_log::{self, Event, EventType};
use crate::state::{AppState, Ctx};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use todoql_entity::{session, totp_factor, user};
use uuid::Uuid;

/// A new, not yet active authenticator secret.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// Base32, for manual entry.
    pub secret: String,
    /// `otpauth://totp/…` for a QR code.
    pub otpauth_uri: String,
}

/// Stores a new authenticator secret for the viewer, inactive until confirmed; a pending
/// enrollment is replaced. CONFLICT when TOTP is on already.
pub async fn start(app: &AppState, viewer: &Viewer) -> AppResult<Enrollment> {
    let cipher = app.services().cipher().ok_or_else(unavailable)?;
    if !viewer.user.email_verified {
        return Err(AppError::EmailNotVerified);
    }
    require_recent_sign_in(app, viewer)?;
    if viewer.user.totp_enabled {
        return Err(already_on());
    }
    let authenticator =
        Authenticator::generate(&issuer(&app.settings().app_url), &viewer.user.email)?;
    let now = app.now();
    let factor = totp_factor::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(viewer.user.id),
        secret: Set(authenticator.encrypted(cipher)),
        confirmed_at: Set(None),
        last_used_step: Set(None),
        created_at: Set(now),
    };
    // Replaces a pending enrollment, never a confirmed factor.
    let written = totp_factor::Entity::insert(factor)
        .on_conflict(
            OnConflict::column(totp_factor::Column::UserId)
                .update_columns([
                    totp_factor::Column::Secret,
                    totp_factor::Column::LastUsedStep,
                    totp_factor::Column::CreatedAt,
                ])
                .action_and_where(
                    Expr::col((totp_factor::Entity, totp_factor::Column::ConfirmedAt)).is_null(),
                )
                .to_owned(),
        )
        .exec_without_returning(app.db())
        .await?;
    if written == 0 {
        return Err(already_on());
    }
    Ok(Enrollment {
        secret: authenticator.secret_base32(),
        otpauth_uri: authenticator.uri(),
    })
}

/// Activates the viewer's pending authenticator with a current `code` from it: returns the
/// recovery codes (shown only here), ends the viewer's other sessions and pending sign-ins,
/// and records TOTP_ENABLED.
pub async fn confirm(
    app: &AppState,
    viewer: &Viewer,
    code: &str,
    client: &ClientInfo,
) -> AppResult<Vec<String>> {
    let cipher = app.services().cipher().ok_or_else(unavailable)?;
    let Answer::Totp(code) = Answer::totp(code, "code")? else {
        unreachable!("Answer::totp gives a TOTP answer")
    };
    let user_id = viewer.user.id;
    let pending = totp_factor::Entity::find()
        .filter(totp_factor::Column::UserId.eq(user_id))
        .one(app.db())
        .await?;
    let pending = match pending {
        Some(factor) if factor.confirmed_at.is_none() => factor,
        Some(_) => return Err(already_on()),
        None => {
            return Err(AppError::NotFound(
                "No authenticator is waiting for confirmation: call startTotpEnrollment first."
                    .into(),
            ));
        }
    };
    let taken = proof::count_guess(app, user_id).await?;
    let authenticator = Authenticator::decrypt(cipher, &pending.secret)?;
    let Some(step) = authenticator.matching_step(&code, app.now(), None) else {
        taken.keep();
        return Err(AppError::InvalidToken(
            "This code is not the authenticator's current one. Check that the app added the \
             secret and that the phone's clock is right, then enter the current code."
                .into(),
        ));
    };

    let txn = crate::db::begin_write(app.db()).await?;
    let cx = app.on(&txn);
    lock_for_credential_change(cx, viewer).await?;
    let now = cx.now();
    // Only the enrollment whose secret the code was checked against (a restart meanwhile
    // replaced it).
    let confirmed = totp_factor::Entity::update_many()
        .col_expr(totp_factor::Column::ConfirmedAt, Expr::value(now))
        .col_expr(totp_factor::Column::LastUsedStep, Expr::value(step))
        .filter(totp_factor::Column::Id.eq(pending.id))
        .filter(totp_factor::Column::Secret.eq(pending.secret.as_str()))
        .filter(totp_factor::Column::ConfirmedAt.is_null())
        .exec(&txn)
        .await?;
    if confirmed.rows_affected != 1 {
        txn.rollback().await?;
        taken.keep();
        return Err(AppError::Conflict(
            "The enrollment changed meanwhile (started again, or confirmed elsewhere). Start \
             it again."
                .into(),
        ));
    }
    set_enabled(cx, user_id, true).await?;
    stepped_up(cx, viewer).await?;
    let codes = recovery_codes::replace(cx, user_id).await?;
    session_revocation::revoke_all_except(cx, user_id, Some(viewer.session.id), client).await?;
    let event = Event::about(EventType::TotpEnabled, Some(viewer.session.id));
    security_log::record(cx, user_id, event, client).await?;
    txn.commit().await?;
    taken.give_back(app.db()).await?;
    Ok(codes)
}

/// Turns TOTP off with a current TOTP `code` or a recovery code: the factor and the recovery
/// codes are deleted, pending sign-ins end, TOTP_DISABLED is recorded.
pub async fn disable(
    app: &AppState,
    viewer: &Viewer,
    code: &str,
    client: &ClientInfo,
) -> AppResult<()> {
    if !viewer.user.totp_enabled {
        return Err(not_on());
    }
    let answer = Answer::either(code, "code")?;
    with_proof(app, viewer, &answer, client, async |cx| {
        let user_id = viewer.user.id;
        totp_factor::Entity::delete_many()
            .filter(totp_factor::Column::UserId.eq(user_id))
            .exec(cx.db())
            .await?;
        recovery_codes::delete_all(cx.db(), user_id).await?;
        challenge::end_all(cx.db(), user_id).await?;
        set_enabled(cx, user_id, false).await?;
        let event = Event::sign_in(
            EventType::TotpDisabled,
            answer.method(),
            Some(viewer.session.id),
        );
        security_log::record(cx, user_id, event, client).await
    })
    .await
}

/// New recovery codes (the old ones stop working), with a current TOTP `code`.
pub async fn regenerate_recovery_codes(
    app: &AppState,
    viewer: &Viewer,
    code: &str,
    client: &ClientInfo,
) -> AppResult<Vec<String>> {
    if !viewer.user.totp_enabled {
        return Err(not_on());
    }
    let answer = Answer::totp(code, "code")?;
    with_proof(app, viewer, &answer, client, async |cx| {
        let codes = recovery_codes::replace(cx, viewer.user.id).await?;
        let event = Event::about(EventType::RecoveryCodesRegenerated, Some(viewer.session.id));
        security_log::record(cx, viewer.user.id, event, client).await?;
        Ok(codes)
    })
    .await
}

/// Runs `change` in a transaction that first locks the viewer's row and checks and uses
/// `answer`; a wrong answer changes nothing and counts against the user's guesses.
async fn with_proof<T>(
    app: &AppState,
    viewer: &Viewer,
    answer: &Answer,
    client: &ClientInfo,
    change: impl AsyncFnOnce(Ctx<'_, sea_orm::DatabaseTransaction>) -> AppResult<T>,
) -> AppResult<T> {
    let user_id = viewer.user.id;
    let taken = proof::count_guess(app, user_id).await?;
    let txn = crate::db::begin_write(app.db()).await?;
    let cx = app.on(&txn);
    let user = lock_for_credential_change(cx, viewer).await?;
    if !user.totp_enabled {
        txn.rollback().await?;
        taken.give_back(app.db()).await?;
        return Err(not_on());
    }
    if !proof::check_and_use(cx, user_id, answer).await? {
        txn.rollback().await?;
        return Err(proof::refused(app, taken, user_id, answer, client).await);
    }
    let done = change(cx).await?;
    txn.commit().await?;
    taken.give_back(app.db()).await?;
    Ok(done)
}

/// The confirming session proved the second factor just now: it records TOTP beside its first
/// factor, like a session that signed in with both (so every live session of a user with TOTP
/// names it), and counts as a fresh sign-in.
async fn stepped_up<C: ConnectionTrait>(cx: Ctx<'_, C>, viewer: &Viewer) -> AppResult<()> {
    let Some(first) = Factors::of_stored(&viewer.session.authentication_methods) else {
        return Ok(());
    };
    let both = Factors {
        first: first.first,
        second: Some(AuthMethod::Totp),
    };
    session::Entity::update_many()
        .col_expr(
            session::Column::AuthenticationMethods,
            Expr::value(both.stored()),
        )
        .col_expr(session::Column::AuthenticatedAt, Expr::value(cx.now()))
        .filter(session::Column::Id.eq(viewer.session.id))
        .exec(cx.db())
        .await?;
    Ok(())
}

/// Sets `users.totp_enabled`, which every first factor reads to decide on MFA_REQUIRED.
async fn set_enabled<C: ConnectionTrait>(cx: Ctx<'_, C>, user_id: Uuid, on: bool) -> AppResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::TotpEnabled, Expr::value(on))
        .col_expr(user::Column::UpdatedAt, Expr::value(cx.now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(cx.db())
        .await?;
    Ok(())
}

/// The issuer an authenticator app shows: the host of `TODOQL_APP_URL`.
fn issuer(app_url: &str) -> String {
    url::Url::parse(app_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| "todoql".to_owned())
}

fn already_on() -> AppError {
    AppError::Conflict(
        "Two-factor authentication is on already; turn it off (disableTotp) before enrolling \
         another authenticator."
            .into(),
    )
}

fn not_on() -> AppError {
    AppError::NotFound("Two-factor authentication is not on for this account.".into())
}
