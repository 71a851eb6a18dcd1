//! todoql's domain (accounts, sessions, todos, mail) and its GraphQL schema.
//!
//! Data flows one way: a resolver in [`schema`] parses arguments and calls one domain function
//! (in [`auth`], [`todos`] or [`mail`]); the domain function holds the rule and talks to the
//! database through the entities of `todoql-entity`.

pub mod auth;
pub mod clock;
pub mod db;
pub mod error;
pub mod input;
pub mod mail;
pub mod maintenance;
pub mod rate_limit;
pub mod request;
pub mod schema;
pub mod secrets;
pub mod settings;
pub mod state;
pub mod todos;

pub use error::{AppError, AppResult};
pub use request::RequestContext;
pub use schema::{AppSchema, SchemaLimits, build_schema, sdl};
pub use settings::Settings;
pub use state::AppState;
