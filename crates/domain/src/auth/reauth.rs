//! Re-authentication before changes that could keep an account for good: the one home of
//! the rule (PRODUCT.md "Recent sign-in").
//!
//! An access token lives 15 minutes and can be stolen. Without this rule a stolen token of an
//! account without a password would be enough to set a password, link a provider or move the
//! address, and so to keep the account after the token expires. So:
//! - where the account has a password, the operation takes the current password (checked like
//!   a sign-in: count, then check, against the same limits);
//! - where it has none, the session must have signed in less than `TODOQL_REAUTH_MAX_AGE`
//!   seconds ago (`sessions.authenticated_at`; refreshes do not renew it), else
//!   REAUTHENTICATION_REQUIRED with `extensions.maxAge`.
//!
//! Linking a provider takes no password, so it always needs a recent sign-in, password or not:
//! a link is a way into the account that outlives the token.

use crate::auth::password_attempts;
use crate::auth::sessions::{self, ClientInfo};
use crate::auth::users;
use crate::auth::viewer::Viewer;
use crate::error::{AppError, AppResult};
use crate::state::{AppState, Ctx};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use secrecy::SecretString;
use todoql_entity::{session, user};

/// Proof of who the viewer is before a sensitive change: the current `password` (named
/// `field` in errors) when the account has one, else a recent sign-in.
pub(crate) async fn reauthenticate(
    app: &AppState,
    viewer: &Viewer,
    password: Option<SecretString>,
    field: &str,
    client: &ClientInfo,
) -> AppResult<()> {
    let user = &viewer.user;
    if user.password_hash.is_none() {
        return require_recent_sign_in(app, viewer);
    }
    let password =
        password.ok_or_else(|| AppError::bad_input(field, "Enter your current password."))?;
    password_attempts::check(
        app,
        &user.email,
        user.password_hash.clone(),
        password,
        client,
    )
    .await
}

/// REAUTHENTICATION_REQUIRED unless the viewer's session signed in less than
/// `reauth_max_age` ago.
pub(crate) fn require_recent_sign_in(app: &AppState, viewer: &Viewer) -> AppResult<()> {
    let max_age = app.settings().reauth_max_age;
    if app.now() < viewer.session.authenticated_at + max_age {
        Ok(())
    } else {
        Err(AppError::ReauthenticationRequired {
            max_age_secs: max_age.num_seconds().max(0) as u64,
        })
    }
}

/// Inside the transaction that changes a credential of the viewer (sets a password, links a
/// provider, asks to move the address): locks the user's row and checks that the viewer's
/// session is still live, returning the user as it is now.
///
/// The first proof of an unverified address (`address_proof`) updates the same row and drops
/// the credentials and sessions of whoever set them; with the lock, a change racing with it
/// either commits first (and is dropped with the rest) or waits and then finds its session
/// revoked. PostgreSQL takes the row lock; SQLite's write transaction excludes every other
/// writer already.
pub(crate) async fn lock_for_credential_change<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    viewer: &Viewer,
) -> AppResult<user::Model> {
    let user = users::live_by_id(viewer.user.id)
        .lock_exclusive()
        .one(cx.db())
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let live = session::Entity::find_by_id(viewer.session.id)
        .filter(session::Column::UserId.eq(user.id))
        .filter(sessions::live(cx.now()))
        .one(cx.db())
        .await?;
    match live {
        Some(_) => Ok(user),
        None => Err(AppError::Unauthenticated),
    }
}
