//! Background tasks of every instance: the periodic purge, the outbox sender and the metrics
//! upkeep. They stop when the server stops.

use crate::config::Config;
use std::time::Duration;
use todoql_domain::AppState;
use todoql_domain::mail::outbox::{self, RetryPolicy};
use todoql_domain::mail::transport::{self, Mailer};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The running background tasks.
pub struct Background {
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// Waits for every task to notice the stop signal and end.
    pub async fn stop(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Starts the background tasks; they end when `stopped` turns true.
pub fn spawn(
    state: AppState,
    config: &Config,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<Background> {
    let mut tasks = Vec::new();
    let mailer = transport::from_config(config.smtp_url.as_deref(), &config.mail_from)
        .map_err(|e| anyhow::anyhow!("TODOQL_SMTP_URL / TODOQL_MAIL_FROM: {e}"))?;
    if config.smtp_url.is_some() {
        tracing::info!("{}", mailer.describe());
    } else {
        tracing::warn!("{}", mailer.describe());
    }
    let policy = RetryPolicy {
        base: chrono::Duration::from_std(config.mail_retry_base)
            .unwrap_or(chrono::Duration::seconds(10)),
        max_delay: chrono::Duration::hours(1),
        max_attempts: config.mail_max_attempts,
    };
    tasks.push(tokio::spawn(mail_loop(
        state.clone(),
        config.clone(),
        mailer,
        policy,
        stopped.clone(),
    )));
    tasks.push(tokio::spawn(metrics_upkeep_loop(stopped.clone())));
    if !config.purge_interval.is_zero() {
        tasks.push(tokio::spawn(purge_loop(
            state,
            config.purge_interval,
            stopped,
        )));
    }
    Ok(Background { tasks })
}

/// How often the metrics recorder folds recorded latencies into its histograms.
const METRICS_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The Prometheus recorder keeps every latency sample recorded since it last folded them into
/// its histogram buckets, which it does only when asked: on a scrape of /metrics or an upkeep.
/// A server nobody scrapes would keep 8 bytes per request for ever (measured: RSS grew by
/// that under load, see bench/RESULTS.md); the upkeep bounds it to a few seconds of requests,
/// as the exporter's own HTTP listener would (it runs the same upkeep every 5 s).
async fn metrics_upkeep_loop(mut stopped: watch::Receiver<bool>) {
    let handle = crate::metrics::handle();
    let mut ticker = tokio::time::interval(METRICS_UPKEEP_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => handle.run_upkeep(),
            () = stop_requested(&mut stopped) => return,
        }
    }
}

/// How often the sender looks for due mails (retries, mails queued by other instances) when
/// nothing wakes it earlier.
pub const MAIL_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Mails claimed per pass.
const MAIL_BATCH: u64 = 20;

/// Connections of the sender's own pool.
const MAIL_POOL_SIZE: u32 = 2;

/// The outbox sender: delivers every due mail, then sleeps until a mail is queued on this
/// instance, the poll interval passes, or the server stops. It talks to the database through a
/// small pool of its own, so that it never takes a connection a request is waiting for (and
/// request-level statement counts stay exact).
async fn mail_loop(
    state: AppState,
    config: Config,
    mailer: Mailer,
    policy: RetryPolicy,
    mut stopped: watch::Receiver<bool>,
) {
    let mut pool_config = config;
    pool_config.db_max_connections = MAIL_POOL_SIZE;
    let db = loop {
        match crate::db::connect(&pool_config).await {
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
            let pass = outbox::deliver_due(db, state, mailer.as_ref(), &policy, &jobs, MAIL_BATCH);
            let result = tokio::select! {
                result = pass => result,
                () = stop_requested(stopped) => return,
            };
            match result {
                Ok(report) if report.is_empty() => break,
                Ok(_) => {}
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

/// Completes once the stop signal is (or already was) raised, or its sender is gone.
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    while !*stopped.borrow_and_update() {
        if stopped.changed().await.is_err() {
            return;
        }
    }
}

async fn purge_loop(state: AppState, every: Duration, mut stopped: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => run_purge(&state).await,
            changed = stopped.changed() => {
                if changed.is_err() || *stopped.borrow() {
                    return;
                }
            }
        }
    }
}

/// One purge pass, logged.
pub async fn run_purge(state: &AppState) {
    match todoql_domain::maintenance::purge(state).await {
        Ok(report) => tracing::info!(?report, "purge done"),
        Err(err) => tracing::error!(error = ?err, "purge failed"),
    }
}
