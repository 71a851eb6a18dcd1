//! What every handler shares: the schema, the domain state, the request limits, the
//! document cache.

use super::documents::Documents;
use super::live::shared::Live;
use crate::config::{HttpConfig, OperationLimits};
use axum::extract::FromRef;
use todoql_domain::AppState;
use todoql_graphql::AppSchema;

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    /// The executable schema.
    pub schema: AppSchema,
    /// The domain state (for readiness and metrics).
    pub app: AppState,
    /// Most operations in one batch.
    pub max_batch: usize,
    /// Whether to believe X-Forwarded-For.
    pub trust_proxy: bool,
    /// Largest request body, in bytes (for the 413 message).
    pub body_limit: usize,
    /// Parsed documents by text, and persisted queries by hash.
    pub documents: Documents,
    /// The subscription sockets.
    pub live: Live,
}

impl HttpState {
    /// The handlers' state for `schema` and `app`, with the limits the configuration sets.
    pub fn new(
        schema: AppSchema,
        app: AppState,
        documents: Documents,
        live: Live,
        config: &HttpConfig,
        operations: &OperationLimits,
    ) -> Self {
        Self {
            schema,
            app,
            max_batch: operations.max_batch(),
            trust_proxy: config.trust_proxy,
            body_limit: config.body_limit(),
            documents,
            live,
        }
    }
}

impl FromRef<HttpState> for AppState {
    fn from_ref(http: &HttpState) -> Self {
        http.app.clone()
    }
}
