//! Applying, rolling back and listing migrations, one instance at a time.

use anyhow::Context as _;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};
use std::collections::HashSet;
use todoql_migration::{Migrator, MigratorTrait, SchemaManager};

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
        DatabaseBackend::Postgres => {
            super::postgres_lock::hold_while(db, apply(db, migration)).await
        }
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

/// Prints every migration this binary has and whether the database has applied it, as a
/// table on stdout (what an operator asked for, whatever the log level).
pub async fn print_status(db: &DatabaseConnection) -> anyhow::Result<()> {
    use std::io::Write as _;
    let pending: HashSet<String> = pending_migrations(db).await?.into_iter().collect();
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    let width = names
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max("MIGRATION".len());
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:width$}  STATUS", "MIGRATION")?;
    for name in &names {
        let status = if pending.contains(name) {
            "pending"
        } else {
            "applied"
        };
        writeln!(out, "{name:width$}  {status}")?;
    }
    out.flush()?;
    Ok(())
}
