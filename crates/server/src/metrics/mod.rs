//! Prometheus metrics: HTTP requests by route, GraphQL operations by name and outcome, latency,
//! database pool, process (CPU, memory, fds), build info. Every family and its HELP text is
//! listed in [`catalog`].

pub mod catalog;

use async_graphql::BatchResponse;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseConnection;
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder (installed on first use; several servers in one test process
/// share it).
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ],
                )
                .expect("bucket list is not empty");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (e.g. by a test harness); then our
            // handle renders only what we record through it, which is still valid output.
            let _ = metrics::set_global_recorder(recorder);
            catalog::describe();
            process_collector().describe();
            handle
        })
        .clone()
}

/// Most distinct operation names kept as labels; later names count as "other" so that a
/// client cannot grow the metrics without bound.
const MAX_OPERATION_LABELS: usize = 200;

/// The label for a client-chosen operation name.
pub fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name.filter(|n| {
        !n.is_empty() && n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }) else {
        return "anonymous".into();
    };
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if seen.contains(name) {
        return name.to_owned();
    }
    if seen.len() < MAX_OPERATION_LABELS {
        seen.insert(name.to_owned());
        return name.to_owned();
    }
    "other".into()
}

/// The `process_*` metrics (CPU seconds, resident memory, open fds, start time, threads),
/// read from the OS at each scrape.
fn process_collector() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

/// Renders the metrics, after sampling the database pool and the process.
pub fn render(db: &DatabaseConnection) -> String {
    process_collector().collect();
    let (size, idle) = pool_usage(db);
    metrics::gauge!("todoql_db_pool_connections").set(size as f64);
    metrics::gauge!("todoql_db_pool_idle_connections").set(idle as f64);
    handle().render()
}

fn pool_usage(db: &DatabaseConnection) -> (u32, usize) {
    match db {
        db if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        db => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    }
}

/// Counts the operations of one request by outcome (`ok`, or the code of the operation's first
/// error), their errors by code, and records their latency (all of a batch share the batch's).
/// The operation names also go to the request's access log line.
pub fn record_operations(operations: &[String], response: &BatchResponse, started: Instant) {
    let elapsed = started.elapsed().as_secs_f64();
    let responses: &[async_graphql::Response] = match response {
        BatchResponse::Single(r) => std::slice::from_ref(r),
        BatchResponse::Batch(rs) => rs,
    };
    for (operation, response) in operations.iter().zip(responses) {
        // Empty (and so not allocated) for an operation without errors.
        let codes: Vec<&'static str> = response.errors.iter().map(error_code).collect();
        let outcome = codes.first().copied().unwrap_or("ok");
        metrics::counter!(catalog::GRAPHQL_REQUESTS, "operation" => operation.clone(), "outcome" => outcome)
            .increment(1);
        for code in codes {
            metrics::counter!(catalog::GRAPHQL_ERRORS, "code" => code).increment(1);
        }
        metrics::histogram!(catalog::GRAPHQL_DURATION, "operation" => operation.clone())
            .record(elapsed);
    }
    crate::http::request_telemetry::note_operations(operations);
}

/// An error's `extensions.code` as a label. Every error the server answers has one of its own
/// codes (a bounded set); anything else would be a bug, counted apart.
fn error_code(error: &async_graphql::ServerError) -> &'static str {
    let code = error
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .and_then(|code| match code {
            async_graphql::Value::String(code) => Some(code.as_str()),
            async_graphql::Value::Enum(code) => Some(code.as_str()),
            _ => None,
        });
    match code {
        Some(code) => known_code(code),
        None => "NONE",
    }
}

/// The static label of a code: the schema's `ErrorCode`s, plus the codes the HTTP layer
/// answers outside it; any other is "OTHER" (so that labels stay bounded).
fn known_code(code: &str) -> &'static str {
    use async_graphql::resolver_utils::EnumType as _;
    todoql_graphql::ErrorCode::items()
        .iter()
        .map(|item| item.name)
        .chain(HTTP_LAYER_CODES.iter().copied())
        .find(|known| *known == code)
        .unwrap_or("OTHER")
}

/// Codes answered by the HTTP layer that are not (yet) in the schema's `ErrorCode`.
const HTTP_LAYER_CODES: &[&str] = &[
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "PERSISTED_QUERY_NOT_FOUND",
    "PERSISTED_QUERY_NOT_SUPPORTED",
];
