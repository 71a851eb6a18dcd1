//! The load generator: a fixed number of HTTP/1.1 keep-alive connections (hyper), each a
//! closed loop (send, read the whole answer, send the next), latencies in HDR histograms.
//!
//! A phase runs every connection of every group for `warmup + duration`; only requests that
//! complete inside the measured window count. The server's CPU time and memory, PostgreSQL's
//! CPU time and the load generator's own CPU time are read at the window's edges.

use crate::probe;
use anyhow::Context as _;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One HTTP request.
#[derive(Clone)]
pub struct Call {
    pub method: Method,
    pub path: &'static str,
    pub body: Bytes,
    pub token: Option<HeaderValue>,
}

impl Call {
    /// `GET path`.
    pub fn get(path: &'static str) -> Self {
        Self {
            method: Method::GET,
            path,
            body: Bytes::new(),
            token: None,
        }
    }

    /// `POST /graphql` with a JSON body, as `token`'s bearer when given.
    pub fn graphql(body: Bytes, token: Option<HeaderValue>) -> Self {
        Self {
            method: Method::POST,
            path: "/graphql",
            body,
            token,
        }
    }
}

/// A GraphQL request body.
pub fn graphql_body(query: &str, variables: serde_json::Value) -> Bytes {
    Bytes::from(serde_json::json!({ "query": query, "variables": variables }).to_string())
}

/// `Bearer <token>` as a header value.
pub fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).expect("tokens are ASCII")
}

/// One keep-alive connection.
pub struct Connection {
    addr: SocketAddr,
    host: HeaderValue,
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    /// Connects (TCP_NODELAY, HTTP/1.1).
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self {
            addr,
            host: HeaderValue::from_str(&addr.to_string())?,
            sender,
        })
    }

    /// Sends `call` and reads the whole answer. Reconnects first when the server closed the
    /// connection.
    pub async fn send(&mut self, call: Call) -> anyhow::Result<(StatusCode, Bytes)> {
        if self.sender.ready().await.is_err() {
            *self = Self::open(self.addr).await?;
        }
        let mut request = Request::builder()
            .method(call.method)
            .uri(call.path)
            .header(header::HOST, self.host.clone());
        if !call.body.is_empty() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(token) = call.token {
            request = request.header(header::AUTHORIZATION, token);
        }
        let request = request.body(Full::new(call.body))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// Whether a GraphQL answer is a success: 200 and no `errors` member.
pub fn graphql_ok(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::OK && !body.windows(8).any(|w| w == b"\"errors\"")
}

/// What one connection does: which request comes next, and whether an answer is right.
pub trait Worker: Send + 'static {
    /// The next request and the operation it counts under (an index into the group's
    /// operation names).
    fn next(&mut self) -> (usize, Call);
    /// Whether the answer to operation `op` is a success (it may also steer the next request).
    fn answer(&mut self, op: usize, status: StatusCode, body: &[u8]) -> bool;
}

/// Connections doing the same kind of work, reported together.
pub struct Group {
    pub name: String,
    /// The operations this group's workers report under.
    pub operations: Vec<String>,
    pub workers: Vec<Box<dyn Worker>>,
}

/// How long a phase runs.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub warmup: Duration,
    pub duration: Duration,
}

/// Latency figures of one operation or group, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub requests: u64,
    pub errors: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    fn of(histogram: &Histogram<u64>, errors: u64, window: Duration) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        let requests = histogram.len();
        Self {
            requests,
            errors,
            requests_per_second: requests as f64 / window.as_secs_f64(),
            p50_ms: ms(histogram.value_at_quantile(0.5)),
            p90_ms: ms(histogram.value_at_quantile(0.9)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            max_ms: ms(histogram.max()),
        }
    }
}

/// One group's figures in a phase.
#[derive(Debug, Clone, Serialize)]
pub struct GroupResult {
    pub name: String,
    pub connections: usize,
    /// Every operation together.
    pub total: Latency,
    /// Each operation, when the group has more than one.
    pub operations: Vec<(String, Latency)>,
    /// Requests that failed at the HTTP level (connection errors), any time in the phase.
    /// (`errors` of the latencies count wrong answers, warm-up included.)
    pub transport_errors: u64,
}

/// The server's and the machine's side of a phase.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    /// Measured window, seconds.
    pub window_s: f64,
    /// Server CPU time in the window, seconds (user + system).
    pub server_cpu_s: Option<f64>,
    /// PostgreSQL backends' CPU time in the window, seconds.
    pub postgres_cpu_s: Option<f64>,
    /// The load generator's own CPU time in the window, seconds.
    pub client_cpu_s: f64,
    /// Server RSS when the window opened, MB.
    pub rss_start_mb: Option<f64>,
    /// Server RSS peak over the phase (VmHWM after a reset at its start, and the highest
    /// sampled VmRSS), MB.
    pub rss_peak_mb: Option<f64>,
    /// Server RSS when the phase ended, MB.
    pub rss_end_mb: Option<f64>,
    /// 1-minute load average at the window's end.
    pub load_average: f64,
    /// Highest number of runnable processes seen in the window (2 cores: above ~3 means
    /// something else competes for the CPU).
    pub runnable_max: u32,
}

/// What a phase observes besides latencies.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub server_pid: Option<u32>,
    pub postgres_database: Option<&'a str>,
}

struct WorkerOutcome {
    histograms: Vec<Histogram<u64>>,
    errors: Vec<u64>,
    transport_errors: u64,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Runs `groups` at once for `timing`; returns each group's figures and the usage.
pub async fn run(
    addr: SocketAddr,
    groups: Vec<Group>,
    timing: Timing,
    observed: Observed<'_>,
) -> anyhow::Result<(Vec<GroupResult>, Usage)> {
    let phase_start = Instant::now();
    let window_start = phase_start + timing.warmup;
    let window_end = window_start + timing.duration;
    if let Some(pid) = observed.server_pid {
        probe::reset_peak(pid);
    }

    let mut shapes = Vec::new();
    for group in groups {
        let operations = group.operations.len();
        let mut handles = Vec::new();
        for mut worker in group.workers {
            let mut connection = Connection::open(addr)
                .await
                .context("connecting to the server")?;
            handles.push(tokio::spawn(async move {
                let mut outcome = WorkerOutcome {
                    histograms: (0..operations).map(|_| histogram()).collect(),
                    errors: vec![0; operations],
                    transport_errors: 0,
                };
                loop {
                    let (op, call) = worker.next();
                    let sent = Instant::now();
                    if sent >= window_end {
                        break;
                    }
                    let answer = connection.send(call).await;
                    let done = Instant::now();
                    // Requests completed in the window count (throughput), with their
                    // whole latency even when sent during the warm-up.
                    let counted = done >= window_start && done <= window_end;
                    match answer {
                        Ok((status, body)) => {
                            // Latencies count inside the window only; errors count always.
                            if !worker.answer(op, status, &body) {
                                outcome.errors[op] += 1;
                            } else if counted {
                                let micros = (done - sent).as_micros() as u64;
                                outcome.histograms[op].saturating_record(micros.max(1));
                            }
                        }
                        Err(_) => {
                            outcome.transport_errors += 1;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
                outcome
            }));
        }
        shapes.push((group.name, group.operations, handles));
    }

    // RSS sampling through the whole phase.
    let sampler = observed.server_pid.map(|pid| {
        tokio::spawn(async move {
            let mut peak: f64 = 0.0;
            while Instant::now() < window_end {
                if let Some(rss) = probe::rss_mb(pid) {
                    peak = peak.max(rss);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            peak
        })
    });
    let runnable_sampler = tokio::spawn(async move {
        tokio::time::sleep_until(window_start.into()).await;
        let mut most = 0;
        while Instant::now() < window_end {
            most = most.max(probe::runnable());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        most
    });

    tokio::time::sleep_until(window_start.into()).await;
    let cpu_before = observed.server_pid.and_then(probe::process_cpu);
    let pg_before = observed.postgres_database.map(probe::postgres_cpu);
    let own_before = probe::own_cpu();
    let rss_start = observed.server_pid.and_then(probe::rss_mb);
    let measured_from = Instant::now();
    tokio::time::sleep_until(window_end.into()).await;
    let cpu_after = observed.server_pid.and_then(probe::process_cpu);
    let pg_after = observed.postgres_database.map(probe::postgres_cpu);
    let own_after = probe::own_cpu();
    let measured = measured_from.elapsed();
    let load_average = probe::load_average();

    let mut results = Vec::new();
    for (name, operations, handles) in shapes {
        let connections = handles.len();
        let mut histograms: Vec<Histogram<u64>> = operations.iter().map(|_| histogram()).collect();
        let mut errors = vec![0; operations.len()];
        let mut transport_errors = 0;
        for handle in handles {
            let outcome = handle.await.context("a load worker panicked")?;
            for (i, h) in outcome.histograms.iter().enumerate() {
                histograms[i].add(h).context("merging histograms")?;
            }
            for (i, e) in outcome.errors.iter().enumerate() {
                errors[i] += e;
            }
            transport_errors += outcome.transport_errors;
        }
        let mut total = histogram();
        for h in &histograms {
            total.add(h).context("merging histograms")?;
        }
        let per_operation = if operations.len() > 1 {
            operations
                .iter()
                .zip(histograms.iter().zip(&errors))
                .map(|(op, (h, e))| (op.clone(), Latency::of(h, *e, timing.duration)))
                .collect()
        } else {
            Vec::new()
        };
        results.push(GroupResult {
            name,
            connections,
            total: Latency::of(&total, errors.iter().sum(), timing.duration),
            operations: per_operation,
            transport_errors,
        });
    }
    let sampled_peak = match sampler {
        Some(sampler) => Some(sampler.await.unwrap_or(0.0)),
        None => None,
    };
    let hwm = observed.server_pid.and_then(probe::peak_rss_mb);
    let rss_peak = match (sampled_peak, hwm) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let usage = Usage {
        window_s: measured.as_secs_f64(),
        server_cpu_s: cpu_before
            .zip(cpu_after)
            .map(|(a, b)| (b.saturating_sub(a)).as_secs_f64()),
        postgres_cpu_s: pg_before
            .zip(pg_after)
            .map(|(a, b)| b.saturating_sub(a).as_secs_f64()),
        client_cpu_s: own_after.saturating_sub(own_before).as_secs_f64(),
        rss_start_mb: rss_start,
        rss_peak_mb: rss_peak,
        rss_end_mb: observed.server_pid.and_then(probe::rss_mb),
        load_average,
        runnable_max: runnable_sampler.await.unwrap_or(0),
    };
    Ok((results, usage))
}
