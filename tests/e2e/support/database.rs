//! A fresh database per test: a temp SQLite file, or a new PostgreSQL database when
//! TODOQL_TEST_DATABASE_URL is set (dropped in the background afterwards; leftovers of finished
//! test processes are swept by the next one).

use std::sync::Arc;
use todoql_testkit::ScratchDb;

/// Test databases on PostgreSQL are `todoql_test_<pid>_<random>`
/// (scripts/drop-test-databases.sh relies on it).
const POSTGRES_PREFIX: &str = "todoql_test";

/// A fresh database for one test.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    /// Shared by the handles of one database: the last one drops it.
    scratch: Arc<ScratchDb>,
}

impl TestDb {
    /// A new, empty database.
    pub async fn create() -> Self {
        let scratch = match std::env::var("TODOQL_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                todoql_testkit::sweep_orphans(&admin_url, POSTGRES_PREFIX);
                ScratchDb::postgres(&admin_url, POSTGRES_PREFIX)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("TODOQL_TEST_DATABASE_URL is set but no database: {e:#}")
                    })
            }
            _ => ScratchDb::sqlite("test.db").expect("a temporary SQLite file"),
        };
        TestDb {
            url: scratch.url().to_owned(),
            scratch: Arc::new(scratch),
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.scratch.postgres_name().is_some()
    }

    /// Another handle on the same database, for a second server.
    pub fn share(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            scratch: self.scratch.clone(),
        }
    }
}
