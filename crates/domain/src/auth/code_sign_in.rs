//! Passwordless sign-in: a code and link mailed to any address, and signing in (or up) with
//! either.

use crate::auth::address_proof::{Prover, address_proven};
use crate::auth::email_codes::{
    CODE_TTL_MINUTES, CodeAction, Proof, check_proof, consume, count_mail_request, issue,
};
use crate::auth::identity::{normalize_email, username_from_email};
use crate::auth::mfa;
use crate::auth::sessions::{AuthMethod, ClientInfo, SignedIn};
use crate::auth::users;
use crate::auth::users::NewUser;
use crate::error::{AppError, AppResult};
use crate::mail::{self, messages, outbox};
use crate::security_log::{self, Event, EventType};
use crate::state::{AppState, Ctx};
use sea_orm::ConnectionTrait;
use todoql_entity::user;

/// Queues a sign-in code for any well-formed address, account or not: the same work and the
/// same answer either way. Past the per-address mail limit it quietly sends nothing; past the
/// per-IP limit of mail requests it is RATE_LIMITED (for any address alike).
pub async fn request_sign_in_code(
    app: &AppState,
    email: &str,
    client: &ClientInfo,
) -> AppResult<()> {
    let email = normalize_email(email, "email")?;
    count_mail_request(app, client).await?;
    let txn = crate::db::begin_write(app.db()).await?;
    if outbox::reserve_quota(app.on(&txn), &email).await?.is_err() {
        txn.rollback().await?;
        return Ok(());
    }
    let now = app.now();
    let issued = issue(&txn, now, &email, CodeAction::SignIn, None).await?;
    let content = messages::sign_in(
        &app.settings().app_url,
        issued.code(),
        issued.token(),
        CODE_TTL_MINUTES,
    );
    outbox::enqueue(&txn, now, &email, content).await?;
    txn.commit().await?;
    mail::wake_sender(app);
    Ok(())
}

/// Signs in with `{email, code}` or `{token}`, creating the account when the address has none
/// (verified, without password, username from the address). Marks the address verified; as the
/// first proof of an existing account's address it comes from the new session, so whatever was
/// set before it (password, provider links, sessions) is dropped (see `address_proof`).
pub async fn sign_in_with_code(
    app: &AppState,
    proof: Proof,
    client: &ClientInfo,
) -> AppResult<SignedIn> {
    let row = match check_proof(app, CodeAction::SignIn, &proof, client).await {
        Ok(row) => row,
        Err(err) => {
            // A wrong code for an address names it; a link token names no one.
            if let (Proof::Code { email, .. }, AppError::InvalidToken(_)) = (&proof, &err) {
                let failed = EventType::SignInFailed;
                security_log::record_failure(
                    app,
                    None,
                    email,
                    failed,
                    AuthMethod::EmailCode,
                    client,
                );
            }
            return Err(err);
        }
    };
    let now = app.now();
    let txn = crate::db::begin_write(app.db()).await?;
    consume(&txn, &row, now).await?;
    let user = match users::live_by_email(&row.email).one(&txn).await? {
        Some(user) => address_proven(app.on(&txn), user, Prover::Elsewhere, client).await?,
        None => new_account(app.on(&txn), &row.email, client).await?,
    };
    let outcome =
        mfa::first_factor::finish(app.on(&txn), user, client, AuthMethod::EmailCode, None).await?;
    txn.commit().await?;
    outcome.into_result()
}

/// The account a first code sign-in creates (SIGNED_UP): verified, without password, named
/// after the address.
async fn new_account<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    email: &str,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    let user = NewUser {
        email: email.to_owned(),
        username: username_from_email(email),
        avatar: None,
        password_hash: None,
        email_verified: true,
    }
    .insert(cx.db(), cx.now())
    .await
    .map_err(|e| {
        AppError::conflict_on_unique(
            e,
            "The account was created by another request just now; sign in again.",
        )
    })?;
    let event = Event::sign_in(EventType::SignedUp, AuthMethod::EmailCode, None);
    security_log::record(cx, user.id, event, client).await?;
    Ok(user)
}
