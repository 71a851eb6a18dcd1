//! A real graphql-transport-ws client over a real WebSocket (tokio-tungstenite): what a browser's
//! or a phone's graphql-ws client sends and reads, frame by frame, so that tests can see close
//! codes, acks and each `next`.

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The subscription of the live-changes tests: every field of a change.
pub const TODO_CHANGES: &str = "subscription($since: Int) { todoChanges(since: $since) {
    revision kind todoId originSessionId occurredAt
    todo { id title isCompleted } deletedTodo { id title }
} }";

/// How long a test waits for a frame it expects.
pub const FRAME_WAIT: Duration = Duration::from_secs(10);

/// What the server sent next.
#[derive(Debug)]
pub enum Frame {
    /// A protocol message (connection_ack, next, error, complete, ping, pong).
    Json(Value),
    /// A close frame: code and reason.
    Closed(u16, String),
    /// The connection ended without a close frame.
    Gone,
    /// Nothing within the wait.
    Silent,
}

/// One socket.
pub struct LiveSocket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// The socket URL of a server at `base_url` (http://host:port).
pub fn ws_url(base_url: &str) -> String {
    format!("{}/graphql", base_url.replacen("http://", "ws://", 1))
}

impl LiveSocket {
    /// Opens a socket offering graphql-transport-ws, with `headers` (e.g. Origin).
    pub async fn open_with(
        base_url: &str,
        headers: &[(&str, &str)],
    ) -> Result<LiveSocket, tungstenite::Error> {
        let mut request = ws_url(base_url).into_client_request()?;
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        for (name, value) in headers {
            request.headers_mut().insert(
                tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let (ws, response) = tokio_tungstenite::connect_async(request).await?;
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some("graphql-transport-ws")
        );
        Ok(LiveSocket { ws })
    }

    /// Opens a socket and sends connection_init with `token` (none: an empty payload).
    pub async fn init(base_url: &str, token: Option<&str>) -> LiveSocket {
        let mut socket = Self::open_with(base_url, &[]).await.expect("open socket");
        let payload = match token {
            Some(token) => json!({ "Authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        socket
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        socket
    }

    /// A socket acked for `token`, subscribed (id "1") to [`TODO_CHANGES`] after `since`.
    pub async fn subscribed(base_url: &str, token: &str, since: Option<i64>) -> LiveSocket {
        let mut socket = Self::init(base_url, Some(token)).await;
        socket.expect_ack().await;
        socket
            .subscribe("1", TODO_CHANGES, json!({ "since": since }))
            .await;
        socket
    }

    /// Sends one protocol message.
    pub async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .expect("send on the socket");
    }

    /// Sends a subscribe message.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next frame within `wait` (pings are answered by tungstenite and skipped).
    pub async fn next_frame(&mut self, wait: Duration) -> Frame {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Frame::Silent,
                Ok(None) | Ok(Some(Err(_))) => return Frame::Gone,
                Ok(Some(Ok(frame))) => frame,
            };
            match frame {
                Message::Text(text) => {
                    return Frame::Json(serde_json::from_str(text.as_str()).expect("JSON message"));
                }
                Message::Close(frame) => {
                    return match frame {
                        Some(frame) => {
                            Frame::Closed(u16::from(frame.code), frame.reason.to_string())
                        }
                        None => Frame::Closed(u16::from(CloseCode::Status), String::new()),
                    };
                }
                Message::Ping(_) | Message::Pong(_) | Message::Binary(_) | Message::Frame(_) => {}
            }
        }
    }

    /// Expects connection_ack.
    pub async fn expect_ack(&mut self) {
        match self.next_frame(FRAME_WAIT).await {
            Frame::Json(message) if message["type"] == "connection_ack" => {}
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    /// The next change of subscription "1" (panics on anything else).
    pub async fn next_change(&mut self) -> Value {
        match self.next_frame(FRAME_WAIT).await {
            Frame::Json(message) if message["type"] == "next" => {
                assert_eq!(message["id"], "1");
                let payload = &message["payload"];
                assert!(payload.get("errors").is_none(), "an error: {payload}");
                payload["data"]["todoChanges"].clone()
            }
            other => panic!("expected a change, got {other:?}"),
        }
    }

    /// The next `count` changes.
    pub async fn changes(&mut self, count: usize) -> Vec<Value> {
        let mut changes = Vec::with_capacity(count);
        for _ in 0..count {
            changes.push(self.next_change().await);
        }
        changes
    }

    /// Expects no message for `wait` (nothing more was sent).
    pub async fn expect_silence(&mut self, wait: Duration) {
        match self.next_frame(wait).await {
            Frame::Silent => {}
            other => panic!("expected nothing, got {other:?}"),
        }
    }

    /// Reads until the socket closes; its close code and reason (panics if it does not close
    /// within `wait`, or ends without a close frame).
    pub async fn expect_close(&mut self, wait: Duration) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_frame(left).await {
                Frame::Closed(code, reason) => return (code, reason),
                Frame::Json(message) if message["type"] == "next" => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }
}
