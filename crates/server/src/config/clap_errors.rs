//! Which of clap's errors the server rewrites, and into what. A bad value becomes the one line
//! `VARIABLE (--flag): what is wrong`: clap's own text spans several lines, names only the flag
//! (though most users set variables), and quotes the bad value, which for a secret option
//! must never be shown. Every other error (an unknown flag or command, a missing argument or
//! value, an option given twice) is left to clap, whose message names what is missing, lists
//! the allowed values and suggests the flag meant.

use super::secret_args::is_secret;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Command};

/// The one line for `err`, raised while parsing `command`'s arguments (without the leading
/// `todoql: `), when `err` is about a bad value of an option; `None` when clap's own message
/// should be printed.
pub fn one_line(err: &clap::Error, command: &Command) -> Option<String> {
    let about_a_value = match err.kind() {
        ErrorKind::ValueValidation => true,
        // Not "a value is required … but none was supplied": clap says that best.
        ErrorKind::InvalidValue => matches!(
            err.get(ContextKind::InvalidValue),
            Some(ContextValue::String(value)) if !value.is_empty()
        ),
        _ => false,
    };
    if !about_a_value {
        return None;
    }
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        return None;
    };
    let flag = arg.split_whitespace().next().unwrap_or(arg);
    // A positional argument (`migrate sideways`) has no variable to name: clap's message.
    let option = find_option(command, flag)?;
    let detail = match std::error::Error::source(err) {
        // The value parser's own words: they never quote a secret.
        Some(source) if !source.to_string().is_empty() => source.to_string(),
        _ => match err.get(ContextKind::InvalidValue) {
            Some(ContextValue::String(value)) if is_secret(option) => {
                format!("invalid value ({} characters)", value.len())
            }
            _ => {
                first_line(err)
                    .unwrap_or_default()
                    .trim_start_matches("error: ")
                    .to_owned()
                    + &allowed_values(err)
            }
        },
    };
    Some(match option.get_env() {
        Some(env) => format!("{} ({flag}): {detail}", env.to_string_lossy()),
        None => format!("{flag}: {detail}"),
    })
}

/// `; possible values: a, b; did you mean 'a'?` when clap knows them (an option with a fixed
/// set of values), on the same line.
fn allowed_values(err: &clap::Error) -> String {
    let mut text = String::new();
    if let Some(ContextValue::Strings(values)) = err.get(ContextKind::ValidValue) {
        text.push_str(&format!("; possible values: {}", values.join(", ")));
    }
    if let Some(ContextValue::String(suggested)) = err.get(ContextKind::SuggestedValue) {
        text.push_str(&format!("; did you mean '{suggested}'?"));
    }
    text
}

/// The option `flag` (`--name`) names, on the command or one of its subcommands.
fn find_option<'a>(command: &'a Command, flag: &str) -> Option<&'a Arg> {
    let long = flag.strip_prefix("--")?;
    let find = |cmd: &'a Command| cmd.get_arguments().find(|a| a.get_long() == Some(long));
    find(command).or_else(|| command.get_subcommands().find_map(find))
}

fn first_line(err: &clap::Error) -> Option<String> {
    err.render().to_string().lines().next().map(str::to_owned)
}
