//! The todo and trash mutations.

use crate::error::Result;
use crate::request::{require_verified_viewer, state};
use crate::schema::args::{parse_id, patch};
use crate::schema::todos::inputs::{CreateTodoInput, UpdateTodoInput};
use crate::schema::todos::types::{DeletedTodo, Todo};
use async_graphql::{Context, ID, Object};
use todoql_domain::Patch;
use todoql_domain::todos::{self, NewTodo, TodoChanges, trash};

/// Todo and trash mutations.
#[derive(Default)]
pub struct TodoMutation;

#[Object]
impl TodoMutation {
    /// Create a todo. CONFLICT when an incomplete todo of the caller has the same title.
    async fn create_todo(&self, ctx: &Context<'_>, input: CreateTodoInput) -> Result<Todo> {
        let viewer = require_verified_viewer(ctx).await?;
        let todo = todos::create(
            state(ctx),
            viewer.user.id,
            viewer.session.id,
            NewTodo {
                title: input.title,
                description: input.description,
                due_date: input.due_date.map(|d| d.0),
            },
        )
        .await?;
        Ok(Todo::from(todo))
    }

    /// Change a todo. Absent fields stay; null clears description or dueDate.
    async fn update_todo(&self, ctx: &Context<'_>, id: ID, input: UpdateTodoInput) -> Result<Todo> {
        let viewer = require_verified_viewer(ctx).await?;
        let id = parse_id(&id, "id")?;
        let changes = TodoChanges {
            title: patch(input.title),
            description: patch(input.description),
            due_date: patch(input.due_date.map_value(|d| d.0)),
            is_completed: patch(input.is_completed),
        };
        Ok(Todo::from(
            todos::update(state(ctx), viewer.user.id, viewer.session.id, id, changes).await?,
        ))
    }

    /// Mark done (sets completedAt) or not done (clears it).
    async fn set_todo_completed(&self, ctx: &Context<'_>, id: ID, completed: bool) -> Result<Todo> {
        let viewer = require_verified_viewer(ctx).await?;
        let id = parse_id(&id, "id")?;
        let changes = TodoChanges {
            is_completed: Patch::Set(completed),
            ..TodoChanges::default()
        };
        Ok(Todo::from(
            todos::update(state(ctx), viewer.user.id, viewer.session.id, id, changes).await?,
        ))
    }

    /// Moves the todo to the deleted-todo log, atomically.
    async fn delete_todo(&self, ctx: &Context<'_>, id: ID) -> Result<DeletedTodo> {
        let viewer = require_verified_viewer(ctx).await?;
        let id = parse_id(&id, "id")?;
        Ok(DeletedTodo::from(
            trash::delete(state(ctx), viewer.user.id, viewer.session.id, id).await?,
        ))
    }

    /// Bring back a todo deleted less than 30 days ago, with its original id and fields.
    async fn restore_todo(&self, ctx: &Context<'_>, id: ID) -> Result<Todo> {
        let viewer = require_verified_viewer(ctx).await?;
        let id = parse_id(&id, "id")?;
        Ok(Todo::from(
            trash::restore(state(ctx), viewer.user.id, viewer.session.id, id).await?,
        ))
    }
}
