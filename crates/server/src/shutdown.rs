//! Stopping: the operating system's request (SIGINT, SIGTERM), and the in-process signal
//! (a `watch` channel turned true) that the server and every background task watch.

use tokio::sync::watch;

/// Completes once the stop signal is (or already was) raised, or its sender is gone.
pub async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    while !*stopped.borrow_and_update() {
        if stopped.changed().await.is_err() {
            return;
        }
    }
}

/// Completes once the stop signal is raised (owning its receiver, for futures that outlive
/// the caller's borrow).
pub async fn stopped(mut receiver: watch::Receiver<bool>) {
    stop_requested(&mut receiver).await;
}

/// Completes on SIGINT or SIGTERM.
pub async fn os_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
