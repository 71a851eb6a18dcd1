//! Where every first factor (password, emailed code or link, OAuth) ends: a session, or, for
//! an account with a second factor, a pending sign-in and MFA_REQUIRED. The one place that
//! decides, so that no way of signing in can skip the second factor.

use super::challenge::{self, Pending};
use crate::auth::client::{AuthMethod, ClientInfo};
use crate::auth::sessions::{self, SignedIn};
use crate::error::AppResult;
use crate::state::{AppState, Ctx};
use sea_orm::ConnectionTrait;
use todoql_entity::user;

/// What an accepted first factor led to. Commit the transaction, then [`Outcome::into_result`]:
/// a pending sign-in must be stored although the answer is an error.
#[must_use]
#[derive(Debug)]
pub enum Outcome {
    /// No second factor: signed in.
    SignedIn(Box<SignedIn>),
    /// A second factor is needed (MFA_REQUIRED).
    Pending(Pending),
}

impl Outcome {
    /// The session, or MFA_REQUIRED.
    pub fn into_result(self) -> AppResult<SignedIn> {
        match self {
            Outcome::SignedIn(signed_in) => Ok(*signed_in),
            Outcome::Pending(pending) => Err(pending.into()),
        }
    }
}

/// In the caller's transaction: a session for `user`, whose first factor `method` (through
/// `provider`) was accepted, or a pending sign-in when the user has a second factor.
///
/// The session is written only while the user's row still says "no second factor"
/// (`sessions::insert_if_still_allowed`), so a sign-in racing with a confirmation fails
/// rather than slipping past it.
pub(crate) async fn finish<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user: user::Model,
    client: &ClientInfo,
    method: AuthMethod,
    provider: Option<&str>,
) -> AppResult<Outcome> {
    if user.totp_enabled {
        let pending = challenge::open(cx, user.id, method, provider).await?;
        return Ok(Outcome::Pending(pending));
    }
    let signed_in = sessions::start_session_via(cx, user, client, method.into(), provider).await?;
    Ok(Outcome::SignedIn(Box::new(signed_in)))
}

/// [`finish`] for a sign-in with no transaction of its own (password sign-in): each branch is
/// one statement on PostgreSQL.
pub(crate) async fn finish_alone(
    app: &AppState,
    user: user::Model,
    client: &ClientInfo,
    method: AuthMethod,
) -> AppResult<SignedIn> {
    if user.totp_enabled {
        let pending = challenge::open(app.on(app.db()), user.id, method, None).await?;
        return Err(pending.into());
    }
    sessions::start_session_alone(app, user, client, method).await
}
