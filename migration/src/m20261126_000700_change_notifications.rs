//! PostgreSQL: every statement that writes `todo_changes` also NOTIFYs `todoql_changes` with
//! `user_id:revision` (the newest revision it wrote for that user), so every instance's
//! subscribers hear the change when it commits (NOTIFY is delivered at commit, never for a
//! rollback). A trigger rather than a statement in each writer: no writer can forget it, and
//! createTodo's one-statement WITH keeps its round trips. One notification per user per
//! statement (a transition table), so a purge of many todos is one notification, not many.
//! The payload carries no data: listeners read the log. SQLite has no NOTIFY; the process wakes
//! its own subscribers after commit (`domain/todos/live.rs`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

/// The NOTIFY trigger on todo_changes (PostgreSQL only).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            r"CREATE FUNCTION todoql_notify_todo_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('todoql_changes', user_id::text || ':' || max(revision)::text)
  FROM written GROUP BY user_id;
  RETURN NULL;
END $$",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER todo_changes_notify AFTER INSERT ON todo_changes \
             REFERENCING NEW TABLE AS written FOR EACH STATEMENT \
             EXECUTE FUNCTION todoql_notify_todo_changes()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS todo_changes_notify ON todo_changes")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS todoql_notify_todo_changes()")
            .await?;
        Ok(())
    }
}
