//! GraphQL over HTTP GET: reading the request from the query string, and telling whether it
//! would run a mutation (refused over GET: a link or an image must not change anything).

use async_graphql::Request;
use async_graphql::parser::types::{DocumentOperations, OperationType};

/// A GraphQL-over-HTTP GET request: `query`, `operationName`, and JSON `variables` and
/// `extensions`. (async-graphql's own parser expects `operation_name`, which clients don't send.)
/// The query may be left out only for a persisted query (`extensions.persistedQuery`).
pub fn parse(query_string: &str) -> Option<Request> {
    let mut query = None;
    let mut operation_name = None;
    let mut variables = None;
    let mut extensions = None;
    for (key, value) in url::form_urlencoded::parse(query_string.as_bytes()) {
        match key.as_ref() {
            "query" => query = Some(value.into_owned()),
            "operationName" if !value.is_empty() => operation_name = Some(value.into_owned()),
            "variables" if !value.is_empty() => {
                variables = Some(serde_json::from_str(&value).ok()?)
            }
            "extensions" if !value.is_empty() => {
                extensions = Some(serde_json::from_str::<serde_json::Value>(&value).ok()?)
            }
            _ => {}
        }
    }
    let persisted = matches!(&extensions, Some(serde_json::Value::Object(map)) if map.contains_key("persistedQuery"));
    let query = match query {
        Some(query) => query,
        None if persisted => String::new(),
        None => return None,
    };
    let mut request = Request::new(query);
    if let Some(name) = operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = variables {
        request = request.variables(async_graphql::Variables::from_json(variables));
    }
    if let Some(serde_json::Value::Object(map)) = extensions {
        for (key, value) in map {
            if let Ok(value) = async_graphql::Value::from_json(value) {
                request.extensions.insert(key, value);
            }
        }
    }
    Some(request)
}

/// Whether the operation the request would run is a mutation (or subscription).
pub fn selects_mutation(request: &mut Request) -> bool {
    let operation_name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false; // execution reports the syntax error
    };
    let ty = match &document.operations {
        DocumentOperations::Single(op) => Some(op.node.ty),
        DocumentOperations::Multiple(ops) => match &operation_name {
            Some(name) => ops.get(name.as_str()).map(|op| op.node.ty),
            None => None,
        },
    };
    matches!(
        ty,
        Some(OperationType::Mutation | OperationType::Subscription)
    )
}
