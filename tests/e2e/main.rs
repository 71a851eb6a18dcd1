//! todoql's end-to-end suite: one test binary (linking once), a module per area.

mod helpers;

mod accounts;
mod attempt_limits;
mod documents;
mod email;
mod fake_providers;
mod foundation;
mod frontend;
mod oauth;
mod pre_hijacking;
mod reauth;
mod todos;
mod trash;
