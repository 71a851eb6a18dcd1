//! The relying party at run time: a webauthn-rs `Webauthn` built once from the settings.

use super::settings::PasskeySettings;
use crate::error::{AppError, AppResult};
use url::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// Runs the ceremonies for the configured relying party.
pub struct Relying {
    webauthn: Result<Webauthn, String>,
}

impl std::fmt::Debug for Relying {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relying").finish_non_exhaustive()
    }
}

impl Relying {
    /// The relying party of `settings` (the server checked them at start-up); without
    /// settings, passkeys are off.
    pub fn new(settings: Option<&PasskeySettings>) -> Self {
        Self {
            webauthn: match settings {
                Some(settings) => build(settings),
                None => Err(
                    "TODOQL_APP_URL names no domain to bind passkeys to (its host is \
                     an IP address); set TODOQL_WEBAUTHN_RP_ID and TODOQL_WEBAUTHN_ORIGINS"
                        .into(),
                ),
            },
        }
    }

    /// Whether passkeys work on this server (`authConfig.passkeys`).
    pub fn is_available(&self) -> bool {
        self.webauthn.is_ok()
    }

    /// The relying party, or FORBIDDEN saying why passkeys are off on this server.
    pub(crate) fn webauthn(&self) -> AppResult<&Webauthn> {
        self.webauthn
            .as_ref()
            .map_err(|why| AppError::Forbidden(format!("Passkeys are off on this server: {why}.")))
    }
}

/// Why `settings` make no relying party (an origin outside the RP id's domain, a malformed
/// origin), if they make none: the server checks its configuration with it at start-up.
pub fn check(settings: &PasskeySettings) -> Result<(), String> {
    build(settings).map(|_| ())
}

/// A `Webauthn` for `settings`, or why they do not make one (an origin outside the RP id's
/// domain, a malformed origin).
pub(crate) fn build(settings: &PasskeySettings) -> Result<Webauthn, String> {
    let mut origins = settings.origins.iter().map(|origin| {
        Url::parse(origin).map_err(|e| format!("the origin {origin:?} is not a URL: {e}"))
    });
    let first = origins.next().ok_or("at least one origin is needed")??;
    let mut builder = WebauthnBuilder::new(&settings.rp_id, &first).map_err(|e| {
        format!(
            "the relying party id {:?} does not fit the origin {first}: {e}",
            settings.rp_id
        )
    })?;
    for origin in origins {
        let origin = origin?;
        if !fits(&settings.rp_id, &origin) {
            return Err(format!(
                "the origin {origin} is not on the relying party id {:?} or a subdomain of it",
                settings.rp_id
            ));
        }
        builder = builder.append_allowed_origin(&origin);
    }
    builder
        .rp_name(&settings.rp_name)
        .build()
        .map_err(|e| format!("passkey settings: {e}"))
}

/// Whether `origin`'s host is `rp_id` or one of its subdomains (WebAuthn's rule).
fn fits(rp_id: &str, origin: &Url) -> bool {
    origin
        .host_str()
        .is_some_and(|host| host == rp_id || host.ends_with(&format!(".{rp_id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_sit_on_the_relying_party_id() {
        let fine = PasskeySettings::for_app(
            "https://app.example.com",
            Some("example.com"),
            &[
                "https://app.example.com".into(),
                "https://www.example.com/".into(),
            ],
            Some("Example Todos"),
        )
        .unwrap();
        assert_eq!(fine.origins[1], "https://www.example.com");
        assert_eq!(fine.rp_name, "Example Todos");
        assert_eq!(check(&fine), Ok(()));
        let elsewhere = PasskeySettings::for_app(
            "https://app.example.com",
            Some("example.com"),
            &[
                "https://app.example.com".into(),
                "https://evil.example.org".into(),
            ],
            None,
        )
        .unwrap();
        assert!(check(&elsewhere).unwrap_err().contains("evil.example.org"));
        let foreign_id =
            PasskeySettings::for_app("https://app.example.com", Some("example.org"), &[], None)
                .unwrap();
        assert!(check(&foreign_id).is_err());
        let not_a_url =
            PasskeySettings::for_app("https://app.example.com", None, &["not a url".into()], None)
                .unwrap();
        assert!(check(&not_a_url).is_err());
        assert!(Relying::new(Some(&not_a_url)).webauthn().is_err());
        assert!(Relying::new(Some(&fine)).is_available());
        assert!(!Relying::new(None).is_available());
    }
}
