//! Background tasks of every instance: the periodic purge (and, with mail, the outbox sender).
//! They stop when the server stops.

use crate::config::Config;
use std::time::Duration;
use todoql_graphql::AppState;
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
pub fn spawn(state: AppState, config: &Config, stopped: watch::Receiver<bool>) -> Background {
    let mut tasks = Vec::new();
    if !config.purge_interval.is_zero() {
        tasks.push(tokio::spawn(purge_loop(
            state,
            config.purge_interval,
            stopped,
        )));
    }
    Background { tasks }
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
    match todoql_graphql::maintenance::purge(state).await {
        Ok(report) => tracing::info!(?report, "purge done"),
        Err(err) => tracing::error!(error = ?err, "purge failed"),
    }
}
