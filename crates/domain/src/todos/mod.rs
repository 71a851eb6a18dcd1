//! Todos: the rules of creating, changing and listing one user's todos, and the trash.
//!
//! - A title is trimmed and has 1 to 255 characters; a description at most 1000; a due date,
//!   when set, is in the future.
//! - A title is unique among the owner's incomplete todos. The partial unique index
//!   `ux_todos_user_id_title` enforces it (so it holds under concurrency) and its violation is
//!   CONFLICT, on create, update, reopening and restore alike.
//! - Another user's todo is indistinguishable from a missing one: every lookup filters by owner.
//! - completedAt is set when a todo is completed and cleared when it is reopened; updatedAt
//!   moves forward on every change.

pub mod change_log;
pub mod changes;
pub mod live;
pub mod row;
pub mod trash;
pub mod trash_purge;

use crate::auth::sessions;
use crate::auth::viewer::Viewer;
use crate::error::{AppError, AppResult};
use crate::paging::cursor::{Cursor, KeyValue, Ordering, SortKey};
use crate::paging::page::{Keyset, Page, PageRequest};
use crate::patch::Patch;
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult,
    IntoActiveModel, QueryFilter, QuerySelect, Set,
};
use secrecy::SecretString;
use todoql_entity::todo::{self, Column};
use todoql_entity::todo_change::TodoChangeKind;
use uuid::Uuid;

/// Longest title, in characters (after trimming).
pub const MAX_TITLE_CHARS: usize = 255;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

const DUPLICATE_TITLE: &str = "You already have an incomplete todo with this title.";

/// NOT_FOUND for a todo that does not exist or belongs to someone else.
pub(crate) fn not_found() -> AppError {
    AppError::NotFound("No such todo.".into())
}

/// The trimmed title, or BAD_USER_INPUT on `title`.
pub fn validate_title(title: &str) -> AppResult<String> {
    let title = title.trim();
    if title.is_empty() {
        return Err(AppError::bad_input("title", "The title must not be empty."));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(AppError::bad_input(
            "title",
            format!("The title must be at most {MAX_TITLE_CHARS} characters."),
        ));
    }
    Ok(title.to_owned())
}

/// The description, or BAD_USER_INPUT on `description` when it is too long.
pub fn validate_description(description: String) -> AppResult<String> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(AppError::bad_input(
            "description",
            format!("The description must be at most {MAX_DESCRIPTION_CHARS} characters."),
        ));
    }
    Ok(description)
}

/// The due date, or BAD_USER_INPUT on `dueDate` when it is not in the future.
pub fn validate_due_date(due: DateTime<Utc>, now: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    if due <= now {
        return Err(AppError::bad_input(
            "dueDate",
            "The due date must be in the future.",
        ));
    }
    Ok(due)
}

/// What createTodo asks for.
#[derive(Debug, Clone)]
pub struct NewTodo {
    /// Trimmed; 1 to 255 characters.
    pub title: String,
    /// At most 1000 characters.
    pub description: Option<String>,
    /// In the future.
    pub due_date: Option<DateTime<Utc>>,
}

/// What updateTodo asks to change: absent fields stay, null clears description or due date.
#[derive(Debug, Clone, Default)]
pub struct TodoChanges {
    /// A new title (null is refused).
    pub title: Patch<String>,
    /// A new description, or null to clear it.
    pub description: Patch<String>,
    /// A new due date, or null to clear it.
    pub due_date: Patch<DateTime<Utc>>,
    /// Complete or reopen (null is refused).
    pub is_completed: Patch<bool>,
}

/// Creates a todo for `owner` from their `session` (recorded as CREATED). CONFLICT when an
/// incomplete todo of theirs has the same title.
pub async fn create(
    app: &AppState,
    owner: Uuid,
    session: Uuid,
    input: NewTodo,
) -> AppResult<todo::Model> {
    let now = app.now();
    let title = validate_title(&input.title)?;
    let description = input.description.map(validate_description).transpose()?;
    let due_date = input
        .due_date
        .map(|due| validate_due_date(due, now))
        .transpose()?;
    let id = Uuid::now_v7();
    let new_todo = todo::ActiveModel {
        id: Set(id),
        user_id: Set(owner),
        title: Set(title),
        description: Set(description),
        due_date: Set(due_date),
        is_completed: Set(false),
        completed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    if app.db().get_database_backend() == DatabaseBackend::Postgres {
        // One statement: the revision, the log row and the todo (see `insert_logged_todo`).
        let statement = changes::insert_logged_todo(
            app.on(app.db()),
            new_todo,
            TodoChangeKind::Created,
            Some(session),
        )?;
        // The partial unique index decides between concurrent creations.
        let row = app
            .db()
            .query_one_raw(statement)
            .await
            .map_err(|err| AppError::conflict_on_unique(err, DUPLICATE_TITLE))?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("no user {owner} to create for")))?;
        return Ok(todo::Model::from_query_result(&row, "")?);
    }
    // SQLite cannot write inside a WITH: one transaction, the revision first.
    let txn = crate::db::begin_write(app.db()).await?;
    changes::record(
        app.on(&txn),
        owner,
        TodoChangeKind::Created,
        id,
        Some(session),
    )
    .await?;
    // The partial unique index decides between concurrent creations.
    let created = new_todo
        .insert(&txn)
        .await
        .map_err(|err| AppError::conflict_on_unique(err, DUPLICATE_TITLE))?;
    txn.commit().await?;
    changes::announce(app, owner);
    Ok(created)
}

/// The todo `id` when it belongs to `owner`.
pub async fn find(app: &AppState, owner: Uuid, id: Uuid) -> AppResult<Option<todo::Model>> {
    Ok(todo::Entity::find_by_id(id)
        .filter(Column::UserId.eq(owner))
        .one(app.db())
        .await?)
}

/// Applies `changes` to `owner`'s todo `id`. NOT_FOUND for anyone else's; CONFLICT when the
/// (new) title of a (re)opened todo is taken by another incomplete todo. A request that changes
/// nothing writes nothing.
pub async fn update(
    app: &AppState,
    owner: Uuid,
    session: Uuid,
    id: Uuid,
    changes: TodoChanges,
) -> AppResult<todo::Model> {
    let now = app.now();
    let title = match changes.title {
        Patch::Keep => None,
        Patch::Clear => {
            return Err(AppError::bad_input("title", "The title cannot be null."));
        }
        Patch::Set(title) => Some(validate_title(&title)?),
    };
    let description = match changes.description {
        Patch::Keep => None,
        Patch::Clear => Some(None),
        Patch::Set(text) => Some(Some(validate_description(text)?)),
    };
    let due_date = match changes.due_date {
        Patch::Keep => None,
        Patch::Clear => Some(None),
        Patch::Set(due) => Some(Some(validate_due_date(due, now)?)),
    };
    let is_completed = match changes.is_completed {
        Patch::Keep => None,
        Patch::Clear => {
            return Err(AppError::bad_input(
                "isCompleted",
                "isCompleted cannot be null.",
            ));
        }
        Patch::Set(done) => Some(done),
    };

    let txn = crate::db::begin_write(app.db()).await?;
    // The revision first (the log's lock order); a no-op or a failure rolls it back.
    changes::record(
        app.on(&txn),
        owner,
        TodoChangeKind::Updated,
        id,
        Some(session),
    )
    .await?;
    // FOR UPDATE on PostgreSQL; SQLite's write transaction already excludes other writers.
    let current = todo::Entity::find_by_id(id)
        .filter(Column::UserId.eq(owner))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(not_found)?;

    // Strictly later than the last change, even if two changes fall in the same microsecond
    // or the clocks of two instances disagree.
    let changed_at = std::cmp::max(now, current.updated_at + Duration::microseconds(1));
    let mut changed = current.clone().into_active_model();
    if let Some(title) = title.filter(|t| *t != current.title) {
        changed.title = Set(title);
    }
    if let Some(description) = description.filter(|d| *d != current.description) {
        changed.description = Set(description);
    }
    if let Some(due_date) = due_date.filter(|d| *d != current.due_date) {
        changed.due_date = Set(due_date);
    }
    if let Some(done) = is_completed.filter(|d| *d != current.is_completed) {
        changed.is_completed = Set(done);
        changed.completed_at = Set(done.then_some(changed_at));
    }
    if !changed.is_changed() {
        // Nothing changed: no revision either.
        txn.rollback().await?;
        return Ok(current);
    }
    changed.updated_at = Set(changed_at);
    let updated = changed
        .update(&txn)
        .await
        .map_err(|err| AppError::conflict_on_unique(err, DUPLICATE_TITLE))?;
    txn.commit().await?;
    changes::announce(app, owner);
    Ok(updated)
}

/// What the todo list may be filtered by.
#[derive(Debug, Clone, Default)]
pub struct TodoFilter {
    /// Only completed (true) or incomplete (false) todos.
    pub is_completed: Option<bool>,
    /// Due strictly before this instant (todos without a due date are left out).
    pub due_before: Option<DateTime<Utc>>,
    /// Due strictly after this instant (todos without a due date are left out).
    pub due_after: Option<DateTime<Utc>>,
    /// Case-insensitive substring of the title or the description; `%` and `_` are literal.
    pub search: Option<String>,
}

/// Longest search text, in characters.
pub const MAX_SEARCH_CHARS: usize = 255;

/// `text` as a LIKE pattern matching it anywhere, with `\` as the escape character.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl TodoFilter {
    /// Checks the search text (BAD_USER_INPUT on `search` when too long).
    pub fn validate(&self) -> AppResult<()> {
        if let Some(search) = &self.search
            && search.chars().count() > MAX_SEARCH_CHARS
        {
            return Err(AppError::bad_input(
                "search",
                format!("The search text must be at most {MAX_SEARCH_CHARS} characters."),
            ));
        }
        Ok(())
    }

    fn condition(&self, owner: Uuid, backend: DatabaseBackend) -> Condition {
        let mut condition = Condition::all().add(Column::UserId.eq(owner));
        if let Some(done) = self.is_completed {
            condition = condition.add(Column::IsCompleted.eq(done));
        }
        if let Some(before) = self.due_before {
            condition = condition.add(Column::DueDate.lt(before));
        }
        if let Some(after) = self.due_after {
            condition = condition.add(Column::DueDate.gt(after));
        }
        if let Some(search) = self.search.as_deref().filter(|s| !s.is_empty()) {
            let pattern = contains_pattern(search);
            // ILIKE on PostgreSQL; SQLite's LIKE ignores case (for ASCII letters) by itself.
            // (sea-query's `ilike` puts ESCAPE inside parentheses, which PostgreSQL refuses.)
            let matches = |column: Column| match backend {
                DatabaseBackend::Postgres => Expr::cust_with_exprs(
                    "$1 ILIKE $2 ESCAPE '\\'",
                    [Expr::col(column), Expr::val(pattern.clone())],
                ),
                _ => Expr::col(column).like(LikeExpr::new(pattern.clone()).escape('\\')),
            };
            condition = condition.add(
                Condition::any()
                    .add(matches(Column::Title))
                    .add(matches(Column::Description)),
            );
        }
        condition
    }
}

fn todo_cursor(model: &todo::Model, ordering: Ordering) -> Cursor {
    let key = match ordering.key {
        SortKey::CreatedAt => KeyValue::Time(model.created_at),
        SortKey::UpdatedAt => KeyValue::Time(model.updated_at),
        SortKey::DueDate => model.due_date.map_or(KeyValue::Missing, KeyValue::Time),
        SortKey::Title => KeyValue::Text(model.title.clone()),
        // Not an ordering of todos; `list` refuses it before any row is read.
        SortKey::DeletedAt => KeyValue::Missing,
    };
    Cursor {
        ordering,
        key,
        id: model.id,
    }
}

fn keyset(
    owner: Uuid,
    filter: &TodoFilter,
    key: SortKey,
    backend: DatabaseBackend,
) -> Keyset<todo::Entity> {
    Keyset {
        filter: filter.condition(owner, backend),
        key: match key {
            SortKey::CreatedAt | SortKey::DeletedAt => Column::CreatedAt,
            SortKey::UpdatedAt => Column::UpdatedAt,
            SortKey::DueDate => Column::DueDate,
            SortKey::Title => Column::Title,
        },
        id: Column::Id,
        cursor_of: todo_cursor,
        decode: row::todo_from_row,
        revision: None,
    }
}

/// One page of `owner`'s todos matching `filter`; the total count too when `with_count`, and
/// the user's change revision when `with_revision` (still one statement, so the revision is
/// the one the page was read at).
pub async fn list(
    app: &AppState,
    owner: Uuid,
    filter: &TodoFilter,
    request: &PageRequest,
    with_count: bool,
    with_revision: bool,
) -> AppResult<Page<todo::Model>> {
    check_list(filter, request)?;
    list_keyset(app, owner, filter, request, with_revision)
        .fetch(app.db(), request, with_count)
        .await
}

/// BAD_USER_INPUT when `filter` or `request` cannot list todos (before any row is read).
pub fn check_list(filter: &TodoFilter, request: &PageRequest) -> AppResult<()> {
    filter.validate()?;
    if request.ordering.key == SortKey::DeletedAt {
        return Err(AppError::bad_input(
            "orderBy",
            "Todos cannot be ordered by deletion.",
        ));
    }
    Ok(())
}

fn list_keyset(
    app: &AppState,
    owner: Uuid,
    filter: &TodoFilter,
    request: &PageRequest,
    with_revision: bool,
) -> Keyset<todo::Entity> {
    let backend = app.db().get_database_backend();
    let mut keyset = keyset(owner, filter, request.ordering.key, backend);
    if with_revision {
        keyset.revision = Some(changes::revision_statement(owner));
    }
    keyset
}

/// [`list`] for the bearer of an access token, whose session is checked by the page's own
/// statement ([`page_for_token`]; issue 19: at most two round trips per list request, the
/// pool's return ping included). `None` when the token is invalid or expired, or its session
/// or user is no longer live.
pub async fn list_for_token(
    app: &AppState,
    token: Option<&SecretString>,
    filter: &TodoFilter,
    request: &PageRequest,
    with_count: bool,
    with_revision: bool,
) -> AppResult<Option<(Viewer, Page<todo::Model>)>> {
    check_list(filter, request)?;
    page_for_token(app, token, request, with_count, |owner| {
        list_keyset(app, owner, filter, request, with_revision)
    })
    .await
}

/// A page of the token bearer's own list (`keyset_of` their id), read behind the session
/// check ([`sessions::live_viewer_gate`]): one statement on one connection answers both who
/// calls and their page. Revocation stays immediate: the session is read by that statement.
/// `None` when the token is invalid or expired, or its session or user is no longer live; no
/// statement runs for a bad token.
pub(crate) async fn page_for_token<E: EntityTrait>(
    app: &AppState,
    token: Option<&SecretString>,
    request: &PageRequest,
    with_count: bool,
    keyset_of: impl FnOnce(Uuid) -> Keyset<E>,
) -> AppResult<Option<(Viewer, Page<E::Model>)>> {
    let Some(claims) = sessions::access_claims(app, token) else {
        return Ok(None);
    };
    let gate = sessions::live_viewer_gate(claims.sub, claims.sid, app.now());
    let Some(gated) = keyset_of(claims.sub)
        .fetch_gated(app.db(), request, with_count, gate)
        .await?
    else {
        return Ok(None);
    };
    let viewer = sessions::viewer_from_row(&gated.gate, gated.at)?;
    Ok(Some((viewer, gated.page)))
}

/// How many of `owner`'s todos match `filter`.
pub async fn count(app: &AppState, owner: Uuid, filter: &TodoFilter) -> AppResult<u64> {
    filter.validate()?;
    let backend = app.db().get_database_backend();
    keyset(owner, filter, SortKey::CreatedAt, backend)
        .count(app.db())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_counted_in_characters() {
        assert_eq!(validate_title("  milk \n").unwrap(), "milk");
        assert!(validate_title(" \t ").is_err());
        assert!(validate_title(&"é".repeat(255)).is_ok());
        assert!(validate_title(&"é".repeat(256)).is_err());
    }

    #[test]
    fn search_wildcards_are_escaped() {
        assert_eq!(contains_pattern(r"50%_a\b"), r"%50\%\_a\\b%");
    }
}
