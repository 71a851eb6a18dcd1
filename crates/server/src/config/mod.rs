//! Configuration: every option is a CLI flag and an environment variable of the same name.
//! A bad value exits with status 2 and one line naming the variable and what is wrong.
//!
//! One file per job: the command line, its subcommands and parsing (`command_line`; each
//! subcommand flattens the groups it uses, `serve` all of them), the options in
//! groups flattened into [`Config`] (`options`; a file per group, each turning itself into
//! the settings of what it configures), the value parsers (`parse`), the secret type and
//! the one place that decides which options are secret (`secret`, `secret_args`), the
//! rewriting of clap's errors (`clap_errors`) and the resolution of the OAuth providers
//! (`oauth_providers`).

mod clap_errors;
mod command_line;
mod database;
mod http;
mod live;
mod logging;
mod mail;
mod maintenance;
mod oauth;
mod oauth_providers;
mod oidc_spec;
mod operations;
mod options;
mod otlp;
mod parse;
mod rate_limits;
mod secret;
mod secret_args;
mod sessions;
#[cfg(test)]
mod tests;
mod webauthn;

pub use command_line::{
    AuditArgs, Cli, Command, MigrateAction, MigrateArgs, PurgeArgs, ServeArgs, parse_or_exit,
};
pub use database::{DatabaseConfig, StartupMigrations};
pub use http::HttpConfig;
pub use live::LiveConfig;
pub use logging::{LogConfig, LogFormat};
pub use mail::MailConfig;
pub use maintenance::{MaintenanceConfig, RetentionConfig};
pub use oauth::OAuthConfig;
pub use oauth_providers::ConfigError;
pub use oidc_spec::OidcSpec;
pub use operations::OperationLimits;
pub use options::{Config, offline_settings};
pub use otlp::OtlpConfig;
pub use rate_limits::RateLimitConfig;
pub use secret::Secret;
pub use sessions::SessionConfig;
