//! The domain's settings: token lifetimes, keys, limits. The server fills them from its
//! configuration; tests build them directly.

use chrono::Duration;
use secrecy::SecretSlice;

/// A fixed-window limit: at most `max` events per `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Events allowed in one window.
    pub max: u32,
    /// The window's length.
    pub window: Duration,
}

/// The rate limits, all enforced through counters in the database.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Failed password sign-ins for one email address.
    pub failed_sign_ins_per_email: Limit,
    /// Failed password sign-ins from one client IP.
    pub failed_sign_ins_per_ip: Limit,
    /// Mails queued for one address.
    pub mails_per_address: Limit,
    /// Requests that send mail, from one client IP (whatever the address).
    pub mails_per_ip: Limit,
    /// Wrong code guesses for one address.
    pub code_guesses_per_address: Limit,
    /// Wrong code guesses from one client IP (whatever the address).
    pub code_guesses_per_ip: Limit,
    /// Wrong second-factor answers for one user (whatever the mfaToken).
    pub second_factor_guesses_per_user: Limit,
    /// Passkey sign-ins started from one client IP (each stores a ceremony).
    pub passkey_sign_in_starts_per_ip: Limit,
}

impl RateLimits {
    /// The documented defaults: the counts are the server's option defaults, the windows are
    /// fixed (15 minutes for sign-ins, an hour for mails and codes).
    pub const DEFAULT: RateLimits = RateLimits {
        failed_sign_ins_per_email: Limit {
            max: 10,
            window: Duration::minutes(15),
        },
        failed_sign_ins_per_ip: Limit {
            max: 100,
            window: Duration::minutes(15),
        },
        mails_per_address: Limit {
            max: 5,
            window: Duration::hours(1),
        },
        mails_per_ip: Limit {
            max: 30,
            window: Duration::hours(1),
        },
        code_guesses_per_address: Limit {
            max: 10,
            window: Duration::hours(1),
        },
        code_guesses_per_ip: Limit {
            max: 60,
            window: Duration::hours(1),
        },
        second_factor_guesses_per_user: Limit {
            max: 10,
            window: Duration::minutes(15),
        },
        passkey_sign_in_starts_per_ip: Limit {
            max: 120,
            window: Duration::minutes(15),
        },
    };
}

impl Limit {
    /// The same window with another count.
    pub const fn with_max(self, max: u32) -> Limit {
        Limit {
            max,
            window: self.window,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Days a security event is kept by default (`TODOQL_AUDIT_RETENTION_DAYS`).
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 90;

/// Days the todo change log is kept by default (`TODOQL_CHANGES_RETENTION_DAYS`).
pub const DEFAULT_CHANGES_RETENTION_DAYS: u32 = 30;

/// Everything the domain needs to know that is not in the database.
#[derive(Debug)]
pub struct Settings {
    /// HS256 key of access tokens (at least 32 bytes).
    pub jwt_secret: SecretSlice<u8>,
    /// `iss` of access tokens.
    pub jwt_issuer: String,
    /// `aud` of access tokens.
    pub jwt_audience: String,
    /// Life of an access token.
    pub access_token_ttl: Duration,
    /// Life of a session, renewed by each refresh.
    pub session_ttl: Duration,
    /// How long after a rotation the replaced refresh token still answers with its successor.
    pub refresh_grace: Duration,
    /// Whether todo operations need a verified email.
    pub require_verified_email: bool,
    /// Base URL of the frontend, for links in mails.
    pub app_url: String,
    /// Rate limits.
    pub rate_limits: RateLimits,
    /// How long after a sign-in a session counts as recently authenticated, for changes that
    /// take no password (see `auth::reauth`).
    pub reauth_max_age: Duration,
    /// How many Argon2 computations may run at once (defaults to the number of cores).
    pub max_concurrent_password_hashes: usize,
    /// Longest user agent kept on a session.
    pub max_user_agent_len: usize,
    /// OAuth providers, redirect URIs and the key for provider tokens at rest (default: off).
    pub oauth: crate::auth::oauth::OAuthSettings,
    /// How long security events are kept; the purge drops older ones.
    pub audit_retention: Duration,
    /// How long the todo change log is kept; older `since` is RESYNC_REQUIRED.
    pub changes_retention: Duration,
    /// The relying party of passkeys (from `app_url` unless overridden); `None`: passkeys
    /// are off.
    pub passkeys: Option<crate::auth::passkeys::PasskeySettings>,
}

impl Settings {
    /// Settings with the documented defaults and the given JWT secret.
    pub fn new(jwt_secret: Vec<u8>) -> Self {
        Self {
            jwt_secret: SecretSlice::from(jwt_secret),
            jwt_issuer: "todoql".into(),
            jwt_audience: "todoql".into(),
            access_token_ttl: Duration::minutes(15),
            session_ttl: Duration::days(30),
            refresh_grace: Duration::seconds(10),
            require_verified_email: true,
            app_url: "http://localhost:3000".into(),
            rate_limits: RateLimits::default(),
            reauth_max_age: Duration::seconds(600),
            max_concurrent_password_hashes: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            max_user_agent_len: 512,
            oauth: Default::default(),
            audit_retention: Duration::days(i64::from(DEFAULT_AUDIT_RETENTION_DAYS)),
            changes_retention: Duration::days(i64::from(DEFAULT_CHANGES_RETENTION_DAYS)),
            passkeys: Some(crate::auth::passkeys::PasskeySettings::default()),
        }
    }
}
