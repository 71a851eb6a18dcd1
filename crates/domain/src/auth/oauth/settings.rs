//! What the OAuth flow needs to know that is not in the database: the configured providers,
//! the redirect URIs clients may use, and the key that encrypts provider tokens at rest.

use secrecy::SecretString;

/// The public endpoints of github.com.
pub const GITHUB_AUTH_URL: &str = "https://github.com/login/oauth/authorize";
/// GitHub's token endpoint.
pub const GITHUB_TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
/// GitHub's REST API.
pub const GITHUB_API_URL: &str = "https://api.github.com";
/// Google's OpenID Connect issuer.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// The OAuth configuration. With no provider, OAuth is off and `authConfig.oauthProviders` is
/// empty.
#[derive(Debug, Clone, Default)]
pub struct OAuthSettings {
    /// Configured providers, in the order `authConfig` lists them.
    pub providers: Vec<ProviderSettings>,
    /// Redirect URIs a client may ask for; `redirectUri` must equal one of them exactly.
    pub redirect_uris: Vec<String>,
    /// AES-256-GCM key for provider tokens at rest. Required when any provider is configured.
    pub encryption_key: Option<EncryptionKey>,
}

/// One provider: its name (as clients pass it to `startOAuth`), credentials and endpoints.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Lowercase name: `github`, `google`, or the name given in `TODOQL_OIDC_PROVIDERS`.
    pub name: String,
    /// The client id registered with the provider.
    pub client_id: String,
    /// The client secret registered with the provider.
    pub client_secret: SecretString,
    /// How to talk to it.
    pub kind: ProviderKind,
}

/// The protocol a provider speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderKind {
    /// GitHub: plain OAuth 2.0, identity from its REST API (`/user`, `/user/emails`).
    GitHub {
        /// Authorization endpoint.
        auth_url: String,
        /// Token endpoint.
        token_url: String,
        /// REST API base URL.
        api_url: String,
    },
    /// An OpenID Connect issuer (Google is one): endpoints and keys found by discovery.
    Oidc {
        /// The issuer URL; `{issuer}/.well-known/openid-configuration` must describe it.
        issuer: String,
    },
}

pub use crate::cipher::EncryptionKey;
