//! A todo and a deleted todo as the API shows them.
//!
//! A deleted todo is a snapshot of the todo it was, so both show a todo's own fields through
//! [`TodoFields`], the one place that says how each is read and shown. Both types still
//! declare every field, because their descriptions differ (the schema says more of a live
//! todo than of a deleted one) and a description belongs to one declaration.

use crate::schema::scalars::DateTime;
use async_graphql::{ID, Object};
use chrono::Utc;
use todoql_domain::todos::trash;
use todoql_entity::{deleted_todo_log, todo};

/// A todo's own fields as the API shows them, whether the todo is live or in the trash.
struct TodoFields(todo::Model);

impl TodoFields {
    fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    fn due_date(&self) -> Option<DateTime> {
        self.0.due_date.map(DateTime)
    }
    fn is_completed(&self) -> bool {
        self.0.is_completed
    }
    fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(DateTime)
    }
    fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

/// A thing to do.
pub struct Todo(TodoFields);

impl From<todo::Model> for Todo {
    fn from(todo: todo::Model) -> Self {
        Self(TodoFields(todo))
    }
}

#[Object(name = "Todo")]
impl Todo {
    async fn id(&self) -> ID {
        self.0.id()
    }
    /// Trimmed; 1 to 255 characters.
    async fn title(&self) -> &str {
        self.0.title()
    }
    async fn description(&self) -> Option<&str> {
        self.0.description()
    }
    async fn due_date(&self) -> Option<DateTime> {
        self.0.due_date()
    }
    async fn is_completed(&self) -> bool {
        self.0.is_completed()
    }
    /// When it was last completed; null while incomplete.
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at()
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at()
    }
    /// Moves forward on every change.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at()
    }
}

/// A todo in the trash, restorable for 30 days after its deletion.
pub struct DeletedTodo {
    /// The todo as it was when deleted, with its original id.
    todo: TodoFields,
    deleted_at: chrono::DateTime<Utc>,
}

impl From<deleted_todo_log::Model> for DeletedTodo {
    fn from(entry: deleted_todo_log::Model) -> Self {
        let todo = todo::Model {
            id: entry.original_todo_id,
            user_id: entry.user_id,
            title: entry.title,
            description: entry.description,
            due_date: entry.due_date,
            is_completed: entry.is_completed,
            completed_at: entry.completed_at,
            created_at: entry.created_at,
            updated_at: entry.updated_at,
        };
        Self {
            todo: TodoFields(todo),
            deleted_at: entry.deleted_at,
        }
    }
}

#[Object(name = "DeletedTodo")]
impl DeletedTodo {
    /// The id the todo had, and will have again if restored.
    async fn id(&self) -> ID {
        self.todo.id()
    }
    async fn title(&self) -> &str {
        self.todo.title()
    }
    async fn description(&self) -> Option<&str> {
        self.todo.description()
    }
    async fn due_date(&self) -> Option<DateTime> {
        self.todo.due_date()
    }
    async fn is_completed(&self) -> bool {
        self.todo.is_completed()
    }
    async fn completed_at(&self) -> Option<DateTime> {
        self.todo.completed_at()
    }
    async fn created_at(&self) -> DateTime {
        self.todo.created_at()
    }
    async fn updated_at(&self) -> DateTime {
        self.todo.updated_at()
    }
    /// When it was deleted.
    async fn deleted_at(&self) -> DateTime {
        self.deleted_at.into()
    }
    /// After this instant it can no longer be restored (deletedAt + 30 days).
    async fn restorable_until(&self) -> DateTime {
        trash::restorable_until(self.deleted_at).into()
    }
}
