//! POST /graphql (JSON only: our CSRF defence) and GET /graphql (GraphiQL for browsers, and
//! GraphQL-over-HTTP GET for queries, never for mutations).

use super::HttpState;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request, Response as GqlResponse};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use std::net::SocketAddr;
use std::time::Instant;
use todoql_graphql::{ErrorCode, RequestContext};

/// POST /graphql.
pub async fn post(
    State(http): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !is_json(&headers) {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST /graphql accepts only Content-Type: application/json.",
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("The request body is larger than {} bytes.", http.body_limit)
            } else {
                "The request body could not be read.".to_owned()
            };
            return request_error(status, &message);
        }
    };
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(_) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                "The body is not a GraphQL request in JSON.",
            );
        }
    };
    let batch = match batch {
        BatchRequest::Batch(requests) if requests.len() > http.max_batch => {
            return request_error(
                StatusCode::BAD_REQUEST,
                &format!("A batch may hold at most {} operations.", http.max_batch),
            );
        }
        BatchRequest::Batch(requests) if requests.is_empty() => {
            return request_error(StatusCode::BAD_REQUEST, "The batch is empty.");
        }
        BatchRequest::Single(request) => {
            BatchRequest::Single(request.data(request_context(&http, &headers, peer)))
        }
        BatchRequest::Batch(requests) => BatchRequest::Batch(
            requests
                .into_iter()
                .map(|r| r.data(request_context(&http, &headers, peer)))
                .collect(),
        ),
    };
    let operations: Vec<String> = match &batch {
        BatchRequest::Single(r) => {
            vec![crate::metrics::operation_label(r.operation_name.as_deref())]
        }
        BatchRequest::Batch(rs) => rs
            .iter()
            .map(|r| crate::metrics::operation_label(r.operation_name.as_deref()))
            .collect(),
    };
    let started = Instant::now();
    let response = match batch {
        BatchRequest::Single(request) => {
            BatchResponse::Single(finish(execute(&http, request).await))
        }
        BatchRequest::Batch(requests) => {
            // Concurrently, answers in order (as async-graphql's execute_batch does).
            let responses: Vec<GqlResponse> = requests
                .into_iter()
                .map(|request| execute(&http, request))
                .collect::<futures_util::stream::FuturesOrdered<_>>()
                .collect()
                .await;
            BatchResponse::Batch(responses.into_iter().map(finish).collect())
        }
    };
    record(&operations, &response, started);
    async_graphql_axum::GraphQLResponse::from(response).into_response()
}

/// Runs one operation with its parsed document from the cache (or its persisted query).
async fn execute(http: &HttpState, mut request: Request) -> GqlResponse {
    match http.documents.prepare(&mut request) {
        Ok(()) => http.schema.execute(request).await,
        Err(error) => GqlResponse::from_errors(vec![error]),
    }
}

/// GET /graphql.
pub async fn get(
    State(http): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let has_query = query.as_deref().is_some_and(|q| !q.is_empty());
    if !has_query {
        return super::graphiql::page_response(has_subscriptions(&http));
    }
    let mut request = match parse_get_request(query.as_deref().unwrap_or_default()) {
        Some(request) => request,
        None => {
            return request_error(
                StatusCode::BAD_REQUEST,
                "The query string is not a GraphQL request.",
            );
        }
    };
    let operation = crate::metrics::operation_label(request.operation_name.as_deref());
    if let Err(error) = http.documents.prepare(&mut request) {
        let response = BatchResponse::Single(finish(GqlResponse::from_errors(vec![error])));
        record(&[operation], &response, Instant::now());
        return async_graphql_axum::GraphQLResponse::from(response).into_response();
    }
    if selects_mutation(&mut request) {
        let mut response = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Mutations are not allowed over GET; use POST with Content-Type: application/json.",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return response;
    }
    let request = request.data(request_context(&http, &headers, peer));
    let started = Instant::now();
    let response = BatchResponse::Single(finish(http.schema.execute(request).await));
    record(&[operation], &response, started);
    async_graphql_axum::GraphQLResponse::from(response).into_response()
}

/// Whether the schema has a Subscription root (GraphiQL then wires its websocket client).
fn has_subscriptions(http: &HttpState) -> bool {
    http.schema
        .names()
        .iter()
        .any(|name| name == "Subscription")
}

/// A GraphQL-over-HTTP GET request: `query`, `operationName`, and JSON `variables` and
/// `extensions`. (async-graphql's own parser expects `operation_name`, which clients don't send.)
/// The query may be left out only for a persisted query (`extensions.persistedQuery`).
fn parse_get_request(query_string: &str) -> Option<Request> {
    let mut query = None;
    let mut operation_name = None;
    let mut variables = None;
    let mut extensions = None;
    for (key, value) in url::form_urlencoded::parse(query_string.as_bytes()) {
        match key.as_ref() {
            "query" => query = Some(value.into_owned()),
            "operationName" if !value.is_empty() => operation_name = Some(value.into_owned()),
            "variables" if !value.is_empty() => {
                variables = Some(serde_json::from_str(&value).ok()?)
            }
            "extensions" if !value.is_empty() => {
                extensions = Some(serde_json::from_str::<serde_json::Value>(&value).ok()?)
            }
            _ => {}
        }
    }
    let persisted = matches!(&extensions, Some(serde_json::Value::Object(map)) if map.contains_key("persistedQuery"));
    let query = match query {
        Some(query) => query,
        None if persisted => String::new(),
        None => return None,
    };
    let mut request = Request::new(query);
    if let Some(name) = operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = variables {
        request = request.variables(async_graphql::Variables::from_json(variables));
    }
    if let Some(serde_json::Value::Object(map)) = extensions {
        for (key, value) in map {
            if let Ok(value) = async_graphql::Value::from_json(value) {
                request.extensions.insert(key, value);
            }
        }
    }
    Some(request)
}

/// Whether the operation the request would run is a mutation (or subscription).
fn selects_mutation(request: &mut Request) -> bool {
    let operation_name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false; // execution reports the syntax error
    };
    let ty = match &document.operations {
        DocumentOperations::Single(op) => Some(op.node.ty),
        DocumentOperations::Multiple(ops) => match &operation_name {
            Some(name) => ops.get(name.as_str()).map(|op| op.node.ty),
            None => None,
        },
    };
    matches!(
        ty,
        Some(OperationType::Mutation | OperationType::Subscription)
    )
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

fn request_context(http: &HttpState, headers: &HeaderMap, peer: SocketAddr) -> RequestContext {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        });
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    RequestContext::new(
        bearer,
        Some(super::client_ip(headers, peer, http.trust_proxy)),
        user_agent,
    )
}

/// Gives every error a contract code: errors that did not come from a resolver (syntax,
/// validation, limits) are the client's, so BAD_USER_INPUT.
fn finish(mut response: GqlResponse) -> GqlResponse {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", ErrorCode::BadUserInput.as_str());
        }
    }
    response
}

fn record(operations: &[String], response: &BatchResponse, started: Instant) {
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

/// An error about the HTTP request itself, in GraphQL's error shape.
pub fn request_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": ErrorCode::BadUserInput.as_str() } }]
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
