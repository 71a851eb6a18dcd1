//! `--oidc-provider name=NAME,issuer=URL,client-id=ID,client-secret=SECRET`: a generic OpenID
//! Connect provider given on the command line.

use super::parse;
use super::secret::Secret;

/// One generic OpenID Connect provider given by `--oidc-provider`. Secret as a whole (its
/// text carries the client secret); its `Debug` hides the client secret.
#[derive(Debug, Clone)]
pub struct OidcSpec {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
}

impl OidcSpec {
    /// Reads `name=…,issuer=…,client-id=…,client-secret=…` in any order (a repeated key: the
    /// last one counts).
    pub fn parse(value: &str) -> Result<Self, String> {
        let (mut name, mut issuer, mut client_id, mut client_secret) = (None, None, None, None);
        for part in value.split(',') {
            let (key, val) = part
                .split_once('=')
                .ok_or("expected name=NAME,issuer=URL,client-id=ID,client-secret=SECRET")?;
            let val = val.trim().to_owned();
            match key.trim() {
                "name" => name = Some(parse::provider_name(&val)?).filter(|n| !n.is_empty()),
                "issuer" => issuer = Some(parse::provider_url(&val)?),
                "client-id" => client_id = Some(val),
                "client-secret" => client_secret = Some(val),
                other => return Err(format!("unknown key {other:?}")),
            }
        }
        let missing = |what: &str| format!("{what}= is missing");
        Ok(Self {
            name: name.ok_or_else(|| missing("name"))?,
            issuer: issuer.ok_or_else(|| missing("issuer"))?,
            client_id: client_id
                .filter(|v| !v.is_empty())
                .ok_or_else(|| missing("client-id"))?,
            client_secret: client_secret
                .filter(|v| !v.is_empty())
                .map(Secret::from)
                .ok_or_else(|| missing("client-secret"))?,
        })
    }
}
