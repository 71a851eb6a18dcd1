//! The protocol side of OAuth: authorization URLs, the code exchange with PKCE, ID-token
//! verification (OpenID Connect, through `openidconnect`) and GitHub's REST API (through
//! `oauth2` and `reqwest`). What it returns is a verified identity; the account rules live in
//! the parent module.
//!
//! OpenID Connect discovery happens lazily, at the first flow that needs the provider, and is
//! cached for an hour. A discovery that fails is not cached: the request gets a clear error
//! and the next one tries again. An ID token whose key is not in the cached key set triggers
//! one fresh discovery (the issuer may have rotated its keys).

use super::settings::{ProviderKind, ProviderSettings};
use crate::clock::Clock;
use crate::error::{AppError, AppResult};
use crate::secrets::{constant_time_eq, sha256_hex};
use chrono::{DateTime, Utc};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, TokenResponse as _, TokenUrl,
};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreProviderMetadata,
};
use openidconnect::{AccessTokenHash, IssuerUrl, Nonce, TokenResponse as _};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long discovered provider metadata (endpoints and keys) is trusted.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// Soonest re-discovery after the last one, when an ID token names an unknown key.
const REDISCOVERY_MIN_AGE: Duration = Duration::from_secs(60);
/// Timeout of every call to a provider.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;
type GitHubClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// What the provider says about the person who signed in, after verification.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// The stable user id at the provider (`sub`, or GitHub's numeric id).
    pub account_id: String,
    /// Email address, if the provider shared one.
    pub email: Option<String>,
    /// Whether the provider vouches for that address.
    pub email_verified: bool,
    /// A display name from the profile.
    pub name: Option<String>,
    /// A picture URL from the profile.
    pub picture: Option<String>,
}

/// The provider's tokens; they never reach logs (secret wrappers) nor the API.
#[derive(Debug)]
pub(crate) struct ProviderTokens {
    pub access_token: SecretString,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token: Option<SecretString>,
    pub id_token: Option<SecretString>,
    pub scope: Option<String>,
}

/// A new authorization: where to send the browser and what to keep until the callback.
pub(crate) struct Authorization {
    pub url: String,
    pub pkce_verifier: SecretString,
    pub nonce: Option<SecretString>,
}

/// One configured provider and, for OpenID Connect, its discovered metadata.
pub(crate) struct Provider {
    pub settings: ProviderSettings,
    discovered: tokio::sync::Mutex<Option<(Arc<OidcClient>, Instant)>>,
}

/// Everything a code exchange needs from the pending state.
pub(crate) struct Exchange<'a> {
    pub code: &'a str,
    pub pkce_verifier: String,
    pub redirect_uri: &'a str,
    /// SHA-256 (hex) of the nonce sent in the authorization request (OpenID Connect).
    pub nonce_hash: Option<&'a str>,
}

fn unavailable(provider: &str) -> AppError {
    AppError::ProviderUnavailable(format!(
        "Sign-in with {provider} is unavailable right now: the provider could not be reached \
         or answered unexpectedly. Try again later."
    ))
}

fn refused_code() -> AppError {
    AppError::InvalidToken(
        "The provider refused the authorization code: it is invalid, expired or already used. \
         Start the sign-in again."
            .into(),
    )
}

fn unverifiable_id_token() -> AppError {
    AppError::InvalidToken(
        "The provider's ID token could not be verified. Start the sign-in again.".into(),
    )
}

/// The HTTP client for every provider call: no redirects (the `oauth2` docs' SSRF advice),
/// a timeout, rustls.
pub(crate) fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(HTTP_TIMEOUT)
        .user_agent(concat!("todoql/", env!("CARGO_PKG_VERSION")))
        .build()
}

impl Provider {
    pub fn new(settings: ProviderSettings) -> Self {
        Self {
            settings,
            discovered: tokio::sync::Mutex::new(None),
        }
    }

    fn name(&self) -> &str {
        &self.settings.name
    }

    fn client_id(&self) -> ClientId {
        ClientId::new(self.settings.client_id.clone())
    }

    fn client_secret(&self) -> ClientSecret {
        ClientSecret::new(self.settings.client_secret.expose_secret().to_owned())
    }

    fn github_client(&self) -> AppResult<(GitHubClient, &str)> {
        let ProviderKind::GitHub {
            auth_url,
            token_url,
            api_url,
        } = &self.settings.kind
        else {
            return Err(AppError::internal(anyhow::anyhow!("not a GitHub provider")));
        };
        let client = BasicClient::new(self.client_id())
            .set_client_secret(self.client_secret())
            .set_auth_uri(AuthUrl::new(auth_url.clone()).map_err(AppError::internal)?)
            .set_token_uri(TokenUrl::new(token_url.clone()).map_err(AppError::internal)?);
        Ok((client, api_url.trim_end_matches('/')))
    }

    /// The discovered client, from the cache or by discovery now. `refresh` forces a new
    /// discovery unless the cached one is younger than a minute.
    async fn oidc_client(
        &self,
        http: &reqwest::Client,
        refresh: bool,
    ) -> AppResult<Arc<OidcClient>> {
        let ProviderKind::Oidc { issuer } = &self.settings.kind else {
            return Err(AppError::internal(anyhow::anyhow!("not an OIDC provider")));
        };
        // Held across discovery on purpose: concurrent first requests wait for one discovery.
        let mut cached = self.discovered.lock().await;
        if let Some((client, at)) = cached.as_ref() {
            let age = at.elapsed();
            let fresh = age < DISCOVERY_TTL && !(refresh && age >= REDISCOVERY_MIN_AGE);
            if fresh {
                return Ok(client.clone());
            }
        }
        let issuer_url = IssuerUrl::new(issuer.clone()).map_err(|err| {
            tracing::error!(provider = self.name(), error = %err, "invalid OIDC issuer URL");
            unavailable(self.name())
        })?;
        let metadata = CoreProviderMetadata::discover_async(issuer_url, http)
            .await
            .map_err(|err| {
                tracing::error!(
                    provider = self.name(),
                    %issuer,
                    error = %err,
                    "OpenID Connect discovery failed"
                );
                unavailable(self.name())
            })?;
        // Basic authentication is the default; use the request body only when the issuer
        // says it supports nothing else.
        let post_only = metadata
            .token_endpoint_auth_methods_supported()
            .is_some_and(|methods| {
                !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                    && methods.contains(&CoreClientAuthMethod::ClientSecretPost)
            });
        let mut client = CoreClient::from_provider_metadata(
            metadata,
            self.client_id(),
            Some(self.client_secret()),
        );
        if post_only {
            client = client.set_auth_type(AuthType::RequestBody);
        }
        let client = Arc::new(client);
        *cached = Some((client.clone(), Instant::now()));
        tracing::info!(provider = self.name(), %issuer, "OpenID Connect provider discovered");
        Ok(client)
    }

    /// A new authorization request with a fresh PKCE pair (S256), the given state and, for
    /// OpenID Connect, a fresh nonce.
    pub async fn authorize(
        &self,
        http: &reqwest::Client,
        state: &str,
        redirect_uri: &str,
    ) -> AppResult<Authorization> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|_| bad_redirect_uri())?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new(state.to_owned());
        match &self.settings.kind {
            ProviderKind::GitHub { .. } => {
                let (client, _) = self.github_client()?;
                let (url, _) = client
                    .authorize_url(move || state)
                    .add_scope(Scope::new("read:user".into()))
                    .add_scope(Scope::new("user:email".into()))
                    .set_pkce_challenge(challenge)
                    .set_redirect_uri(std::borrow::Cow::Owned(redirect))
                    .url();
                Ok(Authorization {
                    url: url.into(),
                    pkce_verifier: SecretString::from(verifier.into_secret()),
                    nonce: None,
                })
            }
            ProviderKind::Oidc { .. } => {
                let client = self.oidc_client(http, false).await?;
                let (url, _, nonce) = client
                    .authorize_url(
                        CoreAuthenticationFlow::AuthorizationCode,
                        move || state,
                        Nonce::new_random,
                    )
                    .add_scope(Scope::new("email".into()))
                    .add_scope(Scope::new("profile".into()))
                    .set_pkce_challenge(challenge)
                    .set_redirect_uri(std::borrow::Cow::Owned(redirect))
                    .url();
                Ok(Authorization {
                    url: url.into(),
                    pkce_verifier: SecretString::from(verifier.into_secret()),
                    nonce: Some(SecretString::from(nonce.secret().clone())),
                })
            }
        }
    }

    /// Exchanges the code (with the PKCE verifier) and verifies who signed in.
    pub async fn exchange(
        &self,
        http: &reqwest::Client,
        clock: &Arc<dyn Clock>,
        mut exchange: Exchange<'_>,
    ) -> AppResult<(Identity, ProviderTokens)> {
        let redirect =
            RedirectUrl::new(exchange.redirect_uri.to_owned()).map_err(|_| bad_redirect_uri())?;
        let code = AuthorizationCode::new(exchange.code.to_owned());
        let verifier = PkceCodeVerifier::new(std::mem::take(&mut exchange.pkce_verifier));
        let now = clock.now();
        match &self.settings.kind {
            ProviderKind::GitHub { .. } => {
                let (client, api_url) = self.github_client()?;
                let response = client
                    .exchange_code(code)
                    .set_pkce_verifier(verifier)
                    .set_redirect_uri(std::borrow::Cow::Owned(redirect))
                    .request_async(http)
                    .await
                    .map_err(|err| self.token_error(err))?;
                let tokens = ProviderTokens {
                    access_token: SecretString::from(response.access_token().secret().clone()),
                    access_token_expires_at: expires_at(now, response.expires_in()),
                    refresh_token: response
                        .refresh_token()
                        .map(|t| SecretString::from(t.secret().clone())),
                    id_token: None,
                    scope: scope_text(response.scopes()),
                };
                let identity = self
                    .github_identity(http, api_url, tokens.access_token.expose_secret())
                    .await?;
                Ok((identity, tokens))
            }
            ProviderKind::Oidc { .. } => {
                let client = self.oidc_client(http, false).await?;
                let response = client
                    .exchange_code(code)
                    .map_err(AppError::internal)?
                    .set_pkce_verifier(verifier)
                    .set_redirect_uri(std::borrow::Cow::Owned(redirect))
                    .request_async(http)
                    .await
                    .map_err(|err| self.token_error(err))?;
                let id_token = response.id_token().ok_or_else(|| {
                    tracing::warn!(provider = self.name(), "token response without an ID token");
                    unverifiable_id_token()
                })?;
                let access_token = response.access_token();
                let claims =
                    match self.verify_id_token(&client, clock, id_token, access_token, &exchange) {
                        Err(IdTokenError::UnknownKey) => {
                            // The issuer may have rotated its keys since the last discovery.
                            let fresh = self.oidc_client(http, true).await?;
                            self.verify_id_token(&fresh, clock, id_token, access_token, &exchange)
                        }
                        other => other,
                    }
                    .map_err(|_| unverifiable_id_token())?;
                let tokens = ProviderTokens {
                    access_token: SecretString::from(response.access_token().secret().clone()),
                    access_token_expires_at: expires_at(now, response.expires_in()),
                    refresh_token: response
                        .refresh_token()
                        .map(|t| SecretString::from(t.secret().clone())),
                    id_token: Some(SecretString::from(id_token.to_string())),
                    scope: scope_text(response.scopes()),
                };
                Ok((claims, tokens))
            }
        }
    }

    fn verify_id_token(
        &self,
        client: &OidcClient,
        clock: &Arc<dyn Clock>,
        id_token: &openidconnect::core::CoreIdToken,
        access_token: &openidconnect::AccessToken,
        exchange: &Exchange<'_>,
    ) -> Result<Identity, IdTokenError> {
        let clock = clock.clone();
        // exp and iat are checked against the server's clock (which tests move).
        let verifier = client.id_token_verifier().set_time_fn(move || clock.now());
        let expected_nonce = exchange.nonce_hash.unwrap_or_default().to_owned();
        let nonce_check = move |nonce: Option<&Nonce>| match nonce {
            Some(nonce) if constant_time_eq(&sha256_hex(nonce.secret()), &expected_nonce) => Ok(()),
            Some(_) => Err("nonce mismatch".to_owned()),
            None => Err("missing nonce claim".to_owned()),
        };
        let claims = id_token.claims(&verifier, nonce_check).map_err(|err| {
            use openidconnect::{ClaimsVerificationError, SignatureVerificationError};
            tracing::warn!(provider = self.name(), error = %err, "ID token refused");
            match err {
                ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                ) => IdTokenError::UnknownKey,
                _ => IdTokenError::Invalid,
            }
        })?;
        // at_hash, when present, ties the access token to this ID token.
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token.signing_alg().map_err(|_| IdTokenError::Invalid)?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|_| IdTokenError::Invalid)?;
            let actual = AccessTokenHash::from_token(access_token, alg, key)
                .map_err(|_| IdTokenError::Invalid)?;
            if actual != *expected {
                tracing::warn!(provider = self.name(), "ID token at_hash does not match");
                return Err(IdTokenError::Invalid);
            }
        }
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned())
            .or_else(|| claims.preferred_username().map(|u| u.as_str().to_owned()));
        Ok(Identity {
            account_id: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified().unwrap_or(false),
            name,
            picture: claims
                .picture()
                .and_then(|p| p.get(None))
                .map(|p| p.as_str().to_owned()),
        })
    }

    /// The GitHub user and their primary verified email.
    async fn github_identity(
        &self,
        http: &reqwest::Client,
        api_url: &str,
        access_token: &str,
    ) -> AppResult<Identity> {
        #[derive(Deserialize)]
        struct User {
            id: u64,
            login: String,
            name: Option<String>,
            avatar_url: Option<String>,
        }
        #[derive(Deserialize)]
        struct Email {
            email: String,
            primary: bool,
            verified: bool,
        }
        let user: User = self
            .github_get(http, &format!("{api_url}/user"), access_token)
            .await?;
        let emails: Vec<Email> = self
            .github_get(http, &format!("{api_url}/user/emails"), access_token)
            .await?;
        let primary = emails.into_iter().find(|e| e.primary);
        Ok(Identity {
            account_id: user.id.to_string(),
            email_verified: primary.as_ref().is_some_and(|e| e.verified),
            email: primary.map(|e| e.email),
            name: user
                .name
                .filter(|n| !n.trim().is_empty())
                .or(Some(user.login)),
            picture: user.avatar_url,
        })
    }

    async fn github_get<T: serde::de::DeserializeOwned>(
        &self,
        http: &reqwest::Client,
        url: &str,
        access_token: &str,
    ) -> AppResult<T> {
        let response = http
            .get(url)
            .bearer_auth(access_token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .send()
            .await
            .map_err(|err| {
                tracing::error!(provider = self.name(), %url, error = %err, "GitHub API unreachable");
                unavailable(self.name())
            })?;
        let status = response.status();
        if !status.is_success() {
            tracing::error!(provider = self.name(), %url, %status, "GitHub API refused the request");
            return Err(unavailable(self.name()));
        }
        response.json::<T>().await.map_err(|err| {
            tracing::error!(provider = self.name(), %url, error = %err, "unexpected GitHub API answer");
            unavailable(self.name())
        })
    }

    /// Maps a failed code exchange: the provider refusing the code (also GitHub's way of
    /// answering 200 with an `error` field) is INVALID_TOKEN; anything else is the provider
    /// being unavailable. Bodies are never logged: they may hold tokens.
    fn token_error<RE, T>(&self, err: RequestTokenError<RE, T>) -> AppError
    where
        RE: std::error::Error + 'static,
        T: oauth2::ErrorResponse + 'static,
    {
        #[derive(Deserialize)]
        struct ErrorBody {
            error: String,
        }
        match err {
            RequestTokenError::ServerResponse(response) => {
                tracing::info!(provider = self.name(), error = %response, "provider refused the code");
                refused_code()
            }
            RequestTokenError::Parse(_, body) => match serde_json::from_slice::<ErrorBody>(&body) {
                Ok(body) => {
                    tracing::info!(provider = self.name(), error = %body.error, "provider refused the code");
                    refused_code()
                }
                Err(_) => {
                    tracing::error!(provider = self.name(), "unparseable token response");
                    unavailable(self.name())
                }
            },
            RequestTokenError::Request(err) => {
                tracing::error!(provider = self.name(), error = %err, "token endpoint unreachable");
                unavailable(self.name())
            }
            RequestTokenError::Other(message) => {
                tracing::error!(provider = self.name(), error = %message, "token exchange failed");
                unavailable(self.name())
            }
        }
    }
}

enum IdTokenError {
    /// No key of the cached key set matches: maybe rotated.
    UnknownKey,
    Invalid,
}

fn bad_redirect_uri() -> AppError {
    AppError::bad_input("redirectUri", "This redirect URI is not allowed.")
}

fn expires_at(now: DateTime<Utc>, expires_in: Option<Duration>) -> Option<DateTime<Utc>> {
    expires_in
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .and_then(|d| now.checked_add_signed(d))
}

fn scope_text(scopes: Option<&Vec<Scope>>) -> Option<String> {
    scopes.map(|s| {
        s.iter()
            .map(|scope| scope.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    })
}
