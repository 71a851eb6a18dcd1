//! The periodic purge: expired sessions, codes and tokens, old trash, old security events,
//! deleted users.

use crate::shutdown::stop_requested;
use std::time::Duration;
use todoql_domain::AppState;
use todoql_domain::maintenance::PurgeReport;
use tokio::sync::watch;

/// Runs a purge pass every `every` until the server stops.
pub async fn purge_loop(state: AppState, every: Duration, mut stopped: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => run_purge(&state).await,
            () = stop_requested(&mut stopped) => return,
        }
    }
}

/// One purge pass, logged with one field per count.
pub async fn run_purge(state: &AppState) {
    match todoql_domain::maintenance::purge(state).await {
        Ok(report) => log_report(report),
        Err(err) => tracing::error!(error = ?err, "purge failed"),
    }
}

fn log_report(report: PurgeReport) {
    // No `..`: a count added to the report does not compile until it is logged here too.
    let PurgeReport {
        deleted_todos,
        todo_changes,
        sessions,
        email_codes,
        reset_tokens,
        oauth_states,
        mfa_challenges,
        webauthn_ceremonies,
        rate_limit_counters,
        security_events,
        users,
    } = report;
    tracing::info!(
        deleted_todos,
        todo_changes,
        sessions,
        email_codes,
        reset_tokens,
        oauth_states,
        mfa_challenges,
        webauthn_ceremonies,
        rate_limit_counters,
        security_events,
        users,
        "purge done"
    );
}
