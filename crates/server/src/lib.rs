//! The todoql server: configuration, CLI, HTTP, telemetry, metrics and background tasks.
//! Thin by design: it wires things together and holds no business rule.

pub mod app;
pub mod audit;
pub mod background;
pub mod cli;
pub mod config;
pub mod db;
pub mod http;
pub mod metrics;
pub mod shutdown;
pub mod telemetry;
