//! The command line: the subcommands, and parsing (flags, then variables, then the OAuth
//! providers), exiting with one line and status 2 on a bad value.

use super::clap_errors;
use super::options::Config;
use super::secret_args::hide_secret_values;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;

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
    /// Run one clean-up pass (expired sessions, codes, tokens, old trash, old security
    /// events, deleted users).
    Purge,
    /// Print an account's security events as JSON lines, oldest first.
    Audit(AuditArgs),
}

/// Which security events `todoql audit` prints.
#[derive(Debug, Clone, clap::Args)]
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

/// The command line's definition, secret values hidden from `--help`.
fn command() -> clap::Command {
    hide_secret_values(Cli::command())
}

/// Flags and variables, as clap reads them (the OAuth providers not yet resolved).
fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches).map_err(|err| err.format(&mut command()))
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
        T: Into<OsString> + Clone,
    {
        let args =
            std::iter::once(OsString::from("todoql")).chain(overrides.into_iter().map(Into::into));
        let mut config = parse_from(args)?.config;
        config.resolve(&process_env).map_err(|err| {
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, err.to_string())
        })?;
        Ok(config)
    }
}

/// Parses the command line and environment, or exits: status 0 for --help/--version, status 2
/// with one line naming the variable for a bad value.
pub fn parse_or_exit() -> Cli {
    let mut cli = match parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) if clap_errors::is_help_or_version(&err) => err.exit(),
        Err(err) => {
            eprintln!("todoql: {}", clap_errors::one_line(&err, &command()));
            std::process::exit(2);
        }
    };
    if let Err(err) = cli.config.resolve(&process_env) {
        eprintln!("todoql: {err}");
        std::process::exit(2);
    }
    cli
}

#[cfg(test)]
pub(super) fn parse_for_test(args: &[&str]) -> Result<Cli, clap::Error> {
    parse_from(std::iter::once("todoql").chain(args.iter().copied()))
}
