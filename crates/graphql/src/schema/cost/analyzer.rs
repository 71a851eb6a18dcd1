//! The analyzer: a document's tokens, nesting and cost against the budgets, before anything runs.

use super::model::{self, SchemaModel};
use super::walk::{self, Cost, WalkError};
use super::{shape, tokens};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ErrorExtensionValues, ServerError, Variables};

/// Deepest bracket nesting (`{`, `[`, `(` together) a document may have: the parser's own
/// limit for selections is 64, and nested values cost the parser the square of their depth.
pub const MAX_NESTING: usize = 64;

/// The budgets a document must keep.
#[derive(Debug, Clone, Copy)]
pub struct CostLimits {
    /// Highest cost of our own fields (`TODOQL_MAX_COMPLEXITY`).
    pub max_complexity: usize,
    /// Most tokens in one document (`TODOQL_MAX_TOKENS`).
    pub max_tokens: usize,
}

/// A parsed document that kept its limits, with what could be computed without variables.
#[derive(Debug)]
pub struct Analyzed {
    /// The parsed document.
    pub document: ExecutableDocument,
    /// The cost when it does not depend on variables (`None`: walk again per request).
    fixed_cost: Option<Cost>,
}

/// Checks documents against the limits. One per schema.
#[derive(Debug)]
pub struct CostAnalyzer {
    model: SchemaModel,
    budget: Cost,
    max_tokens: usize,
}

impl CostAnalyzer {
    /// An analyzer for `model` with `limits`. Introspection may cost up to twice what the
    /// full introspection query (all of the schema, as GraphiQL asks for it) costs.
    pub fn new(model: SchemaModel, limits: CostLimits) -> CostAnalyzer {
        let full = async_graphql::parser::parse_query(model::FULL_INTROSPECTION_QUERY)
            .expect("the full introspection query parses");
        let unlimited = Cost {
            data: u64::MAX,
            introspection: u64::MAX,
        };
        let full_cost = walk::walk(&model, &full, None, unlimited)
            .result
            .expect("the full introspection query has a cost");
        CostAnalyzer {
            model,
            budget: Cost {
                data: limits.max_complexity as u64,
                introspection: full_cost.introspection.saturating_mul(2),
            },
            max_tokens: limits.max_tokens,
        }
    }

    /// The most introspection may cost.
    pub fn introspection_allowance(&self) -> u64 {
        self.budget.introspection
    }

    /// Counts, parses and costs `text` (without variables). The error is the answer to send.
    pub fn analyze(&self, text: &str) -> Result<Analyzed, ServerError> {
        tokens::check(text, self.max_tokens, MAX_NESTING).map_err(|limit| match limit {
            tokens::LexLimit::Tokens(max) => refusal(format!(
                "The document has more than {max} tokens (TODOQL_MAX_TOKENS)."
            )),
            tokens::LexLimit::Nesting(max) => refusal(format!(
                "The document nests brackets more than {max} levels deep."
            )),
        })?;
        let document = async_graphql::parser::parse_query(text).map_err(parse_failure)?;
        shape::check(&document).map_err(refusal)?;
        let outcome = walk::walk(&self.model, &document, None, self.budget);
        let fixed_cost = match (outcome.result, outcome.used_variables) {
            (Ok(cost), false) => Some(cost),
            (Err(error), false) => return Err(self.walk_error(error)),
            // A cycle is a cycle whatever the variables say.
            (Err(error @ WalkError::FragmentCycle(_)), true) => {
                return Err(self.walk_error(error));
            }
            (_, true) => None,
        };
        Ok(Analyzed {
            document,
            fixed_cost,
        })
    }

    /// Checks the cost of `analyzed` with the request's `variables`.
    pub fn check(&self, analyzed: &Analyzed, variables: &Variables) -> Result<(), ServerError> {
        if analyzed.fixed_cost.is_some() {
            return Ok(());
        }
        walk::walk(
            &self.model,
            &analyzed.document,
            Some(variables),
            self.budget,
        )
        .result
        .map(|_| ())
        .map_err(|error| self.walk_error(error))
    }

    /// The cost of `analyzed` with `variables` (for tests and diagnostics).
    pub fn cost(&self, analyzed: &Analyzed, variables: &Variables) -> Result<Cost, String> {
        let unlimited = Cost {
            data: u64::MAX,
            introspection: u64::MAX,
        };
        walk::walk(&self.model, &analyzed.document, Some(variables), unlimited)
            .result
            .map_err(|error| self.walk_error(error).message)
    }

    fn walk_error(&self, error: WalkError) -> ServerError {
        refusal(match error {
            WalkError::TooComplex => format!(
                "Query is too complex: it costs more than {} (TODOQL_MAX_COMPLEXITY). Every \
                 field costs 1, __typename included, each time a fragment is spread; a list \
                 costs its page size (first, default 20) times its fields.",
                self.budget.data
            ),
            WalkError::IntrospectionTooLarge => format!(
                "Introspection is too large: it costs more than {}, twice the full \
                 introspection of this schema.",
                self.budget.introspection
            ),
            WalkError::FragmentCycle(name) => {
                format!("Cannot spread fragment \"{name}\" within itself.")
            }
            WalkError::TooDeep => "Query is nested too deep.".to_owned(),
        })
    }
}

/// A refusal of the document: BAD_USER_INPUT, the client's to fix.
/// A syntax error, with the code Apollo Client and urql look for.
fn parse_failure(error: async_graphql::parser::Error) -> ServerError {
    let mut error = ServerError::from(error);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", crate::ErrorCode::GraphqlParseFailed.as_str());
    error.extensions = Some(extensions);
    error
}

fn refusal(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", crate::ErrorCode::BadUserInput.as_str());
    error.extensions = Some(extensions);
    error
}
