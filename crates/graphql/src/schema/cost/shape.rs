//! Bounds on the shape of a parsed document that no cost covers: how many fragments it
//! defines, and how many arguments a field or directive carries.
//!
//! async-graphql's validation compares the arguments of two fields with one response name
//! pairwise (`OverlappingFieldsCanBeMerged`: for each argument of one, a scan of the other's),
//! so a field with thousands of arguments costs millions of steps. No field of the schema has
//! more than a handful.

use async_graphql::parser::types::{Directive, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Positioned};
use std::collections::HashSet;

/// Most fragments one document may define.
pub const MAX_FRAGMENTS: usize = 100;
/// Most arguments on one field or directive.
pub const MAX_ARGUMENTS: usize = 16;

/// Why a document's shape was refused: the message to answer with.
pub fn check(document: &ExecutableDocument) -> Result<(), String> {
    if document.fragments.len() > MAX_FRAGMENTS {
        return Err(format!(
            "The document defines {} fragments; at most {MAX_FRAGMENTS} are allowed.",
            document.fragments.len()
        ));
    }
    for (_, operation) in document.operations.iter() {
        directives(&operation.node.directives)?;
        selection_set(&operation.node.selection_set.node)?;
    }
    for fragment in document.fragments.values() {
        directives(&fragment.node.directives)?;
        selection_set(&fragment.node.selection_set.node)?;
    }
    Ok(())
}

fn selection_set(set: &SelectionSet) -> Result<(), String> {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                arguments("Field", &field.name.node, &field.arguments)?;
                directives(&field.directives)?;
                selection_set(&field.selection_set.node)?;
            }
            Selection::InlineFragment(fragment) => {
                directives(&fragment.node.directives)?;
                selection_set(&fragment.node.selection_set.node)?;
            }
            Selection::FragmentSpread(spread) => directives(&spread.node.directives)?,
        }
    }
    Ok(())
}

fn directives(directives: &[Positioned<Directive>]) -> Result<(), String> {
    for directive in directives {
        let directive = &directive.node;
        arguments("Directive", &directive.name.node, &directive.arguments)?;
    }
    Ok(())
}

fn arguments<V>(
    what: &str,
    name: &Name,
    arguments: &[(Positioned<Name>, Positioned<V>)],
) -> Result<(), String> {
    if arguments.len() > MAX_ARGUMENTS {
        return Err(format!(
            "{what} \"{name}\" has {} arguments; at most {MAX_ARGUMENTS} are allowed.",
            arguments.len()
        ));
    }
    let mut seen = HashSet::new();
    for (argument, _) in arguments {
        if !seen.insert(argument.node.as_str()) {
            return Err(format!(
                "{what} \"{name}\" has the argument \"{}\" more than once.",
                argument.node
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    fn shape(query: &str) -> Result<(), String> {
        check(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn ordinary_documents_pass() {
        assert_eq!(
            shape("query($n: Int) { todos(first: $n, after: \"x\") { totalCount } }"),
            Ok(())
        );
    }

    #[test]
    fn too_many_fragments_are_refused() {
        let fragments: String = (0..101)
            .map(|i| format!(" fragment F{i} on Query {{ __typename }}"))
            .collect();
        let error = shape(&format!("{{ ...F0 }}{fragments}")).unwrap_err();
        assert!(error.contains("101 fragments; at most 100"), "{error}");
    }

    #[test]
    fn too_many_or_repeated_arguments_are_refused() {
        let many: String = (0..17).map(|i| format!("a{i}: 1 ")).collect();
        let error = shape(&format!("{{ todos({many}) {{ totalCount }} }}")).unwrap_err();
        assert!(error.contains("\"todos\" has 17 arguments"), "{error}");
        let error = shape("{ todos(first: 1, first: 2) { totalCount } }").unwrap_err();
        assert!(
            error.contains("argument \"first\" more than once"),
            "{error}"
        );
        let error = shape("{ me @skip(if: true, if: false) { id } }").unwrap_err();
        assert!(error.contains("Directive \"skip\""), "{error}");
    }
}
