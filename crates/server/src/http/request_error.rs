//! Errors about the HTTP request itself (not JSON, too large, a mutation over GET, a panic),
//! in GraphQL's error shape so that clients read them like any other.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use todoql_graphql::ErrorCode;

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
