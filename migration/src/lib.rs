//! Database migrations of todoql, portable to SQLite and PostgreSQL.
//!
//! Run them with [`Migrator::up`] (the server does so at start-up). Every migration runs in
//! a transaction, on SQLite as well as on PostgreSQL, and its `down` reverses its `up` completely.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial_schema;
mod m20261123_000002_rate_limits_and_token_history;
mod m20261123_000003_email_outbox;
mod m20261123_000007_one_account_per_provider;
mod m20261125_000100_oauth_browser_challenge;
mod m20261125_000200_session_authentication;
mod m20261126_000300_security_events;
mod m20261126_000400_second_factor;
mod m20261126_000500_passkeys;
mod m20261126_000600_todo_changes;
mod m20261126_000700_change_notifications;

/// The ordered list of todoql's migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial_schema::Migration),
            Box::new(m20261123_000002_rate_limits_and_token_history::Migration),
            Box::new(m20261123_000003_email_outbox::Migration),
            Box::new(m20261123_000007_one_account_per_provider::Migration),
            Box::new(m20261125_000100_oauth_browser_challenge::Migration),
            Box::new(m20261125_000200_session_authentication::Migration),
            Box::new(m20261126_000300_security_events::Migration),
            Box::new(m20261126_000400_second_factor::Migration),
            Box::new(m20261126_000500_passkeys::Migration),
            Box::new(m20261126_000600_todo_changes::Migration),
            Box::new(m20261126_000700_change_notifications::Migration),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm_migration::sea_orm::{Database, DatabaseConnection, QueryResult, Statement};

    const TABLES: &[&str] = &[
        "accounts",
        "deleted_todo_logs",
        "email_outbox",
        "email_verification_codes",
        "mfa_challenges",
        "oauth_states",
        "passkeys",
        "password_reset_tokens",
        "rate_limit_counters",
        "recovery_codes",
        "refresh_token_history",
        "seaql_migrations",
        "security_events",
        "sessions",
        "todo_changes",
        "todos",
        "totp_factors",
        "users",
        "webauthn_ceremonies",
    ];

    async fn exec(db: &DatabaseConnection, sql: &str) -> Result<(), DbErr> {
        db.execute_unprepared(sql).await.map(|_| ())
    }

    /// `(type, name)` of every object in the SQLite schema, sorted.
    async fn objects(db: &DatabaseConnection) -> Vec<(String, String)> {
        let rows: Vec<QueryResult> = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT type, name FROM sqlite_master ORDER BY type, name",
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                (
                    r.try_get("", "type").unwrap(),
                    r.try_get("", "name").unwrap(),
                )
            })
            .collect()
    }

    async fn tables(db: &DatabaseConnection) -> Vec<String> {
        let mut names: Vec<String> = objects(db)
            .await
            .into_iter()
            .filter(|(kind, _)| kind == "table")
            .map(|(_, name)| name)
            .collect();
        names.sort();
        names
    }

    const USER: &str = "'00000000-0000-0000-0000-000000000001'";

    fn todo(n: u8, title: &str, completed: bool) -> String {
        format!(
            "INSERT INTO todos (id, user_id, title, is_completed, created_at, updated_at) \
             VALUES ('00000000-0000-0000-0000-1000000000{n:02}', {USER}, '{title}', {completed}, \
             CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
    }

    fn user(n: u8, email: &str, deleted: bool) -> String {
        let deleted_at = if deleted { "CURRENT_TIMESTAMP" } else { "NULL" };
        format!(
            "INSERT INTO users (id, email, username, email_verified, created_at, updated_at, \
             deleted_at) VALUES ('00000000-0000-0000-0000-0000000000{n:02}', '{email}', 'u', \
             FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, {deleted_at})"
        )
    }

    #[tokio::test]
    async fn up_down_up_on_sqlite() {
        let path = std::env::temp_dir().join(format!(
            "todoql-migration-test-{}-{}.db",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let db = Database::connect(&url).await.unwrap();

        Migrator::up(&db, None).await.unwrap();
        assert_eq!(tables(&db).await, TABLES);

        // Titles are unique among a user's incomplete todos only.
        exec(&db, &user(1, "a@example.com", false)).await.unwrap();
        exec(&db, &todo(1, "t", false)).await.unwrap();
        assert!(exec(&db, &todo(2, "t", false)).await.is_err());
        exec(&db, &todo(3, "t", true)).await.unwrap();
        exec(&db, &todo(4, "u", true)).await.unwrap();
        exec(&db, &todo(5, "u", false)).await.unwrap();

        // Emails are unique among live users only.
        assert!(exec(&db, &user(2, "a@example.com", false)).await.is_err());
        exec(&db, &user(3, "b@example.com", true)).await.unwrap();
        exec(&db, &user(4, "b@example.com", false)).await.unwrap();

        // Deleting a user deletes their todos.
        exec(&db, &format!("DELETE FROM users WHERE id = {USER}"))
            .await
            .unwrap();
        let left = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM todos",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(left.try_get::<i64>("", "n").unwrap(), 0);

        // `down` leaves nothing but the migration table and its own index.
        Migrator::down(&db, None).await.unwrap();
        let left: Vec<_> = objects(&db)
            .await
            .into_iter()
            .filter(|(_, name)| !name.contains("seaql_migrations"))
            .collect();
        assert_eq!(left, Vec::<(String, String)>::new());

        Migrator::up(&db, None).await.unwrap();
        assert_eq!(tables(&db).await, TABLES);
        assert!(
            Migrator::get_pending_migrations(&db)
                .await
                .unwrap()
                .is_empty()
        );

        db.close().await.unwrap();
        let _ = std::fs::remove_file(&path);
    }
}
