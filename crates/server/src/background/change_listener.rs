//! PostgreSQL: the instance's one listening connection. Every commit that writes the change
//! log NOTIFYs `todoql_changes` with `user_id:revision` (the migration's trigger); this task
//! nudges that user's subscribers on this instance, who then read the log.
//!
//! Its own connection, not one from the pool (a pooled connection would be handed to requests,
//! and LISTEN belongs to a session); TODOQL_LISTEN_DATABASE_URL when DATABASE_URL goes through a
//! pooler that cannot LISTEN. PostgreSQL does not keep notifications for a listener that is
//! gone, so after every (re)connection every subscriber is nudged and reads the log: a
//! notification lost in an outage delays its change, never loses it.

use crate::config::Config;
use crate::shutdown::stop_requested;
use sea_orm::sqlx::ConnectOptions as _;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use std::str::FromStr as _;
use std::time::Duration;
use todoql_domain::AppState;
use tokio::sync::watch;
use uuid::Uuid;

/// The channel the trigger notifies.
pub const CHANNEL: &str = "todoql_changes";
/// The listener's `application_name` (what operators and the tests see in pg_stat_activity).
pub const APPLICATION_NAME: &str = "todoql-change-listener";
/// The wait before trying to connect again after a failure.
const RECONNECT_DELAY: Duration = Duration::from_millis(250);

/// The URL to listen on, when the database is PostgreSQL.
pub fn listen_url(config: &Config) -> Option<String> {
    let url = config
        .live
        .listen_database_url
        .as_ref()
        .unwrap_or(&config.database.database_url)
        .expose();
    (url.starts_with("postgres://") || url.starts_with("postgresql://")).then(|| url.to_owned())
}

/// Listens until the server stops, reconnecting whenever the connection is lost.
pub async fn change_listener_loop(app: AppState, url: String, mut stopped: watch::Receiver<bool>) {
    loop {
        match listen(&url).await {
            Ok(mut listener) => {
                // Whatever was notified while no one listened is in the log: read it.
                app.change_feed().nudge_everyone();
                tokio::select! {
                    () = relay(&app, &mut listener) => {}
                    () = stop_requested(&mut stopped) => return,
                }
                tracing::warn!("change listener: connection lost; reconnecting");
                metrics::counter!(crate::metrics::catalog::CHANGE_LISTENER_RECONNECTS).increment(1);
            }
            Err(err) => {
                tracing::error!(error = %err, "change listener: cannot listen; retrying");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(RECONNECT_DELAY) => {}
            () = stop_requested(&mut stopped) => return,
        }
    }
}

/// A new connection that LISTENs on [`CHANNEL`].
async fn listen(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?
        .application_name(APPLICATION_NAME)
        .disable_statement_logging();
    // A pool of one, never recycled: the listener's connection lives as long as it works.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    // Reconnection is ours (so that it is followed by a nudge to everyone), not sqlx's.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Nudges the subscribers of each notified user until the connection is lost.
async fn relay(app: &AppState, listener: &mut PgListener) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match user_of(notification.payload()) {
                Some(user) => app.change_feed().nudge(user),
                None => tracing::warn!(
                    payload = notification.payload(),
                    "change listener: a notification it cannot read"
                ),
            },
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(error = %err, "change listener: connection failed");
                return;
            }
        }
    }
}

/// The user of a `user_id:revision` payload.
fn user_of(payload: &str) -> Option<Uuid> {
    let (user, _revision) = payload.split_once(':')?;
    Uuid::parse_str(user).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_names_the_user() {
        let user = Uuid::new_v4();
        assert_eq!(user_of(&format!("{user}:42")), Some(user));
        assert_eq!(user_of("nonsense"), None);
        assert_eq!(user_of("not-a-uuid:1"), None);
    }
}
