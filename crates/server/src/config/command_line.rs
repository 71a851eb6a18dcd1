//! The command line: the subcommands, each with the options it uses, and parsing (flags,
//! then variables, then the OAuth providers). A bad value exits with one line and status 2;
//! a bad command line (unknown flag, missing argument) with clap's own message.

use super::clap_errors;
use super::database::DatabaseConfig;
use super::logging::LogConfig;
use super::maintenance::RetentionConfig;
use super::options::Config;
use super::otlp::OtlpConfig;
use super::secret_args::{for_every_arg, hide_secret_value};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;

/// What `todoql --help` opens with.
const ABOUT: &str = "todoql serves a GraphQL API for todo-list apps: accounts (password, \
     email code, OAuth), todos with due dates and a trash to restore them from, on SQLite or \
     PostgreSQL.";

/// What `todoql --help` closes with.
const AFTER_HELP: &str = "Without a command, todoql serves: `todoql --listen 0.0.0.0:8000` \
     is `todoql serve --listen 0.0.0.0:8000`. Every option is also an environment variable \
     (`todoql serve --help` lists them).";

/// todoql's command line.
#[derive(Debug, Parser)]
#[command(name = "todoql", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve GraphQL over HTTP (the default).
    Serve(Box<ServeArgs>),
    /// Apply or inspect database migrations.
    Migrate(MigrateArgs),
    /// Print the GraphQL schema (SDL). Takes no options and reads no environment.
    Schema,
    /// Run one clean-up pass (expired sessions, codes, tokens, old trash, old security
    /// events, deleted users).
    Purge(PurgeArgs),
    /// Print an account's security events as JSON lines, oldest first.
    Audit(AuditArgs),
}

impl Command {
    /// The log options of the command (`schema` logs nothing).
    pub fn logging(&self) -> Option<&LogConfig> {
        match self {
            Self::Serve(args) => Some(&args.config.logging),
            Self::Migrate(args) => Some(&args.logging),
            Self::Schema => None,
            Self::Purge(args) => Some(&args.logging),
            Self::Audit(args) => Some(&args.logging),
        }
    }

    /// Where the command sends traces: only the server traces its requests.
    pub fn otlp(&self) -> Option<&OtlpConfig> {
        match self {
            Self::Serve(args) => Some(&args.config.otlp),
            _ => None,
        }
    }
}

/// `todoql serve`: every option of the server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: Config,
    /// Check the options and variables, print nothing and exit 0 (status 2 and one line
    /// naming the variable when one is wrong), without opening the database.
    #[arg(long, display_order = 100)]
    pub check_config: bool,
}

/// `todoql migrate`.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    #[arg(value_enum)]
    pub action: MigrateAction,
    /// Confirm `migrate fresh`, which drops every table and all their data.
    #[arg(long, display_order = 100)]
    pub yes: bool,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub logging: LogConfig,
}

/// `todoql purge`.
#[derive(Debug, Clone, Args)]
pub struct PurgeArgs {
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub retention: RetentionConfig,
    #[command(flatten)]
    pub logging: LogConfig,
}

/// Which security events `todoql audit` prints, and from which database.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// The account's email address.
    #[arg(long)]
    pub email: String,
    /// Only events at or after this instant (RFC 3339, e.g. 2026-11-01T00:00:00Z).
    #[arg(long, value_parser = parse_instant)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only these types, comma-separated (e.g. SIGNED_IN,SIGN_IN_FAILED).
    #[arg(long, value_delimiter = ',', value_parser = parse_event_type)]
    pub types: Option<Vec<todoql_entity::security_event::SecurityEventType>>,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub logging: LogConfig,
}

fn parse_instant(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&chrono::Utc))
        .map_err(|_| "expected an RFC 3339 instant such as 2026-11-01T00:00:00Z".to_owned())
}

fn parse_event_type(
    text: &str,
) -> Result<todoql_entity::security_event::SecurityEventType, String> {
    use sea_orm::{ActiveEnum, Iterable};
    use todoql_entity::security_event::SecurityEventType;
    SecurityEventType::try_from_value(&text.trim().to_ascii_uppercase()).map_err(|_| {
        let known: Vec<String> = SecurityEventType::iter().map(|t| t.to_value()).collect();
        format!("unknown event type; one of {}", known.join(", "))
    })
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

/// The command line's definition: secret values hidden from `--help`, and negative numbers
/// taken as (bad) values rather than as unknown flags (`--shutdown-timeout -1` is then
/// refused by the option's own parser, naming the variable).
fn command() -> clap::Command {
    for_every_arg(Cli::command(), |arg| {
        let arg = hide_secret_value(arg);
        if arg.get_action().takes_values() {
            arg.allow_negative_numbers(true)
        } else {
            arg
        }
    })
}

/// `args` with `serve` inserted when no command is named: clap has no default subcommand
/// (clap-rs/clap#975), and `todoql --listen …` has always meant `todoql serve --listen …`.
/// A first argument that is not a flag is left to clap ("unrecognized subcommand", with a
/// suggestion); so are the top-level `--help` and `--version`.
fn with_default_command(args: Vec<OsString>) -> Vec<OsString> {
    let serve = match args.get(1).map(|arg| arg.to_string_lossy()) {
        None => true,
        Some(first) => {
            first.starts_with('-') && !matches!(&*first, "-h" | "--help" | "-V" | "--version")
        }
    };
    let mut args = args;
    if serve {
        args.insert(1.min(args.len()), OsString::from("serve"));
    }
    args
}

/// Flags and variables, as clap reads them (the OAuth providers not yet resolved).
fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args = with_default_command(args.into_iter().map(Into::into).collect());
    let matches = command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches).map_err(|err| err.format(&mut command()))
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Config {
    /// The configuration of `todoql serve` with every default and `overrides` applied, as if
    /// given on the command line (used by tests and tools).
    pub fn from_args<I, T>(overrides: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args = [OsString::from("todoql"), OsString::from("serve")]
            .into_iter()
            .chain(overrides.into_iter().map(Into::into));
        let Command::Serve(serve) = parse_from(args)?.command else {
            unreachable!("the arguments name `serve`");
        };
        let mut config = serve.config;
        config.resolve(&process_env).map_err(|err| {
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, err.to_string())
        })?;
        Ok(config)
    }
}

/// Parses the command line and environment, or exits: status 0 for --help/--version; status
/// 2 with one line naming the variable for a bad value, or with clap's message (what is
/// missing, the allowed values, a suggestion) for a bad command line.
pub fn parse_or_exit() -> Cli {
    let mut cli = match parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => match clap_errors::one_line(&err, &command()) {
            Some(line) => {
                eprintln!("todoql: {line}");
                std::process::exit(2);
            }
            None => err.exit(),
        },
    };
    if let Command::Serve(args) = &mut cli.command
        && let Err(err) = args.config.resolve(&process_env)
    {
        eprintln!("todoql: {err}");
        std::process::exit(2);
    }
    cli
}

#[cfg(test)]
pub(super) fn parse_for_test(args: &[&str]) -> Result<Cli, clap::Error> {
    parse_from(std::iter::once("todoql").chain(args.iter().copied()))
}
