//! A database made for one run: a temp SQLite file, or a fresh PostgreSQL database.

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, Database};

use crate::janitor;

/// A database made for one test or benchmark run, gone after it: the SQLite file is removed
/// with its temporary directory; a PostgreSQL database is dropped by [`ScratchDb::drop_now`],
/// or else on `Drop` by a background janitor (dropping forces a checkpoint, over a second here,
/// which tests should not wait for).
pub struct ScratchDb {
    url: String,
    place: Place,
}

enum Place {
    Sqlite(tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// Already dropped by [`ScratchDb::drop_now`].
    Gone,
}

impl ScratchDb {
    /// A new SQLite file `file_name` in a fresh temporary directory.
    pub fn sqlite(file_name: &str) -> anyhow::Result<ScratchDb> {
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let url = format!("sqlite://{}?mode=rwc", dir.path().join(file_name).display());
        Ok(ScratchDb {
            url,
            place: Place::Sqlite(dir),
        })
    }

    /// A new database on the PostgreSQL server of `admin_url`, named
    /// `<prefix>_<pid>_<random>`: the process id lets [`crate::sweep_orphans`] (and
    /// scripts/drop-test-databases.sh) tell leftovers of a finished process from databases in use.
    pub async fn postgres(admin_url: &str, prefix: &str) -> anyhow::Result<ScratchDb> {
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        let url = with_database_name(admin_url, &name)?;
        let admin = Database::connect(admin_url)
            .await
            .context("connecting to PostgreSQL")?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .with_context(|| format!("creating the database {name}"))?;
        admin.close().await.ok();
        Ok(ScratchDb {
            url,
            place: Place::Postgres {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }

    /// Its connection URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The PostgreSQL database's name (None for SQLite).
    pub fn postgres_name(&self) -> Option<&str> {
        match &self.place {
            Place::Postgres { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Drops the database now and reports whether that worked (the SQLite file: removes it).
    pub async fn drop_now(mut self) -> anyhow::Result<()> {
        match std::mem::replace(&mut self.place, Place::Gone) {
            Place::Sqlite(dir) => Ok(dir.close()?),
            Place::Postgres { admin_url, name } => janitor::drop_database(&admin_url, &name).await,
            Place::Gone => Ok(()),
        }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        if let Place::Postgres { admin_url, name } = std::mem::replace(&mut self.place, Place::Gone)
        {
            janitor::drop_later(admin_url, name);
        }
    }
}

/// `url` with its database (the path) replaced by `name`.
pub fn with_database_name(url: &str, name: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_replaces_the_path_and_keeps_the_rest() {
        assert_eq!(
            with_database_name(
                "postgres://postgres:pw@127.0.0.1:5432/postgres?sslmode=disable",
                "t1"
            )
            .unwrap(),
            "postgres://postgres:pw@127.0.0.1:5432/t1?sslmode=disable"
        );
        assert_eq!(
            with_database_name("postgres://127.0.0.1", "t2").unwrap(),
            "postgres://127.0.0.1/t2"
        );
        assert!(with_database_name("not a url", "t3").is_err());
    }

    #[test]
    fn a_sqlite_scratch_file_goes_with_its_directory() {
        let db = ScratchDb::sqlite("x.db").unwrap();
        let path = db
            .url()
            .strip_prefix("sqlite://")
            .and_then(|rest| rest.strip_suffix("?mode=rwc"))
            .unwrap()
            .to_owned();
        let dir = std::path::Path::new(&path).parent().unwrap().to_owned();
        assert!(dir.is_dir());
        assert_eq!(db.postgres_name(), None);
        drop(db);
        assert!(!dir.exists());
    }
}
