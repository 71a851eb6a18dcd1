//! Password rules and Argon2id hashing, run off the async runtime behind a semaphore so that a
//! flood of sign-ins cannot starve other requests.

use crate::error::{AppError, AppResult};
use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password, in characters.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A hash of a password nobody knows, with the same parameters as real hashes: verifying
/// against it costs what a real verification costs, so an unknown email answers in the same
/// time as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Cax4Ur8Ccv0oM7gUY8MN5OH5lrfR5S1dYmPXRyMmOwk";

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
///
/// Each computation needs 19 MiB of working memory. Allocating it per hash made glibc keep
/// one such block per blocking-pool thread that ever ran a hash (measured: 370 MB of RSS
/// under a flood of sign-ins), so the hasher hands each running hash a buffer from a shared
/// free list and takes it back afterwards: there are never more buffers than hashes running
/// at once (at most N), however many threads tokio uses. When the last running hash ends the
/// buffers are freed, so that an idle server does not keep N × 19 MiB of memory it used for
/// a burst of sign-ins; a flood keeps reusing them.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    buffers: Arc<Mutex<Buffers>>,
}

/// The working memory of the hashes.
#[derive(Debug, Default)]
struct Buffers {
    /// Buffers no hash is using (kept only while some hash runs).
    free: Vec<Vec<Block>>,
    /// Hashes running now.
    running: usize,
}

impl PasswordHasher {
    /// A hasher that runs at most `max_concurrent` hashes at once.
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            buffers: Arc::new(Mutex::new(Buffers::default())),
        }
    }

    /// Runs `job` on the blocking pool with a permit and a reusable memory buffer.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Vec<Block>) -> anyhow::Result<T> + Send + 'static,
    ) -> AppResult<T> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let buffers = self.buffers.clone();
        tokio::task::spawn_blocking(move || {
            let mut memory = {
                let mut state = lock(&buffers);
                state.running += 1;
                state.free.pop().unwrap_or_default()
            };
            let result = job(&mut memory);
            let released = {
                let mut state = lock(&buffers);
                state.running -= 1;
                if state.running == 0 {
                    // Idle: free every buffer (outside the lock).
                    state.free.push(memory);
                    std::mem::take(&mut state.free)
                } else {
                    state.free.push(memory);
                    Vec::new()
                }
            };
            drop(released);
            result
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::Internal)
    }

    /// The PHC string of `password`.
    pub async fn hash(&self, password: SecretString) -> AppResult<String> {
        self.run(move |memory| {
            let mut salt = [0u8; 16];
            crate::secrets::fill_random(&mut salt);
            let params = params();
            let mut output = [0u8; 32];
            compute(
                &params,
                password.expose_secret().as_bytes(),
                &salt,
                &mut output,
                memory,
            )?;
            let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
            let output = Output::new(&output).map_err(|e| anyhow::anyhow!("output: {e}"))?;
            Ok(format!(
                "$argon2id$v=19$m={},t={},p={}${}${}",
                params.m_cost(),
                params.t_cost(),
                params.p_cost(),
                salt.as_str(),
                output
            ))
        })
        .await
    }

    /// Whether `password` matches `stored`. With no stored hash (unknown email, or an account
    /// without password) it verifies against a dummy hash and answers false, in the same time.
    pub async fn verify(&self, password: SecretString, stored: Option<String>) -> AppResult<bool> {
        self.run(move |memory| {
            let (phc, real) = match stored {
                Some(hash) => (hash, true),
                None => (DUMMY_HASH.to_owned(), false),
            };
            let parsed =
                PasswordHash::new(&phc).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
            if parsed.algorithm != argon2::ARGON2ID_IDENT {
                anyhow::bail!("stored hash is not argon2id");
            }
            let params =
                Params::try_from(&parsed).map_err(|e| anyhow::anyhow!("stored params: {e}"))?;
            let mut salt = [0u8; 64];
            let salt = parsed
                .salt
                .ok_or_else(|| anyhow::anyhow!("stored hash has no salt"))?
                .decode_b64(&mut salt)
                .map_err(|e| anyhow::anyhow!("stored salt: {e}"))?;
            let expected = parsed
                .hash
                .ok_or_else(|| anyhow::anyhow!("stored hash has no output"))?;
            let mut output = vec![0u8; expected.len()];
            compute(
                &params,
                password.expose_secret().as_bytes(),
                salt,
                &mut output,
                memory,
            )?;
            let matches: bool = output.as_slice().ct_eq(expected.as_bytes()).into();
            Ok(real && matches)
        })
        .await
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn params() -> Params {
    Params::new(19_456, 2, 1, None).expect("constant Argon2 parameters are valid")
}

/// Capacity of a working-memory buffer, in blocks: above 32 MiB, glibc's largest mmap
/// threshold, so that glibc always maps the buffer on its own and unmaps it when it is freed.
/// Below it, glibc raises its threshold after the first free and serves the next buffer from a
/// per-thread arena that keeps the memory after the free. (Measured, see bench/RESULTS.md: a
/// server that signed 101 users in went back to 20.8 MB of RSS, 19.1 MB idle; with the buffers
/// kept, 43 MB after a smaller run.) Only the blocks a hash uses are ever touched, so the rest
/// of the capacity costs address space, not memory.
const BUFFER_CAPACITY_BLOCKS: usize = 33 * 1024 * 1024 / std::mem::size_of::<Block>();

/// Argon2id of `password` and `salt` into `output`, using (and growing) `memory`.
fn compute(
    params: &Params,
    password: &[u8],
    salt: &[u8],
    output: &mut [u8],
    memory: &mut Vec<Block>,
) -> anyhow::Result<()> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.reserve_exact(BUFFER_CAPACITY_BLOCKS.max(blocks) - memory.len());
        memory.resize(blocks, Block::default());
    }
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, salt, output, &mut memory[..blocks])
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
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

    #[tokio::test]
    async fn our_hashes_verify_with_the_reference_implementation_and_back() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = PasswordHasher::new(1);
        let ours = hasher.hash("correct horse battery".into()).await.unwrap();
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        assert!(
            reference
                .verify_password(b"correct horse battery", &PasswordHash::new(&ours).unwrap())
                .is_ok()
        );
        assert!(
            reference
                .verify_password(b"wrong", &PasswordHash::new(&ours).unwrap())
                .is_err()
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = reference
            .hash_password(b"tr0ub4dor&3 staple", &salt)
            .unwrap()
            .to_string();
        assert!(
            hasher
                .verify("tr0ub4dor&3 staple".into(), Some(theirs.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("tr0ub4dor&3 stapler".into(), Some(theirs))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn memory_buffers_are_bounded_by_the_permits_and_freed_when_idle() {
        let hasher = PasswordHasher::new(2);
        // While eight hashes queue for two permits, buffers in use + free never exceed two.
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let watcher = {
            let (buffers, most) = (hasher.buffers.clone(), most.clone());
            std::thread::spawn(move || {
                for _ in 0..2_000 {
                    let state = lock(&buffers);
                    let held = state.running + state.free.len();
                    most.fetch_max(held, std::sync::atomic::Ordering::SeqCst);
                    drop(state);
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            })
        };
        let jobs = (0..8).map(|i| hasher.hash(SecretString::from(format!("password number {i}"))));
        futures_util::future::join_all(jobs).await;
        watcher.join().unwrap();
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= 2);
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) >= 1);
        // Nothing runs any more: nothing is kept.
        let state = lock(&hasher.buffers);
        assert_eq!(state.running, 0);
        assert!(state.free.is_empty(), "{} buffers kept", state.free.len());
    }

    #[test]
    fn the_dummy_hash_is_a_valid_argon2id_hash_with_our_parameters() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(DUMMY_HASH.contains("m=19456,t=2,p=1"));
    }
}
