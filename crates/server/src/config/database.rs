//! Options of the database: where it is and how many connections (every command that opens
//! it), and whether the server migrates it at start (`serve` only).

use super::parse;
use super::secret::Secret;
use clap::{ArgAction, Args};

/// The database and its pool.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// Database URL: sqlite://FILE?mode=rwc or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://todoql.db?mode=rwc", value_parser = parse::database_url, display_order = 2)]
    pub database_url: Secret,

    /// Most database connections in the pool (default: 4 per CPU core, 4 to 16).
    #[arg(long, env = "TODOQL_DB_MAX_CONNECTIONS", default_value_t = default_pool_size(), value_parser = parse::positive, display_order = 3)]
    pub db_max_connections: u32,
}

/// Whether `todoql serve` applies pending migrations at start.
#[derive(Debug, Clone, Args)]
pub struct StartupMigrations {
    /// Do not apply pending migrations when serving (`todoql` or `todoql serve`); refuse to
    /// start while any is pending. `todoql migrate up` applies them.
    #[arg(long, env = "TODOQL_NO_MIGRATE", value_parser = clap::builder::BoolishValueParser::new(), action = ArgAction::SetTrue, display_order = 10)]
    pub no_migrate: bool,
}

impl DatabaseConfig {
    /// The same database with a pool of `connections` (the migrator's, the mail sender's).
    pub fn with_pool_size(&self, connections: u32) -> Self {
        Self {
            db_max_connections: connections,
            ..self.clone()
        }
    }
}

/// 4 connections per CPU core, 4 to 16. More connections than the cores can keep busy only
/// queue inside the database: on 2 cores, 8 connections serve the todo list 7–20 % faster
/// than 16 with a lower p99 on PostgreSQL, and keep SQLite's RSS under 100 MB (see
/// bench/RESULTS.md).
fn default_pool_size() -> u32 {
    std::thread::available_parallelism().map_or(8, |n| {
        u32::try_from(n.get())
            .unwrap_or(u32::MAX)
            .saturating_mul(4)
            .clamp(4, 16)
    })
}
