//! Options of the log: what is written, and in which format.

use super::parse;
use clap::{Args, ValueEnum};

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The log's filter and format.
#[derive(Debug, Clone, Args)]
pub struct LogConfig {
    /// Log filter (tracing EnvFilter syntax).
    #[arg(long, env = "TODOQL_LOG", default_value = "info", value_parser = parse::log_filter, display_order = 15)]
    pub log: String,

    /// Log format.
    #[arg(
        long,
        env = "TODOQL_LOG_FORMAT",
        value_enum,
        default_value = "text",
        display_order = 16
    )]
    pub log_format: LogFormat,
}
