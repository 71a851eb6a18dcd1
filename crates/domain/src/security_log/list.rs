//! Reading the log: a user's own events, newest first in keyset pages (`securityEvents`),
//! and an account's events for operators (`todoql audit`), oldest first.

use crate::auth::users;
use crate::error::{AppError, AppResult};
use crate::paging::cursor::{Cursor, Direction, KeyValue, Ordering, SortKey};
use crate::paging::page::{Keyset, Page, PageRequest};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Condition;
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder};
use todoql_entity::security_event::{self, Column, SecurityEventType};
use uuid::Uuid;

/// The only ordering of the log: newest first.
pub const LOG_ORDERING: Ordering = Ordering {
    key: SortKey::CreatedAt,
    direction: Direction::Desc,
};

/// Which of a user's events a page lists.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only these types; `None` for all.
    pub types: Option<Vec<SecurityEventType>>,
}

fn keyset(owner: Uuid, filter: &EventFilter) -> Keyset<security_event::Entity> {
    let mut condition = Condition::all().add(Column::UserId.eq(owner));
    if let Some(types) = &filter.types {
        condition = condition.add(Column::EventType.is_in(types.iter().copied()));
    }
    Keyset {
        filter: condition,
        key: Column::CreatedAt,
        id: Column::Id,
        cursor_of: |event, ordering| Cursor {
            ordering,
            key: KeyValue::Time(event.created_at),
            id: event.id,
        },
        decode: |row| security_event::Model::from_query_result(row, ""),
        revision: None,
    }
}

/// One page of `owner`'s events, newest first; the total count too when `with_count` (one
/// statement either way).
pub async fn page(
    app: &AppState,
    owner: Uuid,
    filter: &EventFilter,
    request: &PageRequest,
    with_count: bool,
) -> AppResult<Page<security_event::Model>> {
    keyset(owner, filter)
        .fetch(app.db(), request, with_count)
        .await
}

/// How many of `owner`'s events match `filter`.
pub async fn count(app: &AppState, owner: Uuid, filter: &EventFilter) -> AppResult<u64> {
    keyset(owner, filter).count(app.db()).await
}

/// An account's events for an operator, oldest first: the live account at `email`, events
/// since `since` (inclusive) of `filter`'s types. NOT_FOUND when no live account has the
/// address.
pub async fn of_account(
    app: &AppState,
    email: &str,
    since: Option<DateTime<Utc>>,
    filter: &EventFilter,
) -> AppResult<Vec<security_event::Model>> {
    let email = crate::auth::identity::normalize_email(email, "email")?;
    let user = users::live_by_email(&email)
        .one(app.db())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No account has the address {email}.")))?;
    let mut query = security_event::Entity::find().filter(keyset(user.id, filter).filter);
    if let Some(since) = since {
        query = query.filter(Column::CreatedAt.gte(since));
    }
    Ok(query
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(app.db())
        .await?)
}
