//! The durable outbox. A flow writes its mail with [`enqueue`] in the SAME transaction as the
//! code or token the mail carries, so a mail exists exactly when its code does. A sender task
//! ([`deliver_due`], looped by the server) delivers due mails.
//!
//! Claiming: a sender takes a row with one atomic `UPDATE ... SET locked_until = now + lease
//! WHERE id = ? AND (locked_until IS NULL OR locked_until < now)`; only one sender can win it,
//! on SQLite and PostgreSQL alike, and no transaction stays open while SMTP talks. A sent mail's
//! row is DELETED (its text holds a live code or link). A failure increments `attempts`, keeps
//! a secret-free `last_error` and sets `next_attempt_at` with exponential backoff; after
//! `max_attempts` the row is deleted too, with an error log. Delivery is at least once: a
//! sender that dies between the SMTP answer and the delete leaves the row to be sent again
//! once its lease ends.
//!
//! Jobs: a flow whose request must not reveal whether an account exists (password reset)
//! queues a row that names the address and holds no text ([`enqueue_job`]); the sender passes
//! it back to the function that flow registered for the kind ([`crate::mail::jobs`]), which
//! fills it with the mail and its token in one transaction, or deletes it. The request does
//! the same work either way.

mod queue;
mod sender;

pub use queue::{enqueue, enqueue_job, fill_job, reserve_quota};
pub use sender::{DeliveryReport, LEASE, RetryPolicy, deliver_due};
