//! todoql's end-to-end suite: one test binary (linking once), a module per area.

mod helpers;

mod accounts;
mod documents;
mod email;
mod fake_providers;
mod foundation;
mod frontend;
mod oauth;
mod pg_wire;
mod round_trips;
mod todos;
mod trash;
