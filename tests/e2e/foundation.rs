//! The foundation: HTTP rules, limits, health, readiness, metrics, request ids, CLI,
//! migrations and configuration.

use crate::support::*;
use serde_json::json;
use todoql_migration::{Migrator, MigratorTrait};

const SIGN_UP_INLINE: &str = r#"mutation { signUp(input: {email: "csrf@example.com", password: "correct horse battery staple"}) { accessToken } }"#;

#[tokio::test]
async fn auth_config_answers_on_a_fresh_server() {
    let app = spawn_app().await;
    let response = app
        .graphql(
            "{ authConfig { passwordSignIn requireVerifiedEmail } }",
            json!({}),
        )
        .await;
    let config: AuthConfig = response.root_as("authConfig");
    assert_eq!(config.password_sign_in, Some(true));
    assert_eq!(config.require_verified_email, Some(true));
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let db = TestDb::create().await;
    let connection = sea_orm::Database::connect(&db.url).await.unwrap();
    Migrator::up(&connection, None).await.unwrap();
    let applied = Migrator::get_applied_migrations(&connection)
        .await
        .unwrap()
        .len();
    assert_eq!(applied, Migrator::migrations().len());
    assert!(table_names(&connection).await.contains(&"todos".to_owned()));

    Migrator::down(&connection, None).await.unwrap();
    let left: Vec<String> = table_names(&connection)
        .await
        .into_iter()
        .filter(|t| t != "seaql_migrations")
        .collect();
    assert!(left.is_empty(), "tables left after down: {left:?}");

    Migrator::up(&connection, None).await.unwrap();
    for table in [
        "users",
        "accounts",
        "sessions",
        "email_verification_codes",
        "password_reset_tokens",
        "oauth_states",
        "todos",
        "deleted_todo_logs",
        "email_outbox",
        "rate_limit_counters",
        "refresh_token_history",
    ] {
        assert!(
            table_names(&connection).await.contains(&table.to_owned()),
            "missing {table}"
        );
    }
    connection.close().await.unwrap();
}

async fn table_names(db: &sea_orm::DatabaseConnection) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    };
    db.query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect()
}

#[tokio::test]
async fn post_without_json_content_type_is_415_and_not_executed() {
    let app = spawn_app().await;
    let form = format!("query={}", urlencode(SIGN_UP_INLINE));
    for content_type in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let response = app.post_raw(content_type, form.clone().into_bytes()).await;
        assert_eq!(response.status(), 415, "{content_type}");
    }
    let body = serde_json::to_vec(&json!({ "query": SIGN_UP_INLINE })).unwrap();
    assert_eq!(app.post_raw("text/plain", body).await.status(), 415);
    assert_eq!(app.user_count().await, 0, "a refused request must not run");
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn body_over_one_mebibyte_is_413_and_not_executed() {
    let app = spawn_app().await;
    let padding = " ".repeat(1024 * 1024);
    let body =
        serde_json::to_vec(&json!({ "query": format!("{SIGN_UP_INLINE}{padding}") })).unwrap();
    let response = app.post_raw("application/json", body).await;
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1048576 bytes")
    );
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn get_runs_queries_but_never_mutations() {
    let app = spawn_app().await;
    let query = app
        .get(&format!(
            "/graphql?query={}",
            urlencode("{ authConfig { passwordSignIn } }")
        ))
        .await;
    assert_eq!(query.status(), 200);
    let body: serde_json::Value = query.json().await.unwrap();
    assert_eq!(body["data"]["authConfig"]["passwordSignIn"], true);

    let mutation = app
        .get(&format!("/graphql?query={}", urlencode(SIGN_UP_INLINE)))
        .await;
    assert_eq!(mutation.status(), 405);
    assert_eq!(app.user_count().await, 0);

    // Choosing the mutation of a multi-operation document by name is refused too.
    let document = format!(
        "query Q {{ __typename }} {}",
        SIGN_UP_INLINE.replacen("mutation", "mutation M", 1)
    );
    let named = app
        .get(&format!(
            "/graphql?query={}&operationName=M",
            urlencode(&document)
        ))
        .await;
    assert_eq!(named.status(), 405);
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn get_from_a_browser_serves_graphiql() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/graphql", app.base_url))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
}

#[tokio::test]
async fn two_thousand_aliased_fields_are_refused() {
    // Tokens out of the way (12,000 here): the point is the complexity limit.
    let app = TestApp::spawn_with(&["--max-tokens", "20000"]).await;
    let fields: String = (0..2000)
        .map(|i| format!("a{i}: authConfig {{ passwordSignIn }} "))
        .collect();
    let response = app.graphql(&format!("{{ {fields} }}"), json!({})).await;
    assert!(response.body["data"].is_null(), "{}", response.body);
    response.assert_error("BAD_USER_INPUT", None);
    assert!(
        response.message().to_lowercase().contains("complex"),
        "{}",
        response.message()
    );
}

#[tokio::test]
async fn queries_deeper_than_the_limit_are_refused() {
    let app = TestApp::spawn_with(&["--max-depth", "2"]).await;
    let shallow = app.graphql("{ me { id } }", json!({})).await;
    assert!(shallow.body.get("errors").is_none(), "{}", shallow.body);
    let deep = app
        .graphql(
            "{ me { ...Accounts } } fragment Accounts on User { linkedAccounts { provider } }",
            json!({}),
        )
        .await;
    deep.assert_error("BAD_USER_INPUT", None);
    assert!(
        deep.message().to_lowercase().contains("nested"),
        "{}",
        deep.message()
    );
}

#[tokio::test]
async fn batches_larger_than_the_limit_are_refused() {
    let app = spawn_app().await;
    let operation = json!({ "query": "{ __typename }" });
    let ten = serde_json::to_vec(&vec![operation.clone(); 10]).unwrap();
    let response = app.post_raw("application/json", ten).await;
    assert_eq!(response.status(), 200);
    let answers: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answers.as_array().unwrap().len(), 10);

    let eleven = serde_json::to_vec(&vec![operation; 11]).unwrap();
    let response = app.post_raw("application/json", eleven).await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let on = spawn_app().await;
    let response = on
        .graphql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(response.data()["__schema"]["queryType"]["name"], "Query");

    let off = TestApp::spawn_with(&["--introspection", "false"]).await;
    let response = off
        .graphql(
            "{ __schema { queryType { name } } __type(name: \"User\") { name } }",
            json!({}),
        )
        .await;
    assert!(
        response.body["data"]["__schema"].is_null(),
        "{}",
        response.body
    );
    assert!(
        response.body["data"]["__type"].is_null(),
        "{}",
        response.body
    );
    let normal = off
        .graphql("{ authConfig { passwordSignIn } }", json!({}))
        .await;
    assert_eq!(normal.data()["authConfig"]["passwordSignIn"], true);
}

#[tokio::test]
async fn requests_over_the_timeout_get_408() {
    let app = TestApp::spawn_with(&["--request-timeout", "0"]).await;
    // A sign-in verifies a password (tens of milliseconds), far over a zero timeout.
    let sign_in = json!({ "query": "mutation { signIn(input: {email: \"a@example.com\", password: \"whatever-password\"}) { accessToken } }" });
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .json(&sign_in)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 408);
}

#[tokio::test]
async fn malformed_json_is_bad_user_input_and_bad_documents_have_apollo_s_codes() {
    let app = spawn_app().await;
    let response = app
        .post_raw("application/json", b"{not json".to_vec())
        .await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let syntax = app.graphql("{ authConfig { ", json!({})).await;
    syntax.assert_error("GRAPHQL_PARSE_FAILED", None);
    let unknown_field = app.graphql("{ nope }", json!({})).await;
    unknown_field.assert_error("GRAPHQL_VALIDATION_FAILED", None);
}

#[tokio::test]
async fn health_is_always_ok_and_readiness_follows_the_database() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);

    app.state.db().close_by_ref().await.unwrap();

    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 503);
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_requests_latency_and_pool() {
    let app = spawn_app().await;
    let _ = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .json(&json!({ "query": "query MetricsProbe { authConfig { passwordSignIn } }", "operationName": "MetricsProbe" }))
        .send()
        .await
        .unwrap();
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("todoql_graphql_requests_total{")
                && l.contains("operation=\"MetricsProbe\"")
                && l.contains("outcome=\"ok\"")),
        "{text}"
    );
    assert!(
        text.contains("# TYPE todoql_graphql_request_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains("todoql_graphql_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(text.contains("todoql_db_pool_connections"), "{text}");
    // Every sample line is `name{labels} value` or `name value`.
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "not a sample line: {line}");
    }
}

#[tokio::test]
async fn metrics_can_move_to_a_listener_of_their_own() {
    let db = TestDb::create().await;
    let metrics_port = free_port();
    let metrics_listen = format!("127.0.0.1:{metrics_port}");
    let mut server = ServerProcess::start(
        &db.url,
        &[
            ("TODOQL_METRICS_LISTEN", metrics_listen.as_str()),
            (
                "TODOQL_JWT_SECRET",
                "a-secret-of-at-least-thirty-two-bytes!",
            ),
        ],
    )
    .await;
    let metrics_url = format!("http://{metrics_listen}");
    assert!(
        server
            .log()
            .contains(&format!("metrics on {metrics_url}/metrics only")),
        "{}",
        server.log()
    );
    let client = reqwest::Client::new();
    let get = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await.expect("request") }
    };
    let probe = json!({ "query": "query ListenerProbe { authConfig { passwordSignIn } }", "operationName": "ListenerProbe" });
    client
        .post(format!("{}/graphql", server.base_url))
        .json(&probe)
        .send()
        .await
        .unwrap();

    // The public listener no longer answers /metrics; everything else is still there.
    assert_eq!(
        get(format!("{}/metrics", server.base_url)).await.status(),
        404
    );
    assert_eq!(
        get(format!("{}/healthz", server.base_url)).await.status(),
        200
    );

    // The metrics listener answers /metrics, with what the public one counted, and nothing else.
    let response = get(format!("{metrics_url}/metrics")).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("todoql_graphql_requests_total{")
                && l.contains("operation=\"ListenerProbe\"")),
        "{text}"
    );
    for path in ["/graphql", "/healthz", "/readyz", "/"] {
        assert_eq!(
            get(format!("{metrics_url}{path}")).await.status(),
            404,
            "{path}"
        );
    }

    // SIGTERM stops both listeners cleanly.
    assert_eq!(server.terminate().code(), Some(0), "{}", server.log());
    assert!(
        client
            .get(format!("{metrics_url}/metrics"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_the_callers() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz", "/metrics", "/graphql"] {
        let response = app.get(path).await;
        let id = response
            .headers()
            .get("x-request-id")
            .unwrap_or_else(|| panic!("{path}"));
        assert!(uuid::Uuid::parse_str(id.to_str().unwrap()).is_ok());
    }
    let response = app.post_raw("text/plain", vec![]).await;
    assert!(
        response.headers().contains_key("x-request-id"),
        "415 answers carry it too"
    );
    let given = app
        .client
        .get(format!("{}/healthz", app.base_url))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn internal_errors_are_generic_and_reveal_no_sql() {
    let app = spawn_app().await;
    use sea_orm::ConnectionTrait;
    // Break the database under the server: sign-up can no longer write sessions.
    app.state
        .db()
        .execute_unprepared("DROP TABLE refresh_token_history")
        .await
        .unwrap();
    app.state
        .db()
        .execute_unprepared("DROP TABLE sessions")
        .await
        .unwrap();
    let response = app
        .graphql(
            SIGN_UP,
            json!({ "input": { "email": "ada@example.com", "password": PASSWORD } }),
        )
        .await;
    response.assert_error("INTERNAL_SERVER_ERROR", None);
    assert_eq!(response.message(), "Internal server error.");
    let text = response.body.to_string().to_lowercase();
    for leak in [
        "sessions",
        "sql",
        "insert",
        "no such table",
        "relation",
        ".rs",
    ] {
        assert!(!text.contains(leak), "response leaks {leak:?}: {text}");
    }
    assert_eq!(
        app.user_count().await,
        0,
        "the failed sign-up left no half-written account"
    );
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let closed = spawn_app().await;
    let preflight = |app: &TestApp| {
        app.client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/graphql", app.base_url),
            )
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            )
            .send()
    };
    let response = preflight(&closed).await.unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let open = TestApp::spawn_with(&[
        "--cors-origins",
        "https://app.example.com,https://other.example.com",
    ])
    .await;
    let response = preflight(&open).await.unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let stranger = open
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/graphql", open.base_url),
        )
        .header("origin", "https://evil.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        stranger
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn graceful_shutdown_lets_the_server_stop_cleanly() {
    let app = spawn_app().await;
    let base = app.base_url.clone();
    app.shutdown().await;
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "no longer accepting"
    );
}

#[test]
fn committed_schema_equals_todoql_schema_output() {
    let output = todoql_bin()
        .arg("schema")
        .output()
        .expect("run todoql schema");
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema.graphql"))
            .expect("schema.graphql at the repository root");
    assert!(
        printed == committed,
        "schema.graphql is stale: run `cargo run -q -- schema > schema.graphql`"
    );
}

#[test]
fn bad_configuration_exits_2_with_one_line_naming_the_variable() {
    let cases = [
        ("TODOQL_LISTEN", "not-an-address"),
        ("TODOQL_JWT_SECRET", "too-short-secret"),
        ("TODOQL_REQUIRE_VERIFIED_EMAIL", "perhaps"),
        ("TODOQL_LOG_FORMAT", "xml"),
        ("TODOQL_CORS_ORIGINS", "not a url"),
        ("DATABASE_URL", "mysql://nope"),
        ("TODOQL_MAX_BATCH", "0"),
        ("TODOQL_METRICS_LISTEN", "not-an-address"),
    ];
    for (variable, value) in cases {
        let output = todoql_bin()
            .args(["serve", "--check-config"])
            .env(variable, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}={value}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{variable}: {stderr}");
        assert!(stderr.contains(variable), "{variable}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A bad secret is described, never echoed.
    let output = todoql_bin()
        .args(["serve", "--check-config"])
        .env("TODOQL_JWT_SECRET", "hunter2-secret")
        .output()
        .unwrap();
    assert!(
        !String::from_utf8(output.stderr)
            .unwrap()
            .contains("hunter2-secret")
    );
}

#[tokio::test]
async fn a_second_start_on_the_same_sqlite_file_keeps_the_data_and_sigterm_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("keep.db").display());
    let secret = (
        "TODOQL_JWT_SECRET",
        "a-secret-of-at-least-thirty-two-bytes!",
    );

    let mut first = ServerProcess::start(&url, &[secret]).await;
    let signed_up = first
        .graphql(
            None,
            SIGN_UP,
            json!({ "input": { "email": "keep@example.com", "password": PASSWORD } }),
        )
        .await;
    assert!(signed_up.body.get("errors").is_none(), "{}", signed_up.body);
    let status = first.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM exits 0; log:\n{}",
        first.log()
    );
    assert!(first.log().contains("stopped"), "{}", first.log());

    let second = ServerProcess::start(&url, &[secret]).await;
    let signed_in = second
        .graphql(
            None,
            "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) { user { email } } }",
            json!({ "e": "keep@example.com", "p": PASSWORD }),
        )
        .await;
    assert_eq!(
        signed_in.data()["signIn"]["user"]["email"],
        "keep@example.com"
    );
}

#[tokio::test]
async fn in_flight_requests_finish_during_graceful_shutdown() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com").await;
    let client = app.client.clone();
    let url = format!("{}/graphql", app.base_url);
    let sign_in = json!({ "query": "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) { accessToken } }", "variables": { "e": "ada@example.com", "p": PASSWORD } });
    app.take_statement_count();
    let requests: Vec<_> = (0..8)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.clone(), sign_in.clone());
            tokio::spawn(async move { client.post(url).json(&body).send().await })
        })
        .collect();
    // Each sign-in reads the rate limits and the user before hashing: once every request has
    // done so, all of them are in flight (waiting for Argon2).
    while app.statements.load(std::sync::atomic::Ordering::SeqCst) < 16 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    app.shutdown().await;
    for request in requests {
        let response = request.await.unwrap().expect("answered, not dropped");
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["data"]["signIn"]["accessToken"].is_string(), "{body}");
    }
}

#[test]
fn migrate_subcommands_apply_report_and_roll_back() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let run = |args: &[&str]| {
        let output = todoql_bin()
            .args(args)
            .env("DATABASE_URL", &url)
            .env("TODOQL_LOG", "info")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    run(&["migrate", "up"]);
    let status = run(&["migrate", "status"]);
    assert!(
        status.contains("m20261123_000001_initial_schema") && status.contains("applied"),
        "{status}"
    );
    run(&["migrate", "down"]);
    let status = run(&["migrate", "status"]);
    assert!(status.contains("pending"), "{status}");
    run(&["migrate", "fresh", "--yes"]);
    let purge = todoql_bin()
        .arg("purge")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(purge.status.success());
    assert!(String::from_utf8_lossy(&purge.stdout).contains("PurgeReport"));
}
