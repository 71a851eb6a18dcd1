//! Prometheus metrics: requests by operation and outcome, latency, database pool.

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

/// Renders the metrics, after sampling the database pool.
pub fn render(db: &DatabaseConnection) -> String {
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

/// Counts the operations of one request by outcome and records their latency (all of a
/// batch share the batch's).
pub fn record_operations(operations: &[String], response: &BatchResponse, started: Instant) {
    let elapsed = started.elapsed().as_secs_f64();
    let outcomes: Vec<bool> = match response {
        BatchResponse::Single(r) => vec![r.errors.is_empty()],
        BatchResponse::Batch(rs) => rs.iter().map(|r| r.errors.is_empty()).collect(),
    };
    for (operation, ok) in operations.iter().zip(outcomes) {
        let outcome = if ok { "ok" } else { "error" };
        metrics::counter!("todoql_graphql_requests_total", "operation" => operation.clone(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!("todoql_graphql_request_duration_seconds", "operation" => operation.clone())
            .record(elapsed);
    }
}
