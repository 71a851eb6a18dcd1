//! `Subscription.todoChanges`: the change log, live (see `domain/todos/change_log.rs`
//! `follow`). Served over the graphql-transport-ws WebSocket on /graphql.

use crate::error::{ApiError, Result};
use crate::request::{require_verified_viewer, state};
use crate::schema::todos::changes::TodoChange;
use async_graphql::{Context, Subscription};
use futures_util::{Stream, StreamExt as _};
use todoql_domain::todos::change_log;

/// Every subscription.
#[derive(Default)]
pub struct TodoSubscription;

#[Subscription]
impl TodoSubscription {
    /// Live changes to the caller's todos and trash, in revision order, from every device and every
    /// server instance. With `since`, first replays every change after that revision (RESYNC_REQUIRED
    /// when it is older than the kept history), then continues live without a gap or a duplicate.
    async fn todo_changes(
        &self,
        ctx: &Context<'_>,
        since: Option<i32>,
    ) -> Result<impl Stream<Item = Result<TodoChange>> + use<>> {
        let viewer = require_verified_viewer(ctx).await?;
        let changes =
            change_log::follow(state(ctx).clone(), viewer.user.id, since.map(i64::from)).await?;
        Ok(changes.map(|change| change.map(TodoChange).map_err(ApiError::from)))
    }
}
