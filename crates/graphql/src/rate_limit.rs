//! Fixed-window rate limits whose counters live in the database, so that they hold across
//! every instance behind a load balancer.

use crate::error::{AppError, AppResult};
use crate::settings::Limit;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use todoql_entity::rate_limit_counter::{self, Column, Entity as Counter};

/// Fails with RATE_LIMITED when any of `keys` has used up its limit in the current window.
pub async fn ensure_allowed<C: ConnectionTrait>(
    db: &C,
    keys: &[(&str, Limit)],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let names: Vec<&str> = keys.iter().map(|(key, _)| *key).collect();
    let counters = Counter::find()
        .filter(Column::Key.is_in(names))
        .all(db)
        .await?;
    let mut retry_after: Option<i64> = None;
    for counter in counters {
        let Some((_, limit)) = keys.iter().find(|(key, _)| *key == counter.key) else {
            continue;
        };
        if let Some(wait) = seconds_until_allowed(&counter, *limit, now) {
            retry_after = Some(retry_after.map_or(wait, |w| std::cmp::max(w, wait)));
        }
    }
    match retry_after {
        Some(secs) => {
            metrics::counter!("todoql_rate_limited_total").increment(1);
            Err(AppError::RateLimited {
                retry_after_secs: std::cmp::max(secs, 1) as u64,
            })
        }
        None => Ok(()),
    }
}

fn seconds_until_allowed(
    counter: &rate_limit_counter::Model,
    limit: Limit,
    now: DateTime<Utc>,
) -> Option<i64> {
    let window_end = counter.window_start + limit.window;
    (window_end > now && counter.count >= limit.max as i32)
        .then(|| (window_end - now).num_milliseconds().div_euclid(1000) + 1)
}

/// Counts one event against `key`, starting a new window when the current one is over.
/// One upsert statement, atomic under concurrency on both databases.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    key: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let window_over = Expr::col((Counter, Column::WindowStart)).lte(now - limit.window);
    let insert = Query::insert()
        .into_table(Counter)
        .columns([Column::Key, Column::WindowStart, Column::Count])
        .values_panic([key.into(), now.into(), 1.into()])
        .on_conflict(
            OnConflict::column(Column::Key)
                .value(
                    Column::Count,
                    Expr::case(window_over.clone(), 1)
                        .finally(Expr::col((Counter, Column::Count)).add(1)),
                )
                .value(
                    Column::WindowStart,
                    Expr::case(window_over, now).finally(Expr::col((Counter, Column::WindowStart))),
                )
                .to_owned(),
        )
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}

/// Removes counters whose window ended before `cutoff` (purge).
pub async fn purge<C: ConnectionTrait>(db: &C, cutoff: DateTime<Utc>) -> AppResult<u64> {
    let deleted = Counter::delete_many()
        .filter(Column::WindowStart.lt(cutoff))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}
