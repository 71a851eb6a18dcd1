//! The change log as the API shows it: `Query.todoChanges` (offline sync) and its types.

use crate::error::Result;
use crate::request::{require_verified_viewer, state};
use crate::schema::scalars::DateTime;
use crate::schema::todos::types::{DeletedTodo, Todo};
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use todoql_domain::todos::change_log::{self, Change};

/// What happened to a todo.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "todoql_entity::todo_change::TodoChangeKind")]
pub enum TodoChangeKind {
    Created,
    Updated,
    Deleted,
    Restored,
    /// Left the trash for good (30-day purge or account deletion).
    Purged,
}

/// One change of one of the caller's todos.
pub struct TodoChange(pub(crate) Change);

#[Object]
impl TodoChange {
    /// Per user, strictly increasing by 1 with every change, no gaps: 0 before the first change, 1 for the first.
    async fn revision(&self) -> i32 {
        i32::try_from(self.0.change.revision).unwrap_or(i32::MAX)
    }
    async fn kind(&self) -> TodoChangeKind {
        self.0.change.kind.into()
    }
    async fn todo_id(&self) -> ID {
        ID(self.0.change.todo_id.to_string())
    }
    /// The todo after the change (CREATED, UPDATED, RESTORED); null otherwise.
    async fn todo(&self) -> Option<Todo> {
        // As it is now (at or after this change); null when a later change removed it.
        self.0.todo.clone().map(Todo::from)
    }
    /// The trash entry (DELETED); null otherwise.
    async fn deleted_todo(&self) -> Option<DeletedTodo> {
        self.0.deleted_todo.clone().map(DeletedTodo::from)
    }
    /// The session that made the change (a client can skip its own echoes); null for the purge.
    async fn origin_session_id(&self) -> Option<ID> {
        self.0.change.origin_session_id.map(|id| ID(id.to_string()))
    }
    async fn occurred_at(&self) -> DateTime {
        DateTime(self.0.change.occurred_at)
    }
}

/// A stretch of the change log.
#[derive(SimpleObject)]
pub struct TodoChangeConnection {
    nodes: Vec<TodoChange>,
    /// The newest revision returned, or `since` when there is nothing new; pass it as the next `since`.
    revision: i32,
    has_more: bool,
}

/// Page size of todoChanges when `first` is absent or null.
pub const DEFAULT_CHANGES_PAGE: i32 = 100;

/// The change-log query.
#[derive(Default)]
pub struct TodoChangesQuery;

#[Object]
impl TodoChangesQuery {
    /// What changed in the caller's todos and trash after revision `since`, oldest first (offline sync).
    async fn todo_changes(
        &self,
        ctx: &Context<'_>,
        since: i32,
        #[graphql(default = 100)] first: Option<i32>,
    ) -> Result<TodoChangeConnection> {
        let viewer = require_verified_viewer(ctx).await?;
        let page = change_log::after(
            state(ctx),
            viewer.user.id,
            i64::from(since),
            first.unwrap_or(DEFAULT_CHANGES_PAGE),
        )
        .await?;
        Ok(TodoChangeConnection {
            nodes: page.changes.into_iter().map(TodoChange).collect(),
            revision: i32::try_from(page.revision).unwrap_or(i32::MAX),
            has_more: page.has_more,
        })
    }
}
