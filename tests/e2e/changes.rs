//! The todo change log: every kind of change once, in revision order, gapless; other users'
//! changes never; concurrent changes on one and two instances; `todos.revision`; paging;
//! RESYNC_REQUIRED after the retention purge; BAD_USER_INPUT.

use crate::support::*;
use crate::todos::*;
use chrono::Duration;
use futures_util::future::join_all;
use serde_json::{Value, json};

const CHANGES: &str = "query($since: Int!, $first: Int) { todoChanges(since: $since, first: $first) {
    revision hasMore
    nodes { revision kind todoId originSessionId occurredAt todo { id title isCompleted } deletedTodo { id title } }
} }";

async fn changes(app: &TestApp, user: &TestUser, since: i64, first: Option<i64>) -> Gql {
    app.graphql_as(
        &user.access_token,
        CHANGES,
        json!({ "since": since, "first": first }),
    )
    .await
}

async fn changes_ok(app: &TestApp, user: &TestUser, since: i64, first: Option<i64>) -> Value {
    changes(app, user, since, first).await.data()["todoChanges"].clone()
}

async fn list_revision(app: &TestApp, user: &TestUser) -> i64 {
    app.graphql_as(
        &user.access_token,
        "{ todos(first: 5) { totalCount revision nodes { id } } }",
        json!({}),
    )
    .await
    .data()["todos"]["revision"]
        .as_i64()
        .unwrap()
}

fn kinds(page: &Value) -> Vec<String> {
    page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn revisions(page: &Value) -> Vec<i64> {
    page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["revision"].as_i64().unwrap())
        .collect()
}

/// The data of `query` run by `user` (also the live tests' helper).
pub async fn op(app: &TestApp, user: &TestUser, query: &str, variables: Value) -> Value {
    app.graphql_as(&user.access_token, query, variables)
        .await
        .data()
        .clone()
}

#[tokio::test]
async fn each_kind_of_change_appears_once_in_order_with_its_payload() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    let bob = todo_user(&app, "bob@example.com").await;
    assert_eq!(list_revision(&app, &ada).await, 0);

    let id = new_todo(&app, &ada, "milk").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    new_todo(&app, &bob, "bob's").await;
    op(
        &app,
        &ada,
        "mutation($id: ID!) { updateTodo(id: $id, input: { title: \"oat milk\" }) { id } }",
        json!({ "id": id }),
    )
    .await;
    // A request that changes nothing records nothing.
    op(
        &app,
        &ada,
        "mutation($id: ID!) { updateTodo(id: $id, input: { title: \"oat milk\" }) { id } }",
        json!({ "id": id }),
    )
    .await;
    op(
        &app,
        &ada,
        "mutation($id: ID!) { setTodoCompleted(id: $id, completed: true) { id } }",
        json!({ "id": id }),
    )
    .await;
    op(
        &app,
        &ada,
        "mutation($id: ID!) { deleteTodo(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await;
    let mid = changes_ok(&app, &ada, 0, None).await;
    assert_eq!(kinds(&mid), ["CREATED", "UPDATED", "UPDATED", "DELETED"]);
    // The trash entry while the todo is in the trash.
    assert_eq!(mid["nodes"][3]["deletedTodo"]["title"], "oat milk");
    op(
        &app,
        &ada,
        "mutation($id: ID!) { restoreTodo(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await;

    let page = changes_ok(&app, &ada, 0, None).await;
    assert_eq!(
        kinds(&page),
        ["CREATED", "UPDATED", "UPDATED", "DELETED", "RESTORED"]
    );
    assert_eq!(revisions(&page), [1, 2, 3, 4, 5]);
    assert_eq!(page["revision"], 5);
    assert_eq!(page["hasMore"], false);
    for node in page["nodes"].as_array().unwrap() {
        assert_eq!(node["todoId"], id.as_str());
        assert_eq!(node["originSessionId"], ada.session_id.as_str());
    }
    // The todo as it is now; the trash entry is gone after the restore.
    assert_eq!(page["nodes"][0]["todo"]["title"], "oat milk");
    assert_eq!(page["nodes"][4]["todo"]["isCompleted"], true);
    assert_eq!(page["nodes"][3]["deletedTodo"], Value::Null);
    assert_eq!(page["nodes"][3]["todo"], Value::Null);
    assert_eq!(list_revision(&app, &ada).await, 5);

    // Bob sees only his own change.
    let bobs = changes_ok(&app, &bob, 0, None).await;
    assert_eq!(kinds(&bobs), ["CREATED"]);
    assert_eq!(bobs["revision"], 1);

    // The 30-day purge: one PURGED, no session.
    op(
        &app,
        &ada,
        "mutation($id: ID!) { deleteTodo(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await;
    let ada = later(&app, &ada, Duration::days(31)).await;
    todoql_domain::maintenance::purge(&app.state).await.unwrap();
    // The retention purge removed revisions 1..6 (older than 30 days): asking for them is
    // RESYNC_REQUIRED; from the last one on, the log is exact.
    changes(&app, &ada, 0, None)
        .await
        .assert_error("RESYNC_REQUIRED", None);
    changes(&app, &ada, 5, None)
        .await
        .assert_error("RESYNC_REQUIRED", None);
    let tail = changes_ok(&app, &ada, 6, None).await;
    assert_eq!(kinds(&tail), ["PURGED"]);
    assert_eq!(tail["nodes"][0]["originSessionId"], Value::Null);
    assert_eq!(tail["revision"], 7);
    assert_eq!(list_revision(&app, &ada).await, 7);
    let empty = changes_ok(&app, &ada, 7, None).await;
    assert_eq!(empty["nodes"], json!([]));
    assert_eq!(empty["revision"], 7);
}

#[tokio::test]
async fn paging_with_first_and_has_more() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    for n in 0..5 {
        new_todo(&app, &ada, &format!("t{n}")).await;
    }
    let first = changes_ok(&app, &ada, 0, Some(2)).await;
    assert_eq!(revisions(&first), [1, 2]);
    assert_eq!(first["hasMore"], true);
    let second = changes_ok(&app, &ada, 2, Some(2)).await;
    assert_eq!(revisions(&second), [3, 4]);
    let third = changes_ok(&app, &ada, 4, Some(2)).await;
    assert_eq!(revisions(&third), [5]);
    assert_eq!(third["hasMore"], false);
    assert_eq!(third["revision"], 5);
}

#[tokio::test]
async fn bad_since_and_first_are_bad_user_input() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    new_todo(&app, &ada, "milk").await;
    changes(&app, &ada, -1, None)
        .await
        .assert_error("BAD_USER_INPUT", Some("since"));
    changes(&app, &ada, 2, None)
        .await
        .assert_error("BAD_USER_INPUT", Some("since"));
    changes(&app, &ada, 0, Some(0))
        .await
        .assert_error("BAD_USER_INPUT", Some("first"));
    changes(&app, &ada, 0, Some(101))
        .await
        .assert_error("BAD_USER_INPUT", Some("first"));
    app.graphql(CHANGES, json!({ "since": 0 }))
        .await
        .assert_error("UNAUTHENTICATED", None);
}

async fn assert_gapless(app: &TestApp, user: &TestUser, n: i64) {
    let mut since = 0;
    let mut seen = Vec::new();
    loop {
        let page = changes_ok(app, user, since, Some(100)).await;
        seen.extend(revisions(&page));
        since = page["revision"].as_i64().unwrap();
        if page["hasMore"] == false {
            break;
        }
    }
    assert_eq!(seen, (1..=n).collect::<Vec<_>>());
    assert_eq!(list_revision(app, user).await, n);
}

#[tokio::test]
async fn concurrent_creates_take_revisions_one_to_n() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    let results = join_all((0..30).map(|n| {
        let (app, ada) = (&app, &ada);
        async move { create_todo(app, ada, json!({ "title": format!("t{n}") })).await }
    }))
    .await;
    for result in &results {
        result.data();
    }
    assert_gapless(&app, &ada, 30).await;
}

#[tokio::test]
async fn concurrent_creates_on_two_instances_take_revisions_one_to_n() {
    let app = spawn_app().await;
    let other = app.spawn_beside(&[]).await;
    let ada = todo_user(&app, "ada@example.com").await;
    let results = join_all((0..30).map(|n| {
        let (target, ada) = (if n % 2 == 0 { &app } else { &other }, &ada);
        async move { create_todo(target, ada, json!({ "title": format!("t{n}") })).await }
    }))
    .await;
    for result in &results {
        result.data();
    }
    assert_gapless(&app, &ada, 30).await;
    other.shutdown().await;
}

#[tokio::test]
async fn account_deletion_records_purged_for_todos_and_trash() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    new_todo(&app, &ada, "a").await;
    let b = new_todo(&app, &ada, "b").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    op(
        &app,
        &ada,
        "mutation($id: ID!) { deleteTodo(id: $id) { id } }",
        json!({ "id": b }),
    )
    .await;
    op(
        &app,
        &ada,
        "mutation($input: DeleteAccountInput!) { deleteAccount(input: $input) }",
        json!({ "input": { "password": PASSWORD } }),
    )
    .await;
    let user_id: uuid::Uuid = ada.id.parse().unwrap();
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let rows = todoql_entity::todo_change::Entity::find()
        .filter(todoql_entity::todo_change::Column::UserId.eq(user_id))
        .order_by_asc(todoql_entity::todo_change::Column::Revision)
        .all(app.state.db())
        .await
        .unwrap();
    let kinds: Vec<_> = rows.iter().map(|r| (r.revision, r.kind)).collect();
    use todoql_entity::todo_change::TodoChangeKind::*;
    assert_eq!(
        kinds,
        [
            (1, Created),
            (2, Created),
            (3, Deleted),
            (4, Purged),
            (5, Purged)
        ]
    );
}

#[tokio::test]
async fn the_list_revision_comes_with_every_shape_of_page() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    let revision_of = |query: &'static str| {
        let (app, ada) = (&app, &ada);
        async move {
            app.graphql_as(&ada.access_token, query, json!({}))
                .await
                .data()["todos"]["revision"]
                .clone()
        }
    };
    // An empty list, without the count.
    assert_eq!(revision_of("{ todos { revision } }").await, 0);
    new_todo(&app, &ada, "a").await;
    create_todo(
        &app,
        &ada,
        json!({ "title": "b", "dueDate": at(&app, Duration::days(1)) }),
    )
    .await
    .data();
    assert_eq!(revision_of("{ todos { revision nodes { id } } }").await, 2);
    // The ordering with missing keys (a union of two ranges), with and without the count.
    assert_eq!(
        revision_of(
            "{ todos(orderBy: { field: DUE_DATE, direction: ASC }) { revision nodes { id } } }"
        )
        .await,
        2
    );
    assert_eq!(
        revision_of(
            "{ todos(orderBy: { field: DUE_DATE, direction: DESC }) { totalCount revision } }"
        )
        .await,
        2
    );
    // A filter that matches nothing still answers the revision.
    assert_eq!(
        revision_of("{ todos(filter: { search: \"zzz\" }) { revision totalCount } }").await,
        2
    );
    // Through a fragment.
    assert_eq!(
        revision_of("{ todos { ...R } } fragment R on TodoConnection { revision }").await,
        2
    );
}

/// Updates, completions, deletions and restores of the same todos at once, on two instances,
/// while the trash purge runs: each succeeds or is NOT_FOUND (never INTERNAL: the log's lock
/// order leaves no deadlock), and the log holds exactly one revision per change, 1..N.
#[tokio::test]
async fn mixed_concurrent_changes_and_the_purge_leave_a_gapless_log() {
    // The log outlives the trash here, so that its whole history stays readable.
    let keep = ["--changes-retention-days", "365"];
    let app = TestApp::spawn_with(&keep).await;
    let other = app.spawn_beside(&keep).await;
    let ada = todo_user(&app, "ada@example.com").await;
    const DELETE: &str = "mutation($id: ID!) { deleteTodo(id: $id) { id } }";
    for n in 0..5 {
        let id = new_todo(&app, &ada, &format!("old {n}")).await["id"].clone();
        op(&app, &ada, DELETE, json!({ "id": id })).await;
    }
    // 10 revisions so far; the 5 trash entries become purgeable.
    let ada = later(&app, &ada, Duration::days(31)).await;
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(new_todo(&app, &ada, &format!("t{n}")).await["id"].clone());
    }
    let operations = [
        (
            "mutation($id: ID!) { updateTodo(id: $id, input: { description: \"changed\" }) { id } }",
            "UPDATED",
        ),
        (
            "mutation($id: ID!) { setTodoCompleted(id: $id, completed: true) { id } }",
            "UPDATED",
        ),
        (DELETE, "DELETED"),
        (
            "mutation($id: ID!) { restoreTodo(id: $id) { id } }",
            "RESTORED",
        ),
    ];
    let requests = ids.iter().enumerate().flat_map(|(i, id)| {
        operations
            .iter()
            .enumerate()
            .map(move |(j, (query, kind))| (i + j, id, *query, *kind))
    });
    let (answers, purges) = futures_util::join!(
        join_all(requests.map(|(k, id, query, kind)| {
            let (target, ada) = (if k % 2 == 0 { &app } else { &other }, &ada);
            async move {
                (
                    kind,
                    target
                        .graphql_as(&ada.access_token, query, json!({ "id": id }))
                        .await,
                )
            }
        })),
        join_all((0..3).map(|_| todoql_domain::maintenance::purge(&app.state)))
    );
    let mut expected: std::collections::BTreeMap<&str, usize> = Default::default();
    expected.insert("CREATED", 15);
    expected.insert("DELETED", 5);
    expected.insert("PURGED", 5);
    for (kind, answer) in &answers {
        if answer.body.get("errors").is_some() {
            assert_eq!(answer.code(), "NOT_FOUND", "{}", answer.body);
        } else {
            *expected.entry(kind).or_default() += 1;
        }
    }
    let purged: u64 = purges.into_iter().map(|r| r.unwrap().deleted_todos).sum();
    assert_eq!(purged, 5, "each old entry purged exactly once");

    let n: usize = expected.values().sum();
    assert_gapless(&app, &ada, n as i64).await;
    let mut seen: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut since = 0;
    loop {
        let page = changes_ok(&app, &ada, since, None).await;
        for kind in kinds(&page) {
            *seen
                .entry(match kind.as_str() {
                    "CREATED" => "CREATED",
                    "UPDATED" => "UPDATED",
                    "DELETED" => "DELETED",
                    "RESTORED" => "RESTORED",
                    _ => "PURGED",
                })
                .or_default() += 1;
        }
        since = page["revision"].as_i64().unwrap();
        if page["hasMore"] == false {
            break;
        }
    }
    assert_eq!(seen, expected);
    other.shutdown().await;
}
