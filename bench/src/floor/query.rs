//! The one statement both floors run: todoql's todo-list page with its count, and its rows as
//! todoql answers them.

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sqlx::postgres::PgPool;
use sea_orm::sqlx::{self, Row as _};
use serde::Serialize;
use uuid::Uuid;

/// todoql's statement for `todos(first: N) { totalCount nodes { … } }` on PostgreSQL, as it
/// sends it (captured from the server, parameters: user, user, first + 1): the count as a
/// one-row derived table LEFT JOINed to the page.
const PAGE_SQL: &str = concat!(
    r#"SELECT "page_rows"."id", "page_rows"."user_id", "page_rows"."title", "page_rows"."description", "page_rows"."due_date", "page_rows"."is_completed", "page_rows"."completed_at", "page_rows"."created_at", "page_rows"."updated_at", "counted"."total_count" "#,
    r#"FROM (SELECT COUNT(*) AS "total_count" FROM "todos" WHERE "todos"."user_id" = $1) AS "counted" "#,
    r#"LEFT JOIN (SELECT "id", "user_id", "title", "description", "due_date", "is_completed", "completed_at", "created_at", "updated_at" FROM "todos" WHERE "todos"."user_id" = $2 AND TRUE ORDER BY "created_at" DESC, "id" DESC LIMIT $3) AS "page_rows" ON 1 = 1 "#,
    r#"ORDER BY "page_rows"."created_at" DESC, "page_rows"."id" DESC"#
);

/// A todo as both floors answer it (todoql's `Todo` fields).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Todo {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub due_date: Option<String>,
    pub is_completed: bool,
    pub completed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// One page: the total count and the first `first` todos, newest first.
pub async fn page(pool: &PgPool, user: Uuid, first: i64) -> Result<(i64, Vec<Todo>), sqlx::Error> {
    let rows = sqlx::query(PAGE_SQL)
        .bind(user)
        .bind(user)
        .bind(first + 1)
        .fetch_all(pool)
        .await?;
    let mut total = 0;
    let mut todos = Vec::with_capacity(rows.len());
    for row in &rows {
        total = row.try_get::<i64, _>(9)?;
        let Some(id) = row.try_get::<Option<Uuid>, _>(0)? else {
            continue; // an empty page: one row of NULLs with the count
        };
        todos.push(Todo {
            id: id.to_string(),
            title: row.try_get(2)?,
            description: row.try_get(3)?,
            due_date: row.try_get::<Option<DateTime<Utc>>, _>(4)?.map(rfc3339),
            is_completed: row.try_get(5)?,
            completed_at: row.try_get::<Option<DateTime<Utc>>, _>(6)?.map(rfc3339),
            created_at: rfc3339(row.try_get(7)?),
            updated_at: rfc3339(row.try_get(8)?),
        });
    }
    todos.truncate(first.max(0) as usize);
    Ok((total, todos))
}

/// todoql's DateTime format: RFC 3339 in UTC with a `Z`.
fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
