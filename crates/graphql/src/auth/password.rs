//! Password rules and Argon2id hashing, run off the async runtime behind a semaphore so that a
//! flood of sign-ins cannot starve other requests.

use crate::error::{AppError, AppResult};
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password, in characters.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A hash of a password nobody knows, with the same parameters as real hashes: verifying
/// against it costs what a real verification costs, so an unknown email answers in the same
/// time as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Cax4Ur8Ccv0oM7gUY8MN5OH5lrfR5S1dYmPXRyMmOwk";

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password: 8–128 characters and not easy to guess. `field` names the input
/// field in the error.
pub fn validate_new_password(password: &str, field: &str, hints: &[&str]) -> AppResult<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AppError::bad_input(
            field,
            format!("Password must be at least {MIN_PASSWORD_CHARS} characters long."),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AppError::bad_input(
            field,
            format!("Password must be at most {MAX_PASSWORD_CHARS} characters long."),
        ));
    }
    let estimate = zxcvbn::zxcvbn(password, hints);
    if (estimate.score() as u8) < 2 {
        let mut message = String::from("This password is too easy to guess.");
        if let Some(feedback) = estimate.feedback() {
            if let Some(warning) = feedback.warning() {
                message.push(' ');
                message.push_str(&warning.to_string());
                if !message.ends_with('.') {
                    message.push('.');
                }
            }
            for suggestion in feedback.suggestions() {
                message.push(' ');
                message.push_str(&suggestion.to_string());
            }
        }
        return Err(AppError::bad_input(field, message));
    }
    Ok(())
}

/// Hashes and verifies passwords on the blocking pool, at most N at once.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

impl PasswordHasher {
    /// A hasher that runs at most `max_concurrent` hashes at once.
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    /// The PHC string of `password`.
    pub async fn hash(&self, password: SecretString) -> AppResult<String> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        tokio::task::spawn_blocking(move || {
            let mut salt = [0u8; 16];
            crate::secrets::fill_random(&mut salt);
            let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
            argon2()
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| anyhow::anyhow!("argon2 hash: {e}"))
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::Internal)
    }

    /// Whether `password` matches `stored`. With no stored hash (unknown email, or an account
    /// without password) it verifies against a dummy hash and answers false, in the same time.
    pub async fn verify(&self, password: SecretString, stored: Option<String>) -> AppResult<bool> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        tokio::task::spawn_blocking(move || {
            let (phc, real) = match stored {
                Some(hash) => (hash, true),
                None => (DUMMY_HASH.to_owned(), false),
            };
            let parsed =
                PasswordHash::new(&phc).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
            let matches = argon2()
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok();
            Ok(real && matches)
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::Internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        // 8 characters, 16 bytes: accepted on length (may still be judged weak, not short).
        let err = validate_new_password("ééééééé", "password", &[]).unwrap_err();
        match err {
            AppError::BadUserInput { message, .. } => assert!(message.contains("at least")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(validate_new_password("ŝtrange ĥorse ĵumps ŵell", "password", &[]).is_ok());
        let long = "ä".repeat(129);
        assert!(validate_new_password(&long, "password", &[]).is_err());
    }

    #[test]
    fn common_passwords_are_refused_with_advice() {
        let err = validate_new_password("password123", "password", &[]).unwrap_err();
        match err {
            AppError::BadUserInput { field, message } => {
                assert_eq!(field, "password");
                assert!(message.contains("too easy to guess"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn hash_then_verify_round_trips_and_dummy_never_matches() {
        let hasher = PasswordHasher::new(2);
        let hash = hasher
            .hash(SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify("correct horse battery".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse battery".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
    }

    #[test]
    fn the_dummy_hash_is_a_valid_argon2id_hash_with_our_parameters() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(DUMMY_HASH.contains("m=19456,t=2,p=1"));
    }
}
