//! Binds a flow to the browser that started it, so that a callback URL made by someone else
//! cannot sign this browser in (login CSRF, RFC 6749 §10.12).
//!
//! The browser makes a random verifier, keeps it (sessionStorage) and sends only its S256
//! challenge, base64url(SHA-256(verifier)), to startOAuth (RFC 7636 §4.1–4.2). completeOAuth
//! must present the verifier. Whoever crafts a callback URL (an attacker who started the flow
//! and signed in at the provider with their own account) does not know the verifier of the
//! victim's browser, and the victim's browser does not know the attacker's.
//!
//! This is separate from the PKCE between todoql and the provider: that one proves to the
//! provider that the code goes back to the server that asked for it.

use crate::error::{AppError, AppResult};
use crate::secrets::constant_time_eq;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Length of an S256 challenge: 32 bytes in base64url without padding.
const CHALLENGE_CHARS: usize = 43;

/// Shortest and longest verifier RFC 7636 §4.1 allows.
const VERIFIER_CHARS: std::ops::RangeInclusive<usize> = 43..=128;

/// Checks a `codeChallenge` given to startOAuth: base64url (no padding) of exactly 32 bytes,
/// i.e. what S256 makes. Anything else is BAD_USER_INPUT on `field`.
pub fn parse_challenge(raw: &str, field: &str) -> AppResult<String> {
    let decodes_to_a_digest = raw.len() == CHALLENGE_CHARS
        && URL_SAFE_NO_PAD
            .decode(raw)
            .is_ok_and(|bytes| bytes.len() == 32);
    if !decodes_to_a_digest {
        return Err(AppError::bad_input(
            field,
            "codeChallenge must be base64url(SHA-256(codeVerifier)) without padding (43 \
             characters, RFC 7636 S256).",
        ));
    }
    Ok(raw.to_owned())
}

/// The challenge of `verifier` (what a browser sends to startOAuth).
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` is a well-formed RFC 7636 verifier (43–128 characters of
/// `[A-Za-z0-9-._~]`) whose S256 challenge is `challenge`; compared in constant time.
pub fn verifies(verifier: &str, challenge: &str) -> bool {
    let well_formed = VERIFIER_CHARS.contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    // Hashed even when malformed, so that the answer takes the same time either way.
    let matches = constant_time_eq(&challenge_of(verifier), challenge);
    well_formed && matches
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_example_verifies() {
        assert_eq!(challenge_of(RFC_VERIFIER), RFC_CHALLENGE);
        assert!(verifies(RFC_VERIFIER, RFC_CHALLENGE));
        assert_eq!(
            parse_challenge(RFC_CHALLENGE, "codeChallenge").unwrap(),
            RFC_CHALLENGE
        );
    }

    #[test]
    fn malformed_or_wrong_verifiers_do_not_verify() {
        let short = "a".repeat(42);
        let long = "a".repeat(129);
        let plus = format!("{}+", &RFC_VERIFIER[..42]);
        for verifier in [
            "",
            short.as_str(),
            long.as_str(),
            plus.as_str(),
            RFC_CHALLENGE,
        ] {
            assert!(!verifies(verifier, RFC_CHALLENGE), "{verifier:?}");
        }
        // Well-formed but another verifier's challenge, at both ends of the length range.
        for length in [43, 128] {
            let verifier = "~".repeat(length);
            assert!(verifies(&verifier, &challenge_of(&verifier)));
            assert!(!verifies(&verifier, RFC_CHALLENGE));
        }
        // A malformed verifier is refused even when its hash would match.
        let malformed = "not a verifier";
        assert!(!verifies(malformed, &challenge_of(malformed)));
    }

    #[test]
    fn only_s256_challenges_are_accepted() {
        let padded = format!("{RFC_CHALLENGE}=");
        let standard_alphabet = RFC_CHALLENGE.replace('-', "+");
        // The 43rd character carries 2 unused bits: a non-zero one is not canonical base64url.
        let non_canonical = format!("{}N", &RFC_CHALLENGE[..42]);
        for bad in [
            "",
            "abc",
            padded.as_str(),
            standard_alphabet.as_str(),
            non_canonical.as_str(),
            RFC_VERIFIER.repeat(2).as_str(),
        ] {
            let err = parse_challenge(bad, "codeChallenge").unwrap_err();
            assert!(matches!(err, AppError::BadUserInput { .. }), "{bad:?}");
        }
    }
}
