//! Reading the todo change log: the changes after a revision, oldest first (`todoChanges`), and
//! following it live ([`follow`], the subscription), which reads the same pages with [`after`].
//!
//! Replay rule: `todo` and `deletedTodo` are the todo and the trash entry as they are NOW (the
//! log keeps no copies). A client that applies a page in revision order ends in the state of
//! the last revision (or a later one): CREATED/UPDATED/RESTORED upsert `todo` (and drop the
//! trash entry) when it is not null, DELETED removes the todo and shows `deletedTodo` when it
//! is not null, PURGED drops the trash entry. A null payload means a later change (in this
//! page or a following one) says where the todo went, so nothing is lost by skipping it.
//!
//! Exactness: the answer covers since+1 … revision with no hole, or it is RESYNC_REQUIRED.
//! A page that does not start at since+1 or skips a revision met a purged stretch.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::todos::live::Nudges;
use crate::todos::{changes, trash};
use futures_util::Stream;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{HashMap, VecDeque};
use todoql_entity::todo_change::{self, TodoChangeKind};
use todoql_entity::{deleted_todo_log, todo};
use uuid::Uuid;

/// Largest `first` of a change page.
pub const MAX_CHANGES_PAGE: i32 = 100;

/// One change with what it shows.
#[derive(Debug, Clone)]
pub struct Change {
    /// The log row.
    pub change: todo_change::Model,
    /// The todo now (CREATED, UPDATED, RESTORED), when it still exists.
    pub todo: Option<todo::Model>,
    /// The trash entry now (DELETED), when it is still in the trash.
    pub deleted_todo: Option<deleted_todo_log::Model>,
}

/// A stretch of the log.
#[derive(Debug, Clone)]
pub struct ChangePage {
    /// Oldest first, revisions since+1, since+2, …
    pub changes: Vec<Change>,
    /// The last revision returned, or `since` when there is none.
    pub revision: i64,
    /// Whether later changes exist.
    pub has_more: bool,
}

/// The user's current revision (0 before the first change).
pub async fn current_revision<C: ConnectionTrait>(db: &C, owner: Uuid) -> AppResult<i64> {
    match db.query_one(&changes::revision_statement(owner)).await? {
        Some(row) => Ok(row.try_get_by_index(0)?),
        None => Ok(0),
    }
}

/// `owner`'s changes after revision `since`, at most `first` (1..=100), oldest first.
/// BAD_USER_INPUT on `since` when it is negative or beyond the current revision, on `first`
/// when out of range; RESYNC_REQUIRED when part of the asked-for history was purged.
pub async fn after(app: &AppState, owner: Uuid, since: i64, first: i32) -> AppResult<ChangePage> {
    if !(1..=MAX_CHANGES_PAGE).contains(&first) {
        return Err(AppError::bad_input(
            "first",
            format!("first must be between 1 and {MAX_CHANGES_PAGE}."),
        ));
    }
    if since < 0 {
        return Err(AppError::bad_input("since", "since must not be negative."));
    }
    let db = app.db();
    let current = current_revision(db, owner).await?;
    if since > current {
        return Err(AppError::bad_input(
            "since",
            "since is beyond the latest revision (it must come from todos.revision or todoChanges.revision).",
        ));
    }
    let mut rows = todo_change::Entity::find()
        .filter(todo_change::Column::UserId.eq(owner))
        .filter(todo_change::Column::Revision.gt(since))
        .order_by_asc(todo_change::Column::Revision)
        .limit(first as u64 + 1)
        .all(db)
        .await?;
    // Revisions commit in order, so every revision up to `current` is visible here unless it
    // was purged. (Later ones may be visible too: the log is read after `current`.)
    let gapless = rows
        .iter()
        .enumerate()
        .all(|(i, row)| row.revision == since + 1 + i as i64);
    if !gapless || (rows.is_empty() && since < current) {
        return Err(AppError::ResyncRequired);
    }
    let has_more = rows.len() > first as usize;
    rows.truncate(first as usize);
    let revision = rows.last().map_or(since, |row| row.revision);
    let changes = with_payloads(app, owner, rows).await?;
    Ok(ChangePage {
        changes,
        revision,
        has_more,
    })
}

/// `owner`'s log, live: with `since`, first every change after it (checked as [`after`] checks
/// it: BAD_USER_INPUT, RESYNC_REQUIRED), then each change as it commits; without `since`, from
/// the current revision on. In revision order, each once.
///
/// No gap: the nudges are subscribed to before the first read, so a change that commits after
/// that read nudges it. No duplicate: each read starts after the last revision handed out.
/// Nothing is buffered beyond one page: a slow reader only reads the log later.
pub async fn follow(
    app: AppState,
    owner: Uuid,
    since: Option<i64>,
) -> AppResult<impl Stream<Item = AppResult<Change>> + Send + 'static> {
    let nudges = app.change_feed().subscribe(owner);
    let (last, pending, more) = match since {
        Some(since) => {
            let page = after(&app, owner, since, MAX_CHANGES_PAGE).await?;
            (page.revision, page.changes.into(), page.has_more)
        }
        None => (
            current_revision(app.db(), owner).await?,
            VecDeque::new(),
            false,
        ),
    };
    let following = Following {
        app,
        owner,
        last,
        pending,
        more,
        nudges,
        ended: false,
    };
    Ok(futures_util::stream::unfold(following, Following::next))
}

/// Where a [`follow`] is.
struct Following {
    app: AppState,
    owner: Uuid,
    /// The last revision handed out (or `since`).
    last: i64,
    /// Read, not yet handed out.
    pending: VecDeque<Change>,
    /// Whether the log had more than the last page held.
    more: bool,
    nudges: Nudges,
    ended: bool,
}

impl Following {
    async fn next(mut self) -> Option<(AppResult<Change>, Self)> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(change) = self.pending.pop_front() {
                self.last = change.change.revision;
                return Some((Ok(change), self));
            }
            if !self.more {
                self.nudges.next().await;
            }
            // Boxed: the read's future (sea-orm's statement futures are large) then exists only
            // while it runs, instead of sizing the state every idle subscriber keeps while it
            // waits for a nudge (bench scenario 8 measures memory per idle socket).
            match Box::pin(after(&self.app, self.owner, self.last, MAX_CHANGES_PAGE)).await {
                Ok(page) => {
                    self.more = page.has_more;
                    self.pending = page.changes.into();
                }
                Err(err) => {
                    // The subscriber resumes with `since` = the last change it got.
                    self.ended = true;
                    return Some((Err(err), self));
                }
            }
        }
    }
}

/// The todos and trash entries the changes show: at most two statements, none when no change
/// needs one.
async fn with_payloads(
    app: &AppState,
    owner: Uuid,
    rows: Vec<todo_change::Model>,
) -> AppResult<Vec<Change>> {
    let ids_of = |kinds: &[TodoChangeKind]| -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = rows
            .iter()
            .filter(|row| kinds.contains(&row.kind))
            .map(|row| row.todo_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let live_ids = ids_of(&[
        TodoChangeKind::Created,
        TodoChangeKind::Updated,
        TodoChangeKind::Restored,
    ]);
    let deleted_ids = ids_of(&[TodoChangeKind::Deleted]);
    let mut todos = HashMap::new();
    if !live_ids.is_empty() {
        for todo in todo::Entity::find()
            .filter(todo::Column::UserId.eq(owner))
            .filter(todo::Column::Id.is_in(live_ids))
            .all(app.db())
            .await?
        {
            todos.insert(todo.id, todo);
        }
    }
    let mut entries = HashMap::new();
    if !deleted_ids.is_empty() {
        // As deletedTodos shows them: not older than the trash's 30 days.
        for entry in deleted_todo_log::Entity::find()
            .filter(deleted_todo_log::Column::UserId.eq(owner))
            .filter(deleted_todo_log::Column::OriginalTodoId.is_in(deleted_ids))
            .filter(deleted_todo_log::Column::DeletedAt.gt(app.now() - trash::retention()))
            .all(app.db())
            .await?
        {
            entries.insert(entry.original_todo_id, entry);
        }
    }
    Ok(rows
        .into_iter()
        .map(|change| {
            let (todo, deleted_todo) = match change.kind {
                TodoChangeKind::Created | TodoChangeKind::Updated | TodoChangeKind::Restored => {
                    (todos.get(&change.todo_id).cloned(), None)
                }
                TodoChangeKind::Deleted => (None, entries.get(&change.todo_id).cloned()),
                TodoChangeKind::Purged => (None, None),
            };
            Change {
                change,
                todo,
                deleted_todo,
            }
        })
        .collect())
}
