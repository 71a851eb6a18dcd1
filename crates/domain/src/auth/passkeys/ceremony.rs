//! Ceremonies in flight: the state webauthn-rs keeps between the two halves of a
//! registration or a sign-in, stored in the database so that any instance can finish it.
//! Five minutes, consumed once: a replayed finish finds nothing.

use crate::error::{AppError, AppResult};
use crate::state::Ctx;
use chrono::Duration;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde::Serialize;
use serde::de::DeserializeOwned;
use todoql_entity::webauthn_ceremony::{self, CeremonyKind};
use uuid::Uuid;

/// How long a started ceremony can be finished.
pub const TTL_MINUTES: i64 = 5;

/// Stores the `state` of a new ceremony of `kind` (for `user_id`); returns its id.
pub(crate) async fn store<C: ConnectionTrait, S: Serialize>(
    cx: Ctx<'_, C>,
    user_id: Option<Uuid>,
    kind: CeremonyKind,
    state: &S,
) -> AppResult<Uuid> {
    let now = cx.now();
    // Random, not time-ordered: the id is all a client needs to finish the ceremony.
    let id = Uuid::new_v4();
    webauthn_ceremony::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        kind: Set(kind),
        state: Set(serde_json::to_string(state).map_err(AppError::internal)?),
        expires_at: Set(now + Duration::minutes(TTL_MINUTES)),
        created_at: Set(now),
    }
    .insert(cx.db())
    .await?;
    Ok(id)
}

/// Takes the live ceremony `id` (consumed: read, then deleted by id; only the request whose
/// DELETE removed it gets it). INVALID_TOKEN when it is unknown, finished or expired.
pub(crate) async fn take<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    id: &str,
) -> AppResult<webauthn_ceremony::Model> {
    let Ok(id) = Uuid::parse_str(id.trim()) else {
        return Err(gone());
    };
    let Some(row) = webauthn_ceremony::Entity::find_by_id(id)
        .one(cx.db())
        .await?
    else {
        return Err(gone());
    };
    let deleted = webauthn_ceremony::Entity::delete_by_id(id)
        .exec(cx.db())
        .await?;
    if deleted.rows_affected != 1 || row.expires_at <= cx.now() {
        return Err(gone());
    }
    Ok(row)
}

/// The webauthn-rs state of `row`.
pub(crate) fn state_of<S: DeserializeOwned>(row: &webauthn_ceremony::Model) -> AppResult<S> {
    serde_json::from_str(&row.state).map_err(AppError::internal)
}

fn gone() -> AppError {
    AppError::InvalidToken(
        "This passkey ceremony is unknown, finished or expired (5 minutes). Start again.".into(),
    )
}
