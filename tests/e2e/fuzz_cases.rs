//! Cases the GraphQL fuzzer (scripts/fuzz/run.sh) found, kept as regular tests, each with the
//! document exactly as the fuzzer sent it. Every one answered INTERNAL_SERVER_ERROR on
//! PostgreSQL before the input rules (crates/graphql/src/input.rs) and must now be
//! BAD_USER_INPUT naming the field, on both databases, with nothing written.

use crate::support::*;
use crate::todos::{new_todo, todo_rows, todo_user};
use serde_json::json;

#[tokio::test]
async fn fuzz_create_todo_with_a_nul_in_title_and_description() {
    // "invalid byte sequence for encoding "UTF8": 0x00" on PostgreSQL; stored on SQLite.
    let app = spawn_app().await;
    let user = todo_user(&app, "fuzz@example.com").await;

    let response = app
        .graphql_as(
            &user.access_token,
            "mutation {\n  createTodo(input: { title: \"a\\u0000b\", description: \"a\\u0000b\" }) {\n    updatedAt\n  }\n}",
            json!({}),
        )
        .await;

    response.assert_error("BAD_USER_INPUT", Some("title"));
    assert_eq!(todo_rows(&app).await, 0);
}

#[tokio::test]
async fn fuzz_update_todo_with_a_nul_in_the_description() {
    let app = spawn_app().await;
    let user = todo_user(&app, "fuzz@example.com").await;
    let todo = new_todo(&app, &user, "milk").await;
    let id = todo["id"].as_str().unwrap();

    let response = app
        .graphql_as(
            &user.access_token,
            &format!("mutation {{\n  updateTodo(\n    id: \"{id}\"\n    input: {{ description: \"a\\u0000b\" }}\n  ) {{\n    updatedAt\n  }}\n}}"),
            json!({}),
        )
        .await;

    response.assert_error("BAD_USER_INPUT", Some("description"));
    let fetched = app
        .graphql_as(
            &user.access_token,
            "query($id: ID!) { todo(id: $id) { description updatedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(fetched.data()["todo"]["description"], json!(null));
    assert_eq!(fetched.data()["todo"]["updatedAt"], todo["updatedAt"]);
}
