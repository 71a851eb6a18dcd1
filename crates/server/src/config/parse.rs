//! Value parsers: each turns the text of one option (flag or variable) into its value, or
//! says in a few words what is wrong. The caller adds the variable's name (`clap_errors`).
//! A parser of a secret never puts the value into its message.

use super::secret::Secret;
use std::time::Duration;

pub fn seconds(value: &str) -> Result<Duration, String> {
    let secs: u64 = value
        .parse()
        .map_err(|_| format!("expected a whole number of seconds, got {value:?}"))?;
    Ok(Duration::from_secs(secs))
}

pub fn positive_seconds(value: &str) -> Result<Duration, String> {
    match value.parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(format!(
            "expected a positive whole number of seconds, got {value:?}"
        )),
    }
}

pub fn positive(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive whole number, got {value:?}")),
    }
}

pub fn access_token_ttl(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        // A day at most: an access token cannot be revoked before it expires except by the
        // per-request session check, and a long one outlives every reasonable session policy.
        Ok(n) if (1..=86_400).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a whole number of seconds from 1 to 86400, got {value:?}"
        )),
    }
}

/// Any text, kept secret (a client secret: the provider checks it).
pub fn secret(value: &str) -> Result<Secret, String> {
    Ok(Secret::from(value.to_owned()))
}

pub fn jwt_secret(value: &str) -> Result<Secret, String> {
    if value.len() < 32 {
        return Err(format!(
            "must be at least 32 bytes long (got {})",
            value.len()
        ));
    }
    Ok(Secret::from(value.to_owned()))
}

/// A database URL can carry a password: secret.
pub fn database_url(value: &str) -> Result<Secret, String> {
    if value.starts_with("sqlite:")
        || value.starts_with("postgres://")
        || value.starts_with("postgresql://")
    {
        Ok(Secret::from(value.to_owned()))
    } else {
        Err("must start with sqlite: or postgres://".into())
    }
}

pub fn app_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// An SMTP URL can carry a password: secret.
pub fn smtp_url(value: &str) -> Result<Secret, String> {
    todoql_domain::mail::transport::SmtpUrl::parse(value)?;
    Ok(Secret::from(value.to_owned()))
}

pub fn mail_from(value: &str) -> Result<String, String> {
    todoql_domain::mail::transport::parse_mailbox(value)?;
    Ok(value.to_owned())
}

pub fn origin(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("{value:?} is not an origin: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("{value:?} is not an http(s) origin"));
    }
    Ok(url.origin().ascii_serialization())
}

pub fn log_filter(value: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(value).map_err(|e| format!("not a log filter: {e}"))?;
    Ok(value.to_owned())
}

/// An empty item (an empty variable, a trailing comma) is dropped later.
pub fn redirect_uri(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    let url =
        url::Url::parse(value).map_err(|e| format!("{value:?} is not an absolute URL: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("{value:?} must not have a #fragment"));
    }
    Ok(value.to_owned())
}

/// A provider endpoint: https, or http on a loopback host (local development and tests).
pub fn provider_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value.trim()).map_err(|e| format!("{value:?} is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(host)) => host == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    // Kept verbatim: an issuer must equal the `issuer` of its discovery document exactly,
    // trailing slash included.
    match url.scheme() {
        "https" if url.host().is_some() => Ok(value.trim().to_owned()),
        "http" if loopback => Ok(value.trim().to_owned()),
        _ => Err(format!(
            "{value:?} must be an https URL (http only for localhost)"
        )),
    }
}

/// An empty item (an empty variable, a trailing comma) is dropped later.
pub fn provider_name(value: &str) -> Result<String, String> {
    let name = value.trim().to_ascii_lowercase();
    if name.is_empty() {
        return Ok(name);
    }
    let valid = name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(format!(
            "{value:?} is not a provider name (letters, digits, - and _, at most 32)"
        ));
    }
    if matches!(name.as_str(), "github" | "google") {
        return Err(format!(
            "{name:?} is built in: configure it with TODOQL_OAUTH_{}_CLIENT_ID/_SECRET",
            name.to_ascii_uppercase()
        ));
    }
    Ok(name)
}
