//! The HTTP surface: routes, limits, request ids, CORS.

mod client;
mod document_size;
pub mod documents;
mod get_request;
pub mod graphiql;
pub mod graphql;
pub mod live;
mod media;
mod probes;
mod request_error;
pub mod request_telemetry;
mod router;
mod state;

pub use client::client_ip;
pub use request_error::request_error;
pub use router::{metrics_router, router};
pub use state::HttpState;
