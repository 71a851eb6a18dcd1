//! Who is asking: the bearer token, the client's address and its user agent, as the domain
//! receives them with each operation.

use super::state::HttpState;
use axum::http::{HeaderMap, header};
use std::net::SocketAddr;
use todoql_graphql::RequestContext;

/// What the domain learns of the caller of one request.
pub fn request_context(http: &HttpState, headers: &HeaderMap, peer: SocketAddr) -> RequestContext {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer);
    RequestContext::new(
        bearer,
        Some(client_ip(headers, peer, http.trust_proxy)),
        user_agent(headers),
    )
}

/// The token of an `Authorization: Bearer …` value (a header, or a WebSocket's
/// connection_init payload).
pub fn bearer(value: &str) -> Option<String> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The `User-Agent` header.
pub fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The client's address: the TCP peer, or, behind a trusted proxy, the last address in
/// X-Forwarded-For (the one our proxy appended; earlier entries are the client's to forge).
pub fn client_ip(headers: &HeaderMap, peer: SocketAddr, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(forwarded) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty())
        && let Ok(ip) = forwarded.parse::<std::net::IpAddr>()
    {
        return ip.to_string();
    }
    peer.ip().to_string()
}
