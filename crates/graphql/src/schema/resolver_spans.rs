//! A tracing span per operation and per resolver of an object (not of a scalar field), for
//! exported traces: request → `graphql.execute` → `graphql.resolve` → the SQL it runs.
//!
//! async-graphql's own `Tracing` extension is not used: its `parse` span records the document
//! with its variables written in, so every password, code and token of a sign-in or reset
//! would reach the trace collector.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::registry::MetaTypeName;
use async_graphql::{Response, ServerResult, Value};
use std::sync::Arc;
use tracing::Instrument as _;

/// The extension (added by `build_traced_schema` only: a span per field costs).
pub struct ResolverSpans;

impl ExtensionFactory for ResolverSpans {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ResolverSpans)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ResolverSpans {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let span = tracing::info_span!(
            target: "async_graphql::graphql",
            "graphql.execute",
            graphql.operation.name = operation_name.unwrap_or("")
        );
        next.run(ctx, operation_name).instrument(span).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // Scalars and enums are read from their parent's value: a span each would only add
        // noise (and cost) to the trace.
        let leaf = ctx
            .schema_env
            .registry
            .types
            .get(MetaTypeName::concrete_typename(info.return_type))
            .is_none_or(|ty| ty.is_leaf());
        if info.is_for_introspection || leaf {
            return next.run(ctx, info).await;
        }
        let span = tracing::info_span!(
            target: "async_graphql::graphql",
            "graphql.resolve",
            graphql.field.path = %info.path_node,
            graphql.field.parent_type = info.parent_type,
            graphql.field.type = info.return_type,
        );
        next.run(ctx, info).instrument(span).await
    }
}
