//! The parsed-document cache and Automatic Persisted Queries: a document sent again is not
//! parsed again, yet it is validated and authorised on every request as if it were new.

use crate::support::{User, sha256_hex, spawn_app};
use serde_json::json;

const ME: &str = "query Me { me { id email } }";

fn persisted(hash: &str) -> serde_json::Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

#[tokio::test]
async fn an_unknown_persisted_query_asks_the_client_for_its_text() {
    let app = spawn_app().await;

    let answer = app
        .post_graphql_body(
            json!({ "extensions": persisted(&sha256_hex("{ __typename }")) }),
            None,
        )
        .await;

    // A request error: 400 under application/graphql-response+json (reqwest accepts */*).
    assert_eq!(answer.status, 400);
    assert_eq!(answer.message(), "PersistedQueryNotFound");
    answer.assert_error("PERSISTED_QUERY_NOT_FOUND", None);
}

#[tokio::test]
async fn a_persisted_query_sent_once_with_its_text_then_runs_by_hash_alone() {
    let app = spawn_app().await;
    let user = app.sign_up("apq@example.com").await;
    let hash = sha256_hex(ME);

    let first = app
        .post_graphql_body(
            json!({ "query": ME, "extensions": persisted(&hash) }),
            Some(&user.access_token),
        )
        .await;
    let by_hash = app
        .post_graphql_body(
            json!({ "extensions": persisted(&hash) }),
            Some(&user.access_token),
        )
        .await;

    assert_eq!(first.data()["me"]["email"], "apq@example.com");
    assert_eq!(by_hash.data(), first.data());
}

#[tokio::test]
async fn a_persisted_query_whose_hash_does_not_match_its_text_is_refused() {
    let app = spawn_app().await;

    let answer = app
        .post_graphql_body(
            json!({
                "query": "{ __typename }",
                "extensions": persisted(&sha256_hex("{ me { id } }")),
            }),
            None,
        )
        .await;

    answer.assert_error("BAD_USER_INPUT", None);
    assert!(answer.body.get("data").is_none_or(|d| d.is_null()));
}

#[tokio::test]
async fn only_version_one_of_persisted_queries_is_understood() {
    let app = spawn_app().await;

    let answer = app
        .post_graphql_body(
            json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": sha256_hex(ME) } } }),
            None,
        )
        .await;

    assert_eq!(answer.message(), "PersistedQueryNotSupported");
    answer.assert_error("BAD_USER_INPUT", None);
}

#[tokio::test]
async fn a_persisted_query_runs_over_get_by_hash_but_a_persisted_mutation_does_not() {
    let app = spawn_app().await;
    let query = "{ __typename }";
    let mutation = "mutation { signOut }";
    for text in [query, mutation] {
        app.post_graphql_body(
            json!({ "query": text, "extensions": persisted(&sha256_hex(text)) }),
            None,
        )
        .await;
    }

    let read = app
        .get_graphql(&[("extensions", &persisted(&sha256_hex(query)).to_string())])
        .await;
    let write = app
        .get_graphql(&[("extensions", &persisted(&sha256_hex(mutation)).to_string())])
        .await;

    assert_eq!(read.data()["__typename"], "Query");
    assert_eq!(write.status, 405);
}

#[tokio::test]
async fn a_cached_document_still_sees_a_revoked_session_at_once() {
    let app = spawn_app().await;
    let user = app.sign_up("revoked@example.com").await;
    let before = app.graphql_as(&user.access_token, ME, json!({})).await;

    app.graphql_as(&user.access_token, "mutation { signOut }", json!({}))
        .await
        .data();
    let after = app.graphql_as(&user.access_token, ME, json!({})).await;

    let before: Option<User> = before.root_as("me");
    assert_eq!(
        before.and_then(|me| me.email).as_deref(),
        Some("revoked@example.com")
    );
    assert!(
        after.root_as::<Option<User>>("me").is_none(),
        "{}",
        after.body
    );
}

#[tokio::test]
async fn a_cached_document_is_validated_again_with_each_request_s_variables() {
    let app = spawn_app().await;
    let user = app.verified_user("vars@example.com").await;
    let list = "query List($first: Int) { todos(first: $first) { totalCount } }";
    let fine = app
        .graphql_as(&user.access_token, list, json!({ "first": 5 }))
        .await;

    let wrong_type = app
        .graphql_as(&user.access_token, list, json!({ "first": "many" }))
        .await;
    let too_many = app
        .graphql_as(&user.access_token, list, json!({ "first": 101 }))
        .await;

    assert_eq!(fine.data()["todos"]["totalCount"], 0);
    wrong_type.assert_error("BAD_USER_INPUT", None);
    too_many.assert_error("BAD_USER_INPUT", Some("first"));
}
