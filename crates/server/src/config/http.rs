//! Options of the HTTP front: where it listens, what it accepts, how long it waits.

use super::parse;
use clap::{ArgAction, Args};
use std::net::SocketAddr;
use std::time::Duration;

// `display_order` (here and in every group) keeps `--help` in the order the options had
// before they were grouped; the CLI snapshot tests hold it.

/// Listening, proxies, CORS, request size and time.
#[derive(Debug, Clone, Args)]
pub struct HttpConfig {
    /// Address to listen on.
    #[arg(
        long,
        env = "TODOQL_LISTEN",
        default_value = "127.0.0.1:8000",
        display_order = 0
    )]
    pub listen: SocketAddr,

    /// Serve /metrics on this address only (e.g. an internal interface the scraper reaches),
    /// and not on TODOQL_LISTEN. Unset: /metrics is served on TODOQL_LISTEN.
    #[arg(long, env = "TODOQL_METRICS_LISTEN", display_order = 1)]
    pub metrics_listen: Option<SocketAddr>,

    /// Trust X-Forwarded-For (set only behind a proxy that overwrites it).
    #[arg(long, env = "TODOQL_TRUST_PROXY", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = ArgAction::Set, display_order = 13)]
    pub trust_proxy: bool,

    /// Origins allowed by CORS, comma-separated. Default: none.
    #[arg(long, env = "TODOQL_CORS_ORIGINS", value_delimiter = ',', value_parser = parse::origin, display_order = 14)]
    pub cors_origins: Vec<String>,

    /// Largest request body, in bytes.
    #[arg(long, env = "TODOQL_BODY_LIMIT", default_value = "1048576", value_parser = parse::positive, display_order = 17)]
    pub body_limit: u32,

    /// Longest a request may take, in seconds.
    #[arg(long, env = "TODOQL_REQUEST_TIMEOUT", default_value = "30", value_parser = parse::seconds, display_order = 22)]
    pub request_timeout: Duration,

    /// Longest in-flight requests may take to finish at shutdown, in seconds.
    #[arg(long, env = "TODOQL_SHUTDOWN_TIMEOUT", default_value = "20", value_parser = parse::seconds, display_order = 23)]
    pub shutdown_timeout: Duration,
}

impl HttpConfig {
    /// Largest request body, in bytes.
    pub fn body_limit(&self) -> usize {
        self.body_limit as usize
    }
}
