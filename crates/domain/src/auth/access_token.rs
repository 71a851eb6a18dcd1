//! Access tokens: HS256 JWTs with sub, sid, iat, exp, iss and aud. The algorithm is pinned;
//! expiry is checked against the injectable clock.

use crate::error::{AppError, AppResult};
use crate::settings::Settings;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::borrow::Cow;
use uuid::Uuid;

/// The claims of an access token.
#[derive(Debug, Serialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// The session id.
    pub sid: Uuid,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

/// What a verified access token says: whose, which session, until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The user id.
    pub sub: Uuid,
    /// The session id.
    pub sid: Uuid,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

/// The claims as a presented token holds them, its texts borrowed where they need no
/// unescaping. Every field is required, as issuing writes them all.
#[derive(Deserialize)]
struct Presented<'a> {
    sub: Uuid,
    sid: Uuid,
    #[allow(dead_code)] // required, as jsonwebtoken's validation required it; not checked
    iat: i64,
    exp: i64,
    #[serde(borrow)]
    iss: Cow<'a, str>,
    #[serde(borrow)]
    aud: Cow<'a, str>,
}

/// A presented token's header: only its algorithm matters.
#[derive(Deserialize)]
struct PresentedHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
}

/// Signs and verifies access tokens.
///
/// Issuing goes through jsonwebtoken. Verifying, which every authenticated request does, is
/// written out here: jsonwebtoken 10 keys a new HMAC for each token, parses the header twice
/// and the claims twice (once into a generic value for its validation), about 48 k
/// instructions of a todo-list request's 1,500 k (bench/RESULTS.md). Here the HMAC is keyed
/// once and cloned per token, and the claims are read once, borrowing their texts.
pub struct AccessTokens {
    encoding: EncodingKey,
    /// HMAC-SHA256 under the secret, keyed once (the key's padded blocks already hashed).
    mac: Hmac<Sha256>,
    issuer: String,
    audience: String,
    ttl: chrono::Duration,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl AccessTokens {
    /// Keys and validation rules from the settings.
    pub fn new(settings: &Settings) -> Self {
        let secret = settings.jwt_secret.expose_secret();
        Self {
            encoding: EncodingKey::from_secret(secret),
            mac: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length"),
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            ttl: settings.access_token_ttl,
        }
    }

    /// A token for `user_id` in `session_id`, and when it expires.
    pub fn issue(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<(String, DateTime<Utc>)> {
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: user_id,
            sid: session_id,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok((
            token,
            chrono::DateTime::from_timestamp(expires_at.timestamp(), 0).unwrap_or(expires_at),
        ))
    }

    /// What a valid, unexpired token says; `None` for anything else. Valid: three base64url
    /// parts, an HS256 signature under our secret (checked first and in constant time, so
    /// nothing of a forged token is parsed), a header whose `alg` is `HS256` (`none` and every
    /// other algorithm are refused), every claim present, our issuer and audience, and `exp`
    /// after `now` (no leeway; the injectable clock).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Verified> {
        let (signed, signature) = token.rsplit_once('.')?;
        let (header, payload) = signed.split_once('.')?;
        let mut mac = self.mac.clone();
        mac.update(signed.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?)
            .ok()?;
        let header = URL_SAFE_NO_PAD.decode(header).ok()?;
        let header: PresentedHeader<'_> = serde_json::from_slice(&header).ok()?;
        if header.alg != "HS256" {
            return None;
        }
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let claims: Presented<'_> = serde_json::from_slice(&payload).ok()?;
        (claims.iss == self.issuer && claims.aud == self.audience && claims.exp > now.timestamp())
            .then_some(Verified {
                sub: claims.sub,
                sid: claims.sid,
                exp: claims.exp,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, Header};

    fn tokens() -> AccessTokens {
        AccessTokens::new(&Settings::new(
            b"unit-test-secret-unit-test-secret!!".to_vec(),
        ))
    }

    #[test]
    fn an_issued_token_verifies_until_it_expires() {
        let tokens = tokens();
        let now = Utc::now();
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        let (token, expires) = tokens.issue(user, session, now).unwrap();
        let verified = tokens.verify(&token, now).expect("a fresh token");
        assert_eq!((verified.sub, verified.sid), (user, session));
        assert_eq!(verified.exp, expires.timestamp());
        assert!(
            tokens
                .verify(&token, expires - chrono::Duration::seconds(1))
                .is_some()
        );
        assert!(tokens.verify(&token, expires).is_none());
    }

    #[test]
    fn anything_but_our_hs256_with_every_claim_is_refused() {
        let tokens = tokens();
        let settings = Settings::new(b"unit-test-secret-unit-test-secret!!".to_vec());
        let secret = settings.jwt_secret.expose_secret();
        let now = Utc::now();
        let claims = serde_json::json!({
            "sub": Uuid::now_v7(), "sid": Uuid::now_v7(), "iat": now.timestamp(),
            "exp": now.timestamp() + 60, "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
        });
        let sign = |claims: &serde_json::Value, algorithm| {
            jsonwebtoken::encode(
                &Header::new(algorithm),
                claims,
                &EncodingKey::from_secret(secret),
            )
            .unwrap()
        };
        assert!(
            tokens
                .verify(&sign(&claims, Algorithm::HS256), now)
                .is_some()
        );
        assert!(
            tokens
                .verify(&sign(&claims, Algorithm::HS384), now)
                .is_none()
        );
        assert!(
            tokens
                .verify(&sign(&claims, Algorithm::HS512), now)
                .is_none()
        );
        for missing in ["sub", "sid", "iat", "exp", "iss", "aud"] {
            let mut without = claims.clone();
            without.as_object_mut().unwrap().remove(missing);
            assert!(
                tokens
                    .verify(&sign(&without, Algorithm::HS256), now)
                    .is_none(),
                "{missing}"
            );
        }
        // Escaped texts are read too (not borrowed), and still compared.
        let mut escaped = claims.clone();
        escaped["iss"] = serde_json::json!(format!("{}\n", settings.jwt_issuer));
        assert!(
            tokens
                .verify(&sign(&escaped, Algorithm::HS256), now)
                .is_none()
        );
        // Signed right (HMAC-SHA256 under our secret) but naming another algorithm: refused
        // for its header alone.
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        for alg in [
            r#"{"alg":"HS256"}"#,
            r#"{"alg":"none"}"#,
            r#"{"alg":"HS384"}"#,
            "{}",
        ] {
            let signed = format!("{}.{body}", URL_SAFE_NO_PAD.encode(alg));
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
            mac.update(signed.as_bytes());
            let mac = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
            let verified = tokens.verify(&format!("{signed}.{mac}"), now);
            assert_eq!(verified.is_some(), alg == r#"{"alg":"HS256"}"#, "{alg}");
        }
        let genuine = sign(&claims, Algorithm::HS256);
        assert!(tokens.verify("", now).is_none());
        assert!(tokens.verify("a.b", now).is_none());
        assert!(tokens.verify(&format!("{genuine}x"), now).is_none());
    }
}
