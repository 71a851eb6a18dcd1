//! The GraphiQL page.

use async_graphql::http::GraphiQLSource;
use std::sync::OnceLock;

/// The HTML of GraphiQL, pointed at /graphql.
pub fn page() -> String {
    static PAGE: OnceLock<String> = OnceLock::new();
    PAGE.get_or_init(|| {
        GraphiQLSource::build()
            .endpoint("/graphql")
            .title("todoql GraphiQL")
            .finish()
    })
    .clone()
}
