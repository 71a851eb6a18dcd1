//! The trash: deleteTodo moves a todo into `deleted_todo_logs`, restoreTodo moves it back with
//! its original id and fields, each in one transaction. Entries older than 30 days are neither
//! listed nor restorable, and the purge removes them (see [`crate::maintenance`]).

use crate::auth::viewer::Viewer;
use crate::error::{AppError, AppResult};
use crate::paging::cursor::{Cursor, KeyValue, Ordering, SortKey};
use crate::paging::page::{Keyset, Page, PageRequest};
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, ModelTrait, QueryFilter, QueryResult,
    QuerySelect, Set,
};
use secrecy::SecretString;
use todoql_entity::deleted_todo_log::{self, Column};
use todoql_entity::todo;
use todoql_entity::todo_change::TodoChangeKind;
use uuid::Uuid;

/// How long a deleted todo stays in the trash, restorable; the purge removes it after.
pub const RETENTION_DAYS: i64 = 30;

/// How long a deleted todo stays restorable.
pub fn retention() -> Duration {
    Duration::days(RETENTION_DAYS)
}

/// Until when an entry deleted at `deleted_at` can be restored.
pub fn restorable_until(deleted_at: DateTime<Utc>) -> DateTime<Utc> {
    deleted_at + retention()
}

/// The only ordering of the trash: newest deletion first.
pub const TRASH_ORDERING: Ordering = Ordering {
    key: SortKey::DeletedAt,
    direction: crate::paging::cursor::Direction::Desc,
};

/// Moves `owner`'s todo `id` to the trash: the copy and the removal happen in one
/// transaction. Of concurrent deletions of one todo exactly one succeeds; the others (and
/// deletions of anyone else's todo) are NOT_FOUND.
pub async fn delete(
    app: &AppState,
    owner: Uuid,
    session: Uuid,
    id: Uuid,
) -> AppResult<deleted_todo_log::Model> {
    let now = app.now();
    let txn = crate::db::begin_write(app.db()).await?;
    let cx = app.on(&txn);
    crate::todos::changes::record(cx, owner, TodoChangeKind::Deleted, id, Some(session)).await?;
    // DELETE … RETURNING: the row goes to whichever transaction deletes it first.
    let removed = todo::Entity::delete_many()
        .filter(todo::Column::Id.eq(id))
        .filter(todo::Column::UserId.eq(owner))
        .exec_with_returning(&txn)
        .await?;
    let Some(todo) = removed.into_iter().next() else {
        return Err(crate::todos::not_found());
    };
    let entry = deleted_todo_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(todo.user_id),
        original_todo_id: Set(todo.id),
        title: Set(todo.title),
        description: Set(todo.description),
        due_date: Set(todo.due_date),
        is_completed: Set(todo.is_completed),
        completed_at: Set(todo.completed_at),
        created_at: Set(todo.created_at),
        updated_at: Set(todo.updated_at),
        deleted_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    crate::todos::changes::announce(app, owner);
    Ok(entry)
}

fn not_restorable() -> AppError {
    AppError::NotFound(
        "No such deleted todo: it was restored already, deleted more than 30 days ago, or never existed."
            .into(),
    )
}

/// Brings back `owner`'s todo `id` from the trash with its original id and fields (a due date
/// in the past stays as it was), in one transaction. CONFLICT when an incomplete todo with the
/// same title exists (the entry then stays in the trash); NOT_FOUND when the entry is older
/// than 30 days, already restored, or someone else's.
pub async fn restore(
    app: &AppState,
    owner: Uuid,
    session: Uuid,
    id: Uuid,
) -> AppResult<todo::Model> {
    let now = app.now();
    let txn = crate::db::begin_write(app.db()).await?;
    let cx = app.on(&txn);
    crate::todos::changes::record(cx, owner, TodoChangeKind::Restored, id, Some(session)).await?;
    let entry = deleted_todo_log::Entity::find()
        .filter(Column::OriginalTodoId.eq(id))
        .filter(Column::UserId.eq(owner))
        .filter(Column::DeletedAt.gt(now - retention()))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(not_restorable)?;
    let restored = todo::ActiveModel {
        id: Set(entry.original_todo_id),
        user_id: Set(entry.user_id),
        title: Set(entry.title.clone()),
        description: Set(entry.description.clone()),
        due_date: Set(entry.due_date),
        is_completed: Set(entry.is_completed),
        completed_at: Set(entry.completed_at),
        created_at: Set(entry.created_at),
        updated_at: Set(entry.updated_at),
    }
    .insert(&txn)
    .await
    .map_err(|err| {
        AppError::conflict_on_unique(
            err,
            "You already have an incomplete todo with this title; rename or complete it first.",
        )
    })?;
    entry.delete(&txn).await?;
    txn.commit().await?;
    crate::todos::changes::announce(app, owner);
    Ok(restored)
}

fn trash_cursor(entry: &deleted_todo_log::Model, ordering: Ordering) -> Cursor {
    Cursor {
        ordering,
        key: KeyValue::Time(entry.deleted_at),
        id: entry.id,
    }
}

fn keyset(app: &AppState, owner: Uuid) -> Keyset<deleted_todo_log::Entity> {
    Keyset {
        filter: Condition::all()
            .add(Column::UserId.eq(owner))
            .add(Column::DeletedAt.gt(app.now() - retention())),
        key: Column::DeletedAt,
        id: Column::Id,
        cursor_of: trash_cursor,
        decode: entry_from_row,
        revision: None,
    }
}

/// A trash entry from a row whose columns are `Column::iter()` in order (a page statement).
fn entry_from_row(row: &QueryResult) -> Result<deleted_todo_log::Model, DbErr> {
    Ok(deleted_todo_log::Model {
        id: row.try_get_by_index(0)?,
        user_id: row.try_get_by_index(1)?,
        original_todo_id: row.try_get_by_index(2)?,
        title: row.try_get_by_index(3)?,
        description: row.try_get_by_index(4)?,
        due_date: row.try_get_by_index(5)?,
        is_completed: row.try_get_by_index(6)?,
        completed_at: row.try_get_by_index(7)?,
        created_at: row.try_get_by_index(8)?,
        updated_at: row.try_get_by_index(9)?,
        deleted_at: row.try_get_by_index(10)?,
    })
}

/// One page of `owner`'s trash (entries of the last 30 days, newest deletion first); the
/// total count too when `with_count` (still one statement).
pub async fn list(
    app: &AppState,
    owner: Uuid,
    request: &PageRequest,
    with_count: bool,
) -> AppResult<Page<deleted_todo_log::Model>> {
    keyset(app, owner)
        .fetch(app.db(), request, with_count)
        .await
}

/// [`list`] for the bearer of an access token, the session checked by the page's own
/// statement (as the todo list: `todos::page_for_token`). `None` when the token is invalid or
/// expired, or its session or user is no longer live.
pub async fn list_for_token(
    app: &AppState,
    token: Option<&SecretString>,
    request: &PageRequest,
    with_count: bool,
) -> AppResult<Option<(Viewer, Page<deleted_todo_log::Model>)>> {
    crate::todos::page_for_token(app, token, request, with_count, |owner| keyset(app, owner)).await
}

/// How many entries `owner`'s trash lists.
pub async fn count(app: &AppState, owner: Uuid) -> AppResult<u64> {
    keyset(app, owner).count(app.db()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_from_row_reads_the_columns_in_their_order() {
        use sea_orm::{IdenStatic, Iterable};
        let names: Vec<&str> = Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "user_id",
                "original_todo_id",
                "title",
                "description",
                "due_date",
                "is_completed",
                "completed_at",
                "created_at",
                "updated_at",
                "deleted_at"
            ]
        );
    }
}
