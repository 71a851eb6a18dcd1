//! What a document may cost, decided before anything else looks at it.
//!
//! async-graphql's validation, its complexity and depth checks and its executor all walk a
//! fragment again at every spread: `query { ...F0 } fragment F0 on Query { ...F1 ...F1 } …`
//! doubles the work per level in a few bytes, and the work runs on a runtime worker, where no
//! timeout reaches it. So every document goes through [`CostAnalyzer`] first, from its
//! schema's extension ([`check_request`]), before async-graphql parses or validates it:
//!
//! 1. its tokens and bracket nesting are counted ([`tokens`]) before parsing;
//! 2. it is parsed, and its shape bounded ([`shape`]: fragments, arguments);
//! 3. its cost is computed with every fragment expanded ([`walk`]), in time linear in the
//!    document, and compared with the budgets.
//!
//! Steps 1–3 without variables are cached with the parsed document ([`Analyzed`]); when the
//! cost depends on variables (`first: $n`), the walk is repeated with each request's values
//! (linear in the document, microseconds).

mod analyzer;
pub mod model;
mod request;
pub mod shape;
pub mod tokens;
pub mod walk;

pub use analyzer::{Analyzed, CostAnalyzer, CostLimits, MAX_NESTING};
pub use request::check_request;

#[cfg(test)]
mod tests;
