//! One subscriber of scenario 8: a WebSocket on `/graphql` speaking graphql-transport-ws
//! (connection_init with the bearer token, connection_ack, one `todoChanges(since:)`
//! subscription), then a task that stamps every change with its arrival time and checks that
//! the socket's revisions follow each other with no gap and no duplicate.

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, protocol::CloseFrame};

/// The subscription every socket runs: what a client showing the list would ask for.
pub const SUBSCRIPTION: &str = "subscription Live($since: Int) { todoChanges(since: $since) { revision kind todoId originSessionId occurredAt todo { id title description dueDate isCompleted completedAt createdAt updatedAt } deletedTodo { id title deletedAt } } }";

/// How long the server has to answer the upgrade and the connection_init.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// The client's read buffer per socket. tungstenite's default (128 KiB, allocated up front)
/// would make a thousand sockets cost the bench 128 MB for changes of well under 1 KB.
const READ_BUFFER: usize = 4096;

/// A change as one socket received it.
#[derive(Debug)]
pub struct Delivery {
    pub socket: usize,
    pub revision: i64,
    pub kind: String,
    pub todo_id: String,
    /// When the socket's task read it.
    pub at: Instant,
}

/// What a socket tells the scenario.
#[derive(Debug)]
pub enum Event {
    Delivered(Delivery),
    /// The socket is no longer usable: closed by the server, a GraphQL error, a revision out of
    /// order. It sends nothing after this.
    Failed {
        socket: usize,
        reason: String,
    },
}

type Stream = WebSocketStream<TcpStream>;

/// An acknowledged socket whose subscription has been sent.
pub struct Subscriber {
    index: usize,
    stream: Stream,
    /// The revision the subscription started after: the first change must be `since + 1`.
    since: i64,
}

impl Subscriber {
    /// Connects to `addr`, authenticates with `token` and subscribes to the changes after
    /// `since`. Fails when the server refuses the upgrade or closes instead of acknowledging
    /// (4403 for a bad token, 4429 for too many sockets of one user).
    pub async fn open(
        addr: SocketAddr,
        index: usize,
        token: &str,
        since: i64,
    ) -> anyhow::Result<Self> {
        tokio::time::timeout(ACK_TIMEOUT, Self::handshake(addr, index, token, since))
            .await
            .with_context(|| format!("socket {index}: no connection_ack within {ACK_TIMEOUT:?}"))?
    }

    async fn handshake(
        addr: SocketAddr,
        index: usize,
        token: &str,
        since: i64,
    ) -> anyhow::Result<Self> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let mut request = format!("ws://{addr}/graphql").into_client_request()?;
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let (mut stream, _) =
            tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
                .await
                .with_context(|| format!("socket {index}: the WebSocket upgrade failed"))?;
        send_json(
            &mut stream,
            json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
        )
        .await?;
        loop {
            match stream.next().await {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(text.as_str())?;
                    match message["type"].as_str() {
                        Some("connection_ack") => break,
                        Some("ping") => send_json(&mut stream, json!({ "type": "pong" })).await?,
                        _ => bail!("socket {index}: expected connection_ack, got {message}"),
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    bail!(
                        "socket {index}: closed before connection_ack: {}",
                        describe(frame.as_ref())
                    )
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => bail!("socket {index}: {err}"),
                None => bail!("socket {index}: the server hung up before connection_ack"),
            }
        }
        send_json(
            &mut stream,
            json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION, "variables": { "since": since } } }),
        )
        .await?;
        Ok(Self {
            index,
            stream,
            since,
        })
    }

    /// Reads the socket until `stop` changes (then closes it with 1000) or the socket
    /// fails; every change goes to `events` with its arrival time.
    pub async fn listen(
        mut self,
        events: mpsc::UnboundedSender<Event>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut last = self.since;
        let failure = loop {
            let message = tokio::select! {
                // The only change is to true (or the scenario dropped the sender): stop.
                _ = stop.changed() => {
                    let _ = self.stream.close(Some(CloseFrame { code: CloseCode::Normal, reason: "bench done".into() })).await;
                    return;
                }
                message = self.stream.next() => message,
            };
            let at = Instant::now();
            let text = match message {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => {
                    break format!("closed by the server: {}", describe(frame.as_ref()));
                }
                // Ping frames are answered by tungstenite on the next read.
                Some(Ok(_)) => continue,
                Some(Err(err)) => break err.to_string(),
                None => break "the server hung up".to_owned(),
            };
            match self.change(text.as_str(), &mut last) {
                Ok(Some((revision, kind, todo_id))) => {
                    let delivery = Delivery {
                        socket: self.index,
                        revision,
                        kind,
                        todo_id,
                        at,
                    };
                    if events.send(Event::Delivered(delivery)).is_err() {
                        return;
                    }
                }
                Ok(None) => {
                    if send_json(&mut self.stream, json!({ "type": "pong" }))
                        .await
                        .is_err()
                    {
                        break "could not answer a ping".to_owned();
                    }
                }
                Err(reason) => break reason,
            }
        };
        let _ = events.send(Event::Failed {
            socket: self.index,
            reason: failure,
        });
    }

    /// One text message: a change (its revision, kind and todo id), `None` for a protocol ping
    /// (to be answered), or why the socket cannot go on.
    fn change(&self, text: &str, last: &mut i64) -> Result<Option<(i64, String, String)>, String> {
        let message: Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON ({e}): {text}"))?;
        match message["type"].as_str() {
            Some("next") => {}
            Some("ping") => return Ok(None),
            _ => return Err(format!("unexpected message: {message}")),
        }
        let payload = &message["payload"];
        if let Some(errors) = payload.get("errors") {
            return Err(format!("GraphQL errors: {errors}"));
        }
        let change = &payload["data"]["todoChanges"];
        let (Some(revision), Some(kind), Some(todo_id)) = (
            change["revision"].as_i64(),
            change["kind"].as_str(),
            change["todoId"].as_str(),
        ) else {
            return Err(format!("not a change: {message}"));
        };
        if revision != *last + 1 {
            return Err(format!(
                "revision {revision} after {last} (a gap or a duplicate)"
            ));
        }
        *last = revision;
        Ok(Some((revision, kind.to_owned(), todo_id.to_owned())))
    }
}

async fn send_json(stream: &mut Stream, message: Value) -> anyhow::Result<()> {
    stream.send(Message::text(message.to_string())).await?;
    Ok(())
}

/// `4403 (token expired)` from a close frame.
fn describe(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(frame) => format!("{} ({})", u16::from(frame.code), frame.reason),
        None => "no close code".to_owned(),
    }
}
