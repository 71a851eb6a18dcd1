//! The inputs of the todo operations: how to filter and sort a list, what to create or change.

use crate::schema::scalars::DateTime;
use async_graphql::{Enum, InputObject, MaybeUndefined};
use todoql_domain::paging::cursor::{Direction, Ordering, SortKey};
use todoql_domain::todos;

/// What todos can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TodoOrderField {
    /// Creation time.
    CreatedAt,
    /// Time of the last change.
    UpdatedAt,
    /// Due date; todos without one come last in both directions.
    DueDate,
    /// Title, in the database's collation.
    Title,
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrderDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// How to sort todos; ties are broken by id in the same direction.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct TodoOrder {
    #[graphql(default_with = "TodoOrderField::CreatedAt")]
    field: TodoOrderField,
    #[graphql(default_with = "OrderDirection::Desc")]
    direction: OrderDirection,
}

/// The domain's ordering for `orderBy` (default: newest first).
pub fn ordering(order: Option<TodoOrder>) -> Ordering {
    let order = order.unwrap_or(TodoOrder {
        field: TodoOrderField::CreatedAt,
        direction: OrderDirection::Desc,
    });
    Ordering {
        key: match order.field {
            TodoOrderField::CreatedAt => SortKey::CreatedAt,
            TodoOrderField::UpdatedAt => SortKey::UpdatedAt,
            TodoOrderField::DueDate => SortKey::DueDate,
            TodoOrderField::Title => SortKey::Title,
        },
        direction: match order.direction {
            OrderDirection::Asc => Direction::Asc,
            OrderDirection::Desc => Direction::Desc,
        },
    }
}

/// Which todos to list; all conditions must hold.
#[derive(InputObject, Debug, Clone, Default)]
pub struct TodoFilter {
    /// Only completed (true) or incomplete (false) todos.
    is_completed: Option<bool>,
    /// Due strictly before this instant (todos without a due date are left out).
    due_before: Option<DateTime>,
    /// Due strictly after this instant (todos without a due date are left out).
    due_after: Option<DateTime>,
    /// Case-insensitive substring of title or description.
    search: Option<String>,
}

impl From<TodoFilter> for todos::TodoFilter {
    fn from(filter: TodoFilter) -> Self {
        todos::TodoFilter {
            is_completed: filter.is_completed,
            due_before: filter.due_before.map(|d| d.0),
            due_after: filter.due_after.map(|d| d.0),
            search: filter.search,
        }
    }
}

/// Input of createTodo.
#[derive(InputObject)]
pub struct CreateTodoInput {
    /// Trimmed; 1 to 255 characters; unique among the owner's incomplete todos.
    pub title: String,
    /// At most 1000 characters.
    pub description: Option<String>,
    /// Must be in the future.
    pub due_date: Option<DateTime>,
}

/// Absent fields stay as they are; an explicit null clears description or dueDate.
#[derive(InputObject)]
pub struct UpdateTodoInput {
    /// Trimmed; 1 to 255 characters; null is refused.
    pub title: MaybeUndefined<String>,
    /// At most 1000 characters; null clears it.
    pub description: MaybeUndefined<String>,
    /// In the future; null clears it.
    pub due_date: MaybeUndefined<DateTime>,
    /// Complete (sets completedAt) or reopen (clears it); null is refused.
    pub is_completed: MaybeUndefined<bool>,
}
