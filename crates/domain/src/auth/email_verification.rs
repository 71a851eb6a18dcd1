//! Email verification: mailing a code and link to the viewer's address, and proving the
//! address with either.

use crate::auth::address_proof::{Prover, address_proven};
use crate::auth::email_codes::{
    CODE_TTL_MINUTES, CodeAction, Proof, check_proof, consume, count_mail_request, invalid_code,
    issue,
};
use crate::auth::sessions::ClientInfo;
use crate::auth::users;
use crate::auth::viewer::Viewer;
use crate::error::{AppError, AppResult};
use crate::mail::{self, messages, outbox};
use crate::state::AppState;
use todoql_entity::user;

/// Queues a new verification mail to the viewer's address; the previous code stops working.
/// `false` (nothing sent) when the address is already verified; RATE_LIMITED past the
/// per-address or per-IP mail limit.
pub async fn send_verification_email(
    app: &AppState,
    viewer: &Viewer,
    client: &ClientInfo,
) -> AppResult<bool> {
    let user = &viewer.user;
    if user.email_verified {
        return Ok(false);
    }
    count_mail_request(app, client).await?;
    let txn = crate::db::begin_write(app.db()).await?;
    if let Err(retry_after_secs) = outbox::reserve_quota(app.on(&txn), &user.email).await? {
        txn.rollback().await?;
        return Err(AppError::RateLimited { retry_after_secs });
    }
    let now = app.now();
    let issued = issue(
        &txn,
        now,
        &user.email,
        CodeAction::VerifyEmail,
        Some(user.id),
    )
    .await?;
    let content = messages::verify_email(
        &app.settings().app_url,
        issued.code(),
        issued.token(),
        CODE_TTL_MINUTES,
    );
    outbox::enqueue(&txn, now, &user.email, content).await?;
    txn.commit().await?;
    mail::wake_sender(app);
    Ok(true)
}

/// Marks the address verified, with `{email, code}` or `{token}`, signed in or not. The code
/// must be for the account's current address. The first proof of an address keeps what was
/// set before it only when it comes from a session of this user (`viewer`); see
/// `address_proof`.
pub async fn verify_email(
    app: &AppState,
    proof: Proof,
    viewer: Option<&Viewer>,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    let row = check_proof(app, CodeAction::VerifyEmail, &proof, client).await?;
    let now = app.now();
    let txn = crate::db::begin_write(app.db()).await?;
    consume(&txn, &row, now).await?;
    let user = users::live_by_email(&row.email)
        .one(&txn)
        .await?
        .filter(|u| row.user_id.is_none_or(|id| id == u.id))
        .ok_or_else(invalid_code)?;
    let prover = match viewer {
        Some(viewer) if viewer.user.id == user.id => Prover::OwnSession(viewer.session.id),
        _ => Prover::Elsewhere,
    };
    let user = address_proven(app.on(&txn), user, prover, client).await?;
    txn.commit().await?;
    Ok(user)
}
