//! A user's passkeys: listed, renamed, deleted (never the last way to sign in).

use super::registration::validate_name;
use crate::auth::client::ClientInfo;
use crate::auth::reauth::lock_for_credential_change;
use crate::auth::viewer::Viewer;
use crate::auth::ways_in::{self, Removing};
use crate::error::{AppError, AppResult};
use crate::security_log::{self, Event, EventType};
use crate::state::AppState;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use todoql_entity::passkey;
use uuid::Uuid;

/// `user_id`'s passkeys, oldest first.
pub async fn of_user<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<Vec<passkey::Model>> {
    Ok(passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user_id))
        .order_by_asc(passkey::Column::CreatedAt)
        .order_by_asc(passkey::Column::Id)
        .all(db)
        .await?)
}

/// Renames the viewer's passkey `id` (NOT_FOUND when it is not theirs).
pub async fn rename(
    app: &AppState,
    viewer: &Viewer,
    id: Uuid,
    name: &str,
) -> AppResult<passkey::Model> {
    let name = validate_name(name)?;
    let renamed = passkey::Entity::update_many()
        .col_expr(passkey::Column::Name, Expr::value(name))
        .filter(passkey::Column::Id.eq(id))
        .filter(passkey::Column::UserId.eq(viewer.user.id))
        .exec(app.db())
        .await?;
    if renamed.rows_affected != 1 {
        return Err(not_found());
    }
    passkey::Entity::find_by_id(id)
        .one(app.db())
        .await?
        .ok_or_else(not_found)
}

/// Deletes the viewer's passkey `id` and records PASSKEY_REMOVED; CONFLICT when it is their
/// last way to sign in.
pub async fn delete(
    app: &AppState,
    viewer: &Viewer,
    id: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    let txn = crate::db::begin_write(app.db()).await?;
    let cx = app.on(&txn);
    let user = lock_for_credential_change(cx, viewer).await?;
    let Some(target) = passkey::Entity::find_by_id(id)
        .filter(passkey::Column::UserId.eq(user.id))
        .one(&txn)
        .await?
    else {
        return Err(not_found());
    };
    if !ways_in::remain_without(cx, &user, Removing::Passkey(target.id)).await? {
        return Err(AppError::Conflict(
            "This passkey is your only way to sign in. Set a password, link a provider or \
             verify your email address first."
                .into(),
        ));
    }
    passkey::Entity::delete_by_id(target.id).exec(&txn).await?;
    let event = Event::about(EventType::PasskeyRemoved, Some(viewer.session.id));
    security_log::record(cx, user.id, event, client).await?;
    txn.commit().await?;
    Ok(())
}

fn not_found() -> AppError {
    AppError::NotFound("No such passkey.".into())
}
