//! Configuration: every option is a CLI flag and an environment variable of the same name.
//! A bad value exits with status 2 and one line naming the variable and what is wrong.

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;

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
    Serve {
        /// Do not apply pending migrations at start.
        #[arg(long, env = "TODOQL_NO_MIGRATE", value_parser = clap::builder::BoolishValueParser::new(), action = ArgAction::SetTrue)]
        no_migrate: bool,
    },
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

    /// Database URL: sqlite://FILE?mode=rwc or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://todoql.db?mode=rwc", value_parser = parse_database_url, hide_env_values = true, global = true)]
    pub database_url: String,

    /// Most database connections in the pool.
    #[arg(long, env = "TODOQL_DB_MAX_CONNECTIONS", default_value = "16", value_parser = parse_positive, global = true)]
    pub db_max_connections: u32,

    /// HS256 key for access tokens, at least 32 bytes. Unset: a random key (tokens do not
    /// survive a restart, and instances cannot share sessions).
    #[arg(long, env = "TODOQL_JWT_SECRET", value_parser = parse_jwt_secret, hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// Base URL of the frontend; mails link to {app-url}/verify-email etc.
    #[arg(long, env = "TODOQL_APP_URL", default_value = "http://localhost:3000", value_parser = parse_app_url, global = true)]
    pub app_url: String,

    /// SMTP server, e.g. smtp://user:pass@host:587. Unset: mails are printed to the log.
    #[arg(long, env = "TODOQL_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,

    /// Sender of mails.
    #[arg(
        long,
        env = "TODOQL_MAIL_FROM",
        default_value = "todoql <no-reply@todoql.localhost>",
        global = true
    )]
    pub mail_from: String,

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

    /// Highest complexity of an operation (each field costs 1).
    #[arg(long, env = "TODOQL_MAX_COMPLEXITY", default_value = "1000", value_parser = parse_positive, global = true)]
    pub max_complexity: u32,

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

    /// Lifetime of access tokens, in seconds (1 to 86400). Shorter means revocation by expiry
    /// sooner and more refreshes; the session itself lives on through refresh tokens.
    #[arg(long, env = "TODOQL_ACCESS_TOKEN_TTL", default_value = "900", value_parser = parse_access_token_ttl, global = true)]
    pub access_token_ttl: u32,

    /// Seconds after a refresh during which the replaced refresh token answers with the same
    /// successor (two tabs racing, a lost response retried).
    #[arg(long, env = "TODOQL_REFRESH_GRACE", default_value = "10", value_parser = parse_seconds, global = true)]
    pub refresh_grace: Duration,
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
        Ok(Cli::try_parse_from(args)?.config)
    }
}

/// Parses the command line and environment, or exits: status 0 for --help/--version, status 2
/// with one line naming the variable for a bad value.
pub fn parse_or_exit() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => exit_with(err),
    }
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
    matches!(flag, "--jwt-secret" | "--database-url" | "--smtp-url")
}
