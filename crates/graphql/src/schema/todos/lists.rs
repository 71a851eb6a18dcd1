//! What the todo list and the trash add to the generic
//! [`Connection`](crate::schema::connection::Connection): their type names, their
//! edges and the fields they add (`totalCount`), each in the list's own words.

use crate::error::Result;
use crate::request::state;
use crate::schema::connection::{ConnectionNode, total_count};
use crate::schema::todos::types::{DeletedTodo, Todo};
use async_graphql::{Context, Object, SimpleObject};
use todoql_domain::todos::{self, trash};
use todoql_entity::{deleted_todo_log, todo};
use uuid::Uuid;

impl ConnectionNode for Todo {
    const CONNECTION_NAME: &'static str = "TodoConnection";
    type Row = todo::Model;
    type Edge = TodoEdge;
    type ListFields = TodoListFields;

    fn from_row(row: todo::Model) -> Self {
        Todo::from(row)
    }
    fn edge(cursor: String, node: Self) -> TodoEdge {
        TodoEdge { cursor, node }
    }
}

/// A todo and its cursor.
#[derive(SimpleObject)]
pub struct TodoEdge {
    /// Opaque; pass it as `after` to continue after this todo.
    pub cursor: String,
    /// The todo.
    pub node: Todo,
}

/// What the todo list adds to its connection.
pub struct TodoListFields {
    /// The count fetched with the page, when the query selected it.
    pub fetched: Option<u64>,
    /// Whose todos.
    pub owner: Uuid,
    /// Which of them.
    pub filter: todos::TodoFilter,
}

#[Object]
impl TodoListFields {
    /// How many todos match the filter, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        total_count(
            self.fetched,
            todos::count(state(ctx), self.owner, &self.filter),
        )
        .await
    }
}

impl ConnectionNode for DeletedTodo {
    const CONNECTION_NAME: &'static str = "DeletedTodoConnection";
    type Row = deleted_todo_log::Model;
    type Edge = DeletedTodoEdge;
    type ListFields = TrashFields;

    fn from_row(row: deleted_todo_log::Model) -> Self {
        DeletedTodo::from(row)
    }
    fn edge(cursor: String, node: Self) -> DeletedTodoEdge {
        DeletedTodoEdge { cursor, node }
    }
}

/// A deleted todo and its cursor.
#[derive(SimpleObject)]
pub struct DeletedTodoEdge {
    /// Opaque; pass it as `after` to continue after this entry.
    pub cursor: String,
    /// The deleted todo.
    pub node: DeletedTodo,
}

/// What the trash adds to its connection.
pub struct TrashFields {
    /// The count fetched with the page, when the query selected it.
    pub fetched: Option<u64>,
    /// Whose trash.
    pub owner: Uuid,
}

#[Object]
impl TrashFields {
    /// How many deleted todos the trash lists, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        total_count(self.fetched, trash::count(state(ctx), self.owner)).await
    }
}
