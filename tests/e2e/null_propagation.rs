//! The GraphQL spec's handling of field errors (6.4.4): a failed field is null, and a null in a
//! non-null position nulls the nearest nullable parent — `data` itself for a root field.

use crate::support::spawn_app;
use serde_json::json;

#[tokio::test]
async fn a_failed_non_null_root_field_makes_data_null() {
    let app = spawn_app().await;
    let user = app.verified_user("revoked@example.com").await;
    app.graphql_as(&user.access_token, "mutation { signOut }", json!({}))
        .await
        .data();

    let answer = app
        .graphql_as(
            &user.access_token,
            "{ me { id } todos { totalCount } }",
            json!({}),
        )
        .await;

    assert_eq!(answer.status, 200, "a field error is not a request error");
    assert_eq!(answer.body["data"], json!(null), "body: {}", answer.body);
    let errors = answer.body["errors"].as_array().unwrap();
    assert_eq!(
        errors.len(),
        1,
        "one error per failed field: {}",
        answer.body
    );
    assert_eq!(errors[0]["path"], json!(["todos"]));
    answer.assert_error("UNAUTHENTICATED", None);
}

#[tokio::test]
async fn a_failed_nullable_field_is_null_and_its_siblings_stay() {
    let app = spawn_app().await;
    let user = app.verified_user("nullable@example.com").await;
    app.graphql_as(&user.access_token, "mutation { signOut }", json!({}))
        .await
        .data();

    // `me` is nullable and does not fail for a revoked token (it is null); `authConfig` is
    // non-null and does not fail either; `todo` is nullable and fails.
    let answer = app
        .graphql_as(
            &user.access_token,
            r#"{ authConfig { passwordSignIn } todo(id: "00000000-0000-0000-0000-000000000000") { id } }"#,
            json!({}),
        )
        .await;

    assert_eq!(
        answer.body["data"],
        json!({ "authConfig": { "passwordSignIn": true }, "todo": null }),
        "the failed nullable field is null, not left out: {}",
        answer.body
    );
    assert_eq!(answer.body["errors"][0]["path"], json!(["todo"]));
}

#[tokio::test]
async fn a_failed_mutation_among_aliases_makes_data_null_and_stops_the_ones_after_it() {
    let app = spawn_app().await;
    let user = app.verified_user("three@example.com").await;

    // b repeats a's title: CONFLICT (a title is unique among incomplete todos).
    let answer = app
        .graphql_as(
            &user.access_token,
            r#"mutation {
                a: createTodo(input: { title: "first" }) { id }
                b: createTodo(input: { title: "first" }) { id }
                c: createTodo(input: { title: "third" }) { id }
            }"#,
            json!({}),
        )
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["data"], json!(null), "body: {}", answer.body);
    assert_eq!(answer.body["errors"].as_array().unwrap().len(), 1);
    assert_eq!(answer.body["errors"][0]["path"], json!(["b"]));
    answer.assert_error("CONFLICT", None);

    // a ran and stays done; c, after the failure, did not run.
    let titles = app
        .graphql_as(
            &user.access_token,
            "{ todos { nodes { title } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        titles.data()["todos"]["nodes"],
        json!([{ "title": "first" }]),
        "body: {}",
        titles.body
    );
}
