//! Folding recorded latencies into the metrics histograms, whether or not anyone scrapes.

use crate::shutdown::stop_requested;
use std::time::Duration;
use tokio::sync::watch;

/// How often the metrics recorder folds recorded latencies into its histograms.
const METRICS_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The Prometheus recorder keeps every latency sample recorded since it last folded them into
/// its histogram buckets, which it does only when asked: on a scrape of /metrics or an upkeep.
/// A server nobody scrapes would keep 8 bytes per request for ever (measured: RSS grew by
/// that under load, see bench/RESULTS.md); the upkeep bounds it to a few seconds of requests,
/// as the exporter's own HTTP listener would (it runs the same upkeep every 5 s).
pub async fn metrics_upkeep_loop(mut stopped: watch::Receiver<bool>) {
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
