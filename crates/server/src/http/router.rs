//! The routes and the layers around them: limits, request ids, the request histogram and
//! access log, tracing, panics, timeouts, CORS, and compression of GraphiQL's assets.

use super::probes::{healthz, metrics, readyz};
use super::request_error::request_error;
use super::state::HttpState;
use super::{graphiql, graphql, request_telemetry};
use crate::config::HttpConfig;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::routing::get;
use std::time::Duration;
use todoql_domain::AppState;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The router with every route and layer. /metrics is among the routes unless
/// TODOQL_METRICS_LISTEN gives it a listener of its own ([`metrics_router`]).
pub fn router(http: HttpState, config: &HttpConfig) -> Router {
    let mut routes = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route(
            "/graphql/",
            get(graphql::get_with_slash).post(graphql::post),
        )
        // GraphiQL's 1.5 MB of scripts and styles, gzip or br when the browser accepts it
        // (`Vary: Accept-Encoding` either way). Compressed per response rather than at build
        // time: the page asks for them by content hash and caches them for a year, so a
        // browser fetches each once per release. /graphql itself is not compressed.
        .route(
            "/graphql/assets/{name}",
            get(graphiql::asset).layer(CompressionLayer::new()),
        )
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
        .layer(axum::middleware::from_fn(request_telemetry::record))
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
            request_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.")
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
