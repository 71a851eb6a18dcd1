//! Resolving the OAuth providers: from the OAuth options and, for each provider named in
//! TODOQL_OIDC_PROVIDERS, from its own TODOQL_OIDC_<NAME>_* variables. What clap cannot check
//! one option at a time is checked here: a provider half configured, a variable missing, a
//! name used twice, a provider without encryption key or redirect URI.

use super::oauth::OAuthConfig;
use super::parse;
use super::secret::Secret;
use std::collections::HashSet;
use todoql_domain::auth::oauth::{OAuthSettings, ProviderKind, ProviderSettings};

/// A configuration problem found after parsing: which variable (and flag), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable (with its flag, when it has one).
    pub variable: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

pub(super) fn config_error(variable: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: variable.to_owned(),
        message: message.into(),
    }
}

impl OAuthConfig {
    /// Resolves the OAuth providers from the options and, for the providers named in
    /// TODOQL_OIDC_PROVIDERS, from the variables `env` returns. Fails on a half-configured
    /// provider, a missing per-provider variable, or a provider without an encryption key or
    /// redirect URI.
    pub fn resolve(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<OAuthSettings, ConfigError> {
        let mut providers = Vec::new();
        providers.extend(built_in(
            "github",
            &self.oauth_github_client_id,
            &self.oauth_github_client_secret,
            "TODOQL_OAUTH_GITHUB_CLIENT_ID (--oauth-github-client-id)",
            "TODOQL_OAUTH_GITHUB_CLIENT_SECRET (--oauth-github-client-secret)",
            ProviderKind::GitHub {
                auth_url: self.oauth_github_auth_url.clone(),
                token_url: self.oauth_github_token_url.clone(),
                api_url: self.oauth_github_api_url.clone(),
            },
        )?);
        providers.extend(built_in(
            "google",
            &self.oauth_google_client_id,
            &self.oauth_google_client_secret,
            "TODOQL_OAUTH_GOOGLE_CLIENT_ID (--oauth-google-client-id)",
            "TODOQL_OAUTH_GOOGLE_CLIENT_SECRET (--oauth-google-client-secret)",
            ProviderKind::Oidc {
                issuer: self.oauth_google_issuer.clone(),
            },
        )?);
        for name in self.oidc_providers.iter().filter(|n| !n.is_empty()) {
            providers.push(from_variables(name, env)?);
        }
        for spec in &self.oidc_provider {
            providers.push(ProviderSettings {
                name: spec.name.clone(),
                client_id: spec.client_id.clone(),
                client_secret: spec.client_secret.clone().into_secret_string(),
                kind: ProviderKind::Oidc {
                    issuer: spec.issuer.clone(),
                },
            });
        }

        let mut seen = HashSet::new();
        for provider in &providers {
            if !seen.insert(provider.name.as_str()) {
                return Err(config_error(
                    "TODOQL_OIDC_PROVIDERS (--oidc-providers, --oidc-provider)",
                    format!("the provider {:?} is configured twice", provider.name),
                ));
            }
        }
        let redirect_uris: Vec<String> = self
            .oauth_redirect_uris
            .iter()
            .filter(|uri| !uri.is_empty())
            .cloned()
            .collect();
        if !providers.is_empty() {
            if self.encryption_key.is_none() {
                return Err(config_error(
                    "TODOQL_ENCRYPTION_KEY (--encryption-key)",
                    "required when an OAuth provider is configured (32 bytes as base64 or hex, \
                     e.g. `openssl rand -base64 32`)",
                ));
            }
            if redirect_uris.is_empty() {
                return Err(config_error(
                    "TODOQL_OAUTH_REDIRECT_URIS (--oauth-redirect-uris)",
                    "required when an OAuth provider is configured (your frontend's callback URL)",
                ));
            }
        }
        Ok(OAuthSettings {
            providers,
            redirect_uris,
            encryption_key: self.encryption_key.clone(),
        })
    }
}

/// A built-in provider: off when neither its client ID nor its secret is set, an error when
/// only one is.
fn built_in(
    name: &str,
    id: &Option<String>,
    secret: &Option<Secret>,
    id_var: &str,
    secret_var: &str,
    kind: ProviderKind,
) -> Result<Option<ProviderSettings>, ConfigError> {
    let id = non_empty(id.as_deref());
    let secret = non_empty(secret.as_ref().map(Secret::expose));
    match (id, secret) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(config_error(
            secret_var,
            format!("required when {id_var} is set"),
        )),
        (None, Some(_)) => Err(config_error(
            id_var,
            format!("required when {secret_var} is set"),
        )),
        (Some(client_id), Some(client_secret)) => Ok(Some(ProviderSettings {
            name: name.to_owned(),
            client_id,
            client_secret: client_secret.into(),
            kind,
        })),
    }
}

/// A generic OpenID Connect provider named in TODOQL_OIDC_PROVIDERS, from its variables.
fn from_variables(
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ProviderSettings, ConfigError> {
    let prefix = format!(
        "TODOQL_OIDC_{}",
        name.to_ascii_uppercase().replace('-', "_")
    );
    let var = |suffix: &str| -> Result<String, ConfigError> {
        let variable = format!("{prefix}_{suffix}");
        non_empty(env(&variable).as_deref()).ok_or_else(|| {
            config_error(
                &variable,
                format!("required for the provider {name:?} listed in TODOQL_OIDC_PROVIDERS"),
            )
        })
    };
    let issuer_var = format!("{prefix}_ISSUER");
    let issuer = parse::provider_url(&var("ISSUER")?)
        .map_err(|message| config_error(&issuer_var, message))?;
    Ok(ProviderSettings {
        name: name.to_owned(),
        client_id: var("CLIENT_ID")?,
        client_secret: var("CLIENT_SECRET")?.into(),
        kind: ProviderKind::Oidc { issuer },
    })
}

/// The value trimmed, or `None` when it is unset or blank.
fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}
