//! Mail: the messages todoql sends, queued in the database in the transaction that creates the
//! code or token they carry.

use crate::error::AppResult;
use crate::state::AppState;
use sea_orm::ConnectionTrait;
use todoql_entity::user;

/// Called in the sign-up transaction: queues the verification mail.
pub async fn on_sign_up<C: ConnectionTrait>(
    _db: &C,
    _app: &AppState,
    _user: &user::Model,
) -> AppResult<()> {
    Ok(())
}

/// Called in the password-change transaction: queues the security notice.
pub async fn on_password_changed<C: ConnectionTrait>(
    _db: &C,
    _app: &AppState,
    _user: &user::Model,
) -> AppResult<()> {
    Ok(())
}
