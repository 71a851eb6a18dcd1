//! Options of passkeys: the relying party (by default, the frontend at TODOQL_APP_URL).

use super::oauth_providers::{ConfigError, config_error};
use clap::Args;
use todoql_domain::auth::passkeys::{PasskeySettings, relying};

/// Who the relying party of passkeys is.
#[derive(Debug, Clone, Args)]
pub struct WebAuthnConfig {
    /// Relying party id of passkeys: a host, e.g. example.com (passkeys are bound to it);
    /// default: the host of TODOQL_APP_URL.
    #[arg(long, env = "TODOQL_WEBAUTHN_RP_ID", display_order = 46)]
    pub webauthn_rp_id: Option<String>,

    /// Origins whose pages may use passkeys, comma-separated (each on the relying party id or a
    /// subdomain of it); default: the origin of TODOQL_APP_URL.
    #[arg(
        long,
        env = "TODOQL_WEBAUTHN_ORIGINS",
        value_delimiter = ',',
        display_order = 47
    )]
    pub webauthn_origins: Vec<String>,

    /// The name authenticators show for this site; default: the relying party id.
    #[arg(long, env = "TODOQL_WEBAUTHN_RP_NAME", display_order = 48)]
    pub webauthn_rp_name: Option<String>,

    /// The relying party, checked (set by `resolve`); `None`: passkeys are off.
    #[arg(skip)]
    pub resolved: Option<PasskeySettings>,
}

impl WebAuthnConfig {
    /// The relying party for the frontend at `app_url`, or the one line that says which
    /// option is wrong. Without any TODOQL_WEBAUTHN_* option, an app URL that makes no relying
    /// party (its host is an IP address, as in `http://127.0.0.1:3000`) turns passkeys off
    /// rather than stopping the server: `authConfig.passkeys` is false, and the passkey
    /// mutations say why.
    pub fn resolve(&self, app_url: &str) -> Result<Option<PasskeySettings>, ConfigError> {
        let configured = self.webauthn_rp_id.is_some()
            || self.webauthn_rp_name.is_some()
            || self.webauthn_origins.iter().any(|o| !o.trim().is_empty());
        let derived = PasskeySettings::for_app(
            app_url,
            self.webauthn_rp_id.as_deref(),
            &self.webauthn_origins,
            self.webauthn_rp_name.as_deref(),
        )
        .and_then(|settings| relying::check(&settings).map(|()| settings));
        match derived {
            Ok(settings) => Ok(Some(settings)),
            Err(_) if !configured => Ok(None),
            Err(message) => Err(config_error(
                "TODOQL_WEBAUTHN_RP_ID / TODOQL_WEBAUTHN_ORIGINS (with TODOQL_APP_URL)",
                message,
            )),
        }
    }
}
