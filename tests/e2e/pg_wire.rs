//! A TCP proxy in front of PostgreSQL that counts what crosses the wire: every message the
//! server sends to the database, by kind, and every ReadyForQuery the database answers with.
//!
//! A round trip of the PostgreSQL protocol is a message that makes the client wait for the
//! database's ReadyForQuery: a `Sync` (which ends an extended-protocol statement: Parse / Bind
//! / Execute … Sync) or a simple `Query` (BEGIN, COMMIT, unprepared SQL). A `Sync` sent with no
//! statement before it is a ping: sqlx sends one to test a connection when it is checked out of
//! the pool (`test_before_acquire`) and when it is given back. Statement counters inside the
//! server (sea-orm's metric callback) never see pings; this does.
//!
//! Connections must not use TLS (`sslmode=disable`): the proxy reads the plain protocol.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What crossed the wire since the last [`WireCounter::take`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Wire {
    /// Connections opened through the proxy.
    pub connections: usize,
    /// Extended-protocol statements (a Sync after Parse / Bind / Execute / Describe / Close).
    pub statements: usize,
    /// Of those statements' messages: Parse (a statement prepared on this connection now).
    pub parses: usize,
    /// Simple-protocol queries (BEGIN, COMMIT, unprepared SQL).
    pub simple_queries: usize,
    /// Syncs with nothing before them: pool pings.
    pub pings: usize,
    /// ReadyForQuery answers from the database (one per round trip, and one per new
    /// connection's start-up).
    pub ready_for_query: usize,
}

impl Wire {
    /// Messages that made the server wait for the database: statements, simple queries and
    /// pings. (Start-up of new connections is counted in `connections`.)
    pub fn round_trips(&self) -> usize {
        self.statements + self.simple_queries + self.pings
    }
}

#[derive(Default)]
struct Counters {
    connections: AtomicUsize,
    statements: AtomicUsize,
    parses: AtomicUsize,
    simple_queries: AtomicUsize,
    pings: AtomicUsize,
    ready_for_query: AtomicUsize,
    /// Round trips asked on connections that closed before their answer (a killed backend).
    abandoned: AtomicUsize,
}

/// One connection's asks (start-up included) and answers.
#[derive(Default)]
struct Exchange {
    asked: AtomicUsize,
    answered: AtomicUsize,
}

/// The proxy: started on 127.0.0.1 port 0, forwarding to the PostgreSQL of one URL.
pub struct WireCounter {
    /// The URL to connect through the proxy (the database URL with the proxy's port and
    /// `sslmode=disable`).
    pub url: String,
    counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WireCounter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WireCounter {
    /// A proxy to the PostgreSQL server of `database_url`.
    pub async fn start(database_url: &str) -> WireCounter {
        let mut url = url::Url::parse(database_url).expect("a database URL");
        let upstream = format!(
            "{}:{}",
            url.host_str().expect("the database URL has a host"),
            url.port().unwrap_or(5432)
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local address").port();
        url.set_host(Some("127.0.0.1")).expect("host");
        url.set_port(Some(port)).expect("port");
        url.query_pairs_mut().append_pair("sslmode", "disable");
        let counters = Arc::new(Counters::default());
        let shared = counters.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                shared.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(pump(client, server, shared.clone()));
            }
        });
        WireCounter {
            url: url.to_string(),
            counters,
            task,
        }
    }

    /// The counts so far, and zero again.
    pub fn take(&self) -> Wire {
        let c = &self.counters;
        let wire = Wire {
            connections: c.connections.swap(0, Ordering::SeqCst),
            statements: c.statements.swap(0, Ordering::SeqCst),
            parses: c.parses.swap(0, Ordering::SeqCst),
            simple_queries: c.simple_queries.swap(0, Ordering::SeqCst),
            pings: c.pings.swap(0, Ordering::SeqCst),
            ready_for_query: c.ready_for_query.swap(0, Ordering::SeqCst),
        };
        c.abandoned.store(0, Ordering::SeqCst);
        wire
    }

    /// Round trips asked for whose ReadyForQuery has not come back yet (negative when answers
    /// to what was asked before the last `take` came after it).
    fn awaiting_answers(&self) -> isize {
        let c = &self.counters;
        let asked = c.statements.load(Ordering::SeqCst)
            + c.simple_queries.load(Ordering::SeqCst)
            + c.pings.load(Ordering::SeqCst)
            + c.connections.load(Ordering::SeqCst);
        asked as isize
            - c.ready_for_query.load(Ordering::SeqCst) as isize
            - c.abandoned.load(Ordering::SeqCst) as isize
    }

    /// Waits until every round trip asked for has been answered and `idle` holds (e.g. every
    /// pool connection is back in the pool: sqlx gives a connection back, with its ping, in a
    /// task of its own after the request is done). Panics after 10 s.
    pub async fn settle(&self, idle: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if self.awaiting_answers() <= 0 && idle() {
                // Once more after a pause: nothing may be in flight between the two looks.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                if self.awaiting_answers() <= 0 && idle() {
                    return;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the database traffic did not settle"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

/// Forwards both directions of one connection, counting messages on the way.
async fn pump(client: TcpStream, server: TcpStream, counters: Arc<Counters>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let exchange = Arc::new(Exchange {
        asked: AtomicUsize::new(1), // the start-up, answered by a ReadyForQuery too
        answered: AtomicUsize::new(0),
    });
    let frontend_counters = counters.clone();
    let frontend_exchange = exchange.clone();
    let backend_exchange = exchange.clone();
    let frontend = async move {
        let mut parser = Frontend::default();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let asked = parser.feed(&buffer[..n], &frontend_counters);
            frontend_exchange.asked.fetch_add(asked, Ordering::SeqCst);
            if server_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let backend_counters = counters.clone();
    let backend = async move {
        let mut parser = Backend::default();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let answered = parser.feed(&buffer[..n], &backend_counters);
            backend_exchange
                .answered
                .fetch_add(answered, Ordering::SeqCst);
            if client_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(frontend, backend);
    let unanswered = exchange
        .asked
        .load(Ordering::SeqCst)
        .saturating_sub(exchange.answered.load(Ordering::SeqCst));
    counters.abandoned.fetch_add(unanswered, Ordering::SeqCst);
}

/// Messages from the client: the untyped start-up message, then `type, length, body`.
#[derive(Default)]
struct Frontend {
    pending: Vec<u8>,
    started: bool,
    /// An extended-protocol message came since the last Sync or Query.
    in_statement: bool,
}

impl Frontend {
    /// Reads what arrived; returns the round trips it asked for.
    fn feed(&mut self, bytes: &[u8], counters: &Counters) -> usize {
        self.pending.extend_from_slice(bytes);
        let mut asked = 0;
        loop {
            if !self.started {
                let Some(length) = be_u32(&self.pending, 0) else {
                    return asked;
                };
                let code = be_u32(&self.pending, 4);
                assert_ne!(
                    code,
                    Some(80_877_103),
                    "the wire counter needs sslmode=disable"
                );
                if self.pending.len() < length as usize {
                    return asked;
                }
                self.pending.drain(..length as usize);
                self.started = true;
                continue;
            }
            let Some(length) = be_u32(&self.pending, 1) else {
                return asked;
            };
            let total = 1 + length as usize;
            if self.pending.len() < total {
                return asked;
            }
            match self.pending[0] {
                b'P' => {
                    counters.parses.fetch_add(1, Ordering::SeqCst);
                    self.in_statement = true;
                }
                b'B' | b'E' | b'D' | b'C' => self.in_statement = true,
                b'S' => {
                    let counter = if self.in_statement {
                        &counters.statements
                    } else {
                        &counters.pings
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                    self.in_statement = false;
                    asked += 1;
                }
                b'Q' => {
                    counters.simple_queries.fetch_add(1, Ordering::SeqCst);
                    self.in_statement = false;
                    asked += 1;
                }
                _ => {}
            }
            self.pending.drain(..total);
        }
    }
}

/// Messages from the database: `type, length, body` throughout.
#[derive(Default)]
struct Backend {
    pending: Vec<u8>,
}

impl Backend {
    /// Reads what arrived; returns the round trips it answered.
    fn feed(&mut self, bytes: &[u8], counters: &Counters) -> usize {
        self.pending.extend_from_slice(bytes);
        let mut answered = 0;
        loop {
            let Some(length) = be_u32(&self.pending, 1) else {
                return answered;
            };
            let total = 1 + length as usize;
            if self.pending.len() < total {
                return answered;
            }
            if self.pending[0] == b'Z' {
                counters.ready_for_query.fetch_add(1, Ordering::SeqCst);
                answered += 1;
            }
            self.pending.drain(..total);
        }
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let slice = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes(slice.try_into().ok()?))
}
