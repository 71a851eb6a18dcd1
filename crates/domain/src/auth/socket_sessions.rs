//! What a long-lived connection (a live-changes WebSocket) needs from sessions: who it is and
//! until when its token holds, at the start; and, every second or so, which of the sessions
//! of the open sockets are still live, so that a revocation on any instance ends them.

use crate::auth::sessions::{access_claims, live, load_live_session};
use crate::auth::viewer::Viewer;
use crate::error::AppResult;
use crate::state::AppState;
use chrono::{DateTime, TimeZone, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use secrecy::SecretString;
use std::collections::HashSet;
use todoql_entity::{session, user};
use uuid::Uuid;

/// Most sessions asked about in one statement (well under both databases' parameter limits).
const SESSIONS_PER_STATEMENT: usize = 500;

/// The caller of a connection and when its access token expires; `None` for a missing, bad or
/// expired token, or a session that is no longer live.
pub async fn viewer_until(
    app: &AppState,
    token: Option<&SecretString>,
) -> AppResult<Option<(Viewer, DateTime<Utc>)>> {
    let Some(claims) = access_claims(app, token) else {
        return Ok(None);
    };
    let Some(expires) = Utc.timestamp_opt(claims.exp, 0).single() else {
        return Ok(None);
    };
    Ok(load_live_session(app, claims.sub, claims.sid)
        .await?
        .map(|viewer| (viewer, expires)))
}

/// Which of `sessions` are still live (not revoked, not expired, their user not deleted): the
/// same rule as every request's session check.
pub async fn still_live(app: &AppState, sessions: &[Uuid]) -> AppResult<HashSet<Uuid>> {
    let now = app.now();
    let mut live_ones = HashSet::with_capacity(sessions.len());
    for chunk in sessions.chunks(SESSIONS_PER_STATEMENT) {
        let ids: Vec<Uuid> = session::Entity::find()
            .select_only()
            .column(session::Column::Id)
            .filter(session::Column::Id.is_in(chunk.iter().copied()))
            .filter(live(now))
            .filter(
                session::Column::UserId.in_subquery(
                    Query::select()
                        .column(user::Column::Id)
                        .from(user::Entity)
                        .and_where(user::Column::DeletedAt.is_null())
                        .to_owned(),
                ),
            )
            .into_tuple()
            .all(app.db())
            .await?;
        live_ones.extend(ids);
    }
    Ok(live_ones)
}
