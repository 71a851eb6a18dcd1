//! The outbox sender: delivers queued mails, retries refused ones, and wakes when a mail is
//! queued on this instance.

use crate::config::DatabaseConfig;
use crate::shutdown::stop_requested;
use std::time::Duration;
use todoql_domain::AppState;
use todoql_domain::mail::outbox::{self, DeliveryReport, RetryPolicy};
use todoql_domain::mail::transport::Mailer;
use tokio::sync::watch;

/// How often the sender looks for due mails (retries, mails queued by other instances) when
/// nothing wakes it earlier.
pub const MAIL_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Mails claimed per pass.
const MAIL_BATCH: u64 = 20;

/// Connections of the sender's own pool.
pub const MAIL_POOL_SIZE: u32 = 2;

/// The outbox sender: delivers every due mail, then sleeps until a mail is queued on this
/// instance, the poll interval passes, or the server stops. It talks to the database through a
/// small pool of its own, so that it never takes a connection a request is waiting for (and
/// request-level statement counts stay exact).
pub async fn mail_loop(
    state: AppState,
    database: DatabaseConfig,
    mailer: Mailer,
    policy: RetryPolicy,
    mut stopped: watch::Receiver<bool>,
) {
    let db = loop {
        match crate::db::connect(&database).await {
            Ok(db) => break db,
            Err(err) => {
                tracing::error!(error = %err, "mail sender cannot reach the database; retrying")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
            () = stop_requested(&mut stopped) => return,
        }
    };
    deliver_until_stopped(&state, &db, mailer, policy, &mut stopped).await;
    db.close().await.ok();
}

async fn deliver_until_stopped(
    state: &AppState,
    db: &sea_orm::DatabaseConnection,
    mailer: Mailer,
    policy: RetryPolicy,
    stopped: &mut watch::Receiver<bool>,
) {
    let jobs = todoql_domain::auth::mail_jobs();
    loop {
        loop {
            // A stop interrupts a pass, even mid-SMTP (a hanging server must not hold the
            // shutdown): a claimed mail keeps its row and is sent again once its lease ends.
            let pass =
                outbox::deliver_due(state.on(db), mailer.as_ref(), &policy, &jobs, MAIL_BATCH);
            let result = tokio::select! {
                result = pass => result,
                () = stop_requested(stopped) => return,
            };
            match result {
                Ok(report) if report.is_empty() => break,
                Ok(report) => {
                    let DeliveryReport {
                        sent,
                        retried,
                        failed,
                        dropped,
                    } = report;
                    tracing::debug!(sent, retried, failed, dropped, "mail sender pass");
                }
                Err(err) => {
                    tracing::error!(error = ?err, "mail sender pass failed");
                    break;
                }
            }
        }
        tokio::select! {
            () = state.mail_queued().notified() => {}
            () = tokio::time::sleep(MAIL_POLL_INTERVAL) => {}
            () = stop_requested(stopped) => return,
        }
    }
}
