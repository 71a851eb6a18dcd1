//! Password attempts — signIn and the current-password checks before sensitive changes —
//! limited per address and per client IP.
//!
//! Count, then check: the attempt takes its unit from both counters in one atomic statement
//! before anything is hashed, so concurrent guesses (on one instance or several) cannot all be
//! checked while the first ones are still hashing. A right password gives its units back: the
//! limits count failures, and past one even the right password waits for the window to end.

use crate::auth::password::MAX_PASSWORD_CHARS;
use crate::auth::sessions::ClientInfo;
use crate::error::{AppError, AppResult};
use crate::rate_limit::{self, Key};
use crate::state::AppState;
use secrecy::{ExposeSecret, SecretString};

/// Checks `password` against `stored_hash` (or, without one, a dummy hash in the same time).
/// RATE_LIMITED before any hashing when the address or the IP has used up its failures;
/// INVALID_CREDENTIALS on a mismatch, which keeps counting against both.
pub(crate) async fn check(
    app: &AppState,
    email: &str,
    stored_hash: Option<String>,
    password: SecretString,
    client: &ClientInfo,
) -> AppResult<()> {
    let mut keys = vec![Key::SignInEmail(email)];
    if let Some(ip) = &client.ip {
        keys.push(Key::SignInIp(ip));
    }
    let taken = rate_limit::take(app.db(), &app.settings().rate_limits, &keys, app.now()).await?;
    // No valid password is longer; skip hashing megabytes of input, answer like a mismatch.
    let plausible = password.expose_secret().chars().count() <= MAX_PASSWORD_CHARS;
    let matches = plausible && app.passwords().verify(password, stored_hash).await?;
    if matches {
        return taken.give_back(app.db()).await;
    }
    taken.keep();
    metrics::counter!("todoql_failed_sign_ins_total").increment(1);
    Err(AppError::InvalidCredentials)
}
