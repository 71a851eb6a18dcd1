//! POST /graphql (JSON only: our CSRF defence) and GET /graphql (GraphiQL for browsers, and
//! GraphQL-over-HTTP GET for queries, never for mutations; with `Upgrade: websocket`, the
//! subscription socket of `live`); `/graphql/` is the same. The
//! answer's media type and status follow the request's `Accept` (see `media`).

use super::client::request_context;
use super::get_request;
use super::media::{self, Answer};
use super::request_error::request_error;
use super::state::HttpState;
use async_graphql::{BatchRequest, BatchResponse, Request, Response as GqlResponse};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::StreamExt as _;
use std::net::SocketAddr;
use std::time::Instant;
use todoql_graphql::ErrorCode;
use todoql_graphql::schema::stage::ExecutionStarted;

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
    let Some(media) = media::negotiate(&headers) else {
        return not_acceptable();
    };
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
    let is_batch = matches!(batch, BatchRequest::Batch(_));
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
    let answers: Vec<Answer> = match batch {
        BatchRequest::Single(request) => vec![execute(&http, request).await],
        BatchRequest::Batch(requests) => {
            // Concurrently, answers in order (as async-graphql's execute_batch does).
            requests
                .into_iter()
                .map(|request| execute(&http, request))
                .collect::<futures_util::stream::FuturesOrdered<_>>()
                .collect()
                .await
        }
    };
    let executed: Vec<bool> = answers.iter().map(|a| a.executed).collect();
    let mut responses: Vec<GqlResponse> = answers.into_iter().map(|a| finish(a.response)).collect();
    let response = if !is_batch {
        BatchResponse::Single(responses.remove(0))
    } else {
        BatchResponse::Batch(responses)
    };
    crate::metrics::record_operations(&operations, &response, started);
    media::respond(media, &response, &executed)
}

/// Runs one operation with its parsed document from the cache (or its persisted query), and
/// tells whether it got as far as execution.
async fn execute(http: &HttpState, mut request: Request) -> Answer {
    if let Err(error) = http.documents.prepare(&mut request) {
        return refused(error);
    }
    let started = ExecutionStarted::default();
    let response = http.schema.execute(request.data(started.clone())).await;
    Answer {
        response,
        executed: started.get(),
    }
}

/// The answer to a request refused before it reached the schema.
fn refused(error: async_graphql::ServerError) -> Answer {
    Answer {
        response: GqlResponse::from_errors(vec![error]),
        executed: false,
    }
}

/// 406: the client accepts neither media type GraphQL answers in.
fn not_acceptable() -> Response {
    request_error(
        StatusCode::NOT_ACCEPTABLE,
        "GraphQL answers in application/graphql-response+json or application/json; the Accept header allows neither.",
    )
}

/// GET /graphql.
pub async fn get(
    State(http): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    websocket: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    match websocket {
        Ok(websocket) => return super::live::upgrade(&http, websocket, &headers, peer),
        // Meant as an upgrade but not a valid one: say why rather than serve GraphiQL.
        Err(rejection) if headers.contains_key(header::UPGRADE) => {
            return rejection.into_response();
        }
        Err(_) => {}
    }
    let has_query = query.as_deref().is_some_and(|q| !q.is_empty());
    if !has_query {
        return super::graphiql::page_response(has_subscriptions(&http));
    }
    let Some(media) = media::negotiate(&headers) else {
        return not_acceptable();
    };
    let mut request = match get_request::parse(query.as_deref().unwrap_or_default()) {
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
        let response = BatchResponse::Single(finish(refused(error).response));
        crate::metrics::record_operations(&[operation], &response, Instant::now());
        return media::respond(media, &response, &[false]);
    }
    if get_request::selects_mutation(&mut request) {
        let mut response = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Mutations are not allowed over GET; use POST with Content-Type: application/json.",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return response;
    }
    let execution = ExecutionStarted::default();
    let request = request
        .data(request_context(&http, &headers, peer))
        .data(execution.clone());
    let started = Instant::now();
    let response = BatchResponse::Single(finish(http.schema.execute(request).await));
    crate::metrics::record_operations(&[operation], &response, started);
    media::respond(media, &response, &[execution.get()])
}

/// GET /graphql/: the same as GET /graphql, except that GraphiQL is sent to /graphql (its
/// asset paths are relative to the page).
pub async fn get_with_slash(
    state: State<HttpState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    websocket: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    if websocket.is_err() && query.as_deref().is_none_or(str::is_empty) {
        return Redirect::permanent("../graphql").into_response();
    }
    get(state, peer, headers, websocket, RawQuery(query)).await
}

/// Whether the schema has a Subscription root (GraphiQL then wires its websocket client).
fn has_subscriptions(http: &HttpState) -> bool {
    http.schema
        .names()
        .iter()
        .any(|name| name == "Subscription")
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
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
