//! GraphQL faces of passkeys and their ceremonies.

use crate::schema::scalars::DateTime;
use async_graphql::{ID, Json, Object, SimpleObject};
use todoql_domain::auth::passkeys;
use todoql_entity::passkey;

/// A started WebAuthn ceremony.
#[derive(SimpleObject)]
pub struct PasskeyCeremony {
    /// Pass back to the finish mutation; 5 minutes, single use, valid on every instance.
    ceremony_id: ID,
    /// PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON (WebAuthn Level 3), base64url fields: the object itself (challenge at its top level), not wrapped in {publicKey: …}.
    options: Json<serde_json::Value>,
}

impl From<passkeys::Ceremony> for PasskeyCeremony {
    fn from(ceremony: passkeys::Ceremony) -> Self {
        PasskeyCeremony {
            ceremony_id: ID(ceremony.id.to_string()),
            options: Json(ceremony.options),
        }
    }
}

/// A passkey of the signed-in user.
pub struct Passkey(pub passkey::Model);

#[Object(name = "Passkey")]
impl Passkey {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When it last signed in; null before its first sign-in.
    async fn last_used_at(&self) -> Option<DateTime> {
        self.0.last_used_at.map(Into::into)
    }
}
