//! The todo queries: one todo, the list, the trash.

use crate::error::Result;
use crate::request::{require_verified_viewer, require_verified_viewer_with, state};
use crate::schema::args::parse_id;
use crate::schema::connection::Connection;
use crate::schema::todos::inputs::{TodoFilter, TodoOrder, ordering};
use crate::schema::todos::lists::{TodoListFields, TrashFields};
use crate::schema::todos::types::{DeletedTodo, Todo};
use async_graphql::{Context, ID, Object};
use todoql_domain::paging::page::PageRequest;
use todoql_domain::todos::{self, trash};

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
        Ok(todos::find(state(ctx), viewer.user.id, id)
            .await?
            .map(Todo::from))
    }

    /// The caller's todos. `first` is 1..100. Cursor pagination (Relay connection spec).
    async fn todos(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        filter: Option<TodoFilter>,
        order_by: Option<TodoOrder>,
    ) -> Result<Connection<Todo>> {
        let filter: todos::TodoFilter = filter.unwrap_or_default().into();
        let request = PageRequest::new(
            first.unwrap_or(DEFAULT_PAGE_SIZE),
            after.as_deref(),
            ordering(order_by),
        )
        .and_then(|request| todos::check_list(&filter, &request).map(|()| request));
        let request = match request {
            Ok(request) => request,
            // Who calls is answered before what they asked for (UNAUTHENTICATED first).
            Err(bad_input) => {
                require_verified_viewer(ctx).await?;
                return Err(bad_input.into());
            }
        };
        let look_ahead = ctx.look_ahead();
        let with_count = look_ahead.field("totalCount").exists();
        let with_revision = look_ahead.field("revision").exists();
        let app = state(ctx);
        // The session check rides in the page's statement unless the request checked already.
        let (viewer, page) = require_verified_viewer_with(ctx, |token| {
            todos::list_for_token(app, token, &filter, &request, with_count, with_revision)
        })
        .await?;
        let page = match page {
            Some(page) => page,
            None => {
                todos::list(
                    app,
                    viewer.user.id,
                    &filter,
                    &request,
                    with_count,
                    with_revision,
                )
                .await?
            }
        };
        let list_fields = TodoListFields {
            owner: viewer.user.id,
            filter,
        };
        Ok(Connection::new(page, list_fields))
    }

    /// The caller's todos deleted in the last 30 days, newest deletion first.
    async fn deleted_todos(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<DeletedTodo>> {
        let request = match PageRequest::new(
            first.unwrap_or(DEFAULT_PAGE_SIZE),
            after.as_deref(),
            trash::TRASH_ORDERING,
        ) {
            Ok(request) => request,
            // Who calls is answered before what they asked for (UNAUTHENTICATED first).
            Err(bad_input) => {
                require_verified_viewer(ctx).await?;
                return Err(bad_input.into());
            }
        };
        let with_count = ctx.look_ahead().field("totalCount").exists();
        let app = state(ctx);
        // The session check rides in the page's statement unless the request checked already.
        let (viewer, page) = require_verified_viewer_with(ctx, |token| {
            trash::list_for_token(app, token, &request, with_count)
        })
        .await?;
        let page = match page {
            Some(page) => page,
            None => trash::list(app, viewer.user.id, &request, with_count).await?,
        };
        let list_fields = TrashFields {
            owner: viewer.user.id,
        };
        Ok(Connection::new(page, list_fields))
    }
}
