//! Database round trips of one authenticated todo-list request, pool pings included, counted
//! on the PostgreSQL wire (see `pg_wire`). SQLite has no wire: its statements are counted by
//! the statement tests of `todos`.
//!
//! The request pool has one connection here, so that every checkout reuses the same, already
//! prepared connection and the count does not depend on which connection the pool hands out
//! (with more, a checkout that finds its connection still on the way back to the pool opens a
//! new one, and a new connection prepares its statements again).

use crate::pg_wire::{Wire, WireCounter};
use crate::support::*;
use crate::todos::{TODO_FIELDS, new_todo, todo_user};
use serde_json::json;
use todoql_server::config::Config;

/// The todo list every client shows (the benchmark's scenario 2).
const LIST: &str =
    "query($first: Int) { todos(first: $first) { totalCount nodes { ...TodoFields } } }";

/// A server whose request pool (one connection) goes through a wire counter.
async fn app_behind_counter() -> Option<(TestApp, WireCounter)> {
    let db = TestDb::create().await;
    if !db.is_postgres() {
        eprintln!("round trips are counted on the PostgreSQL wire; SQLite has none");
        return None;
    }
    let counter = WireCounter::start(&db.url).await;
    let args = |url: &str| {
        Config::from_args([
            "--database-url",
            url,
            "--jwt-secret",
            "test-secret-test-secret-test-secret!!",
            "--purge-interval",
            "0",
            "--db-max-connections",
            "1",
        ])
        .expect("valid test configuration")
    };
    let pool = todoql_server::db::connect(&args(&counter.url).database)
        .await
        .expect("connect through the wire counter");
    // The background tasks with pools of their own (the mail sender polls every second) go
    // straight to the database: only requests cross the counter.
    let direct = args(&db.url);
    let app = TestApp::spawn_on_connection(db, direct, pool).await;
    Some((app, counter))
}

/// What `request` does on the wire: counted from when the wire is quiet until it is quiet
/// again after the request (pool returns included).
async fn wire_of<F: std::future::Future>(
    app: &TestApp,
    counter: &WireCounter,
    request: F,
) -> (F::Output, Wire) {
    settle(app, counter).await;
    counter.take();
    let output = request.await;
    settle(app, counter).await;
    (output, counter.take())
}

/// Waits until the request pool has every connection back and the wire is quiet.
async fn settle(app: &TestApp, counter: &WireCounter) {
    let pool = app.state.db().get_postgres_connection_pool().clone();
    counter
        .settle(|| pool.num_idle() == pool.size() as usize)
        .await;
}

/// Issue 19's budget: at most 2 round trips per authenticated list request, pings included.
/// The session check rides in the page's statement (`todos::list_for_token`: the live session
/// and its user as a CTE that gates the page), so the request is one checkout, one statement
/// and the ping sqlx sends when it takes the connection back (sqlx-core 0.9
/// `Floating::return_to_pool`, unconditional; the ping on checkout is skipped for connections
/// used within the last second, `crates/server/src/db.rs`). Before, the session check had a
/// checkout of its own: 2 statements, 2 pings, 4 round trips. `me` beside the list reads the
/// caller from the same statement.
#[tokio::test]
async fn an_authenticated_list_request_is_one_statement_and_its_return_ping() {
    let Some((app, counter)) = app_behind_counter().await else {
        return;
    };
    let user = todo_user(&app, "ada@example.com").await;
    for n in 0..25 {
        new_todo(&app, &user, &format!("todo {n}")).await;
    }
    let with_me = format!(
        "query($first: Int) {{ me {{ id }} todos(first: $first) {{ totalCount nodes {{ ...TodoFields }} }} }} {TODO_FIELDS}"
    );
    for query in [format!("{LIST} {TODO_FIELDS}"), with_me] {
        // The first list request prepares its statement on the connection.
        let warm = app
            .graphql_as(&user.access_token, &query, json!({ "first": 20 }))
            .await;
        assert_eq!(warm.data()["todos"]["totalCount"], 25);

        let request = app.graphql_as(&user.access_token, &query, json!({ "first": 20 }));
        let (page, wire) = wire_of(&app, &counter, request).await;

        assert_eq!(page.data()["todos"]["nodes"].as_array().unwrap().len(), 20);
        assert_eq!(
            wire,
            Wire {
                connections: 0,
                statements: 1,
                parses: 0,
                simple_queries: 0,
                pings: 1,
                ready_for_query: 2,
            },
            "{query}: {wire:?}"
        );
        assert!(wire.round_trips() <= 2, "{query}: {wire:?}");
    }
}

/// Connections used within the last second skip the checkout ping, yet a connection that
/// died while idle in the pool is still found out before a request uses it: the ping on
/// checkout runs once it has been idle that long, and the pool replaces it.
#[tokio::test]
async fn a_pool_connection_killed_while_idle_is_replaced_before_a_request_uses_it() {
    let Some((app, counter)) = app_behind_counter().await else {
        return;
    };
    let user = todo_user(&app, "grace@example.com").await;
    new_todo(&app, &user, "survives").await;
    settle(&app, &counter).await;

    // PostgreSQL ends every session of the test database (as a restart or a failover would).
    let admin = sea_orm::Database::connect(
        std::env::var("TODOQL_TEST_DATABASE_URL").expect("PostgreSQL tests"),
    )
    .await
    .unwrap();
    use sea_orm::ConnectionTrait;
    let database = app
        .state
        .db()
        .get_postgres_connection_pool()
        .connect_options();
    let database = database.get_database().expect("a database name").to_owned();
    let killed = admin
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            [database.into()],
        ))
        .await
        .unwrap();
    assert!(!killed.is_empty(), "no session of the test database to end");
    admin.close().await.ok();
    counter.take();

    // Idle past the threshold: the checkout pings, finds the connection dead, opens another.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let page = app
        .graphql_as(
            &user.access_token,
            &format!("{LIST} {TODO_FIELDS}"),
            json!({ "first": 20 }),
        )
        .await;
    assert_eq!(page.data()["todos"]["totalCount"], 1);
    settle(&app, &counter).await;
    let wire = counter.take();
    assert!(wire.connections >= 1, "no new connection: {wire:?}");
}

/// A password sign-in on the wire, its SIGNED_IN security event included: the event is written
/// by the session's own statement (a data-modifying WITH), so the sign-in makes the round trips
/// it made before the security log existed (measured on the commit before it: the same Wire).
#[tokio::test]
async fn a_password_sign_in_makes_the_round_trips_it_made_before_the_security_log() {
    let Some((app, counter)) = app_behind_counter().await else {
        return;
    };
    app.sign_up("ada@example.com").await;
    let sign_in = "mutation($input: SignInInput!) { signIn(input: $input) { accessToken } }";
    let input = json!({ "input": { "email": "ada@example.com", "password": PASSWORD } });
    // The first sign-in prepares its statements on the connection.
    app.graphql(sign_in, input.clone()).await.data();

    let (signed_in, wire) = wire_of(&app, &counter, app.graphql(sign_in, input)).await;
    signed_in.data();

    assert_eq!(wire.connections, 0, "{wire:?}");
    assert_eq!(wire.simple_queries, 0, "no transaction: {wire:?}");
    // The user, the attempt counted (address and IP in one upsert), its unit given back, the
    // session with its event; each checkout's statement and its ping.
    assert_eq!(wire.statements, 4, "{wire:?}");
    assert_eq!(wire.parses, 0, "{wire:?}");
    assert_eq!(wire.round_trips(), 8, "{wire:?}");
}

/// `revision` rides in the page's statement (a scalar subquery), with or without the count:
/// the same wire as the list without it (one statement, its return ping).
#[tokio::test]
async fn the_list_with_its_revision_makes_the_same_round_trips() {
    let Some((app, counter)) = app_behind_counter().await else {
        return;
    };
    let user = todo_user(&app, "ada@example.com").await;
    for n in 0..25 {
        new_todo(&app, &user, &format!("todo {n}")).await;
    }
    for selection in ["totalCount revision", "revision"] {
        let query = format!(
            "query($first: Int) {{ todos(first: $first) {{ {selection} nodes {{ ...TodoFields }} }} }} {TODO_FIELDS}"
        );
        let warm = app
            .graphql_as(&user.access_token, &query, json!({ "first": 20 }))
            .await;
        assert_eq!(warm.data()["todos"]["revision"], 25);

        let request = app.graphql_as(&user.access_token, &query, json!({ "first": 20 }));
        let (page, wire) = wire_of(&app, &counter, request).await;

        assert_eq!(page.data()["todos"]["revision"], 25);
        assert_eq!(page.data()["todos"]["nodes"].as_array().unwrap().len(), 20);
        assert_eq!(wire.statements, 1, "{selection}: {wire:?}");
        assert_eq!(wire.round_trips(), 2, "{selection}: {wire:?}");
    }
}

/// What the change log costs a write: nothing on the wire. createTodo is the session check,
/// then ONE statement that takes the revision, writes the log row and inserts the todo (a
/// data-modifying WITH, `changes::insert_logged_todo`): 2 statements, no BEGIN/COMMIT, 4
/// round trips — what it was before the log (the session check and one INSERT). With the log
/// written in a transaction instead (BEGIN, the revision, the log row, the todo, COMMIT) it
/// was 4 statements, 2 simple queries, 8 round trips.
#[tokio::test]
async fn create_todo_round_trips_with_the_change_log() {
    let Some((app, counter)) = app_behind_counter().await else {
        return;
    };
    let user = todo_user(&app, "ada@example.com").await;
    // The first creation prepares the statements on the connection.
    new_todo(&app, &user, "warm").await;

    let (_created, wire) = wire_of(&app, &counter, new_todo(&app, &user, "counted")).await;
    assert_eq!(wire.statements, 2, "{wire:?}");
    assert_eq!(wire.simple_queries, 0, "{wire:?}");
    assert_eq!(wire.round_trips(), 4, "{wire:?}");
}
