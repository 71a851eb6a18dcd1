//! What the todo list and the trash add to the generic
//! [`Connection`](crate::schema::connection::Connection): their type names, their
//! edges and the fields they add (`totalCount`), each in the list's own words.

use crate::error::Result;
use crate::request::state;
use crate::schema::connection::{ConnectionNode, ListCount, counted};
use crate::schema::todos::types::{DeletedTodo, Todo};
use async_graphql::{Context, SimpleObject};
use futures_util::future::BoxFuture;
use todoql_domain::todos::{self, trash};
use todoql_entity::{deleted_todo_log, todo};
use uuid::Uuid;

impl ConnectionNode for Todo {
    const CONNECTION_NAME: &'static str = "TodoConnection";
    type Row = todo::Model;
    type Edge = TodoEdge;
    type Count = TodoListFields;
    const REVISION: bool = true;

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
    /// Whose todos.
    pub owner: Uuid,
    /// Which of them.
    pub filter: todos::TodoFilter,
}

impl ListCount for TodoListFields {
    const DESCRIPTION: &'static str = "How many todos match the filter, across all pages.";

    fn total_count<'a>(&'a self, ctx: &'a Context<'_>) -> BoxFuture<'a, Result<i32>> {
        Box::pin(counted(todos::count(state(ctx), self.owner, &self.filter)))
    }

    fn revision<'a>(&'a self, ctx: &'a Context<'_>) -> BoxFuture<'a, Result<i32>> {
        Box::pin(async move {
            let revision = todos::change_log::current_revision(state(ctx).db(), self.owner).await?;
            Ok(i32::try_from(revision).unwrap_or(i32::MAX))
        })
    }
}

impl ConnectionNode for DeletedTodo {
    const CONNECTION_NAME: &'static str = "DeletedTodoConnection";
    type Row = deleted_todo_log::Model;
    type Edge = DeletedTodoEdge;
    type Count = TrashFields;

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
    /// Whose trash.
    pub owner: Uuid,
}

impl ListCount for TrashFields {
    const DESCRIPTION: &'static str = "How many deleted todos the trash lists, across all pages.";

    fn total_count<'a>(&'a self, ctx: &'a Context<'_>) -> BoxFuture<'a, Result<i32>> {
        Box::pin(counted(trash::count(state(ctx), self.owner)))
    }
}
