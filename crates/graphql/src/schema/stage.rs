//! How far a request got: refused before execution (a GraphQL "request error": the document
//! does not parse or validate, a variable's value does not fit) or executed (its errors are
//! field errors). GraphQL over HTTP answers the first with HTTP 400 and no `data` under
//! `application/graphql-response+json`, the second with 200, so the HTTP layer must know which.
//!
//! The extension also gives validation errors their code, GRAPHQL_VALIDATION_FAILED (Apollo's,
//! which Apollo Client and urql look for); async-graphql's own carry none.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextValidation,
};
use async_graphql::{Response, ServerError, ValidationResult};
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
}

/// The extension.
pub struct Stages;

impl ExtensionFactory for Stages {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Stages)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Stages {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx)
            .await
            .map_err(|errors| errors.into_iter().map(validation_failed).collect())
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Some(started) = ctx.data_opt::<ExecutionStarted>() {
            started.0.store(true, Ordering::Release);
        }
        next.run(ctx, operation_name).await
    }
}

fn validation_failed(mut error: ServerError) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", crate::ErrorCode::GraphqlValidationFailed.as_str());
    }
    error
}
