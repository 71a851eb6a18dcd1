//! Connecting to the database and applying migrations.

use crate::config::Config;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use std::time::Duration;
use todoql_migration::{Migrator, MigratorTrait};

/// A pool connection is pinged when it is checked out only after it has been idle this long.
///
/// sqlx pings a connection on every checkout by default (`test_before_acquire`): a round trip
/// per checkout, the most common message between todoql and PostgreSQL. It is not needed for
/// a connection that was just used: sqlx also pings every connection when it is given back to
/// the pool and closes it when that fails (sqlx-core 0.9, `Floating::return_to_pool`), so a
/// connection enters the idle queue only after a successful round trip, and a connection that
/// fails during a statement is closed, not reused. What the checkout ping still catches is a
/// connection that died while idle — a database restart or failover, a firewall or
/// `idle_session_timeout` ending quiet connections — and those have been idle for a while:
/// past this threshold the ping runs. Left: a connection ended within the second after its
/// last use fails the one statement that uses it next (the request gets an error and the pool
/// replaces the connection), as a connection ending between a ping and a statement always
/// could. (HikariCP skips its liveness check for connections used within 500 ms.)
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// Opens the pool. SQLite runs in WAL mode with a busy timeout and foreign keys on.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(config.db_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Database::connect(options).await
}

/// Applies every pending migration.
pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}
