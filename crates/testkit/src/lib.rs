//! Support shared by todoql's end-to-end tests and its benchmark: a scratch database per run.
//!
//! Not part of the product; nothing in `crates/server` or below may depend on it.

mod janitor;
mod scratch;

pub use janitor::sweep_orphans;
pub use scratch::{ScratchDb, with_database_name};
