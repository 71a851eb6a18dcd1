//! Sending what is due: claiming rows, running jobs, delivering, retrying with backoff.

use crate::error::AppResult;
use crate::mail::jobs::MailJobs;
use crate::mail::transport::{OutgoingMail, Transport};
use crate::state::Ctx;
use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveEnum;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use todoql_entity::email_outbox::{Column, Entity as Outbox};
use uuid::Uuid;
/// How long a claimed row stays reserved for its sender (well above the SMTP timeout).
pub const LEASE: Duration = Duration::minutes(2);
/// Longest `last_error` kept.
const MAX_ERROR_CHARS: usize = 500;

/// How the sender retries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Delay after the first failure; doubled after each further one.
    pub base: Duration,
    /// Longest delay between two attempts.
    pub max_delay: Duration,
    /// Attempts before giving up (at least 1).
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// The documented defaults: 10 s after the first failure, doubling up to an hour apart,
    /// 10 attempts. The server's options change the first delay and the attempts.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        base: Duration::seconds(10),
        max_delay: Duration::hours(1),
        max_attempts: 10,
    };
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl RetryPolicy {
    /// The wait after the `failures`-th failure (1-based): base, 2·base, 4·base, ... capped.
    pub fn delay_after(&self, failures: u32) -> Duration {
        let factor = 1i64 << std::cmp::min(failures.saturating_sub(1), 30);
        let delay = self
            .base
            .checked_mul(factor as i32)
            .unwrap_or(self.max_delay);
        std::cmp::min(delay, self.max_delay)
    }
}

/// What one pass of the sender did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Mails delivered (and deleted).
    pub sent: u64,
    /// Mails that failed and will be tried again.
    pub retried: u64,
    /// Mails given up on (and deleted).
    pub failed: u64,
    /// Jobs that turned out to need no mail (e.g. a reset for an address without account).
    pub dropped: u64,
}

impl DeliveryReport {
    /// Whether the pass handled any mail.
    pub fn is_empty(&self) -> bool {
        self.sent + self.retried + self.failed + self.dropped == 0
    }
}

/// Claims up to `batch` due mails and tries each once, through `db` (the server gives the
/// sender a pool of its own, so that background work never queues behind requests) with the
/// time of `app`'s clock. Safe to run from several instances at once: each mail is claimed by
/// one sender only.
pub async fn deliver_due(
    cx: Ctx<'_, DatabaseConnection>,
    transport: &dyn Transport,
    policy: &RetryPolicy,
    jobs: &MailJobs,
    batch: u64,
) -> AppResult<DeliveryReport> {
    let now = cx.now();
    let candidates: Vec<Uuid> = Outbox::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::NextAttemptAt.lte(now))
        .filter(unlocked(now))
        .order_by_asc(Column::NextAttemptAt)
        .order_by_asc(Column::Id)
        .limit(batch)
        .into_tuple()
        .all(cx.db())
        .await?;
    let mut report = DeliveryReport::default();
    for id in candidates {
        let Some(mut mail) = claim(cx, id).await? else {
            continue; // another sender took it
        };
        if let Some(prepare) = jobs.handler(mail.kind) {
            match prepare(cx, &mail).await? {
                Some(prepared) => mail = prepared,
                None => {
                    report.dropped += 1;
                    continue;
                }
            }
        }
        match transport.send(&mail).await {
            Ok(()) => {
                Outbox::delete_by_id(id).exec(cx.db()).await?;
                metrics::counter!("todoql_mails_sent_total", "kind" => mail.kind.to_value())
                    .increment(1);
                tracing::info!(outbox_id = %id, kind = %mail.kind.to_value(), "mail sent");
                report.sent += 1;
            }
            Err(err) => {
                if failed(cx, &mail, err, policy).await? {
                    report.failed += 1;
                } else {
                    report.retried += 1;
                }
            }
        }
    }
    Ok(report)
}

fn unlocked(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(Column::LockedUntil.is_null())
        .add(Column::LockedUntil.lt(now))
}

/// Takes the row for this sender; `None` when another sender holds it or it is gone.
async fn claim<C: ConnectionTrait>(cx: Ctx<'_, C>, id: Uuid) -> AppResult<Option<OutgoingMail>> {
    let now = cx.now();
    let claimed = Outbox::update_many()
        .col_expr(Column::LockedUntil, Expr::value(now + LEASE))
        .filter(Column::Id.eq(id))
        .filter(Column::NextAttemptAt.lte(now))
        .filter(unlocked(now))
        .exec(cx.db())
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(None);
    }
    Ok(Outbox::find_by_id(id)
        .one(cx.db())
        .await?
        .map(|row| OutgoingMail {
            id: row.id,
            to: row.to,
            subject: row.subject,
            text: row.text,
            html: row.html,
            kind: row.kind,
        }))
}

/// Records a failed attempt; true when the mail was given up (and deleted).
async fn failed<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    mail: &OutgoingMail,
    err: crate::mail::transport::SendError,
    policy: &RetryPolicy,
) -> AppResult<bool> {
    let now = cx.now();
    let row = Outbox::find_by_id(mail.id).one(cx.db()).await?;
    let attempts = row.map_or(1, |r| r.attempts + 1);
    let error: String = err.message.chars().take(MAX_ERROR_CHARS).collect();
    if err.permanent || attempts as u32 >= policy.max_attempts {
        Outbox::delete_by_id(mail.id).exec(cx.db()).await?;
        metrics::counter!("todoql_mails_failed_total", "kind" => mail.kind.to_value()).increment(1);
        tracing::error!(
            outbox_id = %mail.id,
            kind = %mail.kind.to_value(),
            attempts,
            error = %error,
            "giving up on a mail; it is deleted (its code or link stays valid until it expires)"
        );
        return Ok(true);
    }
    let next = now + policy.delay_after(attempts as u32);
    Outbox::update_many()
        .col_expr(Column::Attempts, Expr::value(attempts))
        .col_expr(Column::LastError, Expr::value(error.clone()))
        .col_expr(Column::NextAttemptAt, Expr::value(next))
        .col_expr(
            Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::Id.eq(mail.id))
        .exec(cx.db())
        .await?;
    metrics::counter!("todoql_mails_retried_total", "kind" => mail.kind.to_value()).increment(1);
    if err.unencrypted {
        // Not an outage that passes: a relay without TLS or an attack on the path.
        tracing::error!(
            outbox_id = %mail.id,
            kind = %mail.kind.to_value(),
            attempts,
            retry_at = %next,
            error = %error,
            "mail not delivered: the SMTP connection could not be encrypted; will retry"
        );
    } else {
        tracing::warn!(
            outbox_id = %mail.id,
            kind = %mail.kind.to_value(),
            attempts,
            retry_at = %next,
            error = %error,
            "mail not delivered; will retry"
        );
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            base: Duration::seconds(10),
            max_delay: Duration::minutes(1),
            max_attempts: 5,
        };
        let delays: Vec<i64> = (1..=6)
            .map(|n| policy.delay_after(n).num_seconds())
            .collect();
        assert_eq!(delays, vec![10, 20, 40, 60, 60, 60]);
        assert_eq!(policy.delay_after(1000).num_seconds(), 60);
    }
}
