//! The axum + sqlx floor: `POST /todos` with `{"user": "<uuid>", "first": 20}` answers the
//! page in the shape of todoql's answer (`{"data":{"todos":{"totalCount":…,"nodes":[…]}}}`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::post};
use sea_orm::sqlx::postgres::PgPool;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

#[derive(Deserialize)]
struct PageRequest {
    user: Uuid,
    first: i64,
}

pub fn router(pool: PgPool) -> Router {
    Router::new().route("/todos", post(todos)).with_state(pool)
}

async fn todos(State(pool): State<PgPool>, Json(request): Json<PageRequest>) -> Response {
    match super::query::page(&pool, request.user, request.first).await {
        Ok((total, nodes)) => Json(json!({
            "data": { "todos": { "totalCount": total, "nodes": nodes } }
        }))
        .into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}
