//! Options that bound one GraphQL request: introspection, depth, cost, size, batch.

use super::parse;
use clap::{ArgAction, Args};
use todoql_graphql::SchemaLimits;

/// What one request may ask.
#[derive(Debug, Clone, Args)]
pub struct OperationLimits {
    /// Whether GraphQL introspection is answered.
    #[arg(long, env = "TODOQL_INTROSPECTION", default_value = "true", value_parser = clap::builder::BoolishValueParser::new(), action = ArgAction::Set, display_order = 12)]
    pub introspection: bool,

    /// Deepest selection nesting of an operation.
    #[arg(long, env = "TODOQL_MAX_DEPTH", default_value = "12", value_parser = parse::positive, display_order = 18)]
    pub max_depth: u32,

    /// Highest cost of an operation: each field costs 1 (`__typename` too) wherever a fragment
    /// is spread; a list costs its page size (`first`, default 20) times its fields.
    #[arg(long, env = "TODOQL_MAX_COMPLEXITY", default_value = "2000", value_parser = parse::positive, display_order = 19)]
    pub max_complexity: u32,

    /// Most tokens in one GraphQL document (counted before it is parsed).
    #[arg(long, env = "TODOQL_MAX_TOKENS", default_value = "5000", value_parser = parse::positive, display_order = 20)]
    pub max_tokens: u32,

    /// Most operations in one batched request.
    #[arg(long, env = "TODOQL_MAX_BATCH", default_value = "10", value_parser = parse::positive, display_order = 21)]
    pub max_batch: u32,
}

impl OperationLimits {
    /// The limits the schema enforces on each operation.
    pub fn schema_limits(&self) -> SchemaLimits {
        SchemaLimits {
            max_depth: self.max_depth as usize,
            max_complexity: self.max_complexity as usize,
            max_tokens: self.max_tokens as usize,
            introspection: self.introspection,
        }
    }

    /// Most operations in one batched request (the HTTP layer counts them).
    pub fn max_batch(&self) -> usize {
        self.max_batch as usize
    }
}
