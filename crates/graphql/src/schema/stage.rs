//! How far a request got: refused before execution (a GraphQL "request error": the document
//! does not parse or validate, a variable's value does not fit) or executed (its errors are
//! field errors). GraphQL over HTTP answers the first with HTTP 400 and no `data` under
//! `application/graphql-response+json`, the second with 200, so the HTTP layer must know which.
//!
//! The schema's extension (`schema::hooks`) marks the start of execution with
//! [`ExecutionStarted::mark`], and gives validation errors their code with
//! [`validation_failed`]: GRAPHQL_VALIDATION_FAILED (Apollo's, which Apollo Client and urql
//! look for); async-graphql's own carry none.

use async_graphql::ServerError;
use async_graphql::extensions::ExtensionContext;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Put into a request's data by whoever wants to know whether it reached execution.
#[derive(Debug, Clone, Default)]
pub struct ExecutionStarted(Arc<AtomicBool>);

impl ExecutionStarted {
    /// Whether the request was executed (after the schema answered it).
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Execution of the request of `ctx` starts: tells its `ExecutionStarted`, if it has one.
    pub fn mark(ctx: &ExtensionContext<'_>) {
        if let Some(started) = ctx.data_opt::<ExecutionStarted>() {
            started.0.store(true, Ordering::Release);
        }
    }
}

/// A validation error with its code.
pub fn validation_failed(mut error: ServerError) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", crate::ErrorCode::GraphqlValidationFailed.as_str());
    }
    error
}
