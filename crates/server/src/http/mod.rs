//! The HTTP surface: routes, limits, request ids, CORS.

mod document_size;
pub mod documents;
pub mod graphiql;
pub mod graphql;

use crate::config::{HttpConfig, OperationLimits};
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::time::Duration;
use todoql_graphql::{AppSchema, AppState};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    /// The executable schema.
    pub schema: AppSchema,
    /// The domain state (for readiness and metrics).
    pub app: AppState,
    /// Most operations in one batch.
    pub max_batch: usize,
    /// Whether to believe X-Forwarded-For.
    pub trust_proxy: bool,
    /// Largest request body, in bytes (for the 413 message).
    pub body_limit: usize,
    /// Parsed documents by text, and persisted queries by hash.
    pub documents: documents::Documents,
}

impl HttpState {
    /// The handlers' state for `schema` and `app`, with the limits the configuration sets.
    pub fn new(
        schema: AppSchema,
        app: AppState,
        documents: documents::Documents,
        config: &HttpConfig,
        operations: &OperationLimits,
    ) -> Self {
        Self {
            schema,
            app,
            max_batch: operations.max_batch(),
            trust_proxy: config.trust_proxy,
            body_limit: config.body_limit(),
            documents,
        }
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

impl FromRef<HttpState> for AppState {
    fn from_ref(http: &HttpState) -> Self {
        http.app.clone()
    }
}

/// The router with every route and layer. /metrics is among the routes unless
/// TODOQL_METRICS_LISTEN gives it a listener of its own ([`metrics_router`]).
pub fn router(http: HttpState, config: &HttpConfig) -> Router {
    let mut routes = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/assets/{name}", get(graphiql::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if config.metrics_listen.is_none() {
        routes = routes.route("/metrics", get(metrics));
    }
    let routes = routes
        .layer(DefaultBodyLimit::max(config.body_limit()))
        .with_state(http);

    let layers = ServiceBuilder::new()
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            // The path only: a GET query string can carry variables.
            tracing::info_span!("request", request_id = %request_id, method = %request.method(), path = %request.uri().path())
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(CatchPanicLayer::custom(|_| {
            graphql::request_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.")
        }))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, config.request_timeout));

    let routes = routes.layer(layers);
    match cors(&config.cors_origins) {
        Some(cors) => routes.layer(cors),
        None => routes,
    }
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
            .expose_headers([REQUEST_ID.clone()])
            .max_age(Duration::from_secs(600)),
    )
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

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(http): State<HttpState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), http.app.db().ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out").into_response(),
    }
}

/// The router of TODOQL_METRICS_LISTEN: GET /metrics and nothing else (no GraphQL, no
/// health), so that a port open to the scraper exposes nothing more.
pub fn metrics_router(app: AppState, config: &HttpConfig) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(app)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
}

async fn metrics(State(app): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(app.db()),
    )
        .into_response()
}
