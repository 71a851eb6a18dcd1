//! The key of the at-rest cipher (`TODOQL_ENCRYPTION_KEY`): 32 bytes, never shown.

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretSlice};

/// A 256-bit key. Its Debug output never shows the bytes.
#[derive(Clone)]
pub struct EncryptionKey(SecretSlice<u8>);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey([REDACTED])")
    }
}

impl EncryptionKey {
    /// Parses 32 bytes written as 64 hex digits or as base64 (standard or URL-safe alphabet,
    /// with or without padding). Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
            decode_hex(text)
        } else {
            let unpadded = text.trim_end_matches('=');
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(unpadded)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(unpadded))
                .map_err(|_| {
                    "must be 32 bytes written as 64 hex digits or as base64 (e.g. the output of \
                     `openssl rand -base64 32`)"
                        .to_owned()
                })?
        };
        if bytes.len() != 32 {
            return Err(format!(
                "must be exactly 32 bytes (got {}); generate one with `openssl rand -base64 32`",
                bytes.len()
            ));
        }
        Ok(Self(SecretSlice::from(bytes)))
    }

    /// The key's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

fn decode_hex(text: &str) -> Vec<u8> {
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            (digit(pair[0]) << 4) | digit(pair[1])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_accepted_as_hex_or_base64() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let from_hex = EncryptionKey::parse(hex).unwrap();
        assert_eq!(from_hex.bytes()[1], 0x11);
        let b64 = base64::engine::general_purpose::STANDARD.encode(from_hex.bytes());
        assert_eq!(
            EncryptionKey::parse(&b64).unwrap().bytes(),
            from_hex.bytes()
        );
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xfbu8; 32]);
        assert_eq!(EncryptionKey::parse(&b64url).unwrap().bytes(), &[0xfb; 32]);
    }

    #[test]
    fn keys_of_the_wrong_length_or_alphabet_are_refused() {
        assert!(EncryptionKey::parse("").is_err());
        assert!(EncryptionKey::parse("too short").is_err());
        let b64_16 = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
        assert!(
            EncryptionKey::parse(&b64_16)
                .unwrap_err()
                .contains("got 16")
        );
        assert!(EncryptionKey::parse(&"z".repeat(64)).is_err());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = EncryptionKey::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(format!("{key:?}"), "EncryptionKey([REDACTED])");
    }
}
