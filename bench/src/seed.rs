//! Scratch databases and bulk seeding straight through the database (multi-row INSERTs in one
//! transaction, not API calls).

use anyhow::Context as _;
use chrono::{Duration, Utc};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait, Set,
    TransactionTrait,
};
use secrecy::SecretString;
use todoql_entity::{todo, user};
use todoql_testkit::ScratchDb;
use uuid::Uuid;

/// The password of every seeded user.
pub const PASSWORD: &str = "correct horse battery staple";
/// Rows per INSERT (9 columns: well under both databases' parameter limits).
const ROWS_PER_INSERT: usize = 1000;

/// The database of one run: a scratch one the bench made (see `todoql-testkit`), or someone
/// else's (`--url` mode), left alone.
pub enum Scratch {
    Made(ScratchDb),
    External,
}

impl Scratch {
    /// A fresh SQLite file in a temporary directory; its URL.
    pub fn sqlite() -> anyhow::Result<(Self, String)> {
        let db = ScratchDb::sqlite("bench.db")?;
        let url = db.url().to_owned();
        Ok((Self::Made(db), url))
    }

    /// A fresh database `todoql_bench_<pid>_<random>` on the PostgreSQL server of `admin_url`;
    /// its URL and name.
    pub async fn postgres(admin_url: &str) -> anyhow::Result<(Self, String, String)> {
        let db = ScratchDb::postgres(admin_url, "todoql_bench").await?;
        let url = db.url().to_owned();
        let name = db.postgres_name().unwrap_or_default().to_owned();
        Ok((Self::Made(db), url, name))
    }

    /// Drops the database (PostgreSQL) or removes the file (SQLite).
    pub async fn drop_now(self) -> anyhow::Result<()> {
        match self {
            Self::Made(db) => db.drop_now().await,
            Self::External => Ok(()),
        }
    }
}

/// PostgreSQL's version, e.g. `15.20`.
pub async fn postgres_version(admin_url: &str) -> anyhow::Result<String> {
    let admin = Database::connect(admin_url).await?;
    let row = admin
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SHOW server_version",
        ))
        .await?
        .context("no server_version")?;
    let version: String = row.try_get("", "server_version")?;
    admin.close().await.ok();
    Ok(version)
}

/// The bench's own connection to the database (WAL and a busy timeout on SQLite, like the
/// server's).
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(2)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(std::time::Duration::from_secs(30))
                .foreign_keys(true)
        });
    Ok(Database::connect(options).await?)
}

/// A seeded user.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub id: Uuid,
    pub email: String,
}

/// Inserts `count` users with verified emails and the password [`PASSWORD`] (one Argon2id
/// hash computed with the server's parameters, shared by all), emails
/// `<prefix>-<i>@<run>.bench.example.com`.
pub async fn users(
    db: &DatabaseConnection,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<Seeded>> {
    let hash = todoql_domain::auth::password::PasswordHasher::new(1)
        .hash(SecretString::from(PASSWORD))
        .await
        .map_err(|e| anyhow::anyhow!("hashing the bench password: {e:?}"))?;
    let now = Utc::now();
    // Unique per run, so that runs against one database (--url) never collide.
    let run = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let seeded: Vec<Seeded> = (0..count)
        .map(|i| Seeded {
            id: Uuid::now_v7(),
            email: format!("{prefix}-{i}@{run}.bench.example.com"),
        })
        .collect();
    for chunk in seeded.chunks(ROWS_PER_INSERT) {
        user::Entity::insert_many(chunk.iter().map(|u| user::ActiveModel {
            id: Set(u.id),
            email: Set(u.email.clone()),
            username: Set(u.email.split('@').next().unwrap_or_default().to_owned()),
            avatar: Set(None),
            password_hash: Set(Some(hash.clone())),
            email_verified: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            totp_enabled: Set(false),
        }))
        .exec(db)
        .await?;
    }
    Ok(seeded)
}

/// Inserts `per_user` todos for each of `owners` in one transaction. A quarter are completed,
/// half have a due date, a third a description; created_at one second apart, newest first.
pub async fn todos(
    db: &DatabaseConnection,
    owners: &[Seeded],
    per_user: usize,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let txn = db.begin().await?;
    let mut batch = Vec::with_capacity(ROWS_PER_INSERT);
    for owner in owners {
        for i in 0..per_user {
            let created_at =
                now - Duration::seconds(i as i64) - Duration::microseconds(i as i64 % 997);
            let completed = i % 4 == 0;
            batch.push(todo::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(owner.id),
                title: Set(format!("todo {i:06}")),
                description: Set((i % 3 == 0).then(|| format!("description of todo {i}"))),
                due_date: Set((i % 2 == 0).then(|| now + Duration::hours(1 + (i % 1000) as i64))),
                is_completed: Set(completed),
                completed_at: Set(completed.then_some(created_at)),
                created_at: Set(created_at),
                updated_at: Set(created_at),
            });
            if batch.len() == ROWS_PER_INSERT {
                todo::Entity::insert_many(std::mem::take(&mut batch))
                    .exec(&txn)
                    .await?;
            }
        }
    }
    if !batch.is_empty() {
        todo::Entity::insert_many(batch).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// After the bulk load, what autovacuum would soon do on a live database: VACUUM (the
/// visibility map lets counts use index-only scans) and ANALYZE (planner statistics).
pub async fn analyze(db: &DatabaseConnection) -> anyhow::Result<()> {
    let sql = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "VACUUM ANALYZE",
        _ => "ANALYZE",
    };
    db.execute_unprepared(sql).await?;
    Ok(())
}
