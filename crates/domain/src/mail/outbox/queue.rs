//! Putting mails in the outbox, inside the transaction of the change they carry, and the
//! per-address quota they count against.

use crate::error::{AppError, AppResult};
use crate::mail::messages::MailContent;
use crate::mail::transport::OutgoingMail;
use crate::rate_limit::{self, Key};
use crate::state::Ctx;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use todoql_entity::email_outbox::{self, Column, Entity as Outbox, MailKind};
use uuid::Uuid;

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
    let empty = MailContent {
        kind,
        subject: String::new(),
        text: String::new(),
        html: String::new(),
    };
    enqueue(db, now, to, empty).await
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
