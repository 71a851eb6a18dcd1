//! The trash's 30-day purge, recorded in the change log: one PURGED per entry, as the next
//! revisions of its user.
//!
//! One transaction per user with old entries, in the log's lock order (the user's row, then
//! the entries). Several instances may run it at once: an entry goes to whichever deletes it
//! first, and only that one records it.

use crate::error::AppResult;
use crate::state::AppState;
use crate::todos::{changes, trash};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use todoql_entity::deleted_todo_log::{self, Column};
use uuid::Uuid;

/// Removes the trash entries older than 30 days; how many.
pub async fn purge(app: &AppState) -> AppResult<u64> {
    // `lte`: exactly what deletedTodos and restoreTodo no longer show (`deleted_at > cutoff`).
    let cutoff = app.now() - trash::retention();
    let owners: Vec<Uuid> = deleted_todo_log::Entity::find()
        .select_only()
        .column(Column::UserId)
        .distinct()
        .filter(Column::DeletedAt.lte(cutoff))
        .into_tuple()
        .all(app.db())
        .await?;
    let mut purged = 0;
    for owner in owners {
        let txn = crate::db::begin_write(app.db()).await?;
        let cx = app.on(&txn);
        changes::lock_log(cx, owner).await?;
        let mut gone: Vec<Uuid> = deleted_todo_log::Entity::delete_many()
            .filter(Column::UserId.eq(owner))
            .filter(Column::DeletedAt.lte(cutoff))
            .exec_with_returning(&txn)
            .await?
            .into_iter()
            .map(|entry| entry.original_todo_id)
            .collect();
        gone.sort_unstable();
        changes::record_purged(cx, owner, &gone).await?;
        txn.commit().await?;
        changes::announce(app, owner);
        purged += gone.len() as u64;
    }
    Ok(purged)
}
