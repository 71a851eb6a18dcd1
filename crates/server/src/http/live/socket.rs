//! One subscription socket, from connection_init to its close: authentication, the per-user
//! limit, async-graphql's graphql-transport-ws engine, and everything that may end it — the
//! sweep (4403), shutdown (1012), a client that stops reading (1008) or answering (1001).
//!
//! async-graphql's `WebSocket` speaks the protocol (subscribe, next, complete, ping/pong); this
//! loop owns the socket around it, so that it can close with the codes the contract promises
//! rather than the engine's (its failed connection_init is 1002).

use super::operations::Operations;
use super::shared::Live;
use super::sockets::Registration;
use crate::http::client::bearer;
use async_graphql::http::{WebSocket as GraphQLSocket, WsMessage};
use async_graphql::{Data, Executor};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::BoxStream;
use futures_util::stream::{SplitSink, StreamExt as _};
use futures_util::{SinkExt as _, Stream};
use secrecy::ExposeSecret as _;
use secrecy::SecretString;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use todoql_domain::auth::socket_sessions;
use todoql_graphql::{AppSchema, RequestContext};
use tokio::time::{Instant, timeout};

/// How long a client has to send connection_init (graphql-transport-ws: 4408 after that).
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a close frame may take to go out before the connection is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

type Sink = SplitSink<WebSocket, Message>;

/// The client's address and user agent, as recorded for the operations of the socket.
pub struct Client {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The schema as one socket's operations see it: each operation gets a request context of its
/// own with the socket's token, so each checks the session as an HTTP request does (a query or
/// mutation sent after a revocation is UNAUTHENTICATED at once, not at the next sweep; a
/// subscription checks when it starts, and the sweep ends the socket after that).
#[derive(Clone)]
struct SocketExecutor {
    schema: AppSchema,
    token: SecretString,
    client: Arc<Client>,
}

impl SocketExecutor {
    fn with_context(&self, request: async_graphql::Request) -> async_graphql::Request {
        request.data(RequestContext::new(
            Some(self.token.expose_secret().to_owned()),
            self.client.ip.clone(),
            self.client.user_agent.clone(),
        ))
    }
}

impl Executor for SocketExecutor {
    fn execute(
        &self,
        request: async_graphql::Request,
    ) -> impl Future<Output = async_graphql::Response> + Send {
        let request = self.with_context(request);
        let schema = self.schema.clone();
        async move { schema.execute(request).await }
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, async_graphql::Response> {
        self.schema.execute_stream_with_session_data(
            self.with_context(request),
            session_data.unwrap_or_default(),
        )
    }
}

/// Serves one upgraded socket until it closes.
pub async fn serve(socket: WebSocket, schema: AppSchema, live: Live, client: Client) {
    let (mut sink, mut source) = socket.split();
    let init = match timeout(INIT_TIMEOUT, next_text(&mut source)).await {
        Err(_) => return close(&mut sink, 4408, "Connection initialisation timeout").await,
        Ok(None) => return,
        Ok(Some(init)) => init,
    };
    let token = match connection_init_token(&init) {
        Ok(Some(token)) => token,
        Ok(None) => return close(&mut sink, 4403, "Forbidden").await,
        Err((code, reason)) => return close(&mut sink, code, reason).await,
    };
    let (viewer, token_expires) = match socket_sessions::viewer_until(&live.app, Some(&token)).await
    {
        Ok(Some(found)) => found,
        Ok(None) => return close(&mut sink, 4403, "Forbidden").await,
        Err(err) => {
            tracing::error!(error = ?err, "subscription socket: the session check failed");
            return close(&mut sink, 1011, "Internal error").await;
        }
    };
    let Ok(registration) = live
        .sockets
        .open(viewer.user.id, viewer.session.id, token_expires)
    else {
        return close(&mut sink, 4429, "Too many sockets for this user").await;
    };

    // Every frame from the client counts as a sign of life (pongs included).
    let heard_at = Arc::new(Mutex::new(Instant::now()));
    let heard = Arc::clone(&heard_at);
    let operations = Arc::new(Operations::default());
    let counted = Arc::clone(&operations);
    let incoming = source
        .take_while(|frame| {
            std::future::ready(matches!(frame, Ok(frame) if !matches!(frame, Message::Close(_))))
        })
        .filter_map(move |frame| {
            *heard.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
            let message = match frame {
                Ok(Message::Text(text)) => Some(text.as_str().as_bytes().to_vec()),
                Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            };
            std::future::ready(message.filter(|message| counted.admit_client_message(message)))
        });
    let executor = SocketExecutor {
        schema,
        token,
        client: Arc::new(client),
    };
    // The connection_init already read goes first; the engine acks it.
    let engine = GraphQLSocket::new(
        executor,
        futures_util::stream::once(std::future::ready(init.into_bytes())).chain(incoming),
        async_graphql::http::WebSocketProtocols::GraphQLWS,
    );
    run(sink, engine, registration, &live, heard_at, &operations).await;
}

/// The socket's life after its connection_init.
async fn run(
    mut sink: Sink,
    engine: impl Stream<Item = WsMessage>,
    mut registration: Registration,
    live: &Live,
    heard_at: Arc<Mutex<Instant>>,
    operations: &Operations,
) {
    let mut engine = std::pin::pin!(engine);
    let (code, reason) = serve_until_closing(
        &mut sink,
        engine.as_mut(),
        &mut registration,
        live,
        &heard_at,
        operations,
    )
    .await;
    if let Some(code) = code {
        close(&mut sink, code, &reason).await;
        // The closing handshake: the client answers with its close frame, which ends the
        // engine's input. Dropping the connection before that could make the client lose our
        // close frame to a reset (if it was still writing).
        let _ = timeout(CLOSE_TIMEOUT, async {
            while engine.next().await.is_some() {}
        })
        .await;
    }
}

/// Serves until something ends the socket; the close frame to send (none when the client is
/// gone already).
async fn serve_until_closing(
    sink: &mut Sink,
    mut engine: std::pin::Pin<&mut impl Stream<Item = WsMessage>>,
    registration: &mut Registration,
    live: &Live,
    heard_at: &Mutex<Instant>,
    operations: &Operations,
) -> (Option<u16>, String) {
    let mut stopped = live.stopped.clone();
    let mut pings =
        tokio::time::interval_at(Instant::now() + live.ping_interval, live.ping_interval);
    let closing = |code: u16, reason: &str| (Some(code), reason.to_owned());
    loop {
        tokio::select! {
            message = engine.next() => match message {
                Some(WsMessage::Text(text)) => {
                    operations.note_server_message(&text);
                    match timeout(live.send_timeout, sink.send(Message::Text(text.into()))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return (None, String::new()),
                        Err(_) => return closing(1008, "Too slow: messages were not read"),
                    }
                }
                Some(WsMessage::Close(code, reason)) => return closing(code, &reason),
                // The client closed (or went away).
                None => return (None, String::new()),
            },
            ended = &mut registration.ended => {
                return closing(4403, ended.map_or("Forbidden", |why| why.reason()));
            }
            () = operations.overflowed.notified() => {
                return closing(4429, "Too many operations on this socket");
            }
            () = crate::shutdown::stop_requested(&mut stopped) => {
                return closing(1012, "Service restart");
            }
            _ = pings.tick() => {
                let silent_for = heard_at.lock().unwrap_or_else(PoisonError::into_inner).elapsed();
                if silent_for > live.ping_interval * 2 {
                    return closing(1001, "No answer to pings");
                }
                if !matches!(timeout(live.send_timeout, sink.send(Message::Ping(Default::default()))).await, Ok(Ok(()))) {
                    return (None, String::new());
                }
            }
        }
    }
}

/// A client that did not offer graphql-transport-ws (the protocol's 4406).
pub async fn refuse_protocol(socket: WebSocket) {
    let (mut sink, _) = socket.split();
    close(
        &mut sink,
        4406,
        "Subprotocol not acceptable: use graphql-transport-ws",
    )
    .await;
}

/// The next text frame, or `None` when the client closed first.
async fn next_text(source: &mut futures_util::stream::SplitStream<WebSocket>) -> Option<String> {
    while let Some(frame) = source.next().await {
        match frame {
            Ok(Message::Text(text)) => return Some(text.as_str().to_owned()),
            Ok(Message::Binary(bytes)) => return String::from_utf8(bytes.to_vec()).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
        }
    }
    None
}

/// The bearer token of a connection_init message (`payload.Authorization`, any case), or the
/// close code and reason for a first message that is not one.
fn connection_init_token(message: &str) -> Result<Option<SecretString>, (u16, &'static str)> {
    let value: serde_json::Value =
        serde_json::from_str(message).map_err(|_| (4400, "Invalid message"))?;
    if value.get("type").and_then(|t| t.as_str()) != Some("connection_init") {
        return Err((4401, "Unauthorized: connection_init must come first"));
    }
    let token = value
        .get("payload")
        .and_then(|payload| payload.as_object())
        .and_then(|payload| {
            payload
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
        })
        .and_then(|(_, value)| value.as_str())
        .and_then(bearer)
        .map(SecretString::from);
    Ok(token)
}

/// The reason label of a close code the server sends (`todoql_subscription_closes_total`).
fn close_reason(code: u16) -> Option<&'static str> {
    Some(match code {
        4403 => "forbidden",
        4429 => "too_many",
        1008 => "too_slow",
        1001 => "no_answer",
        1012 => "shutdown",
        1011 => "internal",
        4400 | 4401 | 4406 | 4408 | 4409 | 1002 => "protocol",
        _ => return None,
    })
}

/// Sends a close frame (bounded in time) and lets the socket go.
async fn close(sink: &mut Sink, code: u16, reason: &str) {
    if let Some(label) = close_reason(code) {
        metrics::counter!(crate::metrics::catalog::SUBSCRIPTION_CLOSES, "reason" => label)
            .increment(1);
    }
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    };
    let _ = timeout(CLOSE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn the_token_comes_from_the_connection_init_payload_in_any_case() {
        let token = |message: &str| {
            connection_init_token(message).map(|t| t.map(|t| t.expose_secret().to_owned()))
        };
        assert_eq!(
            token(r#"{"type":"connection_init","payload":{"Authorization":"Bearer abc"}}"#),
            Ok(Some("abc".to_owned()))
        );
        assert_eq!(
            token(r#"{"type":"connection_init","payload":{"authorization":"bearer abc"}}"#),
            Ok(Some("abc".to_owned()))
        );
        assert_eq!(token(r#"{"type":"connection_init"}"#), Ok(None));
        assert_eq!(
            token(r#"{"type":"connection_init","payload":{"Authorization":"Basic abc"}}"#),
            Ok(None)
        );
        assert_eq!(
            token(r#"{"id":"1","type":"subscribe","payload":{"query":"{__typename}"}}"#),
            Err((4401, "Unauthorized: connection_init must come first"))
        );
        assert_eq!(token("not json"), Err((4400, "Invalid message")));
    }
}
