//! The input check against the whole schema: every argument and input field of every operation.

use super::input_check::*;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerError, ServerResult, Value, Variables};
use std::sync::Arc;

/// Stops every request once the document is parsed and checked (no resolver runs, so
/// the schema needs no state): "checked" means the check let it through.
struct StopAfterCheck;

impl ExtensionFactory for StopAfterCheck {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(StopAfterCheck)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for StopAfterCheck {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await?;
        Err(ServerError::new("checked", None))
    }
}

async fn check(query: &str, variables: serde_json::Value) -> Result<(), (String, String)> {
    // StopAfterCheck first: its parse_query wraps InputCheck's.
    let schema = crate::schema::builder()
        .extension(StopAfterCheck)
        .extension(InputCheck)
        .finish();
    let request = async_graphql::Request::new(query).variables(Variables::from_json(variables));
    let response = schema.execute(request).await;
    let error = response.errors.first().expect("an error");
    if error.message == "checked" {
        return Ok(());
    }
    let extensions = error.extensions.as_ref().expect("extensions");
    assert_eq!(extensions.get("code"), Some(&Value::from("BAD_USER_INPUT")));
    match extensions.get("field") {
        Some(Value::String(field)) => Err((field.clone(), error.message.clone())),
        other => panic!("no field: {other:?}"),
    }
}

async fn refused_field(query: &str, variables: serde_json::Value) -> String {
    check(query, variables).await.expect_err("refused").0
}

#[tokio::test]
async fn literals_and_variables_are_checked_where_they_are_used() {
    let literal = r#"mutation { createTodo(input: {title: "a\u0000b"}) { id } }"#;
    assert_eq!(refused_field(literal, serde_json::json!({})).await, "title");
    let variable = "mutation($input: CreateTodoInput!) { createTodo(input: $input) { id } }";
    assert_eq!(
        refused_field(variable, serde_json::json!({"input": {"title": "a\u{0}b"}})).await,
        "title"
    );
    let scalar = "mutation($t: String!) { createTodo(input: {title: $t}) { id } }";
    assert_eq!(
        refused_field(scalar, serde_json::json!({"t": "a\nb"})).await,
        "title"
    );
}

#[tokio::test]
async fn descriptions_may_hold_line_breaks_and_tabs_but_titles_may_not() {
    let query =
        "mutation($d: String) { createTodo(input: {title: \"t\", description: $d}) { id } }";
    assert!(
        check(query, serde_json::json!({"d": "one\n\ttwo\r\n"}))
            .await
            .is_ok()
    );
    assert_eq!(
        refused_field(query, serde_json::json!({"d": "a\u{7}"})).await,
        "description"
    );
    let same_variable_as_title =
        "mutation($d: String!) { createTodo(input: {title: $d, description: $d}) { id } }";
    assert_eq!(
        refused_field(same_variable_as_title, serde_json::json!({"d": "one\ntwo"})).await,
        "title"
    );
}

#[tokio::test]
async fn defaults_fragments_lists_and_arguments_are_walked() {
    let default = "query($s: String = \"a\\u0000\") { todos(filter: {search: $s}) { totalCount } }";
    assert_eq!(
        refused_field(default, serde_json::json!({})).await,
        "search"
    );
    assert!(
        check(default, serde_json::json!({"s": "fine"}))
            .await
            .is_ok()
    );
    let fragment =
        "query { ...F } fragment F on Query { todos(after: \"x\\u0007\") { totalCount } }";
    assert_eq!(
        refused_field(fragment, serde_json::json!({})).await,
        "after"
    );
    let inline = "query { ... on Query { todo(id: \"\\u0000\") { id } } }";
    assert_eq!(refused_field(inline, serde_json::json!({})).await, "id");
    let introspection = "{ __type(name: \"Todo\\u0000\") { name } }";
    assert_eq!(
        refused_field(introspection, serde_json::json!({})).await,
        "name"
    );
}

#[tokio::test]
async fn passwords_at_sign_in_are_taken_as_typed_but_new_ones_are_not() {
    let sign_in = "mutation($p: String!) { signIn(input: {email: \"a@example.com\", password: $p}) { accessToken } }";
    assert!(
        check(sign_in, serde_json::json!({"p": "pass\u{0}word"}))
            .await
            .is_ok()
    );
    let sign_up = "mutation($p: String!) { signUp(input: {email: \"a@example.com\", password: $p}) { accessToken } }";
    assert_eq!(
        refused_field(sign_up, serde_json::json!({"p": "pass\u{0}word"})).await,
        "password"
    );
}

#[tokio::test]
async fn instants_outside_the_years_1_to_9999_are_refused_on_their_field() {
    let query = "query($before: DateTime) { todos(filter: {dueBefore: $before}) { totalCount } }";
    assert!(
        check(query, serde_json::json!({"before": "2026-01-01T00:00:00Z"}))
            .await
            .is_ok()
    );
    let (field, message) = check(
        query,
        serde_json::json!({"before": "0001-01-01T00:00:00+01:00"}),
    )
    .await
    .unwrap_err();
    assert_eq!(field, "dueBefore");
    assert!(message.contains("0001-01-01"), "{message}");
    let due = "mutation { createTodo(input: {title: \"t\", dueDate: \"9999-12-31T23:59:59-01:00\"}) { id } }";
    assert_eq!(refused_field(due, serde_json::json!({})).await, "dueDate");
}
