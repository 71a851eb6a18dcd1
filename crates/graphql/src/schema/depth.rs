//! The query depth limit, with introspection left out of the count.
//!
//! async-graphql's own `limit_depth` counts `__schema { types { fields { type { ofType … } } } }`
//! like any other selection, and the introspection query that GraphiQL and code generators
//! send is 13 levels deep: with a limit of 12 GraphiQL's Docs and schema-aware editor stay
//! empty. Introspection cannot recurse further than its text (every `ofType` is written out),
//! the parser caps nesting at 32 and the complexity limit still counts every field, so the
//! depth limit, which exists to stop expensive nesting of our own objects, skips it.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult};
use std::collections::HashMap;

/// Refuses a parsed document nested deeper than `max` levels of non-introspection fields
/// (called by the schema's extension, `schema::hooks`, once the document is parsed).
pub fn check_depth(document: &ExecutableDocument, max: usize) -> ServerResult<()> {
    if document_depth(document) > max {
        // The same words as async-graphql's own limit.
        return Err(ServerError::new("Query is nested too deep.", None));
    }
    Ok(())
}

/// The deepest nesting of any operation in the document, introspection fields not counted.
pub fn document_depth(document: &ExecutableDocument) -> usize {
    let mut fragments = HashMap::new();
    document
        .operations
        .iter()
        .map(|(_, operation)| {
            selection_set_depth(&operation.node.selection_set.node, document, &mut fragments)
        })
        .max()
        .unwrap_or(0)
}

/// Fragment depths are memoised (a fragment spread many times is walked once); a fragment
/// that spreads itself counts 0 on the way round (validation refuses such documents anyway).
fn selection_set_depth(
    set: &SelectionSet,
    document: &ExecutableDocument,
    fragments: &mut HashMap<String, Option<usize>>,
) -> usize {
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                if matches!(field.name.node.as_str(), "__schema" | "__type") {
                    0
                } else {
                    1 + selection_set_depth(&field.selection_set.node, document, fragments)
                }
            }
            Selection::InlineFragment(fragment) => {
                selection_set_depth(&fragment.node.selection_set.node, document, fragments)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match fragments.get(name) {
                    Some(Some(depth)) => *depth,
                    Some(None) => 0,
                    None => {
                        fragments.insert(name.to_owned(), None);
                        let depth = document
                            .fragments
                            .get(&spread.node.fragment_name.node)
                            .map(|f| {
                                selection_set_depth(&f.node.selection_set.node, document, fragments)
                            })
                            .unwrap_or(0);
                        fragments.insert(name.to_owned(), Some(depth));
                        depth
                    }
                }
            }
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::document_depth;

    fn depth(query: &str) -> usize {
        document_depth(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn every_field_level_counts() {
        assert_eq!(depth("{ me { linkedAccounts { provider } } }"), 3);
        assert_eq!(depth("{ a b { c } }"), 2);
    }

    #[test]
    fn fragments_count_where_they_are_spread() {
        assert_eq!(
            depth("{ me { ...F } } fragment F on User { linkedAccounts { provider } }"),
            3
        );
        assert_eq!(depth("{ me { ... on User { id } } }"), 2);
    }

    #[test]
    fn introspection_is_not_counted() {
        assert_eq!(
            depth("{ __schema { types { fields { type { ofType { ofType { name } } } } } } }"),
            0
        );
        assert_eq!(
            depth("{ __type(name: \"Todo\") { fields { name } } me { id } }"),
            2
        );
        assert_eq!(depth("{ me { __typename } }"), 2);
    }

    #[test]
    fn a_fragment_that_spreads_itself_ends() {
        assert_eq!(depth("{ me { ...F } } fragment F on User { id ...F }"), 2);
    }
}
