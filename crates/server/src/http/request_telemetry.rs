//! What every request leaves behind: a sample in the HTTP request-duration histogram (by
//! matched route, method and status) and one access log line (target `todoql::access`: method,
//! path, status, GraphQL operation, latency in ms as a number, request id). Probes and scrapes
//! (/healthz, /readyz, /metrics) log at DEBUG, everything else at INFO.

use crate::metrics::catalog::HTTP_REQUEST_DURATION;
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use std::cell::RefCell;
use std::time::Instant;

tokio::task_local! {
    /// The GraphQL operation names of the request being served (set by the GraphQL handler
    /// through [`note_operations`]), read back for the access log line.
    static OPERATIONS: RefCell<Option<String>>;
}

/// Records the GraphQL operation names of the current request for its access log line (does
/// nothing outside a request).
pub fn note_operations(operations: &[String]) {
    let _ = OPERATIONS.try_with(|slot| *slot.borrow_mut() = Some(operations.join(",")));
}

/// The middleware (inside the request-id layer, so the id is set; around everything else, so
/// the latency is the whole request's).
pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // The matched route, not the path: a route's samples share one series (bounded labels).
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    // The path only: a GET query string can carry variables.
    let path = request.uri().path().to_owned();
    let (response, operation) = OPERATIONS
        .scope(RefCell::new(None), async {
            let response = next.run(request).await;
            let operation = OPERATIONS.with(|slot| slot.borrow_mut().take());
            (response, operation)
        })
        .await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics::histogram!(
        HTTP_REQUEST_DURATION,
        "route" => route,
        "method" => method_label(&method),
        "status" => status.to_string()
    )
    .record(elapsed.as_secs_f64());

    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    // Microsecond precision, as a number (not a Debug string like "1.2ms").
    let latency_ms = (elapsed.as_micros() as f64) / 1000.0;
    let operation = operation.as_deref().unwrap_or("-");
    if matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics") {
        tracing::debug!(target: "todoql::access", method = %method, path = %path, status, operation = %operation, latency_ms, request_id = %request_id, "request");
    } else {
        tracing::info!(target: "todoql::access", method = %method, path = %path, status, operation = %operation, latency_ms, request_id = %request_id, "request");
    }
    response
}

/// The method as a label: a client may send any token as a method, so the ones HTTP defines
/// are kept and any other counts as `_OTHER` (OpenTelemetry's rule), keeping labels bounded.
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "_OTHER",
    }
}
