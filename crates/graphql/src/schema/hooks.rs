//! The schema's one extension: every hook todoql puts around a request, in a fixed order.
//!
//! One extension, not one per concern, because of what async-graphql does with extensions: it
//! runs every field (and every list item) through each extension's `resolve`, an
//! `async_trait` method, so each extension costs a boxed future per field (malloc, a copy of
//! the chain's future, free) even when it only looks at the document. With five extensions
//! the todo list (~180 fields) cost about 1,860 k instructions per request; with this one,
//! about 1,510 k (bench/RESULTS.md).
//!
//! The order is the one the five extensions had, outermost first:
//! - `prepare_request`: the cost limits ([`cost::check_request`]);
//! - `parse_query`: once parsed, the input check ([`input_check::check_document`]), then the
//!   depth limit ([`depth::check_depth`]);
//! - `validation`: errors lose their suggestions while introspection is off
//!   ([`suggestions::without_suggestion`]), then get their code ([`stage::validation_failed`]);
//! - `execute`: marks the request executed ([`stage::ExecutionStarted::mark`]), and settles
//!   null propagation at the end (`null_propagation::Propagation::finish`);
//! - `resolve`: null propagation around each field (`Propagation::around_field`).
//!
//! [`cost::check_request`]: super::cost::check_request
//! [`input_check::check_document`]: super::input_check::check_document
//! [`depth::check_depth`]: super::depth::check_depth
//! [`suggestions::without_suggestion`]: super::suggestions::without_suggestion
//! [`stage::validation_failed`]: super::stage::validation_failed
//! [`stage::ExecutionStarted::mark`]: super::stage::ExecutionStarted::mark

use super::cost::{CostAnalyzer, check_request};
use super::depth::check_depth;
use super::input_check::check_document;
use super::null_propagation::Propagation;
use super::stage::{ExecutionStarted, validation_failed};
use super::suggestions::without_suggestion;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextResolve, NextValidation, ResolveInfo,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult, Value, Variables,
};
use std::sync::Arc;

/// The extension, with the schema's limits.
pub struct SchemaHooks {
    /// The cost analyzer of the schema.
    pub analyzer: Arc<CostAnalyzer>,
    /// The deepest nesting allowed.
    pub max_depth: usize,
    /// Whether validation errors lose their "Did you mean …?" (introspection off).
    pub strip_suggestions: bool,
}

impl ExtensionFactory for SchemaHooks {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Hooks {
            analyzer: self.analyzer.clone(),
            max_depth: self.max_depth,
            strip_suggestions: self.strip_suggestions,
            propagation: Propagation::default(),
        })
    }
}

/// One request's hooks.
struct Hooks {
    analyzer: Arc<CostAnalyzer>,
    max_depth: usize,
    strip_suggestions: bool,
    propagation: Propagation,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Hooks {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        check_request(&self.analyzer, &mut request)?;
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        check_document(&ctx.schema_env.registry, &document, variables)?;
        check_depth(&document, self.max_depth)?;
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|error| match self.strip_suggestions {
                    true => without_suggestion(error),
                    false => error,
                })
                .map(validation_failed)
                .collect()
        })
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        ExecutionStarted::mark(ctx);
        let response = next.run(ctx, operation_name).await;
        self.propagation.finish(response)
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        self.propagation.around_field(ctx, info, next).await
    }
}
