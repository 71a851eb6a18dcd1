//! Queries and mutations of todos and the trash, and their GraphQL types.
//!
//! Every operation needs a signed-in caller with a verified email (unless the server is
//! configured otherwise): UNAUTHENTICATED / EMAIL_NOT_VERIFIED.

use crate::error::Result;
use crate::request::require_verified_viewer;
use crate::request::state;
use crate::schema::args::{parse_id, patch};
use crate::schema::scalars::DateTime;
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use todoql_domain::Patch;
use todoql_domain::todos::cursor::{Direction, Ordering, SortKey};
use todoql_domain::todos::page::{Page, PageRequest};
use todoql_domain::todos::{self, NewTodo, TodoChanges, trash};
use todoql_entity::{deleted_todo_log, todo};
use uuid::Uuid;

/// A thing to do.
pub struct Todo(pub todo::Model);

#[Object(name = "Todo")]
impl Todo {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Trimmed; 1 to 255 characters.
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn due_date(&self) -> Option<DateTime> {
        self.0.due_date.map(DateTime)
    }
    async fn is_completed(&self) -> bool {
        self.0.is_completed
    }
    /// When it was last completed; null while incomplete.
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(DateTime)
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// Moves forward on every change.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

/// A todo in the trash, restorable for 30 days after its deletion.
pub struct DeletedTodo(pub deleted_todo_log::Model);

#[Object(name = "DeletedTodo")]
impl DeletedTodo {
    /// The id the todo had, and will have again if restored.
    async fn id(&self) -> ID {
        ID(self.0.original_todo_id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn due_date(&self) -> Option<DateTime> {
        self.0.due_date.map(DateTime)
    }
    async fn is_completed(&self) -> bool {
        self.0.is_completed
    }
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(DateTime)
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
    /// When it was deleted.
    async fn deleted_at(&self) -> DateTime {
        self.0.deleted_at.into()
    }
    /// After this instant it can no longer be restored (deletedAt + 30 days).
    async fn restorable_until(&self) -> DateTime {
        trash::restorable_until(self.0.deleted_at).into()
    }
}

/// Where a page stands in its list (Relay connection spec).
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether more rows follow this page.
    pub has_next_page: bool,
    /// True when the page was asked for after a cursor (rows may precede it).
    pub has_previous_page: bool,
    /// The cursor of the first row of the page.
    pub start_cursor: Option<String>,
    /// The cursor of the last row of the page; pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

fn page_info<M>(page: &Page<M>) -> PageInfo {
    PageInfo {
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
        start_cursor: page.start_cursor(),
        end_cursor: page.end_cursor(),
    }
}

fn count_as_int(count: u64) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

/// A todo and its cursor.
#[derive(SimpleObject)]
pub struct TodoEdge {
    /// Opaque; pass it as `after` to continue after this todo.
    pub cursor: String,
    /// The todo.
    pub node: Todo,
}

/// One page of todos.
pub struct TodoConnection {
    page: Page<todo::Model>,
    owner: Uuid,
    filter: todos::TodoFilter,
}

#[Object(name = "TodoConnection")]
impl TodoConnection {
    async fn edges(&self) -> Vec<TodoEdge> {
        self.page
            .rows
            .iter()
            .map(|model| TodoEdge {
                cursor: self.page.cursor(model),
                node: Todo(model.clone()),
            })
            .collect()
    }
    async fn nodes(&self) -> Vec<Todo> {
        self.page.rows.iter().cloned().map(Todo).collect()
    }
    async fn page_info(&self) -> PageInfo {
        page_info(&self.page)
    }
    /// How many todos match the filter, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        // Fetched with the page whenever the query selects it; counted here only if the
        // selection escaped the look-ahead.
        let count = match self.page.total_count {
            Some(count) => count,
            None => todos::count(state(ctx), self.owner, &self.filter).await?,
        };
        Ok(count_as_int(count))
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

/// One page of the trash.
pub struct DeletedTodoConnection {
    page: Page<deleted_todo_log::Model>,
    owner: Uuid,
}

#[Object(name = "DeletedTodoConnection")]
impl DeletedTodoConnection {
    async fn edges(&self) -> Vec<DeletedTodoEdge> {
        self.page
            .rows
            .iter()
            .map(|model| DeletedTodoEdge {
                cursor: self.page.cursor(model),
                node: DeletedTodo(model.clone()),
            })
            .collect()
    }
    async fn nodes(&self) -> Vec<DeletedTodo> {
        self.page.rows.iter().cloned().map(DeletedTodo).collect()
    }
    async fn page_info(&self) -> PageInfo {
        page_info(&self.page)
    }
    /// How many deleted todos the trash lists, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let count = match self.page.total_count {
            Some(count) => count,
            None => trash::count(state(ctx), self.owner).await?,
        };
        Ok(count_as_int(count))
    }
}

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
fn ordering(order: Option<TodoOrder>) -> Ordering {
    {
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

/// Page size when `first` is absent or null.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// Todo queries.
#[derive(Default)]
pub struct TodoQuery;

#[Object]
impl TodoQuery {
    /// One of the caller's todos; null when it does not exist or belongs to someone else.
    async fn todo(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Todo>> {
        let viewer = require_verified_viewer(ctx).await?;
        let id = parse_id(&id, "id")?;
        Ok(todos::find(state(ctx), viewer.user.id, id).await?.map(Todo))
    }

    /// The caller's todos. `first` is 1..100. Cursor pagination (Relay connection spec).
    async fn todos(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        filter: Option<TodoFilter>,
        order_by: Option<TodoOrder>,
    ) -> Result<TodoConnection> {
        let viewer = require_verified_viewer(ctx).await?;
        let request = PageRequest::new(
            first.unwrap_or(DEFAULT_PAGE_SIZE),
            after.as_deref(),
            ordering(order_by),
        )?;
        let filter: todos::TodoFilter = filter.unwrap_or_default().into();
        let with_count = ctx.look_ahead().field("totalCount").exists();
        let page = todos::list(state(ctx), viewer.user.id, &filter, &request, with_count).await?;
        Ok(TodoConnection {
            page,
            owner: viewer.user.id,
            filter,
        })
    }

    /// The caller's todos deleted in the last 30 days, newest deletion first.
    async fn deleted_todos(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> Result<DeletedTodoConnection> {
        let viewer = require_verified_viewer(ctx).await?;
        let request = PageRequest::new(
            first.unwrap_or(DEFAULT_PAGE_SIZE),
            after.as_deref(),
            trash::TRASH_ORDERING,
        )?;
        let with_count = ctx.look_ahead().field("totalCount").exists();
        let page = trash::list(state(ctx), viewer.user.id, &request, with_count).await?;
        Ok(DeletedTodoConnection {
            page,
            owner: viewer.user.id,
        })
    }
}

/// Input of createTodo.
#[derive(InputObject)]
pub struct CreateTodoInput {
    /// Trimmed; 1 to 255 characters; unique among the owner's incomplete todos.
    title: String,
    /// At most 1000 characters.
    description: Option<String>,
    /// Must be in the future.
    due_date: Option<DateTime>,
}

/// Absent fields stay as they are; an explicit null clears description or dueDate.
#[derive(InputObject)]
pub struct UpdateTodoInput {
    /// Trimmed; 1 to 255 characters; null is refused.
    title: MaybeUndefined<String>,
    /// At most 1000 characters; null clears it.
    description: MaybeUndefined<String>,
    /// In the future; null clears it.
    due_date: MaybeUndefined<DateTime>,
    /// Complete (sets completedAt) or reopen (clears it); null is refused.
    is_completed: MaybeUndefined<bool>,
}

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
            NewTodo {
                title: input.title,
                description: input.description,
                due_date: input.due_date.map(|d| d.0),
            },
        )
        .await?;
        Ok(Todo(todo))
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
        Ok(Todo(
            todos::update(state(ctx), viewer.user.id, id, changes).await?,
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
        Ok(Todo(
            todos::update(state(ctx), viewer.user.id, id, changes).await?,
        ))
    }

    /// Moves the todo to the deleted-todo log, atomically.
    async fn delete_todo(&self, ctx: &Context<'_>, id: ID) -> Result<DeletedTodo> {
        let viewer = require_verified_viewer(ctx).await?;
        let id = parse_id(&id, "id")?;
        Ok(DeletedTodo(
            trash::delete(state(ctx), viewer.user.id, id).await?,
        ))
    }

    /// Bring back a todo deleted less than 30 days ago, with its original id and fields.
    async fn restore_todo(&self, ctx: &Context<'_>, id: ID) -> Result<Todo> {
        let viewer = require_verified_viewer(ctx).await?;
        let id = parse_id(&id, "id")?;
        Ok(Todo(trash::restore(state(ctx), viewer.user.id, id).await?))
    }
}
