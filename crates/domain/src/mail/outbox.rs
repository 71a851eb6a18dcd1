//! The durable outbox. A flow writes its mail with [`enqueue`] in the SAME transaction as the
//! code or token the mail carries, so a mail exists exactly when its code does. A sender task
//! ([`deliver_due`], looped by the server) delivers due mails.
//!
//! Claiming: a sender takes a row with one atomic `UPDATE ... SET locked_until = now + lease
//! WHERE id = ? AND (locked_until IS NULL OR locked_until < now)`; only one sender can win it,
//! on SQLite and PostgreSQL alike, and no transaction stays open while SMTP talks. A sent mail's
//! row is DELETED (its text holds a live code or link). A failure increments `attempts`, keeps
//! a secret-free `last_error` and sets `next_attempt_at` with exponential backoff; after
//! `max_attempts` the row is deleted too, with an error log. Delivery is at least once: a
//! sender that dies between the SMTP answer and the delete leaves the row to be sent again
//! once its lease ends.
//!
//! Jobs: a flow whose request must not reveal whether an account exists (password reset)
//! queues a row that names the address and holds no text ([`enqueue_job`]); the sender passes
//! it back to the function that flow registered for the kind ([`crate::mail::jobs`]), which
//! fills it with the mail and its token in one transaction, or deletes it. The request does
//! the same work either way.

use crate::error::{AppError, AppResult};
use crate::mail::jobs::MailJobs;
use crate::mail::messages::MailContent;
use crate::mail::transport::{OutgoingMail, Transport};
use crate::rate_limit::{self, Key};
use crate::state::Ctx;
use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveEnum;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use todoql_entity::email_outbox::{self, Column, Entity as Outbox, MailKind};
use uuid::Uuid;

/// How long a claimed row stays reserved for its sender (well above the SMTP timeout).
pub const LEASE: Duration = Duration::minutes(2);
/// Longest `last_error` kept.
const MAX_ERROR_CHARS: usize = 500;

/// Writes a mail to the outbox, due now. Call it inside the transaction that creates the code
/// or token the mail carries, and [`crate::mail::wake_sender`] after the commit.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    to: &str,
    content: MailContent,
) -> AppResult<()> {
    email_outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        to: Set(to.to_owned()),
        subject: Set(content.subject),
        text: Set(content.text),
        html: Set(content.html),
        kind: Set(content.kind),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        sent_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Writes a job: a row that names a recipient and a `kind` but holds no text yet. The sender
/// hands it to the flow that owns the kind, which fills it in (or drops it) at claim time.
pub async fn enqueue_job<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    to: &str,
    kind: MailKind,
) -> AppResult<()> {
    email_outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        to: Set(to.to_owned()),
        subject: Set(String::new()),
        text: Set(String::new()),
        html: Set(String::new()),
        kind: Set(kind),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        sent_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Fills a claimed job with its mail (the sender keeps its claim).
pub async fn fill_job<C: ConnectionTrait>(
    db: &C,
    job: &OutgoingMail,
    content: MailContent,
) -> AppResult<OutgoingMail> {
    Outbox::update_many()
        .col_expr(Column::Subject, Expr::value(content.subject.clone()))
        .col_expr(Column::Text, Expr::value(content.text.clone()))
        .col_expr(Column::Html, Expr::value(content.html.clone()))
        .col_expr(Column::Kind, Expr::value(content.kind))
        .filter(Column::Id.eq(job.id))
        .exec(db)
        .await?;
    Ok(OutgoingMail {
        id: job.id,
        to: job.to.clone(),
        subject: content.subject,
        text: content.text,
        html: content.html,
        kind: content.kind,
    })
}

/// Counts one mail against the per-address limit, inside the caller's write transaction.
/// `Err(retry_after_secs)` when the address has had its share this window; then nothing is
/// counted (only mails really queued count). Count, then check, in one statement; on
/// PostgreSQL the counter row stays locked until the transaction ends, so a mail that is
/// counted but then not queued (rolled back) never lets another one past the limit.
pub async fn reserve_quota<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    email: &str,
) -> AppResult<Result<(), u64>> {
    let keys = [Key::MailAddress(email)];
    match rate_limit::take(cx.db(), &cx.settings().rate_limits, &keys, cx.now()).await {
        Ok(taken) => {
            taken.keep();
            Ok(Ok(()))
        }
        Err(AppError::RateLimited { retry_after_secs }) => Ok(Err(retry_after_secs)),
        Err(other) => Err(other),
    }
}

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
