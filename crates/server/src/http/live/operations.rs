//! The operations in flight on one socket, and their limit: a socket is one user's, but without
//! a bound one socket could start thousands of subscriptions (each holding a stream and costing
//! statements). Counted from the protocol's own messages: a client's `subscribe` adds its id, a
//! client's `complete` or the server's `complete` / `error` removes it. One subscribe too many
//! closes the socket (4429), as one socket too many does.

use serde::Deserialize;
use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use tokio::sync::Notify;

/// Most operations in flight on one socket (a client needs one subscription; the rest is room
/// for queries sent over the socket).
pub const MAX_OPERATIONS: usize = 25;

/// The ids in flight and whether the limit was passed.
#[derive(Debug, Default)]
pub struct Operations {
    ids: Mutex<HashSet<String>>,
    /// Notified once when a subscribe finds the socket full.
    pub overflowed: Notify,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    id: Option<String>,
}

impl Operations {
    /// A client message about to reach the engine; false when it must not (a subscribe over
    /// the limit: the socket is then closing).
    pub fn admit_client_message(&self, message: &[u8]) -> bool {
        let Ok(envelope) = serde_json::from_slice::<Envelope<'_>>(message) else {
            // Not ours to judge: the engine answers malformed messages.
            return true;
        };
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        match (envelope.kind, envelope.id) {
            ("subscribe", Some(id)) => {
                if ids.len() >= MAX_OPERATIONS && !ids.contains(&id) {
                    self.overflowed.notify_one();
                    return false;
                }
                ids.insert(id);
            }
            ("complete", Some(id)) => {
                ids.remove(&id);
            }
            _ => {}
        }
        true
    }

    /// A server message on its way out: an operation that completed or failed leaves.
    pub fn note_server_message(&self, message: &str) {
        // The engine writes the type first; most messages are `next`, which end nothing.
        if !(message.starts_with(r#"{"type":"complete""#)
            || message.starts_with(r#"{"type":"error""#))
        {
            return;
        }
        if let Ok(Envelope { id: Some(id), .. }) = serde_json::from_str::<Envelope<'_>>(message) {
            self.ids
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscribe(id: usize) -> Vec<u8> {
        format!(r#"{{"id":"{id}","type":"subscribe","payload":{{"query":"{{__typename}}"}}}}"#)
            .into_bytes()
    }

    #[test]
    fn operations_are_counted_until_they_end_from_either_side() {
        let operations = Operations::default();
        for id in 0..MAX_OPERATIONS {
            assert!(operations.admit_client_message(&subscribe(id)));
        }
        assert!(!operations.admit_client_message(&subscribe(MAX_OPERATIONS)));
        // The client completes one; the server completes another and fails a third.
        assert!(operations.admit_client_message(br#"{"id":"0","type":"complete"}"#));
        operations.note_server_message(r#"{"type":"complete","id":"1"}"#);
        operations.note_server_message(r#"{"type":"error","id":"2","payload":[]}"#);
        operations.note_server_message(r#"{"type":"next","id":"3","payload":{}}"#);
        for id in 100..103 {
            assert!(operations.admit_client_message(&subscribe(id)));
        }
        assert!(!operations.admit_client_message(&subscribe(200)));
    }
}
