//! The one shared state of the domain, reached from resolvers through [`state`].

use crate::auth::access_token::AccessTokens;
use crate::auth::password::PasswordHasher;
use crate::clock::Clock;
use crate::settings::Settings;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Database, settings, clock and the helpers built from them. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    settings: Settings,
    clock: Arc<dyn Clock>,
    passwords: PasswordHasher,
    access_tokens: AccessTokens,
    refresh_key: Vec<u8>,
    mail_queued: tokio::sync::Notify,
    oauth: crate::auth::oauth::OAuth,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the state. Needs no live database query.
    pub fn new(db: DatabaseConnection, settings: Settings, clock: Arc<dyn Clock>) -> Self {
        use secrecy::ExposeSecret;
        let passwords = PasswordHasher::new(settings.max_concurrent_password_hashes);
        let access_tokens = AccessTokens::new(&settings);
        // A key separate from the JWT key (derived from it) for refresh-token successors.
        let refresh_key = crate::secrets::hmac_token(
            settings.jwt_secret.expose_secret(),
            "todoql refresh-token successor key",
        )
        .into_bytes();
        let oauth = crate::auth::oauth::OAuth::new(&settings.oauth);
        Self {
            inner: Arc::new(Inner {
                db,
                settings,
                clock,
                passwords,
                access_tokens,
                refresh_key,
                mail_queued: tokio::sync::Notify::new(),
                oauth,
            }),
        }
    }

    /// The database.
    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Now, from the injectable clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock.now()
    }

    /// The clock itself.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Password hashing off the runtime.
    pub fn passwords(&self) -> &PasswordHasher {
        &self.inner.passwords
    }

    /// Access-token signing and verification.
    pub fn access_tokens(&self) -> &AccessTokens {
        &self.inner.access_tokens
    }

    /// Signalled when a mail was queued; the outbox sender of this instance waits on it.
    pub fn mail_queued(&self) -> &tokio::sync::Notify {
        &self.inner.mail_queued
    }

    /// OAuth providers and what their flows need.
    pub fn oauth(&self) -> &crate::auth::oauth::OAuth {
        &self.inner.oauth
    }

    /// Key for deriving refresh-token successors.
    pub(crate) fn refresh_key(&self) -> &[u8] {
        &self.inner.refresh_key
    }
}
