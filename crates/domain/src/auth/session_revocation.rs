//! Ending sessions — signing out, revoking one, revoking all others, and the revocations a
//! password change, a reset, an address change or a first proof of the address make — each
//! recorded in the security log by the transaction that ends it.

use crate::auth::client::ClientInfo;
use crate::auth::sessions::live;
use crate::auth::viewer::Viewer;
use crate::error::{AppError, AppResult};
use crate::security_log::{self, Event, EventType};
use crate::state::{AppState, Ctx};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use todoql_entity::session;
use uuid::Uuid;

/// Ends the viewer's own session (signOut): SIGNED_OUT.
pub async fn sign_out(app: &AppState, viewer: &Viewer, client: &ClientInfo) -> AppResult<()> {
    let txn = crate::db::begin_write(app.db()).await?;
    let cx = app.on(&txn);
    let ended = revoke_where(cx, viewer.user.id, Some(viewer.session.id), None).await?;
    if ended.is_empty() {
        return Err(AppError::Unauthenticated);
    }
    let event = Event::about(EventType::SignedOut, Some(viewer.session.id));
    security_log::record(cx, viewer.user.id, event, client).await?;
    txn.commit().await?;
    Ok(())
}

/// Revokes one of the viewer's sessions (revokeSession): SESSION_REVOKED. Another user's
/// session is NOT_FOUND, like a missing one, and nothing changes.
pub async fn revoke(
    app: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    let txn = crate::db::begin_write(app.db()).await?;
    let cx = app.on(&txn);
    let ended = revoke_where(cx, viewer.user.id, Some(session_id), None).await?;
    if ended.is_empty() {
        return Err(AppError::NotFound("No such session.".into()));
    }
    security_log::record_each(
        cx,
        viewer.user.id,
        EventType::SessionRevoked,
        &ended,
        client,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Revokes every live session of the viewer's user except the viewer's own; returns how many.
pub async fn revoke_others(app: &AppState, viewer: &Viewer, client: &ClientInfo) -> AppResult<u64> {
    let txn = crate::db::begin_write(app.db()).await?;
    let revoked = revoke_all_except(
        app.on(&txn),
        viewer.user.id,
        Some(viewer.session.id),
        client,
    )
    .await?;
    txn.commit().await?;
    Ok(revoked)
}

/// Revokes every live session of `user_id` except `keep`, one SESSION_REVOKED each, caused
/// by `client`, and ends the sign-ins waiting for their second factor; returns how many
/// sessions.
pub async fn revoke_all_except<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
    keep: Option<Uuid>,
    client: &ClientInfo,
) -> AppResult<u64> {
    let ended = revoke_where(cx, user_id, None, keep).await?;
    crate::auth::mfa::challenge::end_all(cx.db(), user_id).await?;
    security_log::record_each(cx, user_id, EventType::SessionRevoked, &ended, client).await?;
    Ok(ended.len() as u64)
}

/// Revokes `user_id`'s sessions — `only` that one, or all live ones but `except` — and
/// returns the ids it revoked (`UPDATE … RETURNING`, so concurrent revocations record each
/// session once).
async fn revoke_where<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
    only: Option<Uuid>,
    except: Option<Uuid>,
) -> AppResult<Vec<Uuid>> {
    let now = cx.now();
    let mut update = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::UserId.eq(user_id));
    update = match only {
        // One session by id: revoked unless it already is (an expired one too, as before).
        Some(id) => update
            .filter(session::Column::Id.eq(id))
            .filter(session::Column::RevokedAt.is_null()),
        None => update.filter(live(now)),
    };
    if let Some(except) = except {
        update = update.filter(session::Column::Id.ne(except));
    }
    Ok(update
        .exec_with_returning(cx.db())
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect())
}
