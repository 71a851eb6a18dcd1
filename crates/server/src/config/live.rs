//! Options of live changes: the WebSocket subscribers and, on PostgreSQL, the connection that
//! listens for other instances' changes.

use super::parse;
use super::secret::Secret;
use clap::Args;
use std::time::Duration;

/// Subscriptions over WebSocket and the change listener.
#[derive(Debug, Clone, Args)]
pub struct LiveConfig {
    /// Most open subscription sockets per user on one instance; one more is closed with 4429.
    #[arg(long, env = "TODOQL_WS_MAX_PER_USER", default_value = "20", value_parser = parse::positive, display_order = 49)]
    pub ws_max_per_user: u32,

    /// Seconds between the server's pings on a subscription socket; a socket that answers
    /// nothing for two of them is closed (a peer that went away without a word).
    #[arg(long, env = "TODOQL_WS_PING_INTERVAL", default_value = "20", value_parser = parse::positive_seconds, display_order = 50)]
    pub ws_ping_interval: Duration,

    /// Seconds a subscriber may take to accept a message before it is closed with 1008 (a
    /// client that cannot keep up is closed, never buffered without bound).
    #[arg(long, env = "TODOQL_WS_SEND_TIMEOUT", default_value = "10", value_parser = parse::positive_seconds, display_order = 51)]
    pub ws_send_timeout: Duration,

    /// PostgreSQL: the URL of the one connection per instance that LISTENs for changes, when
    /// DATABASE_URL goes through a pooler that cannot LISTEN (e.g. PgBouncer in transaction
    /// mode). Default: DATABASE_URL.
    #[arg(long, env = "TODOQL_LISTEN_DATABASE_URL", value_parser = parse::database_url, display_order = 52)]
    pub listen_database_url: Option<Secret>,
}
