//! Who makes a request: the signed-in user and the session (found from an access token by
//! `sessions::viewer_of_access_token`).

use crate::error::{AppError, AppResult};
use crate::state::AppState;
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
    /// EMAIL_NOT_VERIFIED when the server requires a verified address and this user has none.
    pub fn require_verified(&self, app: &AppState) -> AppResult<()> {
        if app.settings().require_verified_email && !self.user.email_verified {
            return Err(AppError::EmailNotVerified);
        }
        Ok(())
    }
}
