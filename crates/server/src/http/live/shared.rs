//! What every subscription socket of the instance shares (held by the HTTP state, so it
//! imports nothing of the HTTP layer: the routes import the state, not the other way round).

use super::sockets::Sockets;
use std::sync::Arc;
use std::time::Duration;
use todoql_domain::AppState;
use tokio::sync::watch;

/// What every subscription socket shares.
#[derive(Clone)]
pub struct Live {
    pub app: AppState,
    pub sockets: Arc<Sockets>,
    /// Raised at shutdown: every socket closes with 1012.
    pub stopped: watch::Receiver<bool>,
    pub ping_interval: Duration,
    pub send_timeout: Duration,
    /// Origins allowed besides the server's own (TODOQL_CORS_ORIGINS).
    pub origins: Arc<[String]>,
}
