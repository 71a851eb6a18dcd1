//! No "Did you mean …?" in errors while introspection is off: a suggestion names fields,
//! arguments and types that introspection would have hidden.
//!
//! async-graphql's `disable_suggestions` covers unknown fields and field arguments, but its
//! unknown-argument error for directives suggests regardless; the schema's extension
//! (`schema::hooks`) strips what is left from every validation error with
//! [`without_suggestion`].

use async_graphql::ServerError;

/// `error` without its "Did you mean …?".
pub fn without_suggestion(mut error: ServerError) -> ServerError {
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
