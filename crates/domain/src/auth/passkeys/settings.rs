//! Who the relying party is: its id, the origins allowed to run ceremonies, its name.

use url::Url;

/// The relying party of passkeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeySettings {
    /// The RP id: a host (e.g. `app.example.com`); passkeys are bound to it.
    pub rp_id: String,
    /// Origins whose pages may run ceremonies (e.g. `https://app.example.com`).
    pub origins: Vec<String>,
    /// The name authenticators show.
    pub rp_name: String,
}

impl PasskeySettings {
    /// The relying party of the frontend at `app_url` (`TODOQL_APP_URL`): its host as the RP
    /// id, its origin as the one allowed origin, the RP id as the name; each overridable.
    /// Whether they fit together is `relying::check`'s to say.
    pub fn for_app(
        app_url: &str,
        rp_id: Option<&str>,
        origins: &[String],
        rp_name: Option<&str>,
    ) -> Result<Self, String> {
        let app = Url::parse(app_url).map_err(|e| format!("TODOQL_APP_URL is not a URL: {e}"))?;
        let rp_id = match rp_id.map(str::trim).filter(|id| !id.is_empty()) {
            Some(id) => id.to_ascii_lowercase(),
            None => app
                .host_str()
                .ok_or("TODOQL_APP_URL has no host to use as the relying party id")?
                .to_owned(),
        };
        let origins: Vec<String> = if origins.iter().all(|o| o.trim().is_empty()) {
            vec![app.origin().ascii_serialization()]
        } else {
            origins
                .iter()
                .map(|o| o.trim())
                .filter(|o| !o.is_empty())
                .map(|o| o.trim_end_matches('/').to_owned())
                .collect()
        };
        let rp_name = rp_name
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .unwrap_or(&rp_id)
            .to_owned();
        Ok(Self {
            rp_id,
            origins,
            rp_name,
        })
    }
}

impl Default for PasskeySettings {
    fn default() -> Self {
        Self {
            rp_id: "localhost".into(),
            origins: vec!["http://localhost:3000".into()],
            rp_name: "localhost".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_url_gives_the_relying_party() {
        let rp = PasskeySettings::for_app("https://app.example.com/x", None, &[], None).unwrap();
        assert_eq!(rp.rp_id, "app.example.com");
        assert_eq!(rp.origins, ["https://app.example.com"]);
        assert_eq!(rp.rp_name, "app.example.com");
        let local = PasskeySettings::for_app("http://localhost:5173", None, &[], None).unwrap();
        assert_eq!(local.origins, ["http://localhost:5173"]);
    }
}
