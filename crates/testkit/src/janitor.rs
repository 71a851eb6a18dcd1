//! Dropping scratch PostgreSQL databases off the caller's path.
//!
//! Dropping a PostgreSQL database forces a checkpoint (over a second here), so tests hand their
//! databases to one background thread instead of waiting. Databases a finished process could
//! not drop (it exited first) are swept by the next process: their names carry the pid of a
//! process that no longer runs.

use sea_orm::{ConnectionTrait, Database, Statement};
use std::collections::HashSet;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, OnceLock};

/// Drops `name` now.
pub(crate) async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = Database::connect(admin_url).await?;
    let dropped = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
    admin.close().await.ok();
    dropped?;
    Ok(())
}

fn queue() -> &'static Mutex<Sender<(String, String)>> {
    static QUEUE: OnceLock<Mutex<Sender<(String, String)>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (sender, receiver) = channel::<(String, String)>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            // Up to 8 drops at once: concurrent drops share their checkpoints.
            let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
            for (admin_url, name) in receiver {
                let permit = runtime.block_on(permits.clone().acquire_owned()).unwrap();
                runtime.spawn(async move {
                    // Best effort: what fails here is swept by a later process.
                    let _ = drop_database(&admin_url, &name).await;
                    drop(permit);
                });
            }
        });
        Mutex::new(sender)
    })
}

/// Queues `name` for dropping in the background.
pub(crate) fn drop_later(admin_url: String, name: String) {
    let _ = queue()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((admin_url, name));
}

/// Once per process and prefix: queues for dropping the databases `<prefix>_<pid>_…` (as
/// [`crate::ScratchDb::postgres`] names them) whose process no longer runs. Returns at once;
/// the sweep runs on a thread of its own.
pub fn sweep_orphans(admin_url: &str, prefix: &str) {
    static SWEPT: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let first_time = SWEPT
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashSet::new)
        .insert(prefix.to_owned());
    if !first_time {
        return;
    }
    let admin_url = admin_url.to_owned();
    let prefix = prefix.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let names = runtime.block_on(database_names(&admin_url, &prefix));
        for name in names {
            if owner_pid(&name, &prefix).is_some_and(|pid| !process_runs(pid)) {
                drop_later(admin_url.clone(), name);
            }
        }
    });
}

async fn database_names(admin_url: &str, prefix: &str) -> Vec<String> {
    let Ok(admin) = Database::connect(admin_url).await else {
        return Vec::new();
    };
    // `_` matches any character in LIKE: escape the prefix's.
    let pattern = format!("{}\\_%", prefix.replace('_', "\\_"));
    let rows = admin
        .query_all_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT datname FROM pg_database WHERE datname LIKE $1",
            [pattern.into()],
        ))
        .await
        .unwrap_or_default();
    let _ = admin.close().await;
    rows.iter()
        .filter_map(|r| r.try_get::<String>("", "datname").ok())
        .collect()
}

/// The pid in `<prefix>_<pid>_<random>`; None for names of another scheme.
fn owner_pid(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('_')?;
    let (pid, random) = rest.split_once('_')?;
    if random.is_empty() {
        return None;
    }
    pid.parse().ok()
}

fn process_runs(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_pid_is_read_from_names_of_the_scheme_only() {
        assert_eq!(
            owner_pid("todoql_test_4242_0a1b", "todoql_test"),
            Some(4242)
        );
        assert_eq!(owner_pid("todoql_test_x_0a1b", "todoql_test"), None);
        assert_eq!(owner_pid("todoql_test_4242", "todoql_test"), None);
        assert_eq!(owner_pid("todoql_bench_4242_0a1b", "todoql_test"), None);
        assert_eq!(owner_pid("todoql_testing_4242_0a1b", "todoql_test"), None);
    }

    #[test]
    fn this_process_runs() {
        assert!(process_runs(std::process::id()));
    }
}
