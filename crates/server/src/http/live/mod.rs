//! Subscriptions: the graphql-transport-ws WebSocket on /graphql (GET with `Upgrade:
//! websocket`). The Origin is checked before the upgrade, like CORS: no Origin (a native
//! client), the server's own, or one of TODOQL_CORS_ORIGINS; anything else is 403. A socket
//! needs a token anyway, but the browser's rule for who may talk to the server is then the same
//! for sockets as for HTTP, and a page of another site gets no socket to probe with.

mod operations;
pub(super) mod shared;
mod socket;
pub mod sockets;

pub use shared::Live;

use super::client::{client_ip, user_agent};
use super::request_error::request_error;
use super::state::HttpState;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use std::net::SocketAddr;

/// The one subprotocol served.
const PROTOCOL: &str = "graphql-transport-ws";
/// Largest message a client may send (a subscribe with its document and variables).
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Whether the request may open a socket: no Origin, the server's own, or a listed one.
fn origin_allowed(headers: &HeaderMap, listed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if listed
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .is_some_and(|host| {
            ["http://", "https://"].iter().any(|scheme| {
                origin.len() == scheme.len() + host.len()
                    && origin[..scheme.len()].eq_ignore_ascii_case(scheme)
                    && origin[scheme.len()..].eq_ignore_ascii_case(host)
            })
        })
}

/// GET /graphql with `Upgrade: websocket`.
pub fn upgrade(
    http: &HttpState,
    upgrade: WebSocketUpgrade,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Response {
    let live = http.live.clone();
    if !origin_allowed(headers, &live.origins) {
        return request_error(
            StatusCode::FORBIDDEN,
            "This origin may not open a subscription socket (TODOQL_CORS_ORIGINS).",
        );
    }
    let client = socket::Client {
        ip: Some(client_ip(headers, peer, http.trust_proxy)),
        user_agent: user_agent(headers),
    };
    let schema = http.schema.clone();
    let upgrade = upgrade
        .protocols([PROTOCOL])
        .max_message_size(MAX_MESSAGE_BYTES)
        // Idle sockets are the common case: small buffers (tungstenite's default is 128 KiB
        // each way), grown only by a message that needs more. tungstenite zero-fills the read
        // buffer before each read, so all of it is resident in every socket. 1 KiB holds the
        // usual connection_init, subscribe or pong in one read (a larger message takes a few
        // more): bench scenario 8 measured about 3 KB per idle socket less than with 4 KiB.
        .read_buffer_size(1024)
        .write_buffer_size(8 * 1024)
        // Backpressure instead of a growing buffer: a send waits once this much is unsent.
        .max_write_buffer_size(1024 * 1024);
    let offered = upgrade.selected_protocol().is_some();
    upgrade.on_upgrade(move |socket| async move {
        if offered {
            socket::serve(socket, schema, live, client).await;
        } else {
            socket::refuse_protocol(socket).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:8000".parse().unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, origin.parse().unwrap());
        }
        headers
    }

    #[test]
    fn origins_are_checked_like_cors() {
        let listed = ["http://localhost:5173".to_owned()];
        assert!(origin_allowed(&headers(None), &listed));
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:8000")),
            &listed
        ));
        assert!(origin_allowed(
            &headers(Some("http://localhost:5173")),
            &listed
        ));
        assert!(!origin_allowed(
            &headers(Some("https://evil.example")),
            &listed
        ));
        assert!(!origin_allowed(
            &headers(Some("http://127.0.0.1:8001")),
            &listed
        ));
        assert!(!origin_allowed(&headers(Some("null")), &listed));
    }
}
