//! The GraphQL schema, assembled from per-area parts.

pub mod account_types;
pub mod args;
pub mod auth;
pub mod connection;
pub mod cost;
pub mod depth;
pub mod email;
pub mod hooks;
pub mod input_check;
#[cfg(test)]
mod input_check_tests;
pub mod mfa;
pub mod null_propagation;
pub mod oauth;
pub mod passkey_types;
pub mod passkeys;
pub mod resolver_spans;
pub mod scalars;
pub mod security_log;
pub mod stage;
pub mod suggestions;
pub mod todos;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};
use cost::{CostAnalyzer, CostLimits};
use std::sync::Arc;
use todoql_domain::state::AppState;

/// Every query.
#[derive(MergedObject, Default)]
pub struct Query(
    auth::AuthQuery,
    todos::TodoQuery,
    todos::TodoChangesQuery,
    security_log::SecurityLogQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct Mutation(
    auth::AuthMutation,
    email::EmailMutation,
    mfa::MfaMutation,
    oauth::OAuthMutation,
    passkeys::PasskeyMutation,
    todos::TodoMutation,
);

/// Every subscription.
#[derive(MergedSubscription, Default)]
pub struct Subscription(todos::TodoSubscription);

/// The schema type served by todoql.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Limits applied to every operation.
#[derive(Debug, Clone, Copy)]
pub struct SchemaLimits {
    /// Deepest nesting of selections.
    pub max_depth: usize,
    /// Highest cost of an operation's own fields (see [`cost`]).
    pub max_complexity: usize,
    /// Most tokens in one document.
    pub max_tokens: usize,
    /// Whether `__schema` / `__type` introspection is answered.
    pub introspection: bool,
}

impl Default for SchemaLimits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 2000,
            max_tokens: 5000,
            introspection: true,
        }
    }
}

pub(crate) fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    // Not the type of any field: listed so that clients get every `extensions.code` by
    // code generation.
    .register_output_type::<crate::ErrorCode>()
}

/// The schema with its state and limits. Builds without touching the database.
///
/// The schema's data holds its `Arc<CostAnalyzer>` (for the HTTP layer's document cache).
/// async-graphql's own `limit_complexity` is not used: it walks a fragment at every spread,
/// which is the attack [`cost`] exists to stop.
pub fn build_schema(state: AppState, limits: SchemaLimits) -> AppSchema {
    schema_builder(state, limits).finish()
}

/// [`build_schema`] with a tracing span per operation and per resolver
/// ([`resolver_spans`]), for exported traces. Not used without an exporter: a span per field
/// costs.
pub fn build_traced_schema(state: AppState, limits: SchemaLimits) -> AppSchema {
    schema_builder(state, limits)
        .extension(resolver_spans::ResolverSpans)
        .finish()
}

fn schema_builder(
    state: AppState,
    limits: SchemaLimits,
) -> SchemaBuilder<Query, Mutation, Subscription> {
    let analyzer = Arc::new(cost_analyzer(limits));
    let mut builder = builder()
        .data(state)
        .data(analyzer.clone())
        // One extension for every hook: async-graphql boxes a future per extension per field.
        .extension(hooks::SchemaHooks {
            analyzer,
            max_depth: limits.max_depth,
            strip_suggestions: !limits.introspection,
        })
        .limit_recursive_depth(32)
        .limit_directives(8);
    if !limits.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder
}

/// The cost analyzer of the schema, with `limits`.
pub fn cost_analyzer(limits: SchemaLimits) -> CostAnalyzer {
    CostAnalyzer::new(
        cost::model::SchemaModel::of(&builder().finish()),
        CostLimits {
            max_complexity: limits.max_complexity,
            max_tokens: limits.max_tokens,
        },
    )
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
