//! todoql's GraphQL schema: resolvers that translate GraphQL input into calls of the domain
//! (`todoql-domain`) and domain errors into GraphQL errors, and the limits every document must
//! pass before it runs. No rule lives here.

pub mod error;
pub mod request;
pub mod schema;

pub use error::{ApiError, ErrorCode};
pub use request::RequestContext;
pub use schema::{AppSchema, SchemaLimits, build_schema, build_traced_schema, sdl};
