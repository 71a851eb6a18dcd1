//! todoql's end-to-end suite: one test binary (linking once), a module per area.

mod support;

mod accounts;
mod attempt_limits;
mod changes;
mod cost;
mod documents;
mod email;
mod fake_providers;
mod foundation;
mod frontend;
mod fuzz_cases;
mod http_spec;
mod input_rules;
mod instances;
mod live;
mod mfa;
mod null_propagation;
mod oauth;
mod passkeys;
mod pg_wire;
mod pre_hijacking;
mod reauth;
mod round_trips;
mod security_log;
mod telemetry;
mod todos;
mod trash;
