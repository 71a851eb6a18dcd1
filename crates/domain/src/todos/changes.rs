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
use crate::state::{AppState, Ctx};
use sea_orm::sea_query::{
    Alias, Asterisk, CommonTableExpression, Expr, ExprTrait, LockType, PostgresQueryBuilder, Query,
    WithClause,
};
use sea_orm::{ActiveModelTrait, ActiveValue, ConnectionTrait, EntityTrait, Iterable, Set};
use todoql_entity::todo;
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

/// `UPDATE users SET change_revision = change_revision + n WHERE id = user_id RETURNING
/// change_revision`: takes `n` revisions under the user's row lock.
fn take_statement(user_id: Uuid, n: i64) -> sea_orm::sea_query::UpdateStatement {
    Query::update()
        .table(users())
        .value(change_revision(), Expr::col(change_revision()).add(n))
        .and_where(Expr::col(Alias::new("id")).eq(user_id))
        .returning_col(change_revision())
        .to_owned()
}

/// Adds `n` to the user's revision under its row lock; the new (last) revision.
async fn take_revisions<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
    n: i64,
) -> AppResult<i64> {
    let statement = take_statement(user_id, n);
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

/// After the commit of a change of `owner`'s todos: on SQLite, nudges this process's live
/// subscribers. On PostgreSQL the commit's NOTIFY (the `todo_changes` trigger) reaches every
/// instance's listener, this one's included, which nudges them.
pub(crate) fn announce(app: &AppState, owner: Uuid) {
    if app.db().get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        app.change_feed().nudge(owner);
    }
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

/// On PostgreSQL, one statement that takes the user's next revision, writes the log row of
/// `kind` by `origin` for `todo`, and inserts `todo` into `todos`, returning it:
///
/// ```sql
/// WITH rev AS (UPDATE users SET change_revision = change_revision + 1 WHERE id = $user
///              RETURNING change_revision),
///      logged AS (INSERT INTO todo_changes (…) SELECT …, rev.change_revision, … FROM rev)
/// INSERT INTO todos (…) SELECT <todo's values> FROM rev RETURNING *
/// ```
///
/// A write whose change must be logged then needs no transaction of its own (one round trip
/// instead of BEGIN, three statements and COMMIT), and it is still atomic. Both inserts read
/// `rev`, so they run after the UPDATE has the user's row: the lock order of every change
/// (the user's row first) holds inside the statement too.
pub(crate) fn insert_logged_todo<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    todo: todo::ActiveModel,
    kind: TodoChangeKind,
    origin: Option<Uuid>,
) -> AppResult<sea_orm::Statement> {
    let (ActiveValue::Set(user_id), ActiveValue::Set(todo_id)) = (&todo.user_id, &todo.id) else {
        return Err(AppError::internal(anyhow::anyhow!(
            "a new todo without its ids"
        )));
    };
    let (user_id, todo_id) = (*user_id, *todo_id);
    let rev = Alias::new("rev");
    let take = take_statement(user_id, 1);
    // Each column's value from its model, the revision from `rev`.
    let log_row = row(user_id, 0, kind, todo_id, origin, cx);
    let log_values = todo_change::Column::iter()
        .map(|column| match column {
            todo_change::Column::Revision => Ok(Expr::col((rev.clone(), change_revision()))),
            other => value_of(log_row.get(other)),
        })
        .collect::<AppResult<Vec<_>>>()?;
    let mut log = Query::insert();
    log.into_table(todo_change::Entity)
        .columns(todo_change::Column::iter())
        .select_from(
            Query::select()
                .exprs(log_values)
                .from(rev.clone())
                .to_owned(),
        )
        .map_err(AppError::internal)?;
    let todo_values = todo::Column::iter()
        .map(|column| value_of(todo.get(column)))
        .collect::<AppResult<Vec<_>>>()?;
    let mut insert = Query::insert();
    insert
        .into_table(todo::Entity)
        .columns(todo::Column::iter())
        .select_from(
            Query::select()
                .exprs(todo_values)
                .from(rev.clone())
                .to_owned(),
        )
        .map_err(AppError::internal)?
        .returning(Query::returning().column(Asterisk));
    let with = WithClause::new()
        .cte(
            CommonTableExpression::new()
                .query(take)
                .table_name(rev)
                .to_owned(),
        )
        .cte(
            CommonTableExpression::new()
                .query(log)
                .table_name(Alias::new("logged"))
                .to_owned(),
        )
        .to_owned();
    let (sql, values) = insert.with(with).build(PostgresQueryBuilder);
    Ok(sea_orm::Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Postgres,
        sql,
        values,
    ))
}

/// A column's set value as a bound parameter; every column of a new row is set.
fn value_of(value: ActiveValue<sea_orm::Value>) -> AppResult<Expr> {
    value
        .into_value()
        .map(Expr::val)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a column of a new row is not set")))
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
