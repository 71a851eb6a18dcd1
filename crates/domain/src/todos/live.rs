//! The in-process wake-up of live subscribers, per user. A subscriber never receives data from here, only a nudge to read the log after its
//! last revision ([`super::change_log::follow`]); so a nudge that is lost, doubled or late
//! delays a change at worst, and never loses, repeats or reorders one.
//!
//! Who nudges: on SQLite the writer, right after its commit (`changes::announce`); on
//! PostgreSQL every instance's listener, for the NOTIFY that each commit sends (the migration's
//! trigger) — the writer's own instance included, so one path serves all — and after the
//! listener reconnects it nudges everyone ([`ChangeFeed::nudge_everyone`]), since
//! notifications sent during the outage are gone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::watch;
use uuid::Uuid;

/// Per user, a `watch` whose every send is a nudge; one entry per user with a subscriber.
#[derive(Debug, Default)]
pub struct ChangeFeed {
    users: Mutex<HashMap<Uuid, watch::Sender<()>>>,
}

/// A subscriber's end: nudged when its user's revision may have moved. Leaves the feed when
/// dropped (the user's entry goes with its last subscriber).
#[derive(Debug)]
pub struct Nudges {
    feed: Arc<ChangeFeed>,
    user: Uuid,
    receiver: watch::Receiver<()>,
}

impl ChangeFeed {
    /// A subscription to `user`'s nudges. Take it BEFORE reading the log: a change committed
    /// after this call nudges it, so nothing falls between the read and the wait.
    pub fn subscribe(self: &Arc<Self>, user: Uuid) -> Nudges {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        let receiver = users
            .entry(user)
            .or_insert_with(|| watch::channel(()).0)
            .subscribe();
        Nudges {
            feed: Arc::clone(self),
            user,
            receiver,
        }
    }

    /// `user`'s log has grown (committed): nudges its subscribers on this instance. Nudges
    /// that come faster than a subscriber reads merge into one.
    pub fn nudge(&self, user: Uuid) {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = users.get(&user) {
            sender.send_modify(|_| {});
        }
    }

    /// Nudges every subscriber (after notifications may have been missed).
    pub fn nudge_everyone(&self) {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        for sender in users.values() {
            sender.send_modify(|_| {});
        }
    }

    /// How many users have a subscriber on this instance.
    pub fn users_followed(&self) -> usize {
        self.users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Nudges {
    /// Waits for the next nudge (returns at once if one came since the last wait).
    pub async fn next(&mut self) {
        // The feed keeps the sender while this receiver lives, so this cannot fail; if it ever
        // did, waiting for ever would hang a subscriber, so return and let it read the log.
        let _ = self.receiver.changed().await;
    }
}

impl Drop for Nudges {
    fn drop(&mut self) {
        let mut users = self
            .feed
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // This receiver still counts until it is dropped, after this function.
        if users
            .get(&self.user)
            .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            users.remove(&self.user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn nudged(nudges: &mut Nudges) -> bool {
        tokio::time::timeout(Duration::from_millis(50), nudges.next())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_subscriber_is_nudged_by_news_of_its_user_only() {
        let feed = Arc::new(ChangeFeed::default());
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let mut nudges = feed.subscribe(alice);
        feed.nudge(bob);
        assert!(!nudged(&mut nudges).await);
        feed.nudge(alice);
        assert!(nudged(&mut nudges).await);
        assert!(!nudged(&mut nudges).await);
        // Nudges faster than the reader merge into one.
        feed.nudge(alice);
        feed.nudge(alice);
        assert!(nudged(&mut nudges).await);
        assert!(!nudged(&mut nudges).await);
        feed.nudge_everyone();
        assert!(nudged(&mut nudges).await);
    }

    #[tokio::test]
    async fn a_user_leaves_the_feed_with_its_last_subscriber() {
        let feed = Arc::new(ChangeFeed::default());
        let user = Uuid::new_v4();
        let first = feed.subscribe(user);
        let second = feed.subscribe(user);
        assert_eq!(feed.users_followed(), 1);
        drop(first);
        assert_eq!(feed.users_followed(), 1);
        drop(second);
        assert_eq!(feed.users_followed(), 0);
    }
}
