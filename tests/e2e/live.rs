//! Live changes over the graphql-transport-ws WebSocket on /graphql: each change once, in
//! revision order, with its payload, and never another user's; `since` replays exactly what was
//! missed (across a restart too); RESYNC_REQUIRED; 4403 for a bad token, an expired one and a
//! session revoked on another instance; 1012 at shutdown; the per-user limit; the Origin check;
//! keep-alive; on PostgreSQL, delivery across instances and through a killed listener.

use crate::changes::op;
use crate::support::live::{FRAME_WAIT, Frame, LiveSocket};
use crate::support::*;
use crate::todos::*;
use chrono::Duration as Days;
use serde_json::{Value, json};
use std::time::Duration;

/// Long enough that a change that was going to arrive would have.
const QUIET: Duration = Duration::from_millis(500);
/// The sweep runs every second: an ended session closes its sockets within this.
const CLOSE_WAIT: Duration = Duration::from_secs(4);

async fn todo_id(app: &TestApp, user: &TestUser, title: &str) -> String {
    new_todo(app, user, title).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn rename(app: &TestApp, user: &TestUser, id: &str, title: &str) {
    op(
        app,
        user,
        "mutation($id: ID!, $title: String!) { updateTodo(id: $id, input: { title: $title }) { id } }",
        json!({ "id": id, "title": title }),
    )
    .await;
}

async fn by_id(app: &TestApp, user: &TestUser, mutation: &str, id: &str) {
    op(
        app,
        user,
        &format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ id }} }}"),
        json!({ "id": id }),
    )
    .await;
}

fn kinds(changes: &[Value]) -> Vec<(i64, &str)> {
    changes
        .iter()
        .map(|c| (c["revision"].as_i64().unwrap(), c["kind"].as_str().unwrap()))
        .collect()
}

#[tokio::test]
async fn each_kind_of_change_arrives_once_in_revision_order_and_another_users_never() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    let bob = todo_user(&app, "bob@example.com").await;
    let mut live = LiveSocket::subscribed(&app.base_url, &ada.access_token, None).await;
    // Subscribed with nothing to replay: silence until something changes.
    live.expect_silence(QUIET).await;

    let id = todo_id(&app, &ada, "milk").await;
    todo_id(&app, &bob, "bob's").await;
    rename(&app, &ada, &id, "oat milk").await;
    op(
        &app,
        &ada,
        "mutation($id: ID!) { setTodoCompleted(id: $id, completed: true) { id } }",
        json!({ "id": id }),
    )
    .await;
    let first = live.changes(3).await;
    by_id(&app, &ada, "deleteTodo", &id).await;
    let deleted = live.next_change().await;
    by_id(&app, &ada, "restoreTodo", &id).await;
    let restored = live.next_change().await;

    let all: Vec<Value> = first.into_iter().chain([deleted, restored]).collect();
    assert_eq!(
        kinds(&all),
        [
            (1, "CREATED"),
            (2, "UPDATED"),
            (3, "UPDATED"),
            (4, "DELETED"),
            (5, "RESTORED")
        ]
    );
    for change in &all {
        assert_eq!(change["todoId"], id.as_str());
        assert_eq!(change["originSessionId"], ada.session_id.as_str());
    }
    // Payloads as the log shows them: the todo now; the trash entry while it was in the trash.
    assert_eq!(all[2]["todo"]["isCompleted"], true);
    assert_eq!(all[3]["todo"], Value::Null);
    assert_eq!(all[3]["deletedTodo"]["title"], "oat milk");
    assert_eq!(all[4]["todo"]["title"], "oat milk");
    // Nothing of Bob's, and nothing twice.
    live.expect_silence(QUIET).await;
}

#[tokio::test]
async fn since_replays_exactly_what_was_missed_then_continues_live() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    let id = todo_id(&app, &ada, "one").await;
    rename(&app, &ada, &id, "two").await;
    rename(&app, &ada, &id, "three").await;

    // A device that saw revision 1 comes back: 2 and 3, then what happens next.
    let mut live = LiveSocket::subscribed(&app.base_url, &ada.access_token, Some(1)).await;
    assert_eq!(
        kinds(&live.changes(2).await),
        [(2, "UPDATED"), (3, "UPDATED")]
    );
    rename(&app, &ada, &id, "four").await;
    let next = live.next_change().await;
    assert_eq!(kinds(std::slice::from_ref(&next)), [(4, "UPDATED")]);
    assert_eq!(next["todo"]["title"], "four");
    live.expect_silence(QUIET).await;

    // Up to date (since = the newest revision): nothing replayed.
    let mut current = LiveSocket::subscribed(&app.base_url, &ada.access_token, Some(4)).await;
    current.expect_silence(QUIET).await;
}

#[tokio::test]
async fn changes_made_while_subscribing_are_neither_lost_nor_doubled() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    let id = todo_id(&app, &ada, "t0").await;
    // Renames race with a replaying subscription: every revision arrives exactly once.
    let writes = async {
        for n in 1..=20 {
            rename(&app, &ada, &id, &format!("t{n}")).await;
        }
    };
    let subscribe = async {
        let mut live = LiveSocket::subscribed(&app.base_url, &ada.access_token, Some(0)).await;
        let changes = live.changes(21).await;
        live.expect_silence(QUIET).await;
        changes
    };
    let ((), changes) = tokio::join!(writes, subscribe);
    let revisions: Vec<i64> = changes
        .iter()
        .map(|c| c["revision"].as_i64().unwrap())
        .collect();
    assert_eq!(revisions, (1..=21).collect::<Vec<_>>());
}

#[tokio::test]
async fn since_resumes_on_a_restarted_server_and_shutdown_closes_with_1012() {
    let first = spawn_app().await;
    let ada = todo_user(&first, "ada@example.com").await;
    let id = todo_id(&first, &ada, "draft").await;
    let mut live = LiveSocket::subscribed(&first.base_url, &ada.access_token, Some(0)).await;
    let seen = live.next_change().await["revision"].as_i64().unwrap();

    // The instance goes away (a deploy): its sockets are told to reconnect elsewhere.
    let second = first.spawn_beside(&[]).await;
    let closing = tokio::spawn(async move { live.expect_close(CLOSE_WAIT).await });
    first.shutdown().await;
    let (code, _) = closing.await.unwrap();
    assert_eq!(code, 1012);

    // Changes while the device was away, then it resumes on the other instance.
    rename(&second, &ada, &id, "final").await;
    by_id(&second, &ada, "deleteTodo", &id).await;
    let mut resumed = LiveSocket::subscribed(&second.base_url, &ada.access_token, Some(seen)).await;
    assert_eq!(
        kinds(&resumed.changes(2).await),
        [(2, "UPDATED"), (3, "DELETED")]
    );
    resumed.expect_silence(QUIET).await;
}

#[tokio::test]
async fn the_purge_arrives_live_and_purged_history_is_resync_required() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    let id = todo_id(&app, &ada, "old").await;
    by_id(&app, &ada, "deleteTodo", &id).await;
    let ada = later(&app, &ada, Days::days(31)).await;
    // Subscribed live (a first change, revision 3, shows the subscription runs) when the trash
    // purge runs: its PURGED (revision 4) arrives as it commits. The same pass purges the log's
    // revisions 1 and 2 (older than the retention).
    let mut live = LiveSocket::subscribed(&app.base_url, &ada.access_token, None).await;
    live.expect_silence(QUIET).await;
    todo_id(&app, &ada, "probe").await;
    assert_eq!(live.next_change().await["revision"], 3);
    todoql_domain::maintenance::purge(&app.state).await.unwrap();
    let purged_live = live.next_change().await;
    assert_eq!(kinds(std::slice::from_ref(&purged_live)), [(4, "PURGED")]);
    assert_eq!(purged_live["todoId"], id.as_str());
    assert_eq!(purged_live["todo"], Value::Null);
    assert_eq!(purged_live["deletedTodo"], Value::Null);
    live.expect_silence(QUIET).await;

    let mut stale = LiveSocket::subscribed(&app.base_url, &ada.access_token, Some(0)).await;
    // The subscription's one answer is the error, then it completes (the socket stays open).
    match stale.next_frame(FRAME_WAIT).await {
        Frame::Json(message) if message["type"] == "next" => {
            assert_eq!(message["id"], "1");
            assert_eq!(message["payload"]["data"], Value::Null);
            let error = &message["payload"]["errors"][0];
            assert_eq!(error["extensions"]["code"], "RESYNC_REQUIRED");
            assert_eq!(error["path"], json!(["todoChanges"]));
        }
        other => panic!("expected RESYNC_REQUIRED, got {other:?}"),
    }
    match stale.next_frame(FRAME_WAIT).await {
        Frame::Json(message) if message["type"] == "complete" => assert_eq!(message["id"], "1"),
        other => panic!("expected complete, got {other:?}"),
    }
    let mut fresh = LiveSocket::subscribed(&app.base_url, &ada.access_token, Some(2)).await;
    let replayed = fresh.changes(2).await;
    assert_eq!(kinds(&replayed), [(3, "CREATED"), (4, "PURGED")]);
    assert_eq!(replayed[1]["originSessionId"], Value::Null);
}

#[tokio::test]
async fn a_socket_without_a_valid_token_is_closed_with_4403_and_no_ack() {
    let app = spawn_app().await;
    for token in [None, Some("not-a-token")] {
        let mut socket = LiveSocket::init(&app.base_url, token).await;
        let (code, _) = socket.expect_close(FRAME_WAIT).await;
        assert_eq!(code, 4403, "token {token:?}");
    }
    // A subscribe before connection_init: 4401, as the protocol says.
    let mut early = LiveSocket::open_with(&app.base_url, &[]).await.unwrap();
    early
        .subscribe("1", crate::support::live::TODO_CHANGES, json!({}))
        .await;
    assert_eq!(early.expect_close(FRAME_WAIT).await.0, 4401);
}

#[tokio::test]
async fn revoking_the_session_on_another_instance_closes_its_sockets_with_4403() {
    let a = spawn_app().await;
    let b = a.spawn_beside(&[]).await;
    let ada = todo_user(&a, "ada@example.com").await;
    let other_device = later(&a, &ada, Days::zero()).await;
    let mut live = LiveSocket::subscribed(&a.base_url, &ada.access_token, None).await;
    let mut other = LiveSocket::subscribed(&a.base_url, &other_device.access_token, None).await;
    live.expect_silence(QUIET).await;

    // Signed out through instance B: A's socket of that session ends; the other session's not.
    let signed_out = b
        .graphql_as(&ada.access_token, "mutation { signOut }", json!({}))
        .await;
    assert_eq!(signed_out.data()["signOut"], true);
    let (code, reason) = live.expect_close(CLOSE_WAIT).await;
    assert_eq!(code, 4403);
    assert!(reason.contains("session"), "{reason}");
    todo_id(&a, &other_device, "still here").await;
    assert_eq!(other.next_change().await["kind"], "CREATED");
}

#[tokio::test]
async fn the_token_expiring_closes_the_socket_with_4403_on_the_real_clock() {
    // The real binary with its real clock and two-second access tokens.
    let db = TestDb::create().await;
    let server = ServerProcess::start(
        &db.url,
        &[
            ("TODOQL_JWT_SECRET", "test-secret-test-secret-test-secret!!"),
            ("TODOQL_ACCESS_TOKEN_TTL", "2"),
            ("TODOQL_REQUIRE_VERIFIED_EMAIL", "false"),
        ],
    )
    .await;
    let signed_up = server
        .graphql(
            None,
            SIGN_UP,
            json!({ "input": { "email": "ada@example.com", "password": PASSWORD } }),
        )
        .await;
    let token = signed_up.data()["signUp"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = std::time::Instant::now();
    let mut live = LiveSocket::subscribed(&server.base_url, &token, None).await;
    let (code, reason) = live.expect_close(Duration::from_secs(6)).await;
    assert_eq!(code, 4403);
    assert!(reason.contains("expired"), "{reason}");
    // Not before the token's two seconds, and within the sweep's second after them.
    let lived = started.elapsed();
    assert!(
        lived >= Duration::from_millis(900),
        "closed after {lived:?}"
    );
    assert!(lived < Duration::from_secs(5), "closed after {lived:?}");
    // Operators see it: the close by reason, and (once the closing handshake is over) no
    // socket left open.
    let metrics = || async {
        reqwest::get(format!("{}/metrics", server.base_url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let text = metrics().await;
    assert_eq!(
        metric_value(
            &text,
            r#"todoql_subscription_closes_total{reason="forbidden"}"#
        ),
        1.0
    );
    assert!(text.contains("# HELP todoql_change_listener_reconnects_total"));
    drop(live);
    wait_until("the socket is no longer counted", || async {
        metric_value(&metrics().await, "todoql_subscription_sockets") == 0.0
    })
    .await;
}

#[tokio::test]
async fn a_user_may_hold_at_most_the_configured_number_of_sockets() {
    let app = TestApp::spawn_with(&["--ws-max-per-user", "2"]).await;
    let ada = todo_user(&app, "ada@example.com").await;
    let bob = todo_user(&app, "bob@example.com").await;
    let first = LiveSocket::subscribed(&app.base_url, &ada.access_token, None).await;
    let _second = LiveSocket::subscribed(&app.base_url, &ada.access_token, None).await;
    let mut third = LiveSocket::init(&app.base_url, Some(&ada.access_token)).await;
    let (code, _) = third.expect_close(FRAME_WAIT).await;
    assert_eq!(code, 4429);
    // Bob's own count; and a closed socket frees its place.
    let mut bobs = LiveSocket::init(&app.base_url, Some(&bob.access_token)).await;
    bobs.expect_ack().await;
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        let mut socket = LiveSocket::init(&app.base_url, Some(&ada.access_token)).await;
        match socket.next_frame(FRAME_WAIT).await {
            Frame::Json(message) if message["type"] == "connection_ack" => {
                again = Some(socket);
                break;
            }
            Frame::Closed(4429, _) => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(again.is_some(), "the closed socket's place was never freed");
}

#[tokio::test]
async fn only_allowed_origins_may_open_a_socket() {
    let app = TestApp::spawn_with(&["--cors-origins", "https://app.example.com"]).await;
    let own = app.base_url.clone();
    for (origin, allowed) in [
        (None, true),
        (Some(own.as_str()), true),
        (Some("https://app.example.com"), true),
        (Some("https://evil.example"), false),
    ] {
        let headers: Vec<(&str, &str)> = origin.iter().map(|o| ("origin", *o)).collect();
        match LiveSocket::open_with(&app.base_url, &headers).await {
            Ok(_) => assert!(allowed, "{origin:?} was let in"),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert!(!allowed, "{origin:?} was refused");
                assert_eq!(response.status(), 403);
            }
            Err(other) => panic!("{other}"),
        }
    }
}

#[tokio::test]
async fn the_server_pings_and_closes_a_socket_that_never_answers() {
    let app = TestApp::spawn_with(&["--ws-ping-interval", "1"]).await;
    let ada = todo_user(&app, "ada@example.com").await;
    let mut awake = LiveSocket::subscribed(&app.base_url, &ada.access_token, None).await;
    let mut asleep = LiveSocket::subscribed(&app.base_url, &ada.access_token, None).await;
    // A socket that keeps reading answers the pings (tungstenite pongs) and stays open; one
    // that reads nothing for four intervals answers nothing and is closed.
    awake.expect_silence(Duration::from_secs(4)).await;
    // The close frame (1001), or, when the server has already dropped the connection it
    // closed and our queued pongs met a reset, the end of the connection.
    loop {
        match asleep.next_frame(FRAME_WAIT).await {
            Frame::Json(message) if message["type"] == "next" => {}
            Frame::Closed(code, _) => break assert_eq!(code, 1001),
            Frame::Gone => break,
            other => panic!("expected the socket to close, got {other:?}"),
        }
    }
    todo_id(&app, &ada, "still live").await;
    assert_eq!(awake.next_change().await["kind"], "CREATED");
}

#[tokio::test]
async fn a_subscription_over_http_is_refused_with_a_clear_error() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    let answer = app
        .graphql_as(
            &ada.access_token,
            "subscription { todoChanges { revision } }",
            json!({}),
        )
        .await;
    assert_ne!(answer.code(), "INTERNAL_SERVER_ERROR");
    assert!(
        answer.message().to_lowercase().contains("websocket")
            || answer.message().to_lowercase().contains("subscription"),
        "{}",
        answer.message()
    );
}

// --- PostgreSQL: several instances --------------------------------------------------------------

#[tokio::test]
async fn a_change_made_on_another_instance_is_delivered() {
    let a = spawn_app().await;
    if !a.db.is_postgres() {
        // SQLite serves one process: its fan-out is in-process (the tests above).
        return;
    }
    let b = a.spawn_beside(&[]).await;
    let ada = todo_user(&a, "ada@example.com").await;
    // From revision 0, so that a change made before A has processed the subscribe is replayed
    // rather than missed by the test.
    let mut live = LiveSocket::subscribed(&a.base_url, &ada.access_token, Some(0)).await;
    let id = todo_id(&b, &ada, "from b").await;
    rename(&b, &ada, &id, "still from b").await;
    let changes = live.changes(2).await;
    assert_eq!(kinds(&changes), [(1, "CREATED"), (2, "UPDATED")]);
    assert_eq!(changes[1]["todo"]["title"], "still from b");
}

#[tokio::test]
async fn killing_the_listeners_connection_while_changes_happen_loses_nothing() {
    let a = spawn_app().await;
    if !a.db.is_postgres() {
        return;
    }
    let b = a.spawn_beside(&[]).await;
    let ada = todo_user(&a, "ada@example.com").await;
    let id = todo_id(&b, &ada, "v0").await;
    let mut live = LiveSocket::subscribed(&a.base_url, &ada.access_token, Some(1)).await;
    let writes = async {
        for n in 1..=30 {
            rename(&b, &ada, &id, &format!("v{n}")).await;
            if n % 10 == 5 {
                // The instances' listeners on this test's database lose their connection (once
                // the one killed last time is back), while the renames go on.
                wait_until("a listener connection to kill", || async {
                    terminate_listeners(&a).await >= 1
                })
                .await;
            }
        }
    };
    let read = async { live.changes(30).await };
    let ((), changes) = tokio::join!(writes, read);
    let revisions: Vec<i64> = changes
        .iter()
        .map(|c| c["revision"].as_i64().unwrap())
        .collect();
    assert_eq!(revisions, (2..=31).collect::<Vec<_>>());
    live.expect_silence(QUIET).await;
}

/// `pg_terminate_backend` on the change listeners of this test's database; how many.
async fn terminate_listeners(app: &TestApp) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let db = app.state.db();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
             WHERE application_name = 'todoql-change-listener' AND datname = current_database()",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_closed_rather_than_buffered_for() {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
    use todoql_entity::todo_change::{self, TodoChangeKind};
    let app = TestApp::spawn_with(&["--ws-send-timeout", "1"]).await;
    let ada = todo_user(&app, "ada@example.com").await;
    let created = create_todo(
        &app,
        &ada,
        json!({ "title": "long", "description": "x".repeat(1000) }),
    )
    .await;
    let id: uuid::Uuid = created.data()["createTodo"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let user: uuid::Uuid = ada.id.parse().unwrap();
    let mut live = LiveSocket::subscribed(&app.base_url, &ada.access_token, Some(1)).await;

    // 20,000 more changes of that todo (written as 20,000 updates would write them, in one go):
    // about 25 MB of messages, far more than the socket buffers between us hold.
    const FLOOD: i64 = 20_000;
    // One transaction, the revision first, as every writer does it.
    let txn = sea_orm::TransactionTrait::begin(app.state.db())
        .await
        .unwrap();
    let take = Query::update()
        .table(todoql_entity::user::Entity)
        .value(Alias::new("change_revision"), FLOOD + 1)
        .and_where(Expr::col(Alias::new("id")).eq(user))
        .to_owned();
    assert_eq!(txn.execute(&take).await.unwrap().rows_affected(), 1);
    for chunk in (2..=FLOOD + 1).collect::<Vec<i64>>().chunks(1000) {
        todo_change::Entity::insert_many(chunk.iter().map(|revision| todo_change::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            user_id: Set(user),
            revision: Set(*revision),
            kind: Set(TodoChangeKind::Updated),
            todo_id: Set(id),
            origin_session_id: Set(None),
            occurred_at: Set(todoql_domain::clock::Clock::now(app.clock.as_ref())),
        }))
        .exec_without_returning(&txn)
        .await
        .unwrap();
    }
    txn.commit().await.unwrap();
    // (On PostgreSQL the inserts' trigger told the listener; on SQLite the writer does this.)
    app.state.change_feed().nudge(user);

    // We read nothing: once the buffers between us are full, the server's send waits, and
    // after a second it gives up on us. (Only this test makes a socket too slow; the metrics
    // are the test process's.)
    let too_slow = r#"todoql_subscription_closes_total{reason="too_slow"}"#;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while metric_value(&app.metrics_text().await, too_slow) < 1.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never gave up on the subscriber"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut delivered = 0;
    let end = loop {
        match live.next_frame(FRAME_WAIT).await {
            Frame::Json(message) if message["type"] == "next" => {
                assert!(message["payload"].get("errors").is_none(), "{message}");
                delivered += 1;
            }
            other => break other,
        }
    };
    // The close frame (1008) when it still fit, or the dropped connection.
    assert!(
        matches!(end, Frame::Closed(1008, _) | Frame::Gone),
        "{end:?} after {delivered} changes"
    );
    assert!(delivered < FLOOD, "all {delivered} changes were delivered");
    // The server is fine, and a new socket resumes where this one stopped.
    let mut resumed =
        LiveSocket::subscribed(&app.base_url, &ada.access_token, Some(1 + delivered)).await;
    assert_eq!(
        resumed.next_change().await["revision"].as_i64().unwrap(),
        2 + delivered
    );
}

/// The answer of a one-shot operation sent over `socket` as `id`: its `next` payload (then
/// `complete`).
async fn over_socket(socket: &mut LiveSocket, id: &str, query: &str) -> Value {
    socket.subscribe(id, query, json!({})).await;
    let payload = match socket.next_frame(FRAME_WAIT).await {
        Frame::Json(message) if message["type"] == "next" && message["id"] == id => {
            message["payload"].clone()
        }
        other => panic!("expected the answer to {id}, got {other:?}"),
    };
    match socket.next_frame(FRAME_WAIT).await {
        Frame::Json(message) if message["type"] == "complete" && message["id"] == id => {}
        other => panic!("expected {id} to complete, got {other:?}"),
    }
    payload
}

#[tokio::test]
async fn queries_over_the_socket_check_the_session_and_the_cost_like_http() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    todo_id(&app, &ada, "one").await;
    let mut socket = LiveSocket::init(&app.base_url, Some(&ada.access_token)).await;
    socket.expect_ack().await;
    let answer = over_socket(&mut socket, "q1", "{ todos(first: 5) { totalCount } }").await;
    assert_eq!(answer["data"]["todos"]["totalCount"], 1);

    // A document over the cost limit is refused as over HTTP.
    let costly = format!(
        "{{ {} }}",
        (0..2100)
            .map(|i| format!("a{i}: __typename"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let over_http = app.graphql_as(&ada.access_token, &costly, json!({})).await;
    let refused = over_socket(&mut socket, "q2", &costly).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], over_http.code());
    assert!(refused.get("data").is_none_or(Value::is_null));

    // Signed out: the next operation on the socket is UNAUTHENTICATED at once (or the sweep has
    // closed the socket already), never answered for the ended session.
    let signed_out = app
        .graphql_as(&ada.access_token, "mutation { signOut }", json!({}))
        .await;
    assert_eq!(signed_out.data()["signOut"], true);
    socket
        .subscribe("q3", "{ todos(first: 5) { totalCount } }", json!({}))
        .await;
    match socket.next_frame(FRAME_WAIT).await {
        Frame::Json(message) if message["type"] == "next" => {
            assert_eq!(
                message["payload"]["errors"][0]["extensions"]["code"],
                "UNAUTHENTICATED"
            );
            assert!(message["payload"]["data"].is_null(), "{message}");
        }
        Frame::Closed(code, _) => assert_eq!(code, 4403),
        other => panic!("expected UNAUTHENTICATED, got {other:?}"),
    }
}

#[tokio::test]
async fn a_socket_may_run_a_bounded_number_of_operations_at_once() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    let mut socket = LiveSocket::init(&app.base_url, Some(&ada.access_token)).await;
    socket.expect_ack().await;
    // 25 live subscriptions are fine; finished operations do not count.
    over_socket(&mut socket, "q", "{ __typename }").await;
    for id in 0..25 {
        socket
            .subscribe(
                &id.to_string(),
                crate::support::live::TODO_CHANGES,
                json!({}),
            )
            .await;
    }
    socket.expect_silence(QUIET).await;
    // The 26th closes the socket, as a socket over the per-user limit is closed.
    socket
        .subscribe("25", crate::support::live::TODO_CHANGES, json!({}))
        .await;
    let (code, reason) = socket.expect_close(FRAME_WAIT).await;
    assert_eq!(code, 4429);
    assert!(reason.contains("operations"), "{reason}");
}
