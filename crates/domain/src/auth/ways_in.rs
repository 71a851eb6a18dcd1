//! The one rule for "the last way to sign in": removing a credential (unlinking a provider,
//! deleting a passkey) is CONFLICT when the user would have none left.
//!
//! Ways in: a password, a verified address (sign-in by emailed code), a linked account of a
//! provider this server still has configured, a passkey. The caller holds the user's row lock
//! (`lock_exclusive`), so two removals at once cannot each leave the other as the last.

use crate::error::AppResult;
use crate::state::Ctx;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use todoql_entity::{account, passkey, user};
use uuid::Uuid;

/// The credential about to go.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Removing {
    /// A linked provider account (its row id).
    Account(Uuid),
    /// A passkey (its row id).
    Passkey(Uuid),
}

/// Whether `user` keeps a way to sign in once `removing` is gone.
pub(crate) async fn remain_without<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user: &user::Model,
    removing: Removing,
) -> AppResult<bool> {
    if user.password_hash.is_some() || user.email_verified {
        return Ok(true);
    }
    let oauth = cx.services().oauth();
    let accounts = account::Entity::find()
        .filter(account::Column::UserId.eq(user.id))
        .all(cx.db())
        .await?;
    let other_accounts = accounts
        .iter()
        .filter(|a| !matches!(removing, Removing::Account(id) if id == a.id))
        .filter(|a| oauth.is_configured(&a.provider_id))
        .count();
    if other_accounts > 0 {
        return Ok(true);
    }
    let mut passkeys = passkey::Entity::find().filter(passkey::Column::UserId.eq(user.id));
    if let Removing::Passkey(id) = removing {
        passkeys = passkeys.filter(passkey::Column::Id.ne(id));
    }
    Ok(passkeys.count(cx.db()).await? > 0)
}
