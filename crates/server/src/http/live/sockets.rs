//! The open subscription sockets of this instance: how many each user has (the
//! TODOQL_WS_MAX_PER_USER limit), and the sweep that ends a socket when its access token
//! expires or its session stops being live, whichever instance revoked it.
//!
//! One sweep a second for the whole instance, not a check per socket: a statement per 500
//! sessions whatever the number of sockets, and no notification to miss (a revocation is read
//! from the sessions table, as every request's check reads it).

use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use todoql_domain::AppState;
use todoql_domain::auth::socket_sessions;
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

/// How often the sweep looks: a revocation or an expiry ends its sockets within this (plus the
/// sweep's statement).
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Why the sweep ended a socket (both close it with 4403: the client refreshes and
/// reconnects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Its access token expired.
    TokenExpired,
    /// Its session was revoked or expired, or its user deleted.
    SessionEnded,
}

impl Ended {
    /// The close frame's reason.
    pub fn reason(self) -> &'static str {
        match self {
            Self::TokenExpired => "Forbidden: the access token expired",
            Self::SessionEnded => "Forbidden: the session ended",
        }
    }
}

/// The registry.
#[derive(Debug)]
pub struct Sockets {
    max_per_user: usize,
    state: Mutex<Registry>,
    /// The number of open sockets, for waiting until they have closed at shutdown.
    open: watch::Sender<usize>,
}

#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    sockets: HashMap<u64, Socket>,
    per_user: HashMap<Uuid, usize>,
}

#[derive(Debug)]
struct Socket {
    user: Uuid,
    session: Uuid,
    token_expires: DateTime<Utc>,
    end: Option<oneshot::Sender<Ended>>,
}

/// One socket's place in the registry; leaves it when dropped.
#[derive(Debug)]
pub struct Registration {
    sockets: Arc<Sockets>,
    id: u64,
    /// Resolves when the sweep ends the socket.
    pub ended: oneshot::Receiver<Ended>,
}

/// The user already has the most sockets allowed.
#[derive(Debug)]
pub struct TooMany;

impl Sockets {
    /// An empty registry allowing `max_per_user` sockets per user.
    pub fn new(max_per_user: u32) -> Arc<Self> {
        Arc::new(Self {
            max_per_user: max_per_user as usize,
            state: Mutex::new(Registry::default()),
            open: watch::channel(0).0,
        })
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a socket of `user` on `session` whose token expires at `token_expires`.
    pub fn open(
        self: &Arc<Self>,
        user: Uuid,
        session: Uuid,
        token_expires: DateTime<Utc>,
    ) -> Result<Registration, TooMany> {
        let mut registry = self.registry();
        let count = registry.per_user.entry(user).or_default();
        if *count >= self.max_per_user {
            return Err(TooMany);
        }
        *count += 1;
        registry.next_id += 1;
        let id = registry.next_id;
        let (end, ended) = oneshot::channel();
        registry.sockets.insert(
            id,
            Socket {
                user,
                session,
                token_expires,
                end: Some(end),
            },
        );
        self.counted(registry.sockets.len());
        Ok(Registration {
            sockets: Arc::clone(self),
            id,
            ended,
        })
    }

    /// Publishes the number of open sockets (shutdown waits on it; the gauge shows it).
    fn counted(&self, open: usize) {
        self.open.send_replace(open);
        metrics::gauge!(crate::metrics::catalog::SUBSCRIPTION_SOCKETS).set(open as f64);
    }

    /// How many sockets are open.
    pub fn len(&self) -> usize {
        self.registry().sockets.len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until every socket has closed, at most `timeout` (at shutdown: their close
    /// frames are sent before the process ends).
    pub async fn closed(&self, timeout: Duration) {
        let mut open = self.open.subscribe();
        let _ = tokio::time::timeout(timeout, open.wait_for(|n| *n == 0)).await;
    }

    /// One sweep: ends the sockets whose token has expired (by the domain's clock) and those
    /// whose session is no longer live.
    pub async fn sweep(&self, app: &AppState) -> Result<(), todoql_domain::AppError> {
        let sessions = self.expire_and_list_sessions(app.now());
        if sessions.is_empty() {
            return Ok(());
        }
        let live = socket_sessions::still_live(app, &sessions).await?;
        self.end_sessions_not_live(&sessions, &live);
        Ok(())
    }

    /// Ends the sockets whose token has expired at `now`; the sessions of the others, sorted.
    fn expire_and_list_sessions(&self, now: DateTime<Utc>) -> Vec<Uuid> {
        let mut registry = self.registry();
        for socket in registry.sockets.values_mut() {
            if socket.token_expires <= now {
                end(socket, Ended::TokenExpired);
            }
        }
        let mut sessions: Vec<Uuid> = registry
            .sockets
            .values()
            .filter(|s| s.end.is_some())
            .map(|s| s.session)
            .collect();
        sessions.sort_unstable();
        sessions.dedup();
        sessions
    }

    /// Ends the sockets on a session that was `asked` about (sorted) and is not `live`. Only
    /// those: a socket that opened while the sessions were being read is on a session nobody
    /// asked about, and its absence from `live` says nothing (ending it closed freshly opened
    /// sockets with 4403 in the benchmark, whenever a sweep overlapped their opening).
    fn end_sessions_not_live(&self, asked: &[Uuid], live: &HashSet<Uuid>) {
        let mut registry = self.registry();
        for socket in registry.sockets.values_mut() {
            if asked.binary_search(&socket.session).is_ok() && !live.contains(&socket.session) {
                end(socket, Ended::SessionEnded);
            }
        }
    }
}

fn end(socket: &mut Socket, why: Ended) {
    if let Some(end) = socket.end.take() {
        let _ = end.send(why);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut registry = self.sockets.registry();
        if let Some(socket) = registry.sockets.remove(&self.id)
            && let Some(count) = registry.per_user.get_mut(&socket.user)
        {
            *count -= 1;
            if *count == 0 {
                registry.per_user.remove(&socket.user);
            }
        }
        self.sockets.counted(registry.sockets.len());
    }
}

/// Sweeps every [`SWEEP_EVERY`] until the server stops.
pub async fn sweep_loop(sockets: Arc<Sockets>, app: AppState, mut stopped: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = crate::shutdown::stop_requested(&mut stopped) => return,
        }
        if sockets.is_empty() {
            continue;
        }
        if let Err(err) = sockets.sweep(&app).await {
            // The next sweep tries again; a socket lives on at most that much longer.
            tracing::warn!(error = ?err, "subscription sockets: the session sweep failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_at_most_the_limit_and_a_closed_socket_frees_its_place() {
        let sockets = Sockets::new(2);
        let (user, other) = (Uuid::new_v4(), Uuid::new_v4());
        let expires = Utc::now();
        let first = sockets.open(user, Uuid::new_v4(), expires).unwrap();
        let _second = sockets.open(user, Uuid::new_v4(), expires).unwrap();
        assert!(sockets.open(user, Uuid::new_v4(), expires).is_err());
        // Another user's count is their own.
        let _others = sockets.open(other, Uuid::new_v4(), expires).unwrap();
        assert_eq!(sockets.len(), 3);
        drop(first);
        assert!(sockets.open(user, Uuid::new_v4(), expires).is_ok());
    }

    #[test]
    fn a_sweep_ends_only_sockets_on_the_sessions_it_asked_about() {
        let sockets = Sockets::new(20);
        let user = Uuid::new_v4();
        let expires = Utc::now() + chrono::Duration::minutes(15);
        let (kept, revoked) = (Uuid::new_v4(), Uuid::new_v4());
        let mut on_kept = sockets.open(user, kept, expires).unwrap();
        let mut on_revoked = sockets.open(user, revoked, expires).unwrap();
        let asked = sockets.expire_and_list_sessions(Utc::now());
        // Opened while the sweep reads the sessions table: not asked about, not in `live`.
        let later = Uuid::new_v4();
        let mut on_later = sockets.open(user, later, expires).unwrap();
        sockets.end_sessions_not_live(&asked, &HashSet::from([kept]));
        assert!(matches!(
            on_revoked.ended.try_recv(),
            Ok(Ended::SessionEnded)
        ));
        assert!(on_kept.ended.try_recv().is_err());
        assert!(on_later.ended.try_recv().is_err());
    }
}
