//! Who makes a request: the signed-in user and the session, found from an access token.

use crate::auth::sessions;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use secrecy::{ExposeSecret, SecretString};
use todoql_entity::{session, user};

/// The signed-in user and the session the request belongs to.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The user (live, not deleted).
    pub user: user::Model,
    /// The session (not revoked, not expired).
    pub session: session::Model,
}

impl Viewer {
    /// The viewer of an access token: `None` without a token, or when the token is invalid or
    /// expired, or its session or user is gone (token, then session and user in one query).
    pub async fn from_access_token(
        app: &AppState,
        token: Option<&SecretString>,
    ) -> AppResult<Option<Viewer>> {
        let Some(token) = token else { return Ok(None) };
        let Some(claims) = app.access_tokens().verify(token.expose_secret(), app.now()) else {
            return Ok(None);
        };
        sessions::load_live_session(app, claims.sub, claims.sid).await
    }

    /// EMAIL_NOT_VERIFIED when the server requires a verified address and this user has none.
    pub fn require_verified(&self, app: &AppState) -> AppResult<()> {
        if app.settings().require_verified_email && !self.user.email_verified {
            return Err(AppError::EmailNotVerified);
        }
        Ok(())
    }
}
