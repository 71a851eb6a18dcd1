//! Passkeys: registration and sign-in ceremonies, listing, renaming and deleting.

use crate::error::Result;
use crate::request::{client_info, require_viewer, state};
use crate::schema::account_types::AuthPayload;
use crate::schema::args::parse_id;
use crate::schema::passkey_types::{Passkey, PasskeyCeremony};
use async_graphql::{Context, ID, InputObject, Json, Object};
use todoql_domain::auth::passkeys::{manage, registration, sign_in};

/// Input of finishPasskeyRegistration.
#[derive(InputObject)]
pub struct FinishPasskeyRegistrationInput {
    ceremony_id: ID,
    /// The PublicKeyCredential's toJSON() (WebAuthn Level 3 RegistrationResponseJSON).
    credential: Json<serde_json::Value>,
    /// Defaults to a name derived from the authenticator, e.g. "Passkey 1".
    name: Option<String>,
}

/// Input of finishPasskeySignIn.
#[derive(InputObject)]
pub struct FinishPasskeyInput {
    ceremony_id: ID,
    /// The PublicKeyCredential's toJSON() (AuthenticationResponseJSON).
    credential: Json<serde_json::Value>,
}

/// Passkey mutations.
#[derive(Default)]
pub struct PasskeyMutation;

#[Object]
impl PasskeyMutation {
    /// Options for navigator.credentials.create() to add a passkey to the caller. Needs a recent sign-in.
    async fn start_passkey_registration(&self, ctx: &Context<'_>) -> Result<PasskeyCeremony> {
        let viewer = require_viewer(ctx).await?;
        Ok(registration::start(state(ctx), viewer).await?.into())
    }

    async fn finish_passkey_registration(
        &self,
        ctx: &Context<'_>,
        input: FinishPasskeyRegistrationInput,
    ) -> Result<Passkey> {
        let viewer = require_viewer(ctx).await?;
        let added = registration::finish(
            state(ctx),
            viewer,
            input.ceremony_id.as_str(),
            input.credential.0,
            input.name.as_deref(),
            &client_info(ctx),
        )
        .await?;
        Ok(Passkey(added))
    }

    /// Options for navigator.credentials.get(); without email, any discoverable passkey of this site may answer.
    async fn start_passkey_sign_in(
        &self,
        ctx: &Context<'_>,
        email: Option<String>,
    ) -> Result<PasskeyCeremony> {
        let ceremony = sign_in::start(state(ctx), email.as_deref(), &client_info(ctx)).await?;
        Ok(ceremony.into())
    }

    /// A passkey sign-in with user verification is complete on its own: it never answers MFA_REQUIRED.
    async fn finish_passkey_sign_in(
        &self,
        ctx: &Context<'_>,
        input: FinishPasskeyInput,
    ) -> Result<AuthPayload> {
        let signed_in = sign_in::finish(
            state(ctx),
            input.ceremony_id.as_str(),
            input.credential.0,
            &client_info(ctx),
        )
        .await?;
        Ok(signed_in.into())
    }

    async fn rename_passkey(&self, ctx: &Context<'_>, id: ID, name: String) -> Result<Passkey> {
        let viewer = require_viewer(ctx).await?;
        let id = parse_id(&id, "id")?;
        Ok(Passkey(
            manage::rename(state(ctx), viewer, id, &name).await?,
        ))
    }

    /// CONFLICT when it would leave the user without any way to sign in.
    async fn delete_passkey(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let viewer = require_viewer(ctx).await?;
        let id = parse_id(&id, "id")?;
        manage::delete(state(ctx), viewer, id, &client_info(ctx)).await?;
        Ok(true)
    }
}
