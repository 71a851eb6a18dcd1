//! The bare async-graphql floor: `todos(user: ID!, first: Int)` with todoql's `Todo` fields and
//! `totalCount`, over the same SQL, served by async-graphql-axum at `POST /graphql` (parsed
//! and validated on every request, as async-graphql does by default).

use async_graphql::{Context, EmptyMutation, EmptySubscription, ID, Object, Schema, SimpleObject};
use async_graphql_axum::GraphQL;
use axum::Router;
use axum::routing::post_service;
use sea_orm::sqlx::postgres::PgPool;
use uuid::Uuid;

/// The query the bench sends to this floor.
pub const TODO_LIST: &str = "query TodoList($user: ID!, $first: Int) { todos(user: $user, first: $first) { totalCount nodes { id title description dueDate isCompleted completedAt createdAt updatedAt } } }";

#[derive(SimpleObject)]
struct TodoConnection {
    total_count: i64,
    nodes: Vec<Todo>,
}

#[derive(SimpleObject)]
struct Todo {
    id: ID,
    title: String,
    description: Option<String>,
    due_date: Option<String>,
    is_completed: bool,
    completed_at: Option<String>,
    created_at: String,
    updated_at: String,
}

struct Query;

#[Object]
impl Query {
    async fn todos(
        &self,
        ctx: &Context<'_>,
        user: ID,
        #[graphql(default = 20)] first: i32,
    ) -> async_graphql::Result<TodoConnection> {
        let user: Uuid = user.parse()?;
        let pool = ctx.data_unchecked::<PgPool>();
        let (total_count, rows) = super::query::page(pool, user, i64::from(first)).await?;
        Ok(TodoConnection {
            total_count,
            nodes: rows
                .into_iter()
                .map(|t| Todo {
                    id: ID(t.id),
                    title: t.title,
                    description: t.description,
                    due_date: t.due_date,
                    is_completed: t.is_completed,
                    completed_at: t.completed_at,
                    created_at: t.created_at,
                    updated_at: t.updated_at,
                })
                .collect(),
        })
    }
}

pub fn router(pool: PgPool) -> Router {
    let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
        .data(pool)
        .finish();
    Router::new().route("/graphql", post_service(GraphQL::new(schema)))
}
