//! Background tasks of every instance: the periodic purge, the outbox sender, the metrics
//! upkeep, the sweep of the subscription sockets and (PostgreSQL) the change listener. They
//! stop when the server stops.

use crate::config::Config;
use crate::http::live::sockets::{Sockets, sweep_loop};
use change_listener::change_listener_loop;
use mail_sender::{MAIL_POOL_SIZE, mail_loop};
use metrics_upkeep::metrics_upkeep_loop;
use purge::purge_loop;
use std::sync::Arc;
use todoql_domain::AppState;
use tokio::sync::watch;
use tokio::task::JoinHandle;

mod change_listener;
mod mail_sender;
mod metrics_upkeep;
mod purge;

pub use mail_sender::MAIL_POLL_INTERVAL;
pub use purge::run_purge;

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
    sockets: Arc<Sockets>,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<Background> {
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(sweep_loop(
        sockets,
        state.clone(),
        stopped.clone(),
    )));
    if let Some(url) = change_listener::listen_url(config) {
        tasks.push(tokio::spawn(change_listener_loop(
            state.clone(),
            url,
            stopped.clone(),
        )));
    }
    let mailer = config.mail.mailer()?;
    tasks.push(tokio::spawn(mail_loop(
        state.clone(),
        config.database.with_pool_size(MAIL_POOL_SIZE),
        mailer,
        config.mail.retry_policy(),
        stopped.clone(),
    )));
    tasks.push(tokio::spawn(metrics_upkeep_loop(stopped.clone())));
    if let Some(every) = config.maintenance.purge_every() {
        tasks.push(tokio::spawn(purge_loop(state, every, stopped)));
    }
    Ok(Background { tasks })
}
