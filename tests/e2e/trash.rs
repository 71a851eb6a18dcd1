//! The 30-day trash: atomic delete and restore, the deletedTodos list, and the purge.

use crate::support::*;
use crate::todos::*;
use chrono::{Duration, Utc};
use futures_util::future::join_all;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use todoql_entity::deleted_todo_log;
use uuid::Uuid;

const DELETED_FIELDS: &str = "fragment DeletedFields on DeletedTodo { id title description dueDate isCompleted completedAt createdAt updatedAt deletedAt restorableUntil }";
const DELETE_TODO: &str = "mutation($id: ID!) { deleteTodo(id: $id) { ...DeletedFields } }";
const RESTORE_TODO: &str = "mutation($id: ID!) { restoreTodo(id: $id) { ...TodoFields } }";
const DELETED_TODOS: &str =
    "query($first: Int, $after: String) { deletedTodos(first: $first, after: $after) {
    totalCount
    edges { cursor node { ...DeletedFields } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
} }";

/// A trash entry as the `DeletedFields` fragment selects it: the todo as it was, and when it
/// went.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeletedTodo {
    #[serde(flatten)]
    todo: Todo,
    deleted_at: String,
    restorable_until: String,
}

/// `deletedTodos` as [`DELETED_TODOS`] selects it.
type TrashPage = Connection<DeletedTodo>;

/// deleteTodo of `id` (a JSON string, or a text), as `user`.
async fn delete_todo(app: &TestApp, user: &TestUser, id: impl Serialize) -> Gql {
    app.graphql_as(
        &user.access_token,
        &format!("{DELETE_TODO} {DELETED_FIELDS}"),
        json!({ "id": id }),
    )
    .await
}

async fn restore_todo(app: &TestApp, user: &TestUser, id: impl Serialize) -> Gql {
    todo_op(app, user, RESTORE_TODO, json!({ "id": id })).await
}

async fn deleted_todos(app: &TestApp, user: &TestUser, variables: Value) -> Gql {
    app.graphql_as(
        &user.access_token,
        &format!("{DELETED_TODOS} {DELETED_FIELDS}"),
        variables,
    )
    .await
}

async fn log_entries(app: &TestApp) -> u64 {
    deleted_todo_log::Entity::find()
        .count(app.state.db())
        .await
        .unwrap()
}

/// The trash as `user` sees it with these variables.
async fn trash(app: &TestApp, user: &TestUser, variables: Value) -> TrashPage {
    deleted_todos(app, user, variables)
        .await
        .root_as("deletedTodos")
}

#[tokio::test]
async fn delete_todo_moves_the_todo_to_the_trash_under_the_same_id() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo: Todo = create_todo(
        &app,
        &user,
        json!({ "title": "old", "description": "d", "dueDate": at(&app, Duration::days(1)) }),
    )
    .await
    .root_as("createTodo");
    app.clock.advance(Duration::minutes(1));
    let deleted_at = app.state.now();

    let deleted = delete_todo(&app, &user, &todo.id).await;

    // Every field of the todo, as it was.
    let entry: DeletedTodo = deleted.root_as("deleteTodo");
    assert_eq!(entry.todo, todo);
    assert!(parse_time(&entry.deleted_at) >= deleted_at);
    assert_eq!(
        parse_time(&entry.restorable_until),
        parse_time(&entry.deleted_at) + Duration::days(30)
    );
    let gone = todo_op(&app, &user, GET_TODO, json!({ "id": todo.id })).await;
    assert_eq!(gone.data()["todo"], Value::Null);
    assert_eq!(todo_rows(&app).await, 0);
    let trash = trash(&app, &user, json!({})).await;
    assert_eq!(trash.edges[0].node, entry);
    assert_eq!(trash.total_count, 1);
}

#[tokio::test]
async fn deleting_twice_is_not_found() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo = new_todo(&app, &user, "once").await;
    delete_todo(&app, &user, &todo["id"]).await.data();
    delete_todo(&app, &user, &todo["id"])
        .await
        .assert_error("NOT_FOUND", None);
    assert_eq!(log_entries(&app).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_deletions_of_one_todo_succeed_exactly_once() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo = new_todo(&app, &user, "contested").await;

    let responses = join_all((0..20).map(|_| delete_todo(&app, &user, &todo["id"]))).await;

    let succeeded = responses
        .iter()
        .filter(|r| r.body.get("errors").is_none())
        .count();
    let not_found = responses
        .iter()
        .filter(|r| r.body.get("errors").is_some() && r.code() == "NOT_FOUND")
        .count();
    assert_eq!(
        (succeeded, not_found),
        (1, 19),
        "{:?}",
        responses.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert_eq!(log_entries(&app).await, 1);
    assert_eq!(todo_rows(&app).await, 0);
}

#[tokio::test]
async fn restore_brings_the_todo_back_with_its_original_id_and_fields() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo: Todo = create_todo(&app, &user, json!({ "title": "pay rent", "description": "by transfer", "dueDate": at(&app, Duration::hours(1)) }))
        .await
        .root_as("createTodo");
    let done: Todo = todo_op(
        &app,
        &user,
        SET_COMPLETED,
        json!({ "id": todo.id, "completed": true }),
    )
    .await
    .root_as("setTodoCompleted");
    delete_todo(&app, &user, &todo.id).await.data();
    // Ten days later the due date is in the past; it comes back as it was.
    let user = later(&app, &user, Duration::days(10)).await;

    let restored = restore_todo(&app, &user, &todo.id).await;

    assert_eq!(restored.root_as::<Todo>("restoreTodo"), done);
    let fetched = todo_op(&app, &user, GET_TODO, json!({ "id": todo.id })).await;
    assert_eq!(fetched.root_as::<Todo>("todo"), done);
    assert_eq!(log_entries(&app).await, 0);
    assert_eq!(trash(&app, &user, json!({})).await.total_count, 0);
}

#[tokio::test]
async fn restoring_twice_is_not_found() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo = new_todo(&app, &user, "boomerang").await;
    delete_todo(&app, &user, &todo["id"]).await.data();
    restore_todo(&app, &user, &todo["id"]).await.data();

    restore_todo(&app, &user, &todo["id"])
        .await
        .assert_error("NOT_FOUND", None);
    assert_eq!(todo_rows(&app).await, 1);
}

#[tokio::test]
async fn a_todo_can_be_deleted_restored_and_deleted_again() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo = new_todo(&app, &user, "again").await;
    for _ in 0..3 {
        delete_todo(&app, &user, &todo["id"]).await.data();
        restore_todo(&app, &user, &todo["id"]).await.data();
    }
    delete_todo(&app, &user, &todo["id"]).await.data();
    assert_eq!(log_entries(&app).await, 1);
}

#[tokio::test]
async fn a_deleted_todo_is_restorable_for_30_days_and_not_after() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let kept = new_todo(&app, &user, "kept").await;
    let lost = new_todo(&app, &user, "lost").await;
    delete_todo(&app, &user, &lost["id"]).await.data();
    let user = later(&app, &user, Duration::days(2)).await;
    delete_todo(&app, &user, &kept["id"]).await.data();

    // 30 days and a second after the first deletion; 28 days after the second.
    let user = later(&app, &user, Duration::days(28) + Duration::seconds(1)).await;

    restore_todo(&app, &user, &lost["id"])
        .await
        .assert_error("NOT_FOUND", None);
    let trash = trash(&app, &user, json!({})).await;
    assert_eq!(trash.node_ids(), [kept["id"].as_str().unwrap()]);
    assert_eq!(trash.total_count, 1);
    restore_todo(&app, &user, &kept["id"]).await.data();
}

#[tokio::test]
async fn restore_is_a_conflict_when_an_incomplete_todo_has_the_title_and_the_entry_stays() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let original = new_todo(&app, &user, "dentist").await;
    delete_todo(&app, &user, &original["id"]).await.data();
    let replacement = new_todo(&app, &user, "dentist").await;

    restore_todo(&app, &user, &original["id"])
        .await
        .assert_error("CONFLICT", None);
    assert_eq!(log_entries(&app).await, 1);
    assert_eq!(todo_rows(&app).await, 1);

    // Once the clash is gone, the same entry restores.
    todo_op(
        &app,
        &user,
        SET_COMPLETED,
        json!({ "id": replacement["id"], "completed": true }),
    )
    .await
    .data();
    let restored = restore_todo(&app, &user, &original["id"]).await;
    assert_eq!(restored.data()["restoreTodo"]["id"], original["id"]);
}

#[tokio::test]
async fn a_completed_todo_restores_even_when_its_title_is_in_use() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let old = new_todo(&app, &user, "gym").await;
    todo_op(
        &app,
        &user,
        SET_COMPLETED,
        json!({ "id": old["id"], "completed": true }),
    )
    .await
    .data();
    delete_todo(&app, &user, &old["id"]).await.data();
    new_todo(&app, &user, "gym").await;

    let restored = restore_todo(&app, &user, &old["id"]).await;
    assert_eq!(restored.data()["restoreTodo"]["isCompleted"], true);
}

#[tokio::test]
async fn another_users_trash_is_invisible_and_cannot_be_restored() {
    let app = spawn_app().await;
    let owner = todo_user(&app, "owner@example.com").await;
    let intruder = todo_user(&app, "intruder@example.com").await;
    let todo = new_todo(&app, &owner, "mine").await;
    delete_todo(&app, &owner, &todo["id"]).await.data();

    let theirs = trash(&app, &intruder, json!({})).await;
    assert_eq!(theirs.total_count, 0);
    restore_todo(&app, &intruder, &todo["id"])
        .await
        .assert_error("NOT_FOUND", None);
    restore_todo(&app, &intruder, &json!(Uuid::now_v7().to_string()))
        .await
        .assert_error("NOT_FOUND", None);

    assert_eq!(log_entries(&app).await, 1);
    restore_todo(&app, &owner, &todo["id"]).await.data();
}

#[tokio::test]
async fn deleted_todos_lists_newest_deletion_first_across_pages() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let mut ids = Vec::new();
    for n in 0..7 {
        let todo = new_todo(&app, &user, &format!("t{n}")).await;
        ids.push(todo["id"].as_str().unwrap().to_owned());
    }
    // Deleted in order t0..t6, the last three in the same instant (ties broken by id).
    for (n, id) in ids.iter().enumerate() {
        delete_todo(&app, &user, &json!(id)).await.data();
        if n < 4 {
            app.clock.advance(Duration::minutes(1));
        }
    }
    let tied = app.state.now();
    deleted_todo_log::Entity::update_many()
        .col_expr(
            deleted_todo_log::Column::DeletedAt,
            sea_orm::sea_query::Expr::value(tied),
        )
        .filter(
            deleted_todo_log::Column::OriginalTodoId
                .is_in(ids[4..].iter().map(|i| Uuid::parse_str(i).unwrap())),
        )
        .exec(app.state.db())
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = trash(&app, &user, json!({ "first": 2, "after": after })).await;
        assert_eq!(page.total_count, 7);
        assert_eq!(page.page_info.has_previous_page, !after.is_null());
        seen.extend(page.node_ids().into_iter().map(str::to_owned));
        if !page.page_info.has_next_page {
            break;
        }
        after = json!(page.page_info.end_cursor);
    }

    let everything = trash(&app, &user, json!({ "first": 100 })).await;
    let deleted_ats: Vec<_> = everything
        .edges
        .iter()
        .map(|e| parse_time(&e.node.deleted_at))
        .collect();
    assert!(
        deleted_ats.windows(2).all(|w| w[0] >= w[1]),
        "newest deletion first: {deleted_ats:?}"
    );
    assert_eq!(seen, everything.node_ids());
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 7);
}

#[tokio::test]
async fn deleted_todos_checks_first_and_after() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    for first in [0, 101] {
        deleted_todos(&app, &user, json!({ "first": first }))
            .await
            .assert_error("BAD_USER_INPUT", Some("first"));
    }
    deleted_todos(&app, &user, json!({ "after": "nonsense" }))
        .await
        .assert_error("BAD_USER_INPUT", Some("after"));
}

#[tokio::test]
async fn the_trash_with_its_total_count_is_one_statement_with_the_session_check() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    for n in 0..25 {
        let todo = new_todo(&app, &user, &format!("t{n}")).await;
        delete_todo(&app, &user, &todo["id"]).await.data();
    }
    app.take_statement_count();
    let page = trash(&app, &user, json!({ "first": 20 })).await;
    let statements = app.take_statement_count();
    assert_eq!(page.total_count, 25);
    assert_eq!(statements, 1, "{statements} statements");
    // A signed-out session is refused by that statement, at once.
    let signed_out = app
        .graphql_as(&user.access_token, "mutation { signOut }", json!({}))
        .await;
    assert_eq!(signed_out.data()["signOut"], true);
    app.take_statement_count();
    app.graphql_as(
        &user.access_token,
        "{ deletedTodos { totalCount } }",
        json!({}),
    )
    .await
    .assert_error("UNAUTHENTICATED", None);
    assert_eq!(app.take_statement_count(), 1);
}

// --- purge ---------------------------------------------------------------------------------

/// A trash entry of `user` deleted at `deleted_at`, written directly.
async fn insert_entry(app: &TestApp, user: &TestUser, deleted_at: chrono::DateTime<Utc>) -> Uuid {
    let original = Uuid::now_v7();
    deleted_todo_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(Uuid::parse_str(&user.id).unwrap()),
        original_todo_id: Set(original),
        title: Set(format!("entry {original}")),
        description: Set(None),
        due_date: Set(None),
        is_completed: Set(false),
        completed_at: Set(None),
        created_at: Set(deleted_at),
        updated_at: Set(deleted_at),
        deleted_at: Set(deleted_at),
    }
    .insert(app.state.db())
    .await
    .unwrap();
    original
}

#[tokio::test]
async fn purge_removes_trash_older_than_30_days_and_keeps_the_rest() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let old = new_todo(&app, &user, "old").await;
    delete_todo(&app, &user, &old["id"]).await.data();
    let user = later(&app, &user, Duration::days(20)).await;
    let recent = new_todo(&app, &user, "recent").await;
    delete_todo(&app, &user, &recent["id"]).await.data();
    let user = later(&app, &user, Duration::days(10) + Duration::seconds(1)).await;

    let report = todoql_domain::maintenance::purge(&app.state)
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap();

    assert_eq!(report.deleted_todos, 1);
    let left: Vec<_> = deleted_todo_log::Entity::find()
        .all(app.state.db())
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].original_todo_id.to_string(),
        recent["id"].as_str().unwrap()
    );
    restore_todo(&app, &user, &recent["id"]).await.data();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purges_running_at_once_remove_each_old_entry_exactly_once() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let now = app.state.now();
    for days in 31..51 {
        insert_entry(&app, &user, now - Duration::days(days)).await;
    }
    let fresh = insert_entry(&app, &user, now - Duration::days(29)).await;

    let reports = join_all((0..5).map(|_| todoql_domain::maintenance::purge(&app.state))).await;

    let removed: u64 = reports
        .into_iter()
        .map(|r| {
            r.map_err(|e| format!("{e:?}"))
                .expect("every concurrent purge succeeds")
                .deleted_todos
        })
        .sum();
    assert_eq!(removed, 20);
    let left: Vec<_> = deleted_todo_log::Entity::find()
        .all(app.state.db())
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|e| e.original_todo_id).collect::<Vec<_>>(),
        [fresh]
    );
}

#[tokio::test]
async fn the_background_purge_pass_removes_old_trash() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo = new_todo(&app, &user, "old").await;
    delete_todo(&app, &user, &todo["id"]).await.data();
    app.clock.advance(Duration::days(31));

    todoql_server::background::run_purge(&app.state).await;

    assert_eq!(log_entries(&app).await, 0);
}

#[tokio::test]
async fn todoql_purge_command_removes_trash_older_than_30_days() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    // The command runs on the real clock, so the entries are dated in the database.
    insert_entry(&app, &user, Utc::now() - Duration::days(31)).await;
    let fresh = insert_entry(&app, &user, Utc::now() - Duration::days(1)).await;

    let output = todoql_bin()
        .arg("purge")
        .env("DATABASE_URL", &app.db.url)
        .env("TODOQL_LOG", "warn")
        .output()
        .expect("run todoql purge");

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("deleted_todos: 1"), "{stdout}");
    let left: Vec<_> = deleted_todo_log::Entity::find()
        .filter(deleted_todo_log::Column::UserId.eq(Uuid::parse_str(&user.id).unwrap()))
        .all(app.state.db())
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|e| e.original_todo_id).collect::<Vec<_>>(),
        [fresh]
    );
}
