//! GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/): the media type the
//! client accepts picks the answer's Content-Type and whether request errors are 400; Apollo's
//! error codes; Automatic Persisted Queries; `extensions.field` on values that do not fit their
//! type; `/graphql/`.

use crate::support::{Gql, TestApp, sha256_hex, spawn_app};
use serde_json::{Value, json};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// POST /graphql with `body` and the given Accept header (`None`: no Accept header at all).
async fn post(app: &TestApp, accept: Option<&str>, body: Value) -> (Gql, String) {
    post_to(app, "/graphql", accept, body).await
}

async fn post_to(app: &TestApp, path: &str, accept: Option<&str>, body: Value) -> (Gql, String) {
    // A client of its own: reqwest's default client sends `Accept: */*`.
    let client = reqwest::Client::new();
    let mut request = client
        .post(format!("{}{path}", app.base_url))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.expect("request");
    let content_type = content_type(&response);
    (Gql::from_response(response).await, content_type)
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn typename() -> Value {
    json!({ "query": "{ __typename }" })
}

#[tokio::test]
async fn accept_picks_the_content_type() {
    let app = spawn_app().await;
    let cases = [
        (Some(JSON), JSON),
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        (Some("*/*"), GRAPHQL_RESPONSE),
        (None, GRAPHQL_RESPONSE),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            GRAPHQL_RESPONSE,
        ),
        (
            Some("application/graphql-response+json;q=0.5, application/json"),
            JSON,
        ),
    ];
    for (accept, expected) in cases {
        let (answer, content_type) = post(&app, accept, typename()).await;
        assert_eq!(answer.status, 200, "Accept {accept:?}: {}", answer.body);
        assert!(
            content_type.starts_with(expected),
            "Accept {accept:?} answered {content_type}"
        );
        assert_eq!(answer.data()["__typename"], "Query");
    }
}

#[tokio::test]
async fn accept_of_neither_media_type_is_406() {
    let app = spawn_app().await;
    for accept in ["text/html", "application/xml", "application/json;q=0"] {
        let (answer, _) = post(&app, Some(accept), typename()).await;
        assert_eq!(answer.status, 406, "Accept {accept}: {}", answer.body);
    }
}

/// (document, variables, code): a request error of each kind.
fn request_errors() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        ("{ me { id }", json!({}), "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", json!({}), "GRAPHQL_VALIDATION_FAILED"),
        (
            "query($first: Int) { todos(first: $first) { totalCount } }",
            json!({ "first": "twenty" }),
            "BAD_USER_INPUT",
        ),
    ]
}

#[tokio::test]
async fn request_errors_are_400_without_data_under_graphql_response_json() {
    let app = spawn_app().await;
    for (query, variables, code) in request_errors() {
        for accept in [Some(GRAPHQL_RESPONSE), Some("*/*"), None] {
            let (answer, content_type) = post(
                &app,
                accept,
                json!({ "query": query, "variables": variables }),
            )
            .await;
            assert_eq!(
                answer.status, 400,
                "{query} with {accept:?}: {}",
                answer.body
            );
            assert!(content_type.starts_with(GRAPHQL_RESPONSE), "{content_type}");
            assert!(
                answer.body.get("data").is_none(),
                "no data entry: {}",
                answer.body
            );
            answer.assert_error(code, None);
        }
    }
}

#[tokio::test]
async fn request_errors_are_200_under_application_json() {
    let app = spawn_app().await;
    for (query, variables, code) in request_errors() {
        let (answer, content_type) = post(
            &app,
            Some(JSON),
            json!({ "query": query, "variables": variables }),
        )
        .await;
        assert_eq!(answer.status, 200, "{query}: {}", answer.body);
        assert!(content_type.starts_with(JSON), "{content_type}");
        assert!(
            answer.body.get("data").is_none(),
            "no data entry: {}",
            answer.body
        );
        answer.assert_error(code, None);
    }
}

#[tokio::test]
async fn field_errors_stay_200_under_both_media_types() {
    let app = spawn_app().await;
    for accept in [GRAPHQL_RESPONSE, JSON] {
        let (answer, _) = post(
            &app,
            Some(accept),
            json!({ "query": "{ todos { totalCount } }" }),
        )
        .await;
        assert_eq!(answer.status, 200, "{accept}: {}", answer.body);
        assert_eq!(answer.body["data"], json!(null));
        answer.assert_error("UNAUTHENTICATED", None);
    }
}

#[tokio::test]
async fn get_requests_follow_the_same_rules() {
    let app = spawn_app().await;
    let get = |accept: &'static str, query: &'static str| {
        let app = &app;
        async move {
            let response = reqwest::Client::new()
                .get(format!("{}/graphql", app.base_url))
                .query(&[("query", query)])
                .header("accept", accept)
                .send()
                .await
                .expect("request");
            let content_type = content_type(&response);
            (Gql::from_response(response).await, content_type)
        }
    };
    let (ok, content_type) = get(JSON, "{ __typename }").await;
    assert_eq!(ok.status, 200);
    assert!(content_type.starts_with(JSON), "{content_type}");
    let (bad, _) = get(GRAPHQL_RESPONSE, "{ __typename").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    bad.assert_error("GRAPHQL_PARSE_FAILED", None);
    let (bad, _) = get(JSON, "{ nope }").await;
    assert_eq!(bad.status, 200, "{}", bad.body);
    bad.assert_error("GRAPHQL_VALIDATION_FAILED", None);
    let (refused, _) = get("text/html", "{ __typename }").await;
    assert_eq!(refused.status, 406);
}

#[tokio::test]
async fn persisted_queries_register_hit_and_ask_for_unknown_hashes() {
    let app = spawn_app().await;
    let query = "query Typename { __typename }";
    let persisted = |hash: &str| json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });

    let (unknown, _) = post(
        &app,
        None,
        json!({ "extensions": persisted(&sha256_hex(query)) }),
    )
    .await;
    unknown.assert_error("PERSISTED_QUERY_NOT_FOUND", None);
    assert_eq!(unknown.message(), "PersistedQueryNotFound");
    assert_eq!(unknown.status, 400, "a request error: {}", unknown.body);
    let (unknown_json, _) = post(
        &app,
        Some(JSON),
        json!({ "extensions": persisted(&sha256_hex(query)) }),
    )
    .await;
    assert_eq!(unknown_json.status, 200);
    unknown_json.assert_error("PERSISTED_QUERY_NOT_FOUND", None);

    let (bad_hash, _) = post(
        &app,
        None,
        json!({ "query": query, "extensions": persisted(&sha256_hex("{ me { id } }")) }),
    )
    .await;
    assert_eq!(bad_hash.status, 400, "{}", bad_hash.body);
    bad_hash.assert_error("BAD_USER_INPUT", None);

    let (register, _) = post(
        &app,
        None,
        json!({ "query": query, "extensions": persisted(&sha256_hex(query)) }),
    )
    .await;
    assert_eq!(register.data()["__typename"], "Query");
    let (hit, _) = post(
        &app,
        None,
        json!({ "extensions": persisted(&sha256_hex(query)) }),
    )
    .await;
    assert_eq!(hit.status, 200);
    assert_eq!(hit.data()["__typename"], "Query");
}

#[tokio::test]
async fn values_that_do_not_fit_their_type_name_their_field_inline_and_in_variables() {
    let app = spawn_app().await;
    let user = app.verified_user("coerce@example.com").await;
    let cases = [
        (
            r#"mutation { createTodo(input: { title: "t", dueDate: "tomorrow" }) { id } }"#,
            json!({}),
            "dueDate",
        ),
        (
            "mutation($d: DateTime) { createTodo(input: { title: \"t\", dueDate: $d }) { id } }",
            json!({ "d": "tomorrow" }),
            "dueDate",
        ),
        (
            "{ todos(first: 99999999999) { totalCount } }",
            json!({}),
            "first",
        ),
        (
            "query($f: Int) { todos(first: $f) { totalCount } }",
            json!({ "f": 99999999999_i64 }),
            "first",
        ),
        ("{ todo(id: 1.5) { id } }", json!({}), "id"),
        (
            "query($id: ID!) { todo(id: $id) { id } }",
            json!({ "id": true }),
            "id",
        ),
        (
            "mutation($c: Boolean!) { setTodoCompleted(id: \"x\", completed: $c) { id } }",
            json!({ "c": "yes" }),
            "completed",
        ),
    ];
    for (query, variables, field) in cases {
        let answer = app
            .graphql_as(&user.access_token, query, variables.clone())
            .await;
        assert_eq!(answer.status, 400, "{query} {variables}: {}", answer.body);
        assert!(answer.body.get("data").is_none(), "{}", answer.body);
        answer.assert_error("BAD_USER_INPUT", Some(field));
    }
}

#[tokio::test]
async fn graphql_with_a_trailing_slash_is_the_same_endpoint() {
    let app = spawn_app().await;
    let (answer, content_type) = post_to(&app, "/graphql/", Some(JSON), typename()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(content_type.starts_with(JSON));
    assert_eq!(answer.data()["__typename"], "Query");

    let get = reqwest::Client::new()
        .get(format!("{}/graphql/", app.base_url))
        .query(&[("query", "{ __typename }")])
        .send()
        .await
        .expect("request");
    assert_eq!(get.status(), 200);
    assert_eq!(Gql::from_response(get).await.data()["__typename"], "Query");

    // GraphiQL lives at /graphql (its assets are relative to it): /graphql/ sends the browser
    // there.
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/graphql/", app.base_url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), 308);
    assert_eq!(page.headers()["location"], "../graphql");
}
