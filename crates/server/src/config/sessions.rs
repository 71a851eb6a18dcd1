//! Options of accounts and sessions: the access-token key and lifetimes, re-authentication,
//! whether todos need a verified address.

use super::parse;
use super::secret::Secret;
use clap::{ArgAction, Args};
use std::time::Duration;
use todoql_domain::Settings;

/// Tokens, sessions and what an account may do.
#[derive(Debug, Clone, Args)]
pub struct SessionConfig {
    /// HS256 key for access tokens, at least 32 bytes. Unset: a random key (tokens do not
    /// survive a restart, and instances cannot share sessions).
    #[arg(long, env = "TODOQL_JWT_SECRET", value_parser = parse::jwt_secret, display_order = 4)]
    pub jwt_secret: Option<Secret>,

    /// Whether todo operations need a verified email.
    #[arg(long, env = "TODOQL_REQUIRE_VERIFIED_EMAIL", default_value = "true", value_parser = clap::builder::BoolishValueParser::new(), action = ArgAction::Set, display_order = 11)]
    pub require_verified_email: bool,

    /// Seconds a sign-in counts as recent: changes that take no password (a first password,
    /// linking a provider, a new address or deletion of an account without password) need a
    /// session signed in within them.
    #[arg(long, env = "TODOQL_REAUTH_MAX_AGE", default_value = "600", value_parser = parse::positive, display_order = 31)]
    pub reauth_max_age: u32,

    /// Lifetime of access tokens, in seconds (1 to 86400). Shorter means revocation by expiry
    /// sooner and more refreshes; the session itself lives on through refresh tokens.
    #[arg(long, env = "TODOQL_ACCESS_TOKEN_TTL", default_value = "900", value_parser = parse::access_token_ttl, display_order = 32)]
    pub access_token_ttl: u32,

    /// Seconds after a refresh during which the replaced refresh token answers with the same
    /// successor (two tabs racing, a lost response retried).
    #[arg(long, env = "TODOQL_REFRESH_GRACE", default_value = "10", value_parser = parse::seconds, display_order = 33)]
    pub refresh_grace: Duration,
}

impl SessionConfig {
    /// The domain's settings with this group's values; the other groups fill in theirs
    /// (`Config::settings`).
    pub fn settings(&self) -> Settings {
        let mut settings = Settings::new(self.signing_key());
        settings.require_verified_email = self.require_verified_email;
        settings.access_token_ttl = chrono::Duration::seconds(i64::from(self.access_token_ttl));
        settings.refresh_grace = chrono::Duration::from_std(self.refresh_grace).unwrap_or_default();
        settings.reauth_max_age = chrono::Duration::seconds(i64::from(self.reauth_max_age));
        settings
    }

    /// The access-token key: the configured one, or a random one (with a warning).
    fn signing_key(&self) -> Vec<u8> {
        match &self.jwt_secret {
            Some(secret) => secret.expose().as_bytes().to_vec(),
            None => {
                tracing::warn!(
                    "TODOQL_JWT_SECRET is not set: using a random key. Access tokens will not survive a \
                     restart and several instances cannot share sessions. Set a secret of at least 32 bytes in production."
                );
                let mut key = vec![0u8; 32];
                todoql_domain::secrets::fill_random(&mut key);
                key
            }
        }
    }
}
