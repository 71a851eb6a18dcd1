//! PostgreSQL's migration lock: a session advisory lock on a connection of its own.

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
