//! Options of the background clean-up.

use super::parse;
use clap::Args;
use std::time::Duration;

/// The periodic purge (expired sessions, codes and tokens, old trash, old security events,
/// deleted users).
#[derive(Debug, Clone, Args)]
pub struct MaintenanceConfig {
    /// How often the background purge runs, in seconds (0: never).
    #[arg(long, env = "TODOQL_PURGE_INTERVAL", default_value = "3600", value_parser = parse::seconds, display_order = 24)]
    pub purge_interval: Duration,

    #[command(flatten)]
    pub retention: RetentionConfig,
}

/// How long records are kept: what `todoql purge` needs besides the database.
#[derive(Debug, Clone, Args)]
pub struct RetentionConfig {
    /// Days a security event is kept; the purge drops older ones.
    #[arg(long, env = "TODOQL_AUDIT_RETENTION_DAYS", default_value_t = todoql_domain::settings::DEFAULT_AUDIT_RETENTION_DAYS, value_parser = clap::value_parser!(u32).range(1..=36500), display_order = 25)]
    pub audit_retention_days: u32,

    /// Days the todo change log is kept (offline sync); an older `since` is RESYNC_REQUIRED.
    #[arg(long, env = "TODOQL_CHANGES_RETENTION_DAYS", default_value_t = todoql_domain::settings::DEFAULT_CHANGES_RETENTION_DAYS, value_parser = clap::value_parser!(u32).range(1..=36500), display_order = 26)]
    pub changes_retention_days: u32,
}

impl MaintenanceConfig {
    /// How often the purge runs, or `None` when it never runs in the background.
    pub fn purge_every(&self) -> Option<Duration> {
        Some(self.purge_interval).filter(|every| !every.is_zero())
    }
}

impl RetentionConfig {
    /// How long a security event is kept.
    pub fn audit_retention(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.audit_retention_days))
    }

    /// How long the todo change log is kept.
    pub fn changes_retention(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.changes_retention_days))
    }
}
