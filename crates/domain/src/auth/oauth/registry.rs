//! The configured providers at run time: who they are, the redirect-URI allow-list, the cipher
//! for provider tokens and the HTTP client that talks to them. Built once, held by the state.

use super::providers::{self, Provider};
use super::settings::OAuthSettings;
use crate::cipher::TokenCipher;
use crate::error::{AppError, AppResult};

/// The providers, the redirect-URI allow-list, the token cipher and the HTTP client.
pub struct OAuth {
    providers: Vec<Provider>,
    redirect_uris: Vec<String>,
    cipher: Option<TokenCipher>,
    http: Result<reqwest::Client, String>,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth")
            .field("providers", &self.provider_names())
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

impl OAuth {
    /// Builds the runtime side of `settings`, with the state's at-rest `cipher`. Does no network call: OpenID Connect discovery
    /// happens at the first flow that needs it.
    pub fn new(settings: &OAuthSettings, cipher: Option<TokenCipher>) -> Self {
        Self {
            providers: settings
                .providers
                .iter()
                .cloned()
                .map(Provider::new)
                .collect(),
            redirect_uris: settings.redirect_uris.clone(),
            cipher,
            http: providers::http_client().map_err(|err| err.to_string()),
        }
    }

    /// Names of the configured providers, in configuration order.
    pub fn provider_names(&self) -> Vec<String> {
        self.providers
            .iter()
            .map(|p| p.settings.name.clone())
            .collect()
    }

    /// Whether `uri` is one of TODOQL_OAUTH_REDIRECT_URIS, exactly.
    pub(crate) fn allows_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|allowed| allowed == uri)
    }

    pub(crate) fn is_configured(&self, name: &str) -> bool {
        self.providers.iter().any(|p| p.settings.name == name)
    }

    pub(crate) fn provider(&self, raw: &str, field: &str) -> AppResult<&Provider> {
        let name = provider_key(raw);
        self.providers
            .iter()
            .find(|p| p.settings.name == name)
            .ok_or_else(|| unknown_provider(field, &self.provider_names()))
    }

    pub(crate) fn cipher(&self) -> AppResult<&TokenCipher> {
        // The server refuses to start with a provider but without a key; this is a guard.
        self.cipher.as_ref().ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "OAuth provider configured without TODOQL_ENCRYPTION_KEY"
            ))
        })
    }

    pub(crate) fn http(&self) -> AppResult<&reqwest::Client> {
        self.http
            .as_ref()
            .map_err(|err| AppError::internal(anyhow::anyhow!("HTTP client: {err}")))
    }
}

pub(crate) fn provider_key(raw: &str) -> String {
    raw.trim().to_ascii_lowercase()
}

pub(crate) fn unknown_provider(field: &str, configured: &[String]) -> AppError {
    let message = if configured.is_empty() {
        "No OAuth provider is configured on this server.".to_owned()
    } else {
        format!(
            "Unknown provider. Configured providers: {}.",
            configured.join(", ")
        )
    };
    AppError::bad_input(field, message)
}

/// A provider's name as people write it, for messages.
pub(crate) fn display_name(name: &str) -> String {
    match name {
        "github" => "GitHub".into(),
        "google" => "Google".into(),
        other => other.to_owned(),
    }
}
