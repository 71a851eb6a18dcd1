//! Which options are secret, decided in one place: an option is secret when its values have
//! a secret type — [`Secret`], the domain's [`EncryptionKey`], or an [`OidcSpec`] (which
//! carries a client secret). Each of those types hides its value from `Debug`; from the same
//! fact the command line hides the values of their variables from `--help`
//! ([`hide_secret_value`]) and the error rewriting never echoes them ([`is_secret`]).
//! A new secret option needs only its type.

use super::oidc_spec::OidcSpec;
use super::secret::Secret;
use clap::{Arg, Command};
use std::any::TypeId;
use todoql_domain::auth::oauth::EncryptionKey;

/// Whether `arg`'s values are secret (by the type its value parser produces).
pub fn is_secret(arg: &Arg) -> bool {
    let parsed = arg.get_value_parser().type_id();
    parsed == TypeId::of::<Secret>()
        || parsed == TypeId::of::<EncryptionKey>()
        || parsed == TypeId::of::<OidcSpec>()
}

/// `arg` with its environment value left out of `--help` when it is secret
/// (`[env: TODOQL_JWT_SECRET]` instead of `[env: TODOQL_JWT_SECRET=…]`).
pub fn hide_secret_value(arg: Arg) -> Arg {
    if is_secret(&arg) {
        arg.hide_env_values(true)
    } else {
        arg
    }
}

/// `command` with `change` applied to every argument of it and of its subcommands (each
/// subcommand has its own options; none is global).
pub fn for_every_arg(command: Command, change: impl Fn(Arg) -> Arg + Copy) -> Command {
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    names
        .iter()
        .fold(command.mut_args(change), |command, name| {
            command.mut_subcommand(name, |sub| for_every_arg(sub, change))
        })
}
