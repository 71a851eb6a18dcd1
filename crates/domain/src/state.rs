//! The one shared state of the domain, and the context of one unit of work.
//!
//! [`AppState`] holds the pool and the [`Services`]. Entry points (what a resolver or a
//! background task calls) take the `AppState`, open a transaction or use the pool, and hand the
//! rules below them a [`Ctx`]: the connection or transaction of that unit of work plus the
//! services. A `Ctx` cannot reach the pool, so a rule cannot step outside its transaction.

use crate::auth::access_token::AccessTokens;
use crate::auth::oauth::OAuth;
use crate::auth::passkeys::Relying;
use crate::auth::password::PasswordHasher;
use crate::cipher::TokenCipher;
use crate::clock::Clock;
use crate::settings::Settings;
use crate::todos::live::ChangeFeed;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use std::sync::Arc;

/// Database, settings, clock and the helpers built from them. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    services: Services,
}

/// Everything a rule may use besides the database: settings, clock, hashing, tokens, OAuth.
pub struct Services {
    settings: Settings,
    clock: Arc<dyn Clock>,
    passwords: PasswordHasher,
    access_tokens: AccessTokens,
    refresh_key: Vec<u8>,
    mail_queued: tokio::sync::Notify,
    oauth: OAuth,
    cipher: Option<TokenCipher>,
    passkeys: Relying,
    change_feed: Arc<ChangeFeed>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
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
        let cipher = settings.oauth.encryption_key.as_ref().map(TokenCipher::new);
        let oauth = OAuth::new(&settings.oauth, cipher.clone());
        let passkeys = Relying::new(settings.passkeys.as_ref());
        Self {
            inner: Arc::new(Inner {
                db,
                services: Services {
                    settings,
                    clock,
                    passwords,
                    access_tokens,
                    refresh_key,
                    mail_queued: tokio::sync::Notify::new(),
                    oauth,
                    cipher,
                    passkeys,
                    change_feed: Arc::default(),
                },
            }),
        }
    }

    /// The database pool.
    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// The services, without the pool.
    pub fn services(&self) -> &Services {
        &self.inner.services
    }

    /// A unit of work on `db` (a transaction, or the pool for a single statement).
    pub fn on<'a, C: ConnectionTrait>(&'a self, db: &'a C) -> Ctx<'a, C> {
        Ctx {
            db,
            services: self.services(),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        self.services().settings()
    }

    /// Now, from the injectable clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.services().now()
    }

    /// The clock itself.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.services().clock
    }

    /// Password hashing off the runtime.
    pub fn passwords(&self) -> &PasswordHasher {
        self.services().passwords()
    }

    /// Access-token signing and verification.
    pub fn access_tokens(&self) -> &AccessTokens {
        &self.services().access_tokens
    }

    /// Signalled when a mail was queued; the outbox sender of this instance waits on it.
    pub fn mail_queued(&self) -> &tokio::sync::Notify {
        &self.services().mail_queued
    }

    /// OAuth providers and what their flows need.
    pub fn oauth(&self) -> &OAuth {
        self.services().oauth()
    }

    /// This instance's live subscribers, by user (nudged after each change of their todos).
    pub fn change_feed(&self) -> &Arc<ChangeFeed> {
        &self.services().change_feed
    }

    /// Key for deriving refresh-token successors.
    pub(crate) fn refresh_key(&self) -> &[u8] {
        self.services().refresh_key()
    }
}

impl Services {
    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Now, from the injectable clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Password hashing off the runtime.
    pub fn passwords(&self) -> &PasswordHasher {
        &self.passwords
    }

    /// Access-token signing and verification.
    pub fn access_tokens(&self) -> &AccessTokens {
        &self.access_tokens
    }

    /// OAuth providers and what their flows need.
    pub fn oauth(&self) -> &OAuth {
        &self.oauth
    }

    /// Key for deriving refresh-token successors.
    pub(crate) fn refresh_key(&self) -> &[u8] {
        &self.refresh_key
    }

    /// The at-rest cipher under `TODOQL_ENCRYPTION_KEY`; `None` without that key.
    pub fn cipher(&self) -> Option<&TokenCipher> {
        self.cipher.as_ref()
    }

    /// The passkeys' relying party.
    pub fn passkeys(&self) -> &Relying {
        &self.passkeys
    }
}

/// One unit of work: the connection or transaction it runs on, and the services. Rules below
/// the entry points take this and nothing else, so they cannot reach the pool.
pub struct Ctx<'a, C> {
    db: &'a C,
    services: &'a Services,
}

impl<C> Clone for Ctx<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for Ctx<'_, C> {}

impl<'a, C: ConnectionTrait> Ctx<'a, C> {
    /// The connection or transaction of this unit of work.
    pub fn db(&self) -> &'a C {
        self.db
    }

    /// The settings.
    pub fn settings(&self) -> &'a Settings {
        self.services.settings()
    }

    /// Now, from the injectable clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.services.now()
    }

    /// The services.
    pub fn services(&self) -> &'a Services {
        self.services
    }

    /// A unit of work on `db` (a transaction this one began) with the same services.
    pub fn on<'b, D: ConnectionTrait>(&self, db: &'b D) -> Ctx<'b, D>
    where
        'a: 'b,
    {
        Ctx {
            db,
            services: self.services,
        }
    }
}
