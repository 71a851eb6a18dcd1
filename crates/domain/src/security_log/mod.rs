//! The security log: what happened to an account (sign-ins, failed attempts, credential and
//! session changes), for its user (`securityEvents`) and for operators (`todoql audit`, and a
//! log line on the target `todoql::audit` per event).
//!
//! - An event is written by the transaction of what it records ([`record`]), so it exists
//!   exactly when its change does.
//! - A failed attempt on an existing account is written on its own, off the answer's path
//!   ([`record_failure`]), so recording it changes neither the answer nor its timing. A failed
//!   attempt on an unknown address leaves a log line and no row: the log cannot tell anyone
//!   which addresses have accounts.
//! - Refreshes are not recorded; a refresh token presented twice is (REFRESH_TOKEN_REUSED).
//! - Events are kept [`DEFAULT_RETENTION_DAYS`] unless configured otherwise; the purge drops
//!   older ones, and account deletion drops all of the user's at once.

mod audit_line;
pub mod list;
mod record;

pub use crate::settings::DEFAULT_AUDIT_RETENTION_DAYS as DEFAULT_RETENTION_DAYS;
pub use record::{Event, record, record_each, record_failure};
pub(crate) use record::{event_row, insert_row, logged, with_event};
pub use todoql_entity::security_event::SecurityEventType as EventType;
