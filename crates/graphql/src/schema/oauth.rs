//! Mutations of OAuth sign-in and account linking.

use crate::error::Result;
use crate::request::client_info;
use crate::request::state;
use crate::request::{self, optional_viewer, require_viewer};
use crate::schema::account_types::AuthPayload;
use async_graphql::{Context, InputObject, Object, SimpleObject};
use todoql_domain::auth::oauth::{self, Callback, Start};

/// Where to send the browser to sign in with a provider.
#[derive(SimpleObject)]
#[graphql(name = "OAuthStart")]
pub struct OAuthStart {
    /// Send the browser here.
    pub authorization_url: String,
    /// The state the provider sends back with the code; pass both to completeOAuth.
    pub state: String,
}

/// What the provider sent to the redirect URI.
#[derive(InputObject)]
#[graphql(name = "CompleteOAuthInput")]
pub struct CompleteOAuthInput {
    /// The provider given to startOAuth.
    provider: String,
    /// The `code` query parameter.
    code: String,
    /// The `state` query parameter.
    state: String,
    /// The verifier whose S256 challenge was given to startOAuth.
    code_verifier: String,
}

/// OAuth mutations.
#[derive(Default)]
pub struct OAuthMutation;

#[Object]
impl OAuthMutation {
    /// Begin sign-in (or, when signed in, linking) with a configured provider. `codeChallenge` is
    /// base64url(SHA-256(codeVerifier)) of a random verifier that the browser keeps (RFC 7636, S256):
    /// only the browser that started a flow can finish it (no login CSRF).
    #[graphql(name = "startOAuth")]
    async fn start_oauth(
        &self,
        ctx: &Context<'_>,
        provider: String,
        redirect_uri: String,
        code_challenge: String,
    ) -> Result<OAuthStart> {
        let viewer = optional_viewer(ctx).await?;
        let started = oauth::start(
            state(ctx),
            viewer,
            Start {
                provider: &provider,
                redirect_uri: &redirect_uri,
                code_challenge: &code_challenge,
            },
        )
        .await?;
        Ok(OAuthStart {
            authorization_url: started.authorization_url,
            state: started.state,
        })
    }

    /// Finish the flow with the `code` and `state` the provider sent to redirectUri, and the browser's codeVerifier. Signed in: links the account.
    #[graphql(name = "completeOAuth")]
    async fn complete_oauth(
        &self,
        ctx: &Context<'_>,
        input: CompleteOAuthInput,
    ) -> Result<AuthPayload> {
        let viewer = request::viewer(ctx).await?;
        let signed_in = oauth::complete(
            state(ctx),
            viewer,
            Callback {
                provider: input.provider,
                code: input.code,
                state: input.state,
                code_verifier: input.code_verifier,
            },
            &client_info(ctx),
        )
        .await?;
        Ok(signed_in.into())
    }

    /// CONFLICT when it would leave the user without any way to sign in.
    async fn unlink_account(&self, ctx: &Context<'_>, provider: String) -> Result<bool> {
        let viewer = require_viewer(ctx).await?;
        oauth::unlink(state(ctx), viewer, &provider, &client_info(ctx)).await?;
        Ok(true)
    }
}
