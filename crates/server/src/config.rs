//! Configuration: every option is a CLI flag and an environment variable of the same name.
//! A bad value exits with status 2 and one line naming the variable and what is wrong.

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;
use todoql_domain::auth::oauth::settings::{
    GITHUB_API_URL, GITHUB_AUTH_URL, GITHUB_TOKEN_URL, GOOGLE_ISSUER,
};
use todoql_domain::auth::oauth::{EncryptionKey, OAuthSettings, ProviderKind, ProviderSettings};

/// todoql: a GraphQL back end for todo-list apps.
#[derive(Debug, Parser)]
#[command(name = "todoql", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve GraphQL over HTTP (the default).
    Serve,
    /// Apply or inspect database migrations.
    Migrate {
        #[arg(value_enum)]
        action: MigrateAction,
    },
    /// Print the GraphQL schema (SDL). Needs no database.
    Schema,
    /// Run one clean-up pass (expired sessions, codes, tokens, old trash, deleted users).
    Purge,
}

/// Migration actions.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the last applied migration.
    Down,
    /// List migrations and whether each is applied.
    Status,
    /// Drop every table and apply all migrations from scratch.
    Fresh,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn parse_seconds(value: &str) -> Result<Duration, String> {
    let secs: u64 = value
        .parse()
        .map_err(|_| format!("expected a whole number of seconds, got {value:?}"))?;
    Ok(Duration::from_secs(secs))
}

/// 4 connections per CPU core, 4 to 16. More connections than the cores can keep busy only
/// queue inside the database: on 2 cores, 8 connections serve the todo list 7–20 % faster
/// than 16 with a lower p99 on PostgreSQL, and keep SQLite's RSS under 100 MB (see
/// bench/RESULTS.md).
fn default_pool_size() -> u32 {
    std::thread::available_parallelism().map_or(8, |n| {
        u32::try_from(n.get())
            .unwrap_or(u32::MAX)
            .saturating_mul(4)
            .clamp(4, 16)
    })
}

fn parse_positive(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive whole number, got {value:?}")),
    }
}

fn parse_access_token_ttl(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        // A day at most: an access token cannot be revoked before it expires except by the
        // per-request session check, and a long one outlives every reasonable session policy.
        Ok(n) if (1..=86_400).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a whole number of seconds from 1 to 86400, got {value:?}"
        )),
    }
}

fn parse_jwt_secret(value: &str) -> Result<String, String> {
    if value.len() < 32 {
        return Err(format!(
            "must be at least 32 bytes long (got {})",
            value.len()
        ));
    }
    Ok(value.to_owned())
}

fn parse_app_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn parse_smtp_url(value: &str) -> Result<String, String> {
    todoql_domain::mail::transport::SmtpUrl::parse(value)?;
    Ok(value.to_owned())
}

fn parse_mail_from(value: &str) -> Result<String, String> {
    todoql_domain::mail::transport::parse_mailbox(value)?;
    Ok(value.to_owned())
}

fn parse_origin(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("{value:?} is not an origin: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("{value:?} is not an http(s) origin"));
    }
    Ok(url.origin().ascii_serialization())
}

fn parse_log_filter(value: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(value).map_err(|e| format!("not a log filter: {e}"))?;
    Ok(value.to_owned())
}

fn parse_database_url(value: &str) -> Result<String, String> {
    if value.starts_with("sqlite:")
        || value.starts_with("postgres://")
        || value.starts_with("postgresql://")
    {
        Ok(value.to_owned())
    } else {
        Err("must start with sqlite: or postgres://".into())
    }
}

/// Every option of the server. Flags and environment variables share names.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "TODOQL_LISTEN",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub listen: SocketAddr,

    /// Serve /metrics on this address only (e.g. an internal interface the scraper reaches),
    /// and not on TODOQL_LISTEN. Unset: /metrics is served on TODOQL_LISTEN.
    #[arg(long, env = "TODOQL_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// Database URL: sqlite://FILE?mode=rwc or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://todoql.db?mode=rwc", value_parser = parse_database_url, hide_env_values = true, global = true)]
    pub database_url: String,

    /// Most database connections in the pool (default: 4 per CPU core, 4 to 16).
    #[arg(long, env = "TODOQL_DB_MAX_CONNECTIONS", default_value_t = default_pool_size(), value_parser = parse_positive, global = true)]
    pub db_max_connections: u32,

    /// HS256 key for access tokens, at least 32 bytes. Unset: a random key (tokens do not
    /// survive a restart, and instances cannot share sessions).
    #[arg(long, env = "TODOQL_JWT_SECRET", value_parser = parse_jwt_secret, hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// Base URL of the frontend; mails link to {app-url}/verify-email etc.
    #[arg(long, env = "TODOQL_APP_URL", default_value = "http://localhost:3000", value_parser = parse_app_url, global = true)]
    pub app_url: String,

    /// SMTP server: smtp://user:pass@host:587 (STARTTLS required; for localhost, 127.0.0.0/8
    /// and ::1 only when offered), smtps://user:pass@host (implicit TLS, port 465),
    /// ?tls=required, ?tls=opportunistic (STARTTLS when offered, plaintext otherwise) or
    /// ?tls=none (plaintext, for a local relay). Unset: mails are printed to the log.
    #[arg(long, env = "TODOQL_SMTP_URL", value_parser = parse_smtp_url, hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,

    /// Sender of mails.
    #[arg(
        long,
        env = "TODOQL_MAIL_FROM",
        default_value = "todoql <no-reply@todoql.localhost>",
        value_parser = parse_mail_from,
        global = true
    )]
    pub mail_from: String,

    /// Seconds before the first retry of a mail the transport refused; doubled after each
    /// further failure (at most one hour apart).
    #[arg(long, env = "TODOQL_MAIL_RETRY_BASE", default_value = "10", value_parser = parse_seconds, global = true)]
    pub mail_retry_base: Duration,

    /// Attempts to deliver one mail before giving up on it (it is then deleted, with an error log).
    #[arg(long, env = "TODOQL_MAIL_MAX_ATTEMPTS", default_value = "10", value_parser = parse_positive, global = true)]
    pub mail_max_attempts: u32,

    /// Do not apply pending migrations when serving (`todoql` or `todoql serve`); refuse to
    /// start while any is pending. `todoql migrate up` applies them.
    #[arg(long, env = "TODOQL_NO_MIGRATE", value_parser = clap::builder::BoolishValueParser::new(), action = ArgAction::SetTrue, global = true)]
    pub no_migrate: bool,

    /// Whether todo operations need a verified email.
    #[arg(long, env = "TODOQL_REQUIRE_VERIFIED_EMAIL", default_value = "true", value_parser = clap::builder::BoolishValueParser::new(), action = ArgAction::Set, global = true)]
    pub require_verified_email: bool,

    /// Whether GraphQL introspection is answered.
    #[arg(long, env = "TODOQL_INTROSPECTION", default_value = "true", value_parser = clap::builder::BoolishValueParser::new(), action = ArgAction::Set, global = true)]
    pub introspection: bool,

    /// Trust X-Forwarded-For (set only behind a proxy that overwrites it).
    #[arg(long, env = "TODOQL_TRUST_PROXY", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = ArgAction::Set, global = true)]
    pub trust_proxy: bool,

    /// Origins allowed by CORS, comma-separated. Default: none.
    #[arg(long, env = "TODOQL_CORS_ORIGINS", value_delimiter = ',', value_parser = parse_origin, global = true)]
    pub cors_origins: Vec<String>,

    /// Log filter (tracing EnvFilter syntax).
    #[arg(long, env = "TODOQL_LOG", default_value = "info", value_parser = parse_log_filter, global = true)]
    pub log: String,

    /// Log format.
    #[arg(
        long,
        env = "TODOQL_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// Largest request body, in bytes.
    #[arg(long, env = "TODOQL_BODY_LIMIT", default_value = "1048576", value_parser = parse_positive, global = true)]
    pub body_limit: u32,

    /// Deepest selection nesting of an operation.
    #[arg(long, env = "TODOQL_MAX_DEPTH", default_value = "12", value_parser = parse_positive, global = true)]
    pub max_depth: u32,

    /// Highest cost of an operation: each field costs 1 (`__typename` too) wherever a fragment
    /// is spread; a list costs its page size (`first`, default 20) times its fields.
    #[arg(long, env = "TODOQL_MAX_COMPLEXITY", default_value = "2000", value_parser = parse_positive, global = true)]
    pub max_complexity: u32,

    /// Most tokens in one GraphQL document (counted before it is parsed).
    #[arg(long, env = "TODOQL_MAX_TOKENS", default_value = "5000", value_parser = parse_positive, global = true)]
    pub max_tokens: u32,

    /// Most operations in one batched request.
    #[arg(long, env = "TODOQL_MAX_BATCH", default_value = "10", value_parser = parse_positive, global = true)]
    pub max_batch: u32,

    /// Longest a request may take, in seconds.
    #[arg(long, env = "TODOQL_REQUEST_TIMEOUT", default_value = "30", value_parser = parse_seconds, global = true)]
    pub request_timeout: Duration,

    /// Longest in-flight requests may take to finish at shutdown, in seconds.
    #[arg(long, env = "TODOQL_SHUTDOWN_TIMEOUT", default_value = "20", value_parser = parse_seconds, global = true)]
    pub shutdown_timeout: Duration,

    /// How often the background purge runs, in seconds (0: never).
    #[arg(long, env = "TODOQL_PURGE_INTERVAL", default_value = "3600", value_parser = parse_seconds, global = true)]
    pub purge_interval: Duration,

    /// Failed password sign-ins allowed per email address per 15 minutes.
    #[arg(long, env = "TODOQL_SIGNIN_FAILURES_PER_EMAIL", default_value = "10", value_parser = parse_positive, global = true)]
    pub signin_failures_per_email: u32,

    /// Failed password sign-ins allowed per client IP per 15 minutes.
    #[arg(long, env = "TODOQL_SIGNIN_FAILURES_PER_IP", default_value = "100", value_parser = parse_positive, global = true)]
    pub signin_failures_per_ip: u32,

    /// Mails allowed per address per hour.
    #[arg(long, env = "TODOQL_MAILS_PER_ADDRESS", default_value = "5", value_parser = parse_positive, global = true)]
    pub mails_per_address: u32,

    /// Wrong code guesses allowed per address per hour.
    #[arg(long, env = "TODOQL_CODE_GUESSES_PER_ADDRESS", default_value = "10", value_parser = parse_positive, global = true)]
    pub code_guesses_per_address: u32,

    /// Requests that send mail (signUp, requestSignInCode, requestPasswordReset,
    /// sendVerificationEmail, requestEmailChange) allowed per client IP per hour.
    #[arg(long, env = "TODOQL_MAILS_PER_IP", default_value = "30", value_parser = parse_positive, global = true)]
    pub mails_per_ip: u32,

    /// Wrong code guesses allowed per client IP per hour, whatever the address.
    #[arg(long, env = "TODOQL_CODE_GUESSES_PER_IP", default_value = "60", value_parser = parse_positive, global = true)]
    pub code_guesses_per_ip: u32,

    /// Seconds a sign-in counts as recent: changes that take no password (a first password,
    /// linking a provider, a new address or deletion of an account without password) need a
    /// session signed in within them.
    #[arg(long, env = "TODOQL_REAUTH_MAX_AGE", default_value = "600", value_parser = parse_positive, global = true)]
    pub reauth_max_age: u32,

    /// Lifetime of access tokens, in seconds (1 to 86400). Shorter means revocation by expiry
    /// sooner and more refreshes; the session itself lives on through refresh tokens.
    #[arg(long, env = "TODOQL_ACCESS_TOKEN_TTL", default_value = "900", value_parser = parse_access_token_ttl, global = true)]
    pub access_token_ttl: u32,

    /// Seconds after a refresh during which the replaced refresh token answers with the same
    /// successor (two tabs racing, a lost response retried).
    #[arg(long, env = "TODOQL_REFRESH_GRACE", default_value = "10", value_parser = parse_seconds, global = true)]
    pub refresh_grace: Duration,

    /// Key that encrypts OAuth provider tokens at rest (AES-256-GCM): 32 bytes written as
    /// base64 or as 64 hex digits, e.g. from `openssl rand -base64 32`. Required when an OAuth
    /// provider is configured.
    #[arg(long, env = "TODOQL_ENCRYPTION_KEY", value_parser = EncryptionKey::parse, hide_env_values = true, global = true)]
    pub encryption_key: Option<EncryptionKey>,

    /// Redirect URIs a client may pass to startOAuth, comma-separated; the frontend page that
    /// receives the provider's code. A redirectUri must equal one of them exactly.
    #[arg(long, env = "TODOQL_OAUTH_REDIRECT_URIS", value_delimiter = ',', value_parser = parse_redirect_uri, global = true)]
    pub oauth_redirect_uris: Vec<String>,

    /// Client ID of the GitHub OAuth app (enables sign-in with GitHub).
    #[arg(long, env = "TODOQL_OAUTH_GITHUB_CLIENT_ID", global = true)]
    pub oauth_github_client_id: Option<String>,

    /// Client secret of the GitHub OAuth app.
    #[arg(
        long,
        env = "TODOQL_OAUTH_GITHUB_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub oauth_github_client_secret: Option<String>,

    /// GitHub's authorization endpoint (override for GitHub Enterprise or tests).
    #[arg(long, env = "TODOQL_OAUTH_GITHUB_AUTH_URL", default_value = GITHUB_AUTH_URL, value_parser = parse_provider_url, global = true)]
    pub oauth_github_auth_url: String,

    /// GitHub's token endpoint (override for GitHub Enterprise or tests).
    #[arg(long, env = "TODOQL_OAUTH_GITHUB_TOKEN_URL", default_value = GITHUB_TOKEN_URL, value_parser = parse_provider_url, global = true)]
    pub oauth_github_token_url: String,

    /// GitHub's REST API base URL (override for GitHub Enterprise or tests).
    #[arg(long, env = "TODOQL_OAUTH_GITHUB_API_URL", default_value = GITHUB_API_URL, value_parser = parse_provider_url, global = true)]
    pub oauth_github_api_url: String,

    /// Client ID of the Google OAuth client (enables sign-in with Google).
    #[arg(long, env = "TODOQL_OAUTH_GOOGLE_CLIENT_ID", global = true)]
    pub oauth_google_client_id: Option<String>,

    /// Client secret of the Google OAuth client.
    #[arg(
        long,
        env = "TODOQL_OAUTH_GOOGLE_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub oauth_google_client_secret: Option<String>,

    /// Google's OpenID Connect issuer (override for tests).
    #[arg(long, env = "TODOQL_OAUTH_GOOGLE_ISSUER", default_value = GOOGLE_ISSUER, value_parser = parse_provider_url, global = true)]
    pub oauth_google_issuer: String,

    /// Names of generic OpenID Connect providers, comma-separated. Each NAME needs
    /// TODOQL_OIDC_<NAME>_ISSUER, TODOQL_OIDC_<NAME>_CLIENT_ID and
    /// TODOQL_OIDC_<NAME>_CLIENT_SECRET (NAME upper-cased, `-` as `_`).
    #[arg(long, env = "TODOQL_OIDC_PROVIDERS", value_delimiter = ',', value_parser = parse_provider_name, global = true)]
    pub oidc_providers: Vec<String>,

    /// A generic OpenID Connect provider on the command line (repeatable), the flag form of
    /// TODOQL_OIDC_PROVIDERS: name=NAME,issuer=URL,client-id=ID,client-secret=SECRET.
    #[arg(long = "oidc-provider", value_parser = parse_oidc_spec, hide_env_values = true, global = true)]
    pub oidc_provider: Vec<OidcSpec>,

    /// The OAuth settings resolved from the options above and the per-provider variables
    /// (filled by [`parse_or_exit`] and [`Config::from_args`]).
    #[arg(skip)]
    pub oauth: OAuthSettings,
}

/// One generic OpenID Connect provider given by `--oidc-provider`.
#[derive(Clone)]
pub struct OidcSpec {
    name: String,
    issuer: String,
    client_id: String,
    client_secret: String,
}

impl std::fmt::Debug for OidcSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSpec")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// An empty item (an empty variable, a trailing comma) is dropped later.
fn parse_redirect_uri(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    let url =
        url::Url::parse(value).map_err(|e| format!("{value:?} is not an absolute URL: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("{value:?} must not have a #fragment"));
    }
    Ok(value.to_owned())
}

/// A provider endpoint: https, or http on a loopback host (local development and tests).
fn parse_provider_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value.trim()).map_err(|e| format!("{value:?} is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(host)) => host == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    // Kept verbatim: an issuer must equal the `issuer` of its discovery document exactly,
    // trailing slash included.
    match url.scheme() {
        "https" if url.host().is_some() => Ok(value.trim().to_owned()),
        "http" if loopback => Ok(value.trim().to_owned()),
        _ => Err(format!(
            "{value:?} must be an https URL (http only for localhost)"
        )),
    }
}

/// An empty item (an empty variable, a trailing comma) is dropped later.
fn parse_provider_name(value: &str) -> Result<String, String> {
    let name = value.trim().to_ascii_lowercase();
    if name.is_empty() {
        return Ok(name);
    }
    let valid = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(format!(
            "{value:?} is not a provider name (letters, digits, - and _, at most 32)"
        ));
    }
    if matches!(name.as_str(), "github" | "google") {
        return Err(format!(
            "{name:?} is built in: configure it with TODOQL_OAUTH_{}_CLIENT_ID/_SECRET",
            name.to_ascii_uppercase()
        ));
    }
    Ok(name)
}

fn parse_oidc_spec(value: &str) -> Result<OidcSpec, String> {
    let (mut name, mut issuer, mut client_id, mut client_secret) = (None, None, None, None);
    for part in value.split(',') {
        let (key, val) = part
            .split_once('=')
            .ok_or("expected name=NAME,issuer=URL,client-id=ID,client-secret=SECRET")?;
        let val = val.trim().to_owned();
        match key.trim() {
            "name" => name = Some(parse_provider_name(&val)?).filter(|n| !n.is_empty()),
            "issuer" => issuer = Some(parse_provider_url(&val)?),
            "client-id" => client_id = Some(val),
            "client-secret" => client_secret = Some(val),
            other => return Err(format!("unknown key {other:?}")),
        }
    }
    let missing = |what: &str| format!("{what}= is missing");
    Ok(OidcSpec {
        name: name.ok_or_else(|| missing("name"))?,
        issuer: issuer.ok_or_else(|| missing("issuer"))?,
        client_id: client_id
            .filter(|v| !v.is_empty())
            .ok_or_else(|| missing("client-id"))?,
        client_secret: client_secret
            .filter(|v| !v.is_empty())
            .ok_or_else(|| missing("client-secret"))?,
    })
}

/// A configuration problem found after parsing: which variable (and flag), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable (with its flag, when it has one).
    pub variable: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

fn config_error(variable: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: variable.to_owned(),
        message: message.into(),
    }
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl Config {
    /// Resolves the OAuth providers from the options and, for the providers named in
    /// TODOQL_OIDC_PROVIDERS, from the variables `env` returns. Fails on a half-configured
    /// provider, a missing per-provider variable, or a provider without an encryption key or
    /// redirect URI.
    pub fn resolve_oauth(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<OAuthSettings, ConfigError> {
        let mut providers = Vec::new();
        let mut pair = |name: &str,
                        id: &Option<String>,
                        secret: &Option<String>,
                        id_var: &str,
                        secret_var: &str,
                        kind: ProviderKind|
         -> Result<(), ConfigError> {
            match (non_empty(id), non_empty(secret)) {
                (None, None) => Ok(()),
                (Some(_), None) => Err(config_error(
                    secret_var,
                    format!("required when {id_var} is set"),
                )),
                (None, Some(_)) => Err(config_error(
                    id_var,
                    format!("required when {secret_var} is set"),
                )),
                (Some(client_id), Some(client_secret)) => {
                    providers.push(ProviderSettings {
                        name: name.to_owned(),
                        client_id,
                        client_secret: client_secret.into(),
                        kind,
                    });
                    Ok(())
                }
            }
        };
        pair(
            "github",
            &self.oauth_github_client_id,
            &self.oauth_github_client_secret,
            "TODOQL_OAUTH_GITHUB_CLIENT_ID (--oauth-github-client-id)",
            "TODOQL_OAUTH_GITHUB_CLIENT_SECRET (--oauth-github-client-secret)",
            ProviderKind::GitHub {
                auth_url: self.oauth_github_auth_url.clone(),
                token_url: self.oauth_github_token_url.clone(),
                api_url: self.oauth_github_api_url.clone(),
            },
        )?;
        pair(
            "google",
            &self.oauth_google_client_id,
            &self.oauth_google_client_secret,
            "TODOQL_OAUTH_GOOGLE_CLIENT_ID (--oauth-google-client-id)",
            "TODOQL_OAUTH_GOOGLE_CLIENT_SECRET (--oauth-google-client-secret)",
            ProviderKind::Oidc {
                issuer: self.oauth_google_issuer.clone(),
            },
        )?;

        for name in self.oidc_providers.iter().filter(|n| !n.is_empty()) {
            let prefix = format!(
                "TODOQL_OIDC_{}",
                name.to_ascii_uppercase().replace('-', "_")
            );
            let var = |suffix: &str| -> Result<String, ConfigError> {
                let variable = format!("{prefix}_{suffix}");
                env(&variable)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        config_error(
                            &variable,
                            format!(
                                "required for the provider {name:?} listed in TODOQL_OIDC_PROVIDERS"
                            ),
                        )
                    })
            };
            let issuer_var = format!("{prefix}_ISSUER");
            let issuer = parse_provider_url(&var("ISSUER")?)
                .map_err(|message| config_error(&issuer_var, message))?;
            providers.push(ProviderSettings {
                name: name.clone(),
                client_id: var("CLIENT_ID")?,
                client_secret: var("CLIENT_SECRET")?.into(),
                kind: ProviderKind::Oidc { issuer },
            });
        }
        for spec in &self.oidc_provider {
            providers.push(ProviderSettings {
                name: spec.name.clone(),
                client_id: spec.client_id.clone(),
                client_secret: spec.client_secret.clone().into(),
                kind: ProviderKind::Oidc {
                    issuer: spec.issuer.clone(),
                },
            });
        }

        let mut seen = std::collections::HashSet::new();
        for provider in &providers {
            if !seen.insert(provider.name.as_str()) {
                return Err(config_error(
                    "TODOQL_OIDC_PROVIDERS (--oidc-providers, --oidc-provider)",
                    format!("the provider {:?} is configured twice", provider.name),
                ));
            }
        }
        let redirect_uris: Vec<String> = self
            .oauth_redirect_uris
            .iter()
            .filter(|uri| !uri.is_empty())
            .cloned()
            .collect();
        if !providers.is_empty() {
            if self.encryption_key.is_none() {
                return Err(config_error(
                    "TODOQL_ENCRYPTION_KEY (--encryption-key)",
                    "required when an OAuth provider is configured (32 bytes as base64 or hex, \
                     e.g. `openssl rand -base64 32`)",
                ));
            }
            if redirect_uris.is_empty() {
                return Err(config_error(
                    "TODOQL_OAUTH_REDIRECT_URIS (--oauth-redirect-uris)",
                    "required when an OAuth provider is configured (your frontend's callback URL)",
                ));
            }
        }
        Ok(OAuthSettings {
            providers,
            redirect_uris,
            encryption_key: self.encryption_key.clone(),
        })
    }
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Config {
    /// The configuration with every default and `overrides` applied, as if given on the
    /// command line (used by tests and tools).
    pub fn from_args<I, T>(overrides: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args = std::iter::once(std::ffi::OsString::from("todoql"))
            .chain(overrides.into_iter().map(Into::into));
        let mut config = Cli::try_parse_from(args)?.config;
        config.oauth = config.resolve_oauth(&process_env).map_err(|err| {
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, err.to_string())
        })?;
        Ok(config)
    }
}

/// Parses the command line and environment, or exits: status 0 for --help/--version, status 2
/// with one line naming the variable for a bad value.
pub fn parse_or_exit() -> Cli {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => exit_with(err),
    };
    match cli.config.resolve_oauth(&process_env) {
        Ok(oauth) => cli.config.oauth = oauth,
        Err(err) => {
            eprintln!("todoql: {err}");
            std::process::exit(2);
        }
    }
    cli
}

fn exit_with(err: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        err.exit();
    }
    let arg = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => Some(arg.clone()),
        _ => None,
    };
    let Some(arg) = arg else {
        // Not about one option (unknown subcommand, stray argument): clap's own words.
        let text = err.render().to_string();
        eprintln!(
            "todoql: {}",
            text.lines()
                .next()
                .unwrap_or("invalid command line")
                .trim_start_matches("error: ")
        );
        std::process::exit(2);
    };
    let flag = arg.split_whitespace().next().unwrap_or(&arg).to_owned();
    let env = env_name_of(&flag);
    let reason = match err.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(value)) if hidden_value(&flag) => {
            format!("invalid value ({} characters)", value.len())
        }
        _ => String::new(),
    };
    let source = std::error::Error::source(&err)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let detail = if !source.is_empty() {
        source
    } else if !reason.is_empty() {
        reason
    } else {
        err.render()
            .to_string()
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("error: ")
            .to_owned()
    };
    match env {
        Some(env) => eprintln!("todoql: {env} ({flag}): {detail}"),
        None => eprintln!("todoql: {flag}: {detail}"),
    }
    std::process::exit(2);
}

fn env_name_of(flag: &str) -> Option<String> {
    use clap::CommandFactory;
    let command = Cli::command();
    let long = flag.trim_start_matches("--");
    let from = |cmd: &clap::Command| {
        cmd.get_arguments()
            .find(|a| a.get_long() == Some(long))
            .and_then(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
    };
    from(&command).or_else(|| command.get_subcommands().find_map(from))
}

fn hidden_value(flag: &str) -> bool {
    matches!(
        flag,
        "--jwt-secret"
            | "--database-url"
            | "--smtp-url"
            | "--encryption-key"
            | "--oauth-github-client-secret"
            | "--oauth-google-client-secret"
            | "--oidc-provider"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parse(args: &[&str]) -> Config {
        let args = std::iter::once("todoql").chain(args.iter().copied());
        Cli::try_parse_from(args).expect("parses").config
    }

    fn resolve(args: &[&str], env: &[(&str, &str)]) -> Result<OAuthSettings, ConfigError> {
        let env: std::collections::HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(args).resolve_oauth(&move |name| env.get(name).cloned())
    }

    #[test]
    fn no_provider_means_oauth_is_off_and_needs_no_key() {
        let oauth = resolve(&[], &[]).unwrap();
        assert!(oauth.providers.is_empty());
    }

    #[test]
    fn providers_are_listed_in_order_with_their_kind() {
        let oauth = resolve(
            &[
                "--oauth-github-client-id",
                "gh-id",
                "--oauth-github-client-secret",
                "gh-secret",
                "--oauth-google-client-id",
                "g-id",
                "--oauth-google-client-secret",
                "g-secret",
                "--oidc-providers",
                "Corp,okta-eu",
                "--oidc-provider",
                "name=local,issuer=http://127.0.0.1:9/,client-id=a,client-secret=b",
                "--encryption-key",
                KEY,
                "--oauth-redirect-uris",
                "http://localhost:3000/callback,https://app.example/cb",
            ],
            &[
                ("TODOQL_OIDC_CORP_ISSUER", "https://sso.corp.example"),
                ("TODOQL_OIDC_CORP_CLIENT_ID", "corp-id"),
                ("TODOQL_OIDC_CORP_CLIENT_SECRET", "corp-secret"),
                (
                    "TODOQL_OIDC_OKTA_EU_ISSUER",
                    "https://okta.example/oauth2/default",
                ),
                ("TODOQL_OIDC_OKTA_EU_CLIENT_ID", "okta-id"),
                ("TODOQL_OIDC_OKTA_EU_CLIENT_SECRET", "okta-secret"),
            ],
        )
        .unwrap();
        let names: Vec<_> = oauth.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["github", "google", "corp", "okta-eu", "local"]);
        assert_eq!(
            oauth.providers[1].kind,
            ProviderKind::Oidc {
                issuer: "https://accounts.google.com".into()
            }
        );
        assert_eq!(
            oauth.providers[4].kind,
            ProviderKind::Oidc {
                issuer: "http://127.0.0.1:9/".into()
            }
        );
        assert_eq!(oauth.redirect_uris.len(), 2);
    }

    #[test]
    fn empty_list_items_are_ignored() {
        let oauth = resolve(&["--oauth-redirect-uris", "", "--oidc-providers", ""], &[]).unwrap();
        assert!(oauth.providers.is_empty());
        assert!(oauth.redirect_uris.is_empty());
        let oauth = resolve(&["--oauth-redirect-uris", "https://a.example/cb,"], &[]).unwrap();
        assert_eq!(oauth.redirect_uris, ["https://a.example/cb"]);
    }

    #[test]
    fn a_half_configured_provider_names_the_missing_variable() {
        let err = resolve(
            &["--oauth-github-client-id", "id", "--encryption-key", KEY],
            &[],
        )
        .unwrap_err();
        assert!(
            err.variable
                .starts_with("TODOQL_OAUTH_GITHUB_CLIENT_SECRET"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_oidc_variable_is_named() {
        let err = resolve(
            &["--oidc-providers", "corp", "--encryption-key", KEY],
            &[
                ("TODOQL_OIDC_CORP_ISSUER", "https://sso.example"),
                ("TODOQL_OIDC_CORP_CLIENT_ID", "x"),
            ],
        )
        .unwrap_err();
        assert_eq!(err.variable, "TODOQL_OIDC_CORP_CLIENT_SECRET");
    }

    #[test]
    fn an_oidc_issuer_must_be_https() {
        let err = resolve(
            &[
                "--oidc-providers",
                "corp",
                "--encryption-key",
                KEY,
                "--oauth-redirect-uris",
                "https://a.example/cb",
            ],
            &[
                ("TODOQL_OIDC_CORP_ISSUER", "http://sso.example"),
                ("TODOQL_OIDC_CORP_CLIENT_ID", "x"),
                ("TODOQL_OIDC_CORP_CLIENT_SECRET", "y"),
            ],
        )
        .unwrap_err();
        assert_eq!(err.variable, "TODOQL_OIDC_CORP_ISSUER");
    }

    #[test]
    fn a_provider_without_encryption_key_or_redirect_uri_is_refused() {
        let github = [
            "--oauth-github-client-id",
            "id",
            "--oauth-github-client-secret",
            "s",
        ];
        let err = resolve(&github, &[]).unwrap_err();
        assert!(err.variable.starts_with("TODOQL_ENCRYPTION_KEY"), "{err}");
        let mut with_key = github.to_vec();
        with_key.extend(["--encryption-key", KEY]);
        let err = resolve(&with_key, &[]).unwrap_err();
        assert!(
            err.variable.starts_with("TODOQL_OAUTH_REDIRECT_URIS"),
            "{err}"
        );
    }

    #[test]
    fn bad_keys_names_and_specs_are_refused_by_the_parser() {
        let try_parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("todoql").chain(args.iter().copied())).is_err()
        };
        assert!(try_parse(&["--encryption-key", "short"]));
        assert!(try_parse(&["--oidc-providers", "github"]));
        assert!(try_parse(&["--oidc-providers", "bad name"]));
        assert!(try_parse(&[
            "--oidc-provider",
            "name=,issuer=https://a.example,client-id=a,client-secret=b"
        ]));
        assert!(try_parse(&[
            "--oidc-provider",
            "name=x,issuer=https://a.example"
        ]));
        assert!(try_parse(&["--oauth-redirect-uris", "/relative"]));
        assert!(try_parse(&["--oauth-github-api-url", "http://api.example"]));
    }

    #[test]
    fn no_migrate_holds_for_the_default_command_as_for_serve() {
        let cli = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("todoql").chain(args.iter().copied())).unwrap()
        };
        assert!(!cli(&[]).config.no_migrate);
        assert!(cli(&["--no-migrate"]).config.no_migrate);
        assert!(cli(&["--no-migrate"]).command.is_none());
        assert!(cli(&["serve", "--no-migrate"]).config.no_migrate);
        assert!(cli(&["--no-migrate", "serve"]).config.no_migrate);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let config = parse(&[
            "--oidc-provider",
            "name=x,issuer=https://a.example,client-id=id,client-secret=very-secret",
            "--encryption-key",
            KEY,
        ]);
        let debug = format!("{config:?}");
        assert!(!debug.contains("very-secret"));
        assert!(!debug.contains(KEY));
    }
}
