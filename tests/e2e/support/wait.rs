//! Waiting for something that happens in the background, without sleeping a fixed time.

use std::time::Duration;

/// How long a test waits for a mail (or any condition) before failing.
pub const MAIL_TIMEOUT: Duration = Duration::from_secs(20);

/// Polls `check` until it is true, failing the test after [`MAIL_TIMEOUT`].
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + MAIL_TIMEOUT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
