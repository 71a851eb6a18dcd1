//! Setting a new password, the one way both a password change and a reset do it: the rules
//! and the hash first (outside any transaction: hashing takes tens of milliseconds), then, in
//! the caller's transaction, the password stored, the other sessions revoked and the notice
//! queued.

use crate::auth::account_mail;
use crate::auth::client::ClientInfo;
use crate::auth::password::validate_new_password;
use crate::auth::session_revocation;
use crate::error::AppResult;
use crate::state::{AppState, Ctx};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use secrecy::{ExposeSecret, SecretString};
use todoql_entity::user;
use uuid::Uuid;

/// Checks `password` against the rules (naming `field`) for `user`, and hashes it.
pub async fn hash_new_password(
    app: &AppState,
    user: &user::Model,
    password: SecretString,
    field: &str,
) -> AppResult<String> {
    validate_new_password(
        password.expose_secret(),
        field,
        &[&user.email, &user.username],
    )?;
    app.passwords().hash(password).await
}

/// Stores `hash` as `user`'s password, revokes every session of the user but `keep` (caused by
/// `client`), and queues the security notice; all in `cx`'s transaction. The caller records
/// what it was (PASSWORD_CHANGED or PASSWORD_RESET).
pub async fn store_new_password<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user: user::Model,
    hash: String,
    keep: Option<Uuid>,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    let now = cx.now();
    let mut active: user::ActiveModel = user.into();
    active.password_hash = Set(Some(hash));
    active.updated_at = Set(now);
    let user = active.update(cx.db()).await?;
    session_revocation::revoke_all_except(cx, user.id, keep, client).await?;
    account_mail::on_password_changed(cx, &user).await?;
    Ok(user)
}
