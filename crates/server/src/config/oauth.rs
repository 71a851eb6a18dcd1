//! Options of sign-in with OAuth / OpenID Connect: the key for provider tokens at rest, the
//! allowed redirect URIs, GitHub, Google and generic OpenID Connect providers. Turning them
//! into the list of providers is `oauth_providers`' job.

use super::oidc_spec::OidcSpec;
use super::parse;
use super::secret::Secret;
use clap::Args;
use todoql_domain::auth::oauth::settings::{
    GITHUB_API_URL, GITHUB_AUTH_URL, GITHUB_TOKEN_URL, GOOGLE_ISSUER,
};
use todoql_domain::auth::oauth::{EncryptionKey, OAuthSettings};

/// The OAuth options as given. [`OAuthConfig::settings`] is valid once the configuration is
/// resolved (`Config::resolve`), which the parsing functions do.
#[derive(Debug, Clone, Args)]
pub struct OAuthConfig {
    /// Key that encrypts OAuth provider tokens at rest (AES-256-GCM): 32 bytes written as
    /// base64 or as 64 hex digits, e.g. from `openssl rand -base64 32`. Required when an OAuth
    /// provider is configured.
    #[arg(long, env = "TODOQL_ENCRYPTION_KEY", value_parser = EncryptionKey::parse, display_order = 34)]
    pub encryption_key: Option<EncryptionKey>,

    /// Redirect URIs a client may pass to startOAuth, comma-separated; the frontend page that
    /// receives the provider's code. A redirectUri must equal one of them exactly.
    #[arg(long, env = "TODOQL_OAUTH_REDIRECT_URIS", value_delimiter = ',', value_parser = parse::redirect_uri, display_order = 35)]
    pub oauth_redirect_uris: Vec<String>,

    /// Client ID of the GitHub OAuth app (enables sign-in with GitHub).
    #[arg(long, env = "TODOQL_OAUTH_GITHUB_CLIENT_ID", display_order = 36)]
    pub oauth_github_client_id: Option<String>,

    /// Client secret of the GitHub OAuth app.
    #[arg(long, env = "TODOQL_OAUTH_GITHUB_CLIENT_SECRET", value_parser = parse::secret, display_order = 37)]
    pub oauth_github_client_secret: Option<Secret>,

    /// GitHub's authorization endpoint (override for GitHub Enterprise or tests).
    #[arg(long, env = "TODOQL_OAUTH_GITHUB_AUTH_URL", default_value = GITHUB_AUTH_URL, value_parser = parse::provider_url, display_order = 38)]
    pub oauth_github_auth_url: String,

    /// GitHub's token endpoint (override for GitHub Enterprise or tests).
    #[arg(long, env = "TODOQL_OAUTH_GITHUB_TOKEN_URL", default_value = GITHUB_TOKEN_URL, value_parser = parse::provider_url, display_order = 39)]
    pub oauth_github_token_url: String,

    /// GitHub's REST API base URL (override for GitHub Enterprise or tests).
    #[arg(long, env = "TODOQL_OAUTH_GITHUB_API_URL", default_value = GITHUB_API_URL, value_parser = parse::provider_url, display_order = 40)]
    pub oauth_github_api_url: String,

    /// Client ID of the Google OAuth client (enables sign-in with Google).
    #[arg(long, env = "TODOQL_OAUTH_GOOGLE_CLIENT_ID", display_order = 41)]
    pub oauth_google_client_id: Option<String>,

    /// Client secret of the Google OAuth client.
    #[arg(long, env = "TODOQL_OAUTH_GOOGLE_CLIENT_SECRET", value_parser = parse::secret, display_order = 42)]
    pub oauth_google_client_secret: Option<Secret>,

    /// Google's OpenID Connect issuer (override for tests).
    #[arg(long, env = "TODOQL_OAUTH_GOOGLE_ISSUER", default_value = GOOGLE_ISSUER, value_parser = parse::provider_url, display_order = 43)]
    pub oauth_google_issuer: String,

    /// Names of generic OpenID Connect providers, comma-separated. Each NAME needs
    /// TODOQL_OIDC_<NAME>_ISSUER, TODOQL_OIDC_<NAME>_CLIENT_ID and
    /// TODOQL_OIDC_<NAME>_CLIENT_SECRET (NAME upper-cased, `-` as `_`).
    #[arg(long, env = "TODOQL_OIDC_PROVIDERS", value_delimiter = ',', value_parser = parse::provider_name, display_order = 44)]
    pub oidc_providers: Vec<String>,

    /// A generic OpenID Connect provider on the command line (repeatable), the flag form of
    /// TODOQL_OIDC_PROVIDERS: name=NAME,issuer=URL,client-id=ID,client-secret=SECRET.
    #[arg(long = "oidc-provider", value_parser = OidcSpec::parse, display_order = 45)]
    pub oidc_provider: Vec<OidcSpec>,

    /// The providers resolved from the options above and the per-provider variables.
    #[arg(skip)]
    pub(super) resolved: OAuthSettings,
}

impl OAuthConfig {
    /// The domain's OAuth settings: providers, redirect URIs, the key.
    pub fn settings(&self) -> OAuthSettings {
        self.resolved.clone()
    }
}
