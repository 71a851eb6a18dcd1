//! Every option of the server, in groups (one struct and one file per group).

use super::database::{DatabaseConfig, StartupMigrations};
use super::http::HttpConfig;
use super::live::LiveConfig;
use super::logging::LogConfig;
use super::mail::MailConfig;
use super::maintenance::MaintenanceConfig;
use super::oauth::OAuthConfig;
use super::oauth_providers::ConfigError;
use super::operations::OperationLimits;
use super::otlp::OtlpConfig;
use super::rate_limits::RateLimitConfig;
use super::sessions::SessionConfig;
use super::webauthn::WebAuthnConfig;
use clap::Args;
use todoql_domain::Settings;

/// Every option of `todoql serve`. Flags and environment variables share names.
#[derive(Debug, Clone, Args)]
pub struct Config {
    #[command(flatten)]
    pub http: HttpConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub startup: StartupMigrations,
    #[command(flatten)]
    pub sessions: SessionConfig,
    #[command(flatten)]
    pub mail: MailConfig,
    #[command(flatten)]
    pub operations: OperationLimits,
    #[command(flatten)]
    pub rate_limits: RateLimitConfig,
    #[command(flatten)]
    pub logging: LogConfig,
    #[command(flatten)]
    pub otlp: OtlpConfig,
    #[command(flatten)]
    pub maintenance: MaintenanceConfig,
    #[command(flatten)]
    pub oauth: OAuthConfig,
    #[command(flatten)]
    pub webauthn: WebAuthnConfig,
    #[command(flatten)]
    pub live: LiveConfig,
}

impl Config {
    /// Checks what spans several options and variables (the OAuth providers, the passkeys'
    /// relying party) and keeps the
    /// result. The parsing functions call it; a `Config` they return is resolved.
    pub fn resolve(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        self.oauth.resolved = self.oauth.resolve(env)?;
        self.webauthn.resolved = self.webauthn.resolve(&self.mail.app_url)?;
        Ok(())
    }

    /// The domain settings described by the configuration, each group giving its part.
    pub fn settings(&self) -> Settings {
        let mut settings = self.sessions.settings();
        settings.app_url = self.mail.app_url.clone();
        settings.rate_limits = self.rate_limits.settings();
        settings.oauth = self.oauth.settings();
        settings.audit_retention = self.maintenance.retention.audit_retention();
        settings.changes_retention = self.maintenance.retention.changes_retention();
        settings.passkeys = self.webauthn.resolved.clone();
        settings
    }
}

/// The domain settings of a command that signs no token and sends no mail (`purge`, `audit`):
/// the defaults, with a random signing key nothing uses (so that such a command needs no
/// TODOQL_JWT_SECRET and warns about none).
pub fn offline_settings() -> Settings {
    let mut key = vec![0u8; 32];
    todoql_domain::secrets::fill_random(&mut key);
    Settings::new(key)
}
