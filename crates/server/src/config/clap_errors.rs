//! Rewriting clap's errors into the one line the server prints for a bad command line:
//! `VARIABLE (--flag): what is wrong`. clap's own text spans several lines, names only the
//! flag (though most users set variables), and quotes the bad value, which for a secret
//! option must never be shown.

use super::secret_args::is_secret;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Command};

/// Whether `err` is a request for help or the version, which clap prints as it is (status 0).
pub fn is_help_or_version(err: &clap::Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
}

/// The one line for `err`, raised while parsing `command`'s arguments (without the leading
/// `todoql: `).
pub fn one_line(err: &clap::Error, command: &Command) -> String {
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        // Not about one option (unknown subcommand, stray argument): clap's own words.
        return first_line(err)
            .unwrap_or_else(|| "invalid command line".to_owned())
            .trim_start_matches("error: ")
            .to_owned();
    };
    let flag = arg.split_whitespace().next().unwrap_or(arg);
    let option = find_option(command, flag);
    let env = option.and_then(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()));
    let detail = match std::error::Error::source(err) {
        // The value parser's own words: they never quote a secret.
        Some(source) if !source.to_string().is_empty() => source.to_string(),
        _ => match err.get(ContextKind::InvalidValue) {
            Some(ContextValue::String(value)) if option.is_some_and(is_secret) => {
                format!("invalid value ({} characters)", value.len())
            }
            _ => first_line(err)
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_owned(),
        },
    };
    match env {
        Some(env) => format!("{env} ({flag}): {detail}"),
        None => format!("{flag}: {detail}"),
    }
}

/// The option `flag` (`--name`) names, on the command or one of its subcommands.
fn find_option<'a>(command: &'a Command, flag: &str) -> Option<&'a Arg> {
    let long = flag.trim_start_matches("--");
    let find = |cmd: &'a Command| cmd.get_arguments().find(|a| a.get_long() == Some(long));
    find(command).or_else(|| command.get_subcommands().find_map(find))
}

fn first_line(err: &clap::Error) -> Option<String> {
    err.render().to_string().lines().next().map(str::to_owned)
}
