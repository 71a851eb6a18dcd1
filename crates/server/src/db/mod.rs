//! Connecting to the database and applying migrations, once, however many instances start.

use crate::config::{Config, DatabaseConfig};
use anyhow::Context as _;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use std::time::Duration;

mod migrations;
mod postgres_lock;

pub use migrations::{Migration, migrate_up, pending_migrations, print_status, run};

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
pub async fn connect(config: &DatabaseConfig) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(config.database_url.expose());
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

/// Applies pending migrations on a pool of its own, closes it, then opens the serving pool.
///
/// On SQLite a connection that was open while a migration changed a table can go on
/// answering from the schema it had read: a `RETURNING` of a column added meanwhile came
/// back named with its quotes, and sea-orm read it as missing. Connections opened after the
/// migrations never see an old schema.
pub async fn connect_migrated(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let migrator = connect(&config.database.with_pool_size(1))
        .await
        .context("connecting to the database")?;
    migrate_up(&migrator).await.context("applying migrations")?;
    migrator.close().await?;
    connect(&config.database)
        .await
        .context("connecting to the database")
}
