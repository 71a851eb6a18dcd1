//! Writing the todo change log: every todo change takes its user's next revision and writes a
//! `todo_changes` row in the transaction of the change.
//!
//! The revision comes from `UPDATE users SET change_revision = change_revision + n … RETURNING`:
//! the row lock holds until the commit, so one user's revisions commit in the order they were
//! taken, with no gap and no duplicate, even across instances (on SQLite the write transaction
//! excludes other writers anyway). Lock order: a change takes the user's row FIRST, before any
//! todo or trash row, and so does every batch ([`lock_log`] then [`record_purged`]); with one
//! order there is no deadlock between a change, the trash purge and account deletion.

use crate::error::{AppError, AppResult};
use crate::state::Ctx;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockType, Query};
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use todoql_entity::todo_change::{self, TodoChangeKind};
use uuid::Uuid;

fn users() -> Alias {
    Alias::new("users")
}

fn change_revision() -> Alias {
    Alias::new("change_revision")
}

/// `SELECT change_revision FROM users WHERE id = owner`: also read inside the todo list's
/// page statement.
pub(crate) fn revision_statement(owner: Uuid) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(change_revision())
        .from(users())
        .and_where(Expr::col(Alias::new("id")).eq(owner))
        .to_owned()
}

/// Adds `n` to the user's revision under its row lock; the new (last) revision.
async fn take_revisions<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
    n: i64,
) -> AppResult<i64> {
    let statement = Query::update()
        .table(users())
        .value(change_revision(), Expr::col(change_revision()).add(n))
        .and_where(Expr::col(Alias::new("id")).eq(user_id))
        .returning_col(change_revision())
        .to_owned();
    let row = cx.db().query_one(&statement).await?.ok_or_else(|| {
        AppError::internal(anyhow::anyhow!("no user {user_id} to take a revision of"))
    })?;
    Ok(row.try_get_by_index(0)?)
}

/// Records one change of `todo_id` by `origin` (a session) as the user's next revision; the
/// revision. Call it first in the change's transaction (see the lock order above); if the
/// change then fails, the rollback takes the revision back.
pub(crate) async fn record<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
    kind: TodoChangeKind,
    todo_id: Uuid,
    origin: Option<Uuid>,
) -> AppResult<i64> {
    let revision = take_revisions(cx, user_id, 1).await?;
    todo_change::Entity::insert(row(user_id, revision, kind, todo_id, origin, cx))
        .exec_without_returning(cx.db())
        .await?;
    Ok(revision)
}

fn row<C: ConnectionTrait>(
    user_id: Uuid,
    revision: i64,
    kind: TodoChangeKind,
    todo_id: Uuid,
    origin: Option<Uuid>,
    cx: Ctx<'_, C>,
) -> todo_change::ActiveModel {
    todo_change::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        revision: Set(revision),
        kind: Set(kind),
        todo_id: Set(todo_id),
        origin_session_id: Set(origin),
        occurred_at: Set(cx.now()),
    }
}

/// Takes the user's row lock without taking a revision: the first statement of a batch that
/// learns only later how many changes it makes (the trash purge, account deletion). A no-op
/// on SQLite, whose write transaction already excludes other writers.
pub(crate) async fn lock_log<C: ConnectionTrait>(cx: Ctx<'_, C>, user_id: Uuid) -> AppResult<()> {
    if cx.db().get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        let statement = revision_statement(user_id)
            .lock(LockType::Update)
            .to_owned();
        cx.db().query_one(&statement).await?;
    }
    Ok(())
}

/// Records PURGED for each of `todo_ids` (in that order), as consecutive revisions, with no
/// session. After [`lock_log`] in the same transaction.
pub(crate) async fn record_purged<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
    todo_ids: &[Uuid],
) -> AppResult<()> {
    if todo_ids.is_empty() {
        return Ok(());
    }
    let n = i64::try_from(todo_ids.len()).map_err(AppError::internal)?;
    let last = take_revisions(cx, user_id, n).await?;
    // 7 parameters a row: 1000 rows stay well under both databases' parameter limits.
    for (chunk_index, chunk) in todo_ids.chunks(1000).enumerate() {
        let first = last - n + 1 + (chunk_index as i64) * 1000;
        let rows = chunk.iter().enumerate().map(|(i, todo_id)| {
            row(
                user_id,
                first + i as i64,
                TodoChangeKind::Purged,
                *todo_id,
                None,
                cx,
            )
        });
        todo_change::Entity::insert_many(rows)
            .exec_without_returning(cx.db())
            .await?;
    }
    Ok(())
}
