//! No "Did you mean …?" in errors while introspection is off: a suggestion names fields,
//! arguments and types that introspection would have hidden.
//!
//! async-graphql's `disable_suggestions` covers unknown fields and field arguments, but its
//! unknown-argument error for directives suggests regardless; this extension strips what is
//! left from every validation error.

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{ServerError, ValidationResult};
use std::sync::Arc;

/// Removes suggestions from validation errors.
pub struct NoSuggestions;

impl ExtensionFactory for NoSuggestions {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(NoSuggestions)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for NoSuggestions {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx)
            .await
            .map_err(|errors| errors.into_iter().map(without_suggestion).collect())
    }
}

fn without_suggestion(mut error: ServerError) -> ServerError {
    if let Some(at) = error.message.find(" Did you mean") {
        error.message.truncate(at);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::without_suggestion;
    use async_graphql::ServerError;

    #[test]
    fn the_suggestion_is_cut_and_the_rest_kept() {
        let error = ServerError::new(
            "Unknown field \"sessio\" on type \"Query\". Did you mean \"sessions\"?",
            None,
        );
        assert_eq!(
            without_suggestion(error).message,
            "Unknown field \"sessio\" on type \"Query\"."
        );
    }
}
