//! todoql's domain: every rule about accounts, sessions, emailed codes, OAuth, mail, rate
//! limits, todos, the trash and the purge. It knows nothing of GraphQL or HTTP.
//!
//! Data flows one way: the server's HTTP layer hands a request to the schema
//! (`todoql-graphql`), whose resolvers call one entry point here with the [`AppState`]; the
//! entry point opens a unit of work and the rules below it talk to the database through the
//! entities of `todoql-entity`.

pub mod auth;
pub mod cipher;
pub mod clock;
pub mod db;
pub mod error;
pub mod input;
pub mod mail;
pub mod maintenance;
pub mod paging;
pub mod patch;
pub mod rate_limit;
pub mod secrets;
pub mod security_log;
pub mod settings;
pub mod state;
pub mod todos;

pub use error::{AppError, AppResult};
pub use patch::Patch;
pub use settings::Settings;
pub use state::AppState;
