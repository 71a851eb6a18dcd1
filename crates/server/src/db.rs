//! Connecting to the database and applying migrations, once, however many instances start.

use crate::config::{Config, DatabaseConfig};
use anyhow::Context as _;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use std::collections::HashSet;
use std::time::Duration;
use todoql_migration::{Migrator, MigratorTrait, SchemaManager};

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

/// What `todoql migrate` (and the server's start) does to the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migration {
    /// Apply every pending migration.
    Up,
    /// Roll back the last applied migration.
    Down,
    /// Drop everything and apply every migration.
    Fresh,
}

/// Applies every pending migration (see [`run`]).
pub async fn migrate_up(db: &DatabaseConnection) -> anyhow::Result<()> {
    run(db, Migration::Up).await
}

/// Runs `migration` so that instances starting (or `todoql migrate` running) at the same
/// time take turns: the first migrates, the others wait and then find nothing pending.
///
/// - PostgreSQL: under a session advisory lock, taken on a connection of its own. Without it
///   concurrent `CREATE TABLE`s fail ("duplicate key value violates unique constraint
///   pg_type_typname_nsp_index"). The connection is closed afterwards, which releases the
///   lock whatever happened; so does the death of the process.
/// - SQLite: `Up` and `Down` run in one `BEGIN IMMEDIATE` transaction, which takes SQLite's
///   write lock first, so a second process waits (busy timeout) instead of reading the list
///   of pending migrations while another applies them; a failure leaves nothing half-done.
///   (`Fresh` turns foreign keys off, which a transaction would ignore.)
pub async fn run(db: &DatabaseConnection, migration: Migration) -> anyhow::Result<()> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => postgres_lock::hold_while(db, apply(db, migration)).await,
        DatabaseBackend::Sqlite if migration != Migration::Fresh => {
            let transaction = db
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                })
                .await
                .context("taking SQLite's write lock")?;
            match migration {
                Migration::Down => Migrator::down(&transaction, Some(1)).await?,
                _ => Migrator::up(&transaction, None).await?,
            }
            transaction.commit().await?;
            Ok(())
        }
        _ => apply(db, migration).await,
    }
}

async fn apply(db: &DatabaseConnection, migration: Migration) -> anyhow::Result<()> {
    match migration {
        Migration::Up => Migrator::up(db, None).await?,
        Migration::Down => Migrator::down(db, Some(1)).await?,
        Migration::Fresh => Migrator::fresh(db).await?,
    }
    Ok(())
}

/// The names of the migrations this binary has and the database has not applied. Reads
/// only: on an empty database it creates nothing (not even the migration table).
pub async fn pending_migrations(db: &DatabaseConnection) -> anyhow::Result<Vec<String>> {
    let table = Migrator::migration_table_name().to_string();
    let applied: HashSet<String> = if SchemaManager::new(db).has_table(&table).await? {
        let backend = db.get_database_backend();
        db.query_all_raw(Statement::from_string(
            backend,
            format!("SELECT version FROM {table}"),
        ))
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "version"))
        .collect::<Result<_, _>>()?
    } else {
        HashSet::new()
    };
    Ok(Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .filter(|name| !applied.contains(name))
        .collect())
}

mod postgres_lock {
    use anyhow::Context as _;
    use sea_orm::DatabaseConnection;
    use sea_orm::sqlx::{self, Connection as _};

    /// The advisory lock's key: any number every instance agrees on ("todoql" in ASCII).
    /// Advisory locks belong to one database, so databases on one server do not collide.
    const KEY: i64 = 0x746f_646f_716c;

    /// Runs `work` while holding the migration lock.
    pub async fn hold_while(
        db: &DatabaseConnection,
        work: impl Future<Output = anyhow::Result<()>>,
    ) -> anyhow::Result<()> {
        // A connection of its own, out of the pool (detached: closed when done, never handed
        // to a request still holding the lock).
        let mut lock = db
            .get_postgres_connection_pool()
            .acquire()
            .await
            .context("opening a connection for the migration lock")?
            .detach();
        let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(KEY)
            .fetch_one(&mut lock)
            .await
            .context("taking the migration lock")?;
        if !free {
            tracing::info!("another instance is applying migrations: waiting for it");
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(KEY)
                .execute(&mut lock)
                .await
                .context("waiting for the migration lock")?;
        }
        let result = work.await;
        // Unlock, then close: either alone ends the lock.
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(KEY)
            .execute(&mut lock)
            .await;
        let _ = lock.close().await;
        result
    }
}
