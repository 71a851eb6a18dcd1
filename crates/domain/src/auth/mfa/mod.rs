//! The second factor (PRODUCT.md "Second factor"): a TOTP authenticator with single-use
//! recovery codes.
//!
//! Once a user has confirmed an authenticator (`users.totp_enabled`), every first factor —
//! password, emailed code or link, OAuth — ends in [`first_factor::finish`], which opens a
//! pending sign-in ([`challenge`]) instead of a session and answers MFA_REQUIRED. `verifyMfa`
//! ([`verify`]) finishes it with a TOTP code or a recovery code ([`proof`]).
//!
//! Guessing is bounded three ways, each counted before the answer is checked: an mfaToken takes
//! at most [`challenge::MAX_ANSWERS`] answers; a user takes at most
//! `TODOQL_MFA_GUESSES_PER_USER` wrong answers per 15 minutes whatever the token (a new first
//! factor buys no new guesses); and a TOTP time step is accepted once per user, by a
//! compare-and-set on `totp_factors.last_used_step`, so a code seen over a shoulder or replayed
//! by two instances at once works at most once.

pub mod challenge;
pub mod enrollment;
pub mod first_factor;
pub mod proof;
pub mod recovery_codes;
pub mod totp;
pub mod verify;

use crate::error::AppError;
use crate::state::Services;

/// Why the TOTP mutations refuse on a server without `TODOQL_ENCRYPTION_KEY` (and
/// `authConfig.totp` is false): the secret could not be stored encrypted.
pub(crate) fn unavailable() -> AppError {
    AppError::Forbidden(
        "Two-factor authentication is off on this server: it needs TODOQL_ENCRYPTION_KEY to \
         store authenticator secrets encrypted."
            .into(),
    )
}

/// Whether this server offers TOTP (`authConfig.totp`).
pub fn totp_available(services: &Services) -> bool {
    services.cipher().is_some()
}
