//! The command line of todoql-bench, and the settings and targets it describes.

use crate::report::Settings;
use crate::scenarios::PAGE_SIZE;
use anyhow::bail;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;

/// Load benchmark of the todoql server (see the README, "Benchmarks").
#[derive(Debug, Parser)]
#[command(name = "todoql-bench")]
pub struct Args {
    /// Which database(s) to run on.
    #[arg(long, value_enum, default_value = "both")]
    pub db: Which,
    /// PostgreSQL admin URL: a scratch database `todoql_bench_<random>` is created there and
    /// dropped at the end.
    #[arg(
        long,
        env = "TODOQL_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
    /// The server binary to start (default: target/release/todoql, built first when run by
    /// cargo).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Benchmark a server that is already running at this URL (e.g. http://127.0.0.1:8000)
    /// instead of starting one; needs --database-url (to seed) and, for memory and CPU
    /// figures, --server-pid. Its rate limits must be set high.
    #[arg(long, requires = "database_url")]
    pub url: Option<url::Url>,
    /// With --url: the server's database, for seeding.
    #[arg(long)]
    pub database_url: Option<String>,
    /// With --url: the server's process id, for memory and CPU figures.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// About a second per scenario on small data; checks that everything runs without errors.
    #[arg(long)]
    pub smoke: bool,
    /// Scenarios to run (1 layer, 2 list, 3 writes, 4 isolation, 5 depth, 7 todoql against
    /// its floors, PostgreSQL only, 8 live changes: idle subscribers and delivery delay; 6
    /// memory is read during the others).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5,7,8")]
    pub scenarios: Vec<u8>,
    /// Server under test on one core, load generator on another (needs two cores).
    #[arg(long)]
    pub pin: bool,
    /// Rounds of scenario 7 (the table gives their medians; default 3, 1 with --smoke).
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Measured seconds per scenario run (default 10; 1 with --smoke).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Warm-up seconds before each measured run (default 3; 0.3 with --smoke).
    #[arg(long)]
    pub warmup: Option<f64>,
    /// Keep-alive connections of the measured load.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Connections looping on signIn in scenario 4.
    #[arg(long, default_value_t = 50)]
    pub flood: usize,
    /// Users with a list of todos (default 100; 10 with --smoke).
    #[arg(long)]
    pub users: Option<usize>,
    /// Todos of each of those users (default 1,000; 50 with --smoke).
    #[arg(long)]
    pub todos_per_user: Option<usize>,
    /// Todos of the user of scenario 5 (default 100,000; 1,000 with --smoke).
    #[arg(long)]
    pub depth_todos: Option<usize>,
    /// The far page of scenario 5 (default 500; 25 with --smoke).
    #[arg(long)]
    pub page: Option<usize>,
    /// Server starts timed on the migrated database (default 5; 1 with --smoke).
    #[arg(long)]
    pub cold_starts: Option<usize>,
    /// Scenario 8: idle WebSocket subscribers on one instance (default 1,000; 20 with --smoke).
    #[arg(long)]
    pub subscribers: Option<usize>,
    /// Scenario 8: sockets of each user (the server allows 20 by default; above that the
    /// bench raises TODOQL_WS_MAX_PER_USER).
    #[arg(long, default_value_t = 10)]
    pub sockets_per_user: usize,
    /// Scenario 8: timed changes, one at a time (default 300; 20 with --smoke).
    #[arg(long)]
    pub changes: Option<usize>,
    /// Extra server environment, e.g. `--server-env TODOQL_DB_MAX_CONNECTIONS=8` (repeatable).
    #[arg(long, value_parser = parse_env)]
    pub server_env: Vec<(String, String)>,
    /// Where the JSON results go.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    Sqlite,
    Postgres,
    Both,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    Ok((key.to_owned(), value.to_owned()))
}

impl Args {
    /// The run's settings: the options given, else the defaults (small ones with --smoke).
    pub fn settings(&self) -> Settings {
        let smoke = self.smoke;
        Settings {
            smoke,
            connections: self.connections,
            flood: self.flood,
            warmup_s: self.warmup.unwrap_or(if smoke { 0.3 } else { 3.0 }),
            duration_s: self.duration.unwrap_or(if smoke { 1.0 } else { 10.0 }),
            users: self.users.unwrap_or(if smoke { 10 } else { 100 }),
            todos_per_user: self.todos_per_user.unwrap_or(if smoke { 50 } else { 1000 }),
            depth_todos: self
                .depth_todos
                .unwrap_or(if smoke { 1000 } else { 100_000 }),
            page: self.page.unwrap_or(if smoke { 25 } else { 500 }),
            cold_starts: self.cold_starts.unwrap_or(if smoke { 1 } else { 5 }).max(1),
            server_env: self
                .server_env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            rounds: self.rounds.unwrap_or(if smoke { 1 } else { 3 }).max(1),
            subscribers: self.subscribers.unwrap_or(if smoke { 20 } else { 1000 }),
            sockets_per_user: self.sockets_per_user,
            changes: self.changes.unwrap_or(if smoke { 20 } else { 300 }),
            pin: self.pin,
        }
    }

    /// The databases to run on: the one behind --url, else those of --db.
    pub fn databases(&self) -> Vec<&'static str> {
        let mut databases = Vec::new();
        if self.url.is_some() {
            let database_url = self.database_url.clone().unwrap_or_default();
            databases.push(if database_url.starts_with("postgres") {
                "PostgreSQL"
            } else {
                "SQLite"
            });
        } else {
            if matches!(self.db, Which::Sqlite | Which::Both) {
                databases.push("SQLite");
            }
            if matches!(self.db, Which::Postgres | Which::Both) {
                databases.push("PostgreSQL");
            }
        }
        databases
    }

    /// The PostgreSQL server's admin URL: the one we create scratch databases on, or the
    /// database of the server at --url.
    pub fn postgres_admin_url(&self) -> &str {
        if self.url.is_some() {
            self.database_url.as_deref().unwrap_or_default()
        } else {
            &self.postgres_url
        }
    }

    /// The server binary to start, or `None` for a server at --url.
    pub fn binary(&self) -> anyhow::Result<Option<PathBuf>> {
        Ok(match (&self.url, &self.server_bin) {
            (Some(_), _) => None,
            (None, Some(path)) => Some(path.clone()),
            (None, None) => Some(crate::server::default_binary()?),
        })
    }
}

/// Refuses sizes that cannot run: no users or connections, or too few deep todos for the
/// far page.
pub fn check(settings: &Settings) -> anyhow::Result<()> {
    if settings.users == 0 || settings.connections == 0 {
        bail!("--users and --connections must be positive");
    }
    if settings.subscribers == 0 || settings.sockets_per_user == 0 {
        bail!("--subscribers and --sockets-per-user must be positive");
    }
    if settings.page == 0 || settings.depth_todos < settings.page * PAGE_SIZE {
        bail!(
            "--depth-todos {} is too few for page {} of {PAGE_SIZE}",
            settings.depth_todos,
            settings.page
        );
    }
    Ok(())
}
