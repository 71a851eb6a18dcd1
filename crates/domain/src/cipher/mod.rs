//! AES-256-GCM for secrets at rest: provider tokens, PKCE verifiers, TOTP secrets.
//!
//! A stored value is `v1.` followed by base64url(nonce ‖ ciphertext ‖ tag), with a fresh
//! random 96-bit nonce per value. The purpose (e.g. `accounts.access_token`) is bound in as
//! associated data, so a ciphertext copied into another column does not decrypt.

mod key;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub use key::EncryptionKey;

const PREFIX: &str = "v1.";
const NONCE_LEN: usize = 12;

/// Encrypts and decrypts with one key.
#[derive(Clone)]
pub struct TokenCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher")
    }
}

/// A stored value that is not ours or was tampered with (or the key changed).
#[derive(Debug, thiserror::Error)]
#[error("stored ciphertext cannot be decrypted with the configured key")]
pub struct DecryptError;

impl TokenCipher {
    /// A cipher with `key`.
    pub fn new(key: &EncryptionKey) -> Self {
        let bytes: [u8; 32] = key
            .bytes()
            .try_into()
            .expect("EncryptionKey::parse only accepts 32 bytes");
        Self {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(bytes)),
        }
    }

    /// Encrypts `plaintext` for `purpose`.
    pub fn encrypt(&self, purpose: &str, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        crate::secrets::fill_random(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: purpose.as_bytes(),
                },
            )
            // Only fails for messages beyond 64 GiB.
            .expect("AES-GCM encrypts any token-sized message");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Decrypts a value written by [`encrypt`](Self::encrypt) for the same `purpose`.
    pub fn decrypt(&self, purpose: &str, stored: &str) -> Result<String, DecryptError> {
        let body = stored.strip_prefix(PREFIX).ok_or(DecryptError)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| DecryptError)?;
        if bytes.len() < NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| DecryptError)?;
        let plain = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| DecryptError)?;
        String::from_utf8(plain).map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(byte: u8) -> TokenCipher {
        TokenCipher::new(&EncryptionKey::parse(&format!("{byte:02x}").repeat(32)).unwrap())
    }

    #[test]
    fn values_round_trip_and_never_contain_the_plaintext() {
        let c = cipher(7);
        let sealed = c.encrypt("accounts.access_token", "gho_secret_token");
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("gho_secret_token"));
        assert_eq!(
            c.decrypt("accounts.access_token", &sealed).unwrap(),
            "gho_secret_token"
        );
        // A fresh nonce each time: the same token never encrypts to the same text.
        assert_ne!(
            sealed,
            c.encrypt("accounts.access_token", "gho_secret_token")
        );
    }

    #[test]
    fn another_key_purpose_or_a_flipped_bit_does_not_decrypt() {
        let sealed = cipher(7).encrypt("accounts.access_token", "token");
        assert!(cipher(8).decrypt("accounts.access_token", &sealed).is_err());
        assert!(
            cipher(7)
                .decrypt("accounts.refresh_token", &sealed)
                .is_err()
        );
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(
            cipher(7)
                .decrypt("accounts.access_token", &tampered)
                .is_err()
        );
        assert!(cipher(7).decrypt("accounts.access_token", "token").is_err());
    }
}
