//! TOTP codes (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps) through `totp-rs`, computed on
//! the server's clock so that tests can move time.

use crate::cipher::TokenCipher;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// Seconds per time step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Steps either side of now a code may come from: a phone's clock may be off by one step.
pub const SKEW_STEPS: i64 = 1;
/// 160-bit secrets, the length RFC 4226 recommends for HMAC-SHA-1.
const SECRET_BYTES: usize = 20;
/// Associated data of the encrypted secret (see [`TokenCipher`]).
const SECRET_PURPOSE: &str = "totp_factors.secret";

/// One user's authenticator: its secret and how it is labelled in the app.
pub struct Authenticator {
    totp: TOTP,
}

impl Authenticator {
    /// An authenticator with a new random secret.
    pub fn generate(issuer: &str, account: &str) -> AppResult<Self> {
        let mut secret = vec![0u8; SECRET_BYTES];
        crate::secrets::fill_random(&mut secret);
        Self::with_secret(secret, issuer, account)
    }

    /// The authenticator whose encrypted secret is `stored`.
    pub fn decrypt(cipher: &TokenCipher, stored: &str) -> AppResult<Self> {
        let base32 = cipher
            .decrypt(SECRET_PURPOSE, stored)
            .map_err(AppError::internal)?;
        let secret = totp_rs::Secret::Encoded(base32)
            .to_bytes()
            .map_err(|e| AppError::internal(anyhow::anyhow!("stored TOTP secret: {e:?}")))?;
        // The label is only used for the enrollment URI.
        Self::with_secret(secret, "todoql", "")
    }

    fn with_secret(secret: Vec<u8>, issuer: &str, account: &str) -> AppResult<Self> {
        // `:` separates issuer and account in the URI's label, so neither may hold one.
        let totp = TOTP::new(
            Algorithm::SHA1,
            DIGITS,
            0,
            STEP_SECS as u64,
            secret,
            Some(issuer.replace(':', " ")),
            account.replace(':', " "),
        )
        .map_err(|e| AppError::internal(anyhow::anyhow!("TOTP parameters: {e}")))?;
        Ok(Self { totp })
    }

    /// The secret in base32, for manual entry.
    pub fn secret_base32(&self) -> String {
        self.totp.get_secret_base32()
    }

    /// The secret encrypted for storage.
    pub fn encrypted(&self, cipher: &TokenCipher) -> String {
        cipher.encrypt(SECRET_PURPOSE, &self.secret_base32())
    }

    /// `otpauth://totp/…` for a QR code. The parameters are spelled out although they are
    /// the format's defaults, so that no app has to assume them.
    pub fn uri(&self) -> String {
        format!(
            "{}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            self.totp.get_url()
        )
    }

    /// The code of time step `step`.
    pub fn code_at(&self, step: i64) -> String {
        self.totp.generate(step.max(0) as u64 * STEP_SECS as u64)
    }

    /// The step within [`SKEW_STEPS`] of `now`, after `last_used`, whose code is `code`.
    pub fn matching_step(
        &self,
        code: &str,
        now: DateTime<Utc>,
        last_used: Option<i64>,
    ) -> Option<i64> {
        let current = step_at(now);
        (current - SKEW_STEPS..=current + SKEW_STEPS)
            .filter(|step| last_used.is_none_or(|used| *step > used))
            .find(|step| bool::from(self.code_at(*step).as_bytes().ct_eq(code.as_bytes())))
    }
}

/// The time step of `now`.
pub fn step_at(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(STEP_SECS)
}

/// `input` as a TOTP code (6 digits; spaces ignored, as apps show `123 456`), or `None`.
pub fn parse_code(input: &str) -> Option<String> {
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890" at T = 59 s gives
    /// 94287082 (8 digits); its last 6 digits are the 6-digit code.
    #[test]
    fn codes_follow_rfc_6238() {
        let auth = Authenticator::with_secret(b"12345678901234567890".to_vec(), "t", "a").unwrap();
        assert_eq!(auth.code_at(59 / STEP_SECS), "287082");
        assert_eq!(auth.code_at(1_111_111_109 / STEP_SECS), "081804");
    }

    #[test]
    fn one_step_of_skew_either_way_and_no_step_twice() {
        let auth = Authenticator::generate("todoql", "ada@example.com").unwrap();
        let now = Utc.timestamp_opt(1_800_000_015, 0).unwrap();
        let step = step_at(now);
        for offset in [-1, 0, 1] {
            let code = auth.code_at(step + offset);
            assert_eq!(auth.matching_step(&code, now, None), Some(step + offset));
        }
        for offset in [-2, 2] {
            let code = auth.code_at(step + offset);
            assert_eq!(
                auth.matching_step(&code, now, None),
                None,
                "offset {offset}"
            );
        }
        let code = auth.code_at(step);
        assert_eq!(auth.matching_step(&code, now, Some(step)), None);
        assert_eq!(auth.matching_step(&code, now, Some(step - 1)), Some(step));
    }

    #[test]
    fn the_uri_names_the_parameters_an_app_needs() {
        let auth = Authenticator::generate("todo.example", "ada@example.com").unwrap();
        let uri = auth.uri();
        assert!(
            uri.starts_with("otpauth://totp/todo.example:ada%40example.com?"),
            "{uri}"
        );
        assert!(
            uri.contains(&format!("secret={}", auth.secret_base32())),
            "{uri}"
        );
        assert!(uri.contains("issuer=todo.example"), "{uri}");
        assert!(uri.ends_with("&algorithm=SHA1&digits=6&period=30"), "{uri}");
        assert_eq!(auth.secret_base32().len(), 32);
    }

    #[test]
    fn codes_are_six_digits() {
        assert_eq!(parse_code(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(parse_code("12345"), None);
        assert_eq!(parse_code("12345a"), None);
        assert_eq!(parse_code("1234567"), None);
    }
}
