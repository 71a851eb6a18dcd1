//! Passkeys (PRODUCT.md "Passkeys"): WebAuthn credentials registered by a signed-in user and
//! used to sign in, through webauthn-rs's passkey API (user verification required).
//!
//! Each ceremony has two halves, `start…` (options for the browser) and `finish…` (the
//! browser's answer). The state between them is in the database ([`ceremony`]), so the halves
//! may reach different instances. A passkey sign-in is complete on its own: user verification
//! makes it two factors in one, so it never answers MFA_REQUIRED.

pub mod ceremony;
pub mod manage;
pub mod registration;
pub mod relying;
pub mod settings;
pub mod sign_in;

pub use relying::Relying;
pub use settings::PasskeySettings;

use crate::error::{AppError, AppResult};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use todoql_entity::passkey;
use uuid::Uuid;
use webauthn_rs::prelude::Passkey;

/// A started ceremony: its id, and the options to hand to the browser's WebAuthn API
/// (`PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`).
#[derive(Debug, Clone)]
pub struct Ceremony {
    /// Pass back to the finish mutation.
    pub id: Uuid,
    /// `PublicKeyCredentialCreationOptionsJSON` or `PublicKeyCredentialRequestOptionsJSON`.
    pub options: serde_json::Value,
}

/// A credential id as stored (base64url, no padding).
pub(crate) fn credential_id(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The webauthn-rs passkey stored in `row`.
pub(crate) fn stored(row: &passkey::Model) -> AppResult<Passkey> {
    serde_json::from_str(&row.credential).map_err(AppError::internal)
}

/// The options of a ceremony as the browser takes them.
pub(crate) fn options_json<T: serde::Serialize>(options: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(options).map_err(AppError::internal)
}
