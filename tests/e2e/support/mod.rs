//! The test harness: each test gets a real server on 127.0.0.1 port 0 and a fresh database —
//! a temp SQLite file, or a new PostgreSQL database when TODOQL_TEST_DATABASE_URL is set
//! (dropped afterwards). A real HTTP client speaks GraphQL to it; a real SMTP sink receives its
//! mail. One file per job; test files `use crate::support::*` (what they name is re-exported here).

#![allow(dead_code)]

mod app;
mod authenticator;
mod database;
mod gql;
pub mod live;
mod metrics;
mod mime;
mod operations;
mod process;
mod responses;
mod smtp;
mod wait;

pub use app::{
    APP_URL, BROWSER_CHALLENGE, BROWSER_VERIFIER, PASSWORD, SIGN_UP, TestApp, TestUser, spawn_app,
};
pub use authenticator::SoftAuthenticator;
pub use database::TestDb;
pub use gql::Gql;
pub use metrics::metric_value;
pub use operations::{CALLBACK, KEY_HEX, REQUEST_CHANGE, REQUEST_CODE, REQUEST_RESET, RESET};
pub use process::{ServerProcess, free_port, todoql_bin};
pub use responses::{AuthConfig, AuthPayload, Connection, PageInfo, Session, Todo, User};
pub use smtp::{SmtpSink, spawn_mail_app};
/// The SHA-256 of a text in lowercase hex, as the server stores tokens and as Automatic
/// Persisted Queries name documents.
pub use todoql_domain::secrets::sha256_hex;
pub use wait::wait_until;
