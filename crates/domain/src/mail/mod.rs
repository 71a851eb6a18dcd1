//! Mail: the messages todoql sends ([`messages`]), queued in the database in the transaction
//! that creates the code or token they carry ([`outbox`]), and delivered by a sender task
//! through a [`transport`] (the log, or SMTP).

pub mod jobs;
pub mod messages;
pub mod outbox;
pub mod transport;

use crate::state::AppState;

/// Tells this instance's sender that a mail was queued, so it goes out at once rather than at
/// the next poll. Call it after the commit (before, the sender would not see the row yet).
pub fn wake_sender(app: &AppState) {
    app.mail_queued().notify_one();
}
