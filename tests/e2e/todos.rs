//! Todos: validation, the unique incomplete title, updates, isolation between users, and the
//! keyset-paginated, filtered and sorted list.

use crate::support::*;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures_util::future::join_all;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Deserialize;
use serde_json::{Value, json};
use std::cmp::Ordering;
use todoql_entity::todo;
use uuid::Uuid;

/// Every field of a todo.
pub const TODO_FIELDS: &str = "fragment TodoFields on Todo { id title description dueDate isCompleted completedAt createdAt updatedAt }";

pub const CREATE_TODO: &str =
    "mutation($input: CreateTodoInput!) { createTodo(input: $input) { ...TodoFields } }";
pub const UPDATE_TODO: &str = "mutation($id: ID!, $input: UpdateTodoInput!) { updateTodo(id: $id, input: $input) { ...TodoFields } }";
pub const SET_COMPLETED: &str = "mutation($id: ID!, $completed: Boolean!) { setTodoCompleted(id: $id, completed: $completed) { ...TodoFields } }";
pub const GET_TODO: &str = "query($id: ID!) { todo(id: $id) { ...TodoFields } }";
pub const LIST_TODOS: &str =
    "query($first: Int, $after: String, $filter: TodoFilter, $orderBy: TodoOrder) {
    todos(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
        totalCount
        edges { cursor node { ...TodoFields } }
        nodes { id }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
}";

/// `todos` as [`LIST_TODOS`] selects it.
type TodoPage = Connection<Todo>;

/// Runs `query` (which uses `...TodoFields`) as `user`.
pub async fn todo_op(app: &TestApp, user: &TestUser, query: &str, variables: Value) -> Gql {
    app.graphql_as(
        &user.access_token,
        &format!("{query} {TODO_FIELDS}"),
        variables,
    )
    .await
}

/// createTodo with `input`, as `user`.
pub async fn create_todo(app: &TestApp, user: &TestUser, input: Value) -> Gql {
    todo_op(app, user, CREATE_TODO, json!({ "input": input })).await
}

/// Creates a todo titled `title` and returns it.
pub async fn new_todo(app: &TestApp, user: &TestUser, title: &str) -> Value {
    create_todo(app, user, json!({ "title": title }))
        .await
        .data()["createTodo"]
        .clone()
}

/// A verified user (todo operations need one).
pub async fn todo_user(app: &TestApp, email: &str) -> TestUser {
    app.verified_user(email).await
}

/// Moves the clock by `by` and signs `user` in again: access tokens live 15 minutes and
/// sessions 30 days, so a test that jumps days ahead needs fresh ones.
pub async fn later(app: &TestApp, user: &TestUser, by: Duration) -> TestUser {
    app.clock.advance(by);
    let signed_in = app
        .graphql(
            "mutation($input: SignInInput!) { signIn(input: $input) { accessToken refreshToken session { id } user { id } } }",
            json!({ "input": { "email": user.email, "password": PASSWORD } }),
        )
        .await;
    TestUser::from_payload(&signed_in.data()["signIn"], &user.email)
}

/// RFC 3339 text of the server's now + `offset`.
pub fn at(app: &TestApp, offset: Duration) -> String {
    (app.state.now() + offset).to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn time(value: &Value) -> DateTime<Utc> {
    parse_time(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a timestamp: {value}")),
    )
}

/// An RFC 3339 timestamp of a response.
pub fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("not a timestamp: {text}: {e}"))
        .with_timezone(&Utc)
}

/// Rows in `todos`, all users.
pub async fn todo_rows(app: &TestApp) -> u64 {
    todo::Entity::find().count(app.state.db()).await.unwrap()
}

/// todos(...) as `user` with these variables.
async fn list(app: &TestApp, user: &TestUser, variables: Value) -> Gql {
    todo_op(app, user, LIST_TODOS, variables).await
}

/// The page [`list`] answered.
async fn page(app: &TestApp, user: &TestUser, variables: Value) -> TodoPage {
    list(app, user, variables).await.root_as("todos")
}

fn titles(page: &TodoPage) -> Vec<String> {
    page.edges
        .iter()
        .map(|edge| edge.node.title.clone())
        .collect()
}

fn ids(page: &TodoPage) -> Vec<String> {
    page.edges.iter().map(|edge| edge.node.id.clone()).collect()
}

// --- who may use todos ---------------------------------------------------------------------

#[tokio::test]
async fn todo_operations_need_a_signed_in_user() {
    let app = spawn_app().await;
    let create = app
        .graphql(
            &format!("{CREATE_TODO} {TODO_FIELDS}"),
            json!({ "input": { "title": "milk" } }),
        )
        .await;
    create.assert_error("UNAUTHENTICATED", None);
    let list = app.graphql("{ todos { totalCount } }", json!({})).await;
    list.assert_error("UNAUTHENTICATED", None);
    let trash = app
        .graphql("{ deletedTodos { totalCount } }", json!({}))
        .await;
    trash.assert_error("UNAUTHENTICATED", None);
    assert_eq!(todo_rows(&app).await, 0);
}

#[tokio::test]
async fn todo_operations_need_a_verified_email_when_the_server_requires_it() {
    let app = spawn_app().await;
    let unverified = app.sign_up("ada@example.com").await;
    create_todo(&app, &unverified, json!({ "title": "milk" }))
        .await
        .assert_error("EMAIL_NOT_VERIFIED", None);
    list(&app, &unverified, json!({}))
        .await
        .assert_error("EMAIL_NOT_VERIFIED", None);
    assert_eq!(todo_rows(&app).await, 0);
}

/// The list checks the session in its own statement: a signed-out session is refused at once,
/// a token that is no token too, and who calls is answered before what they asked for.
#[tokio::test]
async fn the_list_refuses_a_revoked_session_at_once() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    new_todo(&app, &user, "milk").await;
    let page = list(&app, &user, json!({})).await;
    assert_eq!(page.data()["todos"]["totalCount"], 1);

    let signed_out = app
        .graphql_as(&user.access_token, "mutation { signOut }", json!({}))
        .await;
    assert_eq!(signed_out.data()["signOut"], true);
    list(&app, &user, json!({}))
        .await
        .assert_error("UNAUTHENTICATED", None);
    app.graphql_as("not.a.token", "{ todos { totalCount } }", json!({}))
        .await
        .assert_error("UNAUTHENTICATED", None);
    // A bad argument from a caller who is not signed in: UNAUTHENTICATED first.
    app.graphql_as(
        &user.access_token,
        "{ todos(first: 0) { totalCount } }",
        json!({}),
    )
    .await
    .assert_error("UNAUTHENTICATED", None);
    let again = later(&app, &user, Duration::zero()).await;
    app.graphql_as(
        &again.access_token,
        "{ todos(first: 0) { totalCount } }",
        json!({}),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("first"));
}

/// `me` and the list in one request, in either order: the caller is read once, by the list's
/// own statement, and both fields show the same caller.
#[tokio::test]
async fn me_and_the_list_in_one_request_read_the_caller_once() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    for title in ["a", "b", "c"] {
        new_todo(&app, &user, title).await;
    }
    for query in [
        "{ me { id email } todos(first: 2) { totalCount nodes { title } } }",
        "{ todos(first: 2) { totalCount nodes { title } } me { id email } }",
    ] {
        app.take_statement_count();
        let both = app.graphql_as(&user.access_token, query, json!({})).await;
        let statements = app.take_statement_count();
        let data = both.data();
        assert_eq!(data["me"]["id"], user.id.as_str(), "{query}");
        assert_eq!(data["me"]["email"], "ada@example.com", "{query}");
        assert_eq!(data["todos"]["totalCount"], 3, "{query}");
        assert_eq!(
            data["todos"]["nodes"].as_array().unwrap().len(),
            2,
            "{query}"
        );
        assert_eq!(statements, 1, "{query}");
    }
}

/// An unverified caller's list is refused after its one statement (which read the caller),
/// with `me` beside it too; `me` alone still answers.
#[tokio::test]
async fn the_list_refuses_an_unverified_caller_also_beside_me() {
    let app = spawn_app().await;
    let unverified = app.sign_up("ada@example.com").await;
    for query in [
        "{ todos { totalCount } }",
        "{ me { id } todos { totalCount } }",
        "{ todos { totalCount } me { id } }",
    ] {
        app.take_statement_count();
        app.graphql_as(&unverified.access_token, query, json!({}))
            .await
            .assert_error("EMAIL_NOT_VERIFIED", None);
        assert_eq!(app.take_statement_count(), 1, "{query}");
    }
    let me = app
        .graphql_as(&unverified.access_token, "{ me { id } }", json!({}))
        .await;
    assert_eq!(me.data()["me"]["id"], unverified.id.as_str());
}

#[tokio::test]
async fn unverified_users_manage_todos_when_the_server_does_not_require_verification() {
    let app = TestApp::spawn_with(&["--require-verified-email", "false"]).await;
    let unverified = app.sign_up("ada@example.com").await;
    let todo = new_todo(&app, &unverified, "milk").await;
    assert_eq!(todo["title"], "milk");
}

// --- createTodo ----------------------------------------------------------------------------

#[tokio::test]
async fn create_todo_trims_the_title_and_returns_every_field() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let due = at(&app, Duration::days(2));

    let created = create_todo(
        &app,
        &user,
        json!({ "title": "  buy milk \n", "description": "two litres", "dueDate": due }),
    )
    .await;

    let todo: Todo = created.root_as("createTodo");
    assert_eq!(todo.title, "buy milk");
    assert_eq!(todo.description.as_deref(), Some("two litres"));
    assert_eq!(
        todo.due_date.as_deref().map(parse_time),
        Some(parse_time(&due))
    );
    assert!(!todo.is_completed);
    assert_eq!(todo.completed_at, None);
    assert_eq!(todo.created_at, todo.updated_at);
    let fetched = todo_op(&app, &user, GET_TODO, json!({ "id": todo.id })).await;
    assert_eq!(fetched.root_as::<Todo>("todo"), todo);
}

#[tokio::test]
async fn create_todo_rejects_a_blank_title() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    for title in ["", "   ", "\t\n"] {
        create_todo(&app, &user, json!({ "title": title }))
            .await
            .assert_error("BAD_USER_INPUT", Some("title"));
    }
    assert_eq!(todo_rows(&app).await, 0);
}

#[tokio::test]
async fn create_todo_counts_title_length_in_characters_after_trimming() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    // 255 two-byte characters (510 bytes) are fine; so are surrounding spaces.
    let longest = format!("  {}  ", "é".repeat(255));
    let created = create_todo(&app, &user, json!({ "title": longest })).await;
    assert_eq!(
        created.data()["createTodo"]["title"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        255
    );

    create_todo(&app, &user, json!({ "title": "é".repeat(256) }))
        .await
        .assert_error("BAD_USER_INPUT", Some("title"));
    assert_eq!(todo_rows(&app).await, 1);
}

#[tokio::test]
async fn create_todo_rejects_a_description_over_1000_characters() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    create_todo(
        &app,
        &user,
        json!({ "title": "a", "description": "ß".repeat(1000) }),
    )
    .await
    .data();
    create_todo(
        &app,
        &user,
        json!({ "title": "b", "description": "x".repeat(1001) }),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("description"));
    assert_eq!(todo_rows(&app).await, 1);
}

#[tokio::test]
async fn create_todo_rejects_a_due_date_that_is_not_in_the_future() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    for due in [
        at(&app, Duration::minutes(-1)),
        at(&app, Duration::days(-400)),
    ] {
        create_todo(&app, &user, json!({ "title": "late", "dueDate": due }))
            .await
            .assert_error("BAD_USER_INPUT", Some("dueDate"));
    }
    // Once the clock moves, a due date that was in the future is not any more.
    let soon = at(&app, Duration::minutes(1));
    app.clock.advance(Duration::minutes(2));
    create_todo(&app, &user, json!({ "title": "late", "dueDate": soon }))
        .await
        .assert_error("BAD_USER_INPUT", Some("dueDate"));
    assert_eq!(todo_rows(&app).await, 0);
}

#[tokio::test]
async fn a_due_date_that_is_not_a_timestamp_is_rejected() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let response = create_todo(&app, &user, json!({ "title": "x", "dueDate": "tomorrow" })).await;
    assert!(response.body["errors"].is_array(), "{}", response.body);
    assert_eq!(todo_rows(&app).await, 0);
}

#[tokio::test]
async fn create_todo_refuses_a_title_taken_by_an_incomplete_todo() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    new_todo(&app, &user, "buy milk").await;

    // The same title after trimming is the same title.
    create_todo(&app, &user, json!({ "title": "  buy milk  " }))
        .await
        .assert_error("CONFLICT", None);
    assert_eq!(todo_rows(&app).await, 1);
}

#[tokio::test]
async fn a_completed_todo_does_not_hold_its_title() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let first = new_todo(&app, &user, "water plants").await;
    todo_op(
        &app,
        &user,
        SET_COMPLETED,
        json!({ "id": first["id"], "completed": true }),
    )
    .await
    .data();

    let second = new_todo(&app, &user, "water plants").await;
    assert_ne!(second["id"], first["id"]);
}

#[tokio::test]
async fn two_users_may_have_the_same_title() {
    let app = spawn_app().await;
    let ada = todo_user(&app, "ada@example.com").await;
    let bob = todo_user(&app, "bob@example.com").await;
    new_todo(&app, &ada, "buy milk").await;
    new_todo(&app, &bob, "buy milk").await;
    assert_eq!(todo_rows(&app).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_creations_of_one_title_give_one_todo_and_nineteen_conflicts() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;

    let responses =
        join_all((0..20).map(|_| create_todo(&app, &user, json!({ "title": "race" })))).await;

    let created = responses
        .iter()
        .filter(|r| r.body.get("errors").is_none())
        .count();
    let conflicts = responses
        .iter()
        .filter(|r| r.body.get("errors").is_some() && r.code() == "CONFLICT")
        .count();
    assert_eq!(
        (created, conflicts),
        (1, 19),
        "{:?}",
        responses.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert_eq!(todo_rows(&app).await, 1);
}

// --- updateTodo and setTodoCompleted -------------------------------------------------------

#[tokio::test]
async fn update_todo_changes_only_the_fields_it_is_given() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let due = at(&app, Duration::days(3));
    let todo = create_todo(
        &app,
        &user,
        json!({ "title": "draft", "description": "notes", "dueDate": due }),
    )
    .await
    .data()["createTodo"]
        .clone();
    app.clock.advance(Duration::minutes(1));

    let updated = todo_op(
        &app,
        &user,
        UPDATE_TODO,
        json!({ "id": todo["id"], "input": { "title": " final " } }),
    )
    .await;

    let updated: Todo = updated.root_as("updateTodo");
    assert_eq!(updated.title, "final");
    assert_eq!(updated.description.as_deref(), Some("notes"));
    assert_eq!(updated.due_date.as_deref(), todo["dueDate"].as_str());
    assert!(updated.due_date.is_some());
    assert!(!updated.is_completed);
    assert_eq!(updated.created_at, todo["createdAt"].as_str().unwrap());
    assert!(parse_time(&updated.updated_at) > time(&todo["updatedAt"]));
}

#[tokio::test]
async fn update_todo_clears_description_and_due_date_with_an_explicit_null() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo = create_todo(
        &app,
        &user,
        json!({ "title": "t", "description": "d", "dueDate": at(&app, Duration::days(1)) }),
    )
    .await
    .data()["createTodo"]
        .clone();

    let updated = todo_op(
        &app,
        &user,
        UPDATE_TODO,
        json!({ "id": todo["id"], "input": { "description": null, "dueDate": null } }),
    )
    .await;

    let updated: Todo = updated.root_as("updateTodo");
    assert_eq!(updated.title, "t");
    assert_eq!(updated.description, None);
    assert_eq!(updated.due_date, None);
}

#[tokio::test]
async fn update_todo_refuses_a_null_title_and_changes_nothing() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo = create_todo(&app, &user, json!({ "title": "keep", "description": "d" }))
        .await
        .data()["createTodo"]
        .clone();

    todo_op(
        &app,
        &user,
        UPDATE_TODO,
        json!({ "id": todo["id"], "input": { "title": null, "description": null } }),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("title"));
    todo_op(
        &app,
        &user,
        UPDATE_TODO,
        json!({ "id": todo["id"], "input": { "isCompleted": null } }),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("isCompleted"));

    let after = todo_op(&app, &user, GET_TODO, json!({ "id": todo["id"] })).await;
    assert_eq!(after.data()["todo"], todo);
}

#[tokio::test]
async fn update_todo_validates_like_create_todo() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo = new_todo(&app, &user, "valid").await;
    for (input, field) in [
        (json!({ "title": "  " }), "title"),
        (json!({ "title": "x".repeat(256) }), "title"),
        (json!({ "description": "x".repeat(1001) }), "description"),
        (
            json!({ "dueDate": at(&app, Duration::seconds(-1)) }),
            "dueDate",
        ),
    ] {
        todo_op(
            &app,
            &user,
            UPDATE_TODO,
            json!({ "id": todo["id"], "input": input }),
        )
        .await
        .assert_error("BAD_USER_INPUT", Some(field));
    }
    let after = todo_op(&app, &user, GET_TODO, json!({ "id": todo["id"] })).await;
    assert_eq!(after.data()["todo"], todo);
}

#[tokio::test]
async fn renaming_to_a_title_taken_by_an_incomplete_todo_is_a_conflict() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    new_todo(&app, &user, "taken").await;
    let other = new_todo(&app, &user, "other").await;

    todo_op(
        &app,
        &user,
        UPDATE_TODO,
        json!({ "id": other["id"], "input": { "title": "taken", "description": "x" } }),
    )
    .await
    .assert_error("CONFLICT", None);

    let after = todo_op(&app, &user, GET_TODO, json!({ "id": other["id"] })).await;
    assert_eq!(after.data()["todo"], other);
}

#[tokio::test]
async fn completing_sets_completed_at_and_reopening_clears_it() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo = new_todo(&app, &user, "laundry").await;
    app.clock.advance(Duration::minutes(5));
    let completed_at = app.state.now();

    let done = todo_op(
        &app,
        &user,
        SET_COMPLETED,
        json!({ "id": todo["id"], "completed": true }),
    )
    .await;
    let done: Todo = done.root_as("setTodoCompleted");
    assert!(done.is_completed);
    let done_at = done.completed_at.as_deref().expect("completedAt");
    assert!(parse_time(done_at) >= completed_at);
    assert_eq!(done_at, done.updated_at);

    app.clock.advance(Duration::minutes(5));
    let reopened = todo_op(
        &app,
        &user,
        UPDATE_TODO,
        json!({ "id": todo["id"], "input": { "isCompleted": false } }),
    )
    .await;
    let reopened: Todo = reopened.root_as("updateTodo");
    assert!(!reopened.is_completed);
    assert_eq!(reopened.completed_at, None);
    assert!(parse_time(&reopened.updated_at) > parse_time(&done.updated_at));
}

#[tokio::test]
async fn completing_an_already_completed_todo_keeps_its_completion_time() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo = new_todo(&app, &user, "once").await;
    let done = todo_op(
        &app,
        &user,
        SET_COMPLETED,
        json!({ "id": todo["id"], "completed": true }),
    )
    .await;
    let done = done.data()["setTodoCompleted"].clone();
    app.clock.advance(Duration::minutes(10));

    let again = todo_op(
        &app,
        &user,
        SET_COMPLETED,
        json!({ "id": todo["id"], "completed": true }),
    )
    .await;

    assert_eq!(again.data()["setTodoCompleted"], done);
}

#[tokio::test]
async fn updated_at_moves_forward_on_every_change() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo = new_todo(&app, &user, "v0").await;
    let mut last = time(&todo["updatedAt"]);
    // No clock movement: even changes within the same microsecond move updatedAt forward.
    for input in [
        json!({ "title": "v1" }),
        json!({ "description": "d" }),
        json!({ "dueDate": at(&app, Duration::days(1)) }),
        json!({ "isCompleted": true }),
        json!({ "isCompleted": false }),
        json!({ "description": null }),
    ] {
        let updated = todo_op(
            &app,
            &user,
            UPDATE_TODO,
            json!({ "id": todo["id"], "input": input }),
        )
        .await;
        let updated_at = time(&updated.data()["updateTodo"]["updatedAt"]);
        assert!(
            updated_at > last,
            "{input}: {updated_at} is not after {last}"
        );
        last = updated_at;
    }
}

#[tokio::test]
async fn reopening_a_todo_whose_title_is_taken_again_is_a_conflict() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let old = new_todo(&app, &user, "call mum").await;
    todo_op(
        &app,
        &user,
        SET_COMPLETED,
        json!({ "id": old["id"], "completed": true }),
    )
    .await
    .data();
    new_todo(&app, &user, "call mum").await;

    todo_op(
        &app,
        &user,
        SET_COMPLETED,
        json!({ "id": old["id"], "completed": false }),
    )
    .await
    .assert_error("CONFLICT", None);
    todo_op(
        &app,
        &user,
        UPDATE_TODO,
        json!({ "id": old["id"], "input": { "isCompleted": false } }),
    )
    .await
    .assert_error("CONFLICT", None);

    let after = todo_op(&app, &user, GET_TODO, json!({ "id": old["id"] })).await;
    assert_eq!(after.data()["todo"]["isCompleted"], true);
}

// --- isolation and ids ---------------------------------------------------------------------

#[tokio::test]
async fn another_users_todo_behaves_exactly_like_a_missing_one() {
    let app = spawn_app().await;
    let owner = todo_user(&app, "owner@example.com").await;
    let intruder = todo_user(&app, "intruder@example.com").await;
    let todo = create_todo(
        &app,
        &owner,
        json!({ "title": "private", "description": "secret" }),
    )
    .await
    .data()["createTodo"]
        .clone();
    let missing = Uuid::now_v7().to_string();

    for id in [todo["id"].as_str().unwrap(), missing.as_str()] {
        let read = todo_op(&app, &intruder, GET_TODO, json!({ "id": id })).await;
        assert_eq!(read.data()["todo"], Value::Null);
        todo_op(
            &app,
            &intruder,
            UPDATE_TODO,
            json!({ "id": id, "input": { "title": "mine" } }),
        )
        .await
        .assert_error("NOT_FOUND", None);
        todo_op(
            &app,
            &intruder,
            SET_COMPLETED,
            json!({ "id": id, "completed": true }),
        )
        .await
        .assert_error("NOT_FOUND", None);
        app.graphql_as(
            &intruder.access_token,
            "mutation($id: ID!) { deleteTodo(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await
        .assert_error("NOT_FOUND", None);
    }
    let listed = list(&app, &intruder, json!({})).await;
    assert_eq!(listed.data()["todos"]["totalCount"], 0);

    let unchanged = todo_op(&app, &owner, GET_TODO, json!({ "id": todo["id"] })).await;
    assert_eq!(unchanged.data()["todo"], todo);
}

#[tokio::test]
async fn an_id_that_is_not_a_uuid_is_bad_user_input() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    for id in ["1", "not-a-uuid", "", "'; DROP TABLE todos; --"] {
        todo_op(&app, &user, GET_TODO, json!({ "id": id }))
            .await
            .assert_error("BAD_USER_INPUT", Some("id"));
        todo_op(
            &app,
            &user,
            UPDATE_TODO,
            json!({ "id": id, "input": { "title": "x" } }),
        )
        .await
        .assert_error("BAD_USER_INPUT", Some("id"));
        todo_op(
            &app,
            &user,
            SET_COMPLETED,
            json!({ "id": id, "completed": true }),
        )
        .await
        .assert_error("BAD_USER_INPUT", Some("id"));
        for mutation in ["deleteTodo", "restoreTodo"] {
            app.graphql_as(
                &user.access_token,
                &format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ id }} }}"),
                json!({ "id": id }),
            )
            .await
            .assert_error("BAD_USER_INPUT", Some("id"));
        }
    }
}

// --- the list: pages, cursors, orderings ---------------------------------------------------

/// The sort key of a listed todo, for checking the server's order in Rust.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Key {
    Time(Option<DateTime<Utc>>),
    Text(String),
}

fn key_of(node: &Value, field: &str) -> Key {
    match field {
        "CREATED_AT" => Key::Time(Some(time(&node["createdAt"]))),
        "UPDATED_AT" => Key::Time(Some(time(&node["updatedAt"]))),
        "DUE_DATE" => Key::Time(node["dueDate"].as_str().map(|_| time(&node["dueDate"]))),
        "TITLE" => Key::Text(node["title"].as_str().unwrap().to_owned()),
        _ => unreachable!(),
    }
}

/// The order the contract promises: by key (missing due dates last in both directions), then id.
fn expected_order(nodes: &[Value], field: &str, direction: &str) -> Vec<String> {
    let mut sorted = nodes.to_vec();
    sorted.sort_by(|a, b| {
        let (ka, kb) = (key_of(a, field), key_of(b, field));
        let missing = |k: &Key| matches!(k, Key::Time(None));
        let by_key = match (missing(&ka), missing(&kb)) {
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            _ => ka.partial_cmp(&kb).unwrap(),
        };
        let by_id = a["id"].as_str().unwrap().cmp(b["id"].as_str().unwrap());
        let order = by_key.then(by_id);
        if direction == "DESC" {
            order.reverse()
        } else {
            order
        }
    });
    sorted
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Pages through the whole list `page_size` at a time, checking pageInfo on every page.
async fn all_pages(
    app: &TestApp,
    user: &TestUser,
    page_size: usize,
    order_by: Value,
    filter: Value,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let connection = page(
            app,
            user,
            json!({ "first": page_size, "after": after, "orderBy": order_by, "filter": filter }),
        )
        .await;
        let page_ids = ids(&connection);
        let info = &connection.page_info;
        assert_eq!(info.has_previous_page, !after.is_null(), "{connection:?}");
        let edges = &connection.edges;
        assert_eq!(connection.nodes.len(), edges.len());
        if let (Some(first), Some(last)) = (edges.first(), edges.last()) {
            assert_eq!(info.start_cursor.as_ref(), Some(&first.cursor));
            assert_eq!(info.end_cursor.as_ref(), Some(&last.cursor));
        } else {
            assert_eq!(info.start_cursor, None);
            assert_eq!(info.end_cursor, None);
        }
        assert!(page_ids.len() <= page_size);
        seen.extend(page_ids);
        if !info.has_next_page {
            return seen;
        }
        assert_eq!(edges.len(), page_size, "a page before the last one is full");
        after = json!(info.end_cursor);
        assert!(seen.len() < 1000, "paging does not end");
    }
}

/// A user whose todos share sort keys: three "dup" titles (two completed), three todos with the
/// same due date, several without one, three with the same created_at and updated_at.
async fn todos_with_ties(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let same_due = at(app, Duration::days(7));
    for (n, due) in [
        (1, Some(same_due.clone())),
        (2, Some(same_due.clone())),
        (3, Some(same_due.clone())),
        (4, None),
        (5, None),
        (6, Some(at(app, Duration::days(1)))),
        (7, Some(at(app, Duration::days(30)))),
        (8, None),
    ] {
        create_todo(
            app,
            user,
            json!({ "title": format!("task{n}"), "dueDate": due }),
        )
        .await
        .data();
        app.clock.advance(Duration::seconds(1));
    }
    for _ in 0..2 {
        let dup = new_todo(app, user, "dup").await;
        todo_op(
            app,
            user,
            SET_COMPLETED,
            json!({ "id": dup["id"], "completed": true }),
        )
        .await
        .data();
    }
    new_todo(app, user, "dup").await;
    // Identical timestamps can only be made in the database.
    let tied: Vec<Uuid> = todo::Entity::find()
        .filter(todo::Column::Title.is_in(["task4", "task5", "task6"]))
        .all(app.state.db())
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    let instant = app.state.now() - Duration::hours(1);
    todo::Entity::update_many()
        .col_expr(todo::Column::CreatedAt, Expr::value(instant))
        .col_expr(todo::Column::UpdatedAt, Expr::value(instant))
        .filter(todo::Column::Id.is_in(tied))
        .exec(app.state.db())
        .await
        .unwrap();
    let everything = list(app, user, json!({ "first": 100 })).await;
    everything.data()["todos"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn paging_visits_every_todo_once_in_every_ordering_and_direction() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let nodes = todos_with_ties(&app, &user).await;
    assert_eq!(nodes.len(), 11);

    for field in ["CREATED_AT", "UPDATED_AT", "DUE_DATE", "TITLE"] {
        for direction in ["ASC", "DESC"] {
            let order_by = json!({ "field": field, "direction": direction });
            let expected = expected_order(&nodes, field, direction);
            let one_page = page(&app, &user, json!({ "first": 100, "orderBy": order_by })).await;
            assert_eq!(ids(&one_page), expected, "{field} {direction} in one page");
            for page_size in [1, 2, 3, 5] {
                let paged = all_pages(&app, &user, page_size, order_by.clone(), Value::Null).await;
                assert_eq!(
                    paged, expected,
                    "{field} {direction} by pages of {page_size}"
                );
            }
        }
    }
}

#[tokio::test]
async fn todos_without_a_due_date_come_last_in_both_directions() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    new_todo(&app, &user, "no date").await;
    create_todo(
        &app,
        &user,
        json!({ "title": "soon", "dueDate": at(&app, Duration::days(1)) }),
    )
    .await
    .data();
    create_todo(
        &app,
        &user,
        json!({ "title": "later", "dueDate": at(&app, Duration::days(2)) }),
    )
    .await
    .data();

    for (direction, expected) in [
        ("ASC", ["soon", "later", "no date"]),
        ("DESC", ["later", "soon", "no date"]),
    ] {
        let page = page(
            &app,
            &user,
            json!({ "orderBy": { "field": "DUE_DATE", "direction": direction } }),
        )
        .await;
        assert_eq!(titles(&page), expected);
    }
}

#[tokio::test]
async fn the_default_order_is_newest_first() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    for title in ["first", "second", "third"] {
        new_todo(&app, &user, title).await;
        app.clock.advance(Duration::seconds(1));
    }
    let newest_first = page(&app, &user, json!({})).await;
    assert_eq!(titles(&newest_first), ["third", "second", "first"]);
    let partial_order = page(&app, &user, json!({ "orderBy": { "direction": "ASC" } })).await;
    assert_eq!(titles(&partial_order), ["first", "second", "third"]);
}

#[tokio::test]
async fn a_cursor_stays_valid_when_todos_are_added_or_deleted_between_pages() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let mut created = Vec::new();
    for n in 0..6 {
        created.push(new_todo(&app, &user, &format!("t{n}")).await);
        app.clock.advance(Duration::seconds(1));
    }
    // Newest first: t5 t4 | t3 t2 | t1 t0
    let first = page(&app, &user, json!({ "first": 2 })).await;
    assert_eq!(titles(&first), ["t5", "t4"]);

    // Meanwhile: a new todo at the top, the cursor's own todo and a later one are deleted.
    new_todo(&app, &user, "t6").await;
    for victim in [&created[4], &created[2]] {
        app.graphql_as(
            &user.access_token,
            "mutation($id: ID!) { deleteTodo(id: $id) { id } }",
            json!({ "id": victim["id"] }),
        )
        .await
        .data();
    }

    let second = page(
        &app,
        &user,
        json!({ "first": 2, "after": first.page_info.end_cursor }),
    )
    .await;
    assert_eq!(titles(&second), ["t3", "t1"]);
    let third = page(
        &app,
        &user,
        json!({ "first": 2, "after": second.page_info.end_cursor }),
    )
    .await;
    assert_eq!(titles(&third), ["t0"]);
    assert!(!third.page_info.has_next_page);
}

#[tokio::test]
async fn first_must_be_between_1_and_100() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    for first in [0, -1, 101, 100_000] {
        list(&app, &user, json!({ "first": first }))
            .await
            .assert_error("BAD_USER_INPUT", Some("first"));
    }
    for first in [1, 100] {
        list(&app, &user, json!({ "first": first })).await.data();
    }
}

#[tokio::test]
async fn a_malformed_cursor_is_bad_user_input() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    new_todo(&app, &user, "a").await;
    let real = list(&app, &user, json!({})).await.data()["todos"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // Cut inside the id: the text still decodes, but no longer names a position.
    let truncated = real[..24].to_owned();
    for after in [
        "",
        "garbage",
        "%%%",
        "djE",
        truncated.as_str(),
        "djF8Y3JlYXRlZF9hdC5kZXNjfHh8dDE",
    ] {
        list(&app, &user, json!({ "after": after }))
            .await
            .assert_error("BAD_USER_INPUT", Some("after"));
    }
}

#[tokio::test]
async fn a_cursor_made_for_another_ordering_is_bad_user_input() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    new_todo(&app, &user, "a").await;
    new_todo(&app, &user, "b").await;
    let by_title = json!({ "field": "TITLE", "direction": "ASC" });
    let cursor = list(&app, &user, json!({ "first": 1, "orderBy": by_title }))
        .await
        .data()["todos"]["pageInfo"]["endCursor"]
        .clone();

    for other in [
        json!({ "field": "TITLE", "direction": "DESC" }),
        json!({ "field": "CREATED_AT", "direction": "ASC" }),
        json!({ "field": "DUE_DATE", "direction": "ASC" }),
        Value::Null,
    ] {
        list(
            &app,
            &user,
            json!({ "first": 1, "after": cursor, "orderBy": other }),
        )
        .await
        .assert_error("BAD_USER_INPUT", Some("after"));
    }
    app.graphql_as(
        &user.access_token,
        "query($after: String) { deletedTodos(after: $after) { totalCount } }",
        json!({ "after": cursor }),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("after"));
    list(
        &app,
        &user,
        json!({ "first": 1, "after": cursor, "orderBy": by_title }),
    )
    .await
    .data();
}

#[tokio::test]
async fn page_info_is_right_on_an_empty_list_and_after_the_last_todo() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let empty = page(&app, &user, json!({})).await;
    assert_eq!(empty.total_count, 0);
    assert!(empty.edges.is_empty());
    assert_eq!(
        empty.page_info,
        PageInfo {
            has_next_page: false,
            has_previous_page: false,
            start_cursor: None,
            end_cursor: None,
        }
    );

    new_todo(&app, &user, "only").await;
    let one = page(&app, &user, json!({ "first": 1 })).await;
    assert!(!one.page_info.has_next_page);
    let beyond = page(
        &app,
        &user,
        json!({ "first": 1, "after": one.page_info.end_cursor }),
    )
    .await;
    assert!(beyond.edges.is_empty());
    assert_eq!(
        beyond.total_count, 1,
        "the count is there even when the page is empty"
    );
    assert!(!beyond.page_info.has_next_page);
    assert!(beyond.page_info.has_previous_page);
}

// --- filters and the count -----------------------------------------------------------------

#[tokio::test]
async fn filters_narrow_the_list_and_the_count() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let done = new_todo(&app, &user, "done").await;
    todo_op(
        &app,
        &user,
        SET_COMPLETED,
        json!({ "id": done["id"], "completed": true }),
    )
    .await
    .data();
    create_todo(
        &app,
        &user,
        json!({ "title": "tomorrow", "dueDate": at(&app, Duration::days(1)) }),
    )
    .await
    .data();
    create_todo(
        &app,
        &user,
        json!({ "title": "next week", "dueDate": at(&app, Duration::days(7)) }),
    )
    .await
    .data();
    new_todo(&app, &user, "someday").await;
    let in_three_days = at(&app, Duration::days(3));

    for (filter, expected) in [
        (json!({ "isCompleted": true }), vec!["done"]),
        (
            json!({ "isCompleted": false }),
            vec!["next week", "someday", "tomorrow"],
        ),
        (json!({ "dueBefore": in_three_days }), vec!["tomorrow"]),
        (json!({ "dueAfter": in_three_days }), vec!["next week"]),
        (
            json!({ "dueAfter": at(&app, Duration::hours(1)), "dueBefore": at(&app, Duration::days(30)) }),
            vec!["next week", "tomorrow"],
        ),
        (
            json!({ "isCompleted": true, "dueBefore": in_three_days }),
            vec![],
        ),
        (json!({}), vec!["done", "next week", "someday", "tomorrow"]),
    ] {
        let todos = page(
            &app,
            &user,
            json!({ "filter": filter, "orderBy": { "field": "TITLE", "direction": "ASC" } }),
        )
        .await;
        assert_eq!(titles(&todos), expected, "{filter}");
        assert_eq!(todos.total_count, expected.len() as u64, "{filter}");
    }
}

#[tokio::test]
async fn search_is_a_case_insensitive_substring_of_title_or_description() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    create_todo(&app, &user, json!({ "title": "Buy MILK" }))
        .await
        .data();
    create_todo(
        &app,
        &user,
        json!({ "title": "groceries", "description": "eggs and milk" }),
    )
    .await
    .data();
    create_todo(&app, &user, json!({ "title": "walk the dog" }))
        .await
        .data();

    for (search, expected) in [
        ("milk", vec!["Buy MILK", "groceries"]),
        ("MiLk", vec!["Buy MILK", "groceries"]),
        ("DOG", vec!["walk the dog"]),
        ("cat", vec![]),
    ] {
        let found = page(&app, &user, json!({ "filter": { "search": search }, "orderBy": { "field": "TITLE", "direction": "ASC" } })).await;
        assert_eq!(titles(&found), expected, "{search}");
    }
}

#[tokio::test]
async fn percent_underscore_and_backslash_in_a_search_are_literal() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    for title in [
        "100% done",
        "1000 done",
        "snake_case",
        "snakeXcase",
        r"back\slash",
        "backslash",
    ] {
        new_todo(&app, &user, title).await;
    }
    for (search, expected) in [
        ("0%", vec!["100% done"]),
        ("%", vec!["100% done"]),
        ("e_c", vec!["snake_case"]),
        ("_", vec!["snake_case"]),
        (r"\", vec![r"back\slash"]),
        (r"k\s", vec![r"back\slash"]),
    ] {
        let found = page(&app, &user, json!({ "filter": { "search": search } })).await;
        assert_eq!(titles(&found), expected, "{search}");
    }
}

#[tokio::test]
async fn paging_through_a_filtered_list_keeps_the_filter() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    for n in 0..7 {
        let todo = new_todo(&app, &user, &format!("item {n}")).await;
        if n % 2 == 0 {
            todo_op(
                &app,
                &user,
                SET_COMPLETED,
                json!({ "id": todo["id"], "completed": true }),
            )
            .await
            .data();
        }
    }
    let filter = json!({ "isCompleted": true, "search": "ITEM" });
    let paged = all_pages(&app, &user, 2, Value::Null, filter.clone()).await;
    assert_eq!(paged.len(), 4);
    let counted = list(&app, &user, json!({ "first": 1, "filter": filter })).await;
    assert_eq!(counted.data()["todos"]["totalCount"], 4);
}

#[tokio::test]
async fn a_search_longer_than_255_characters_is_bad_user_input() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    list(
        &app,
        &user,
        json!({ "filter": { "search": "x".repeat(256) } }),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("search"));
}

/// The page, its count and the session check are one statement (`todos::list_for_token`).
#[tokio::test]
async fn a_page_with_its_total_count_is_one_statement_with_the_session_check() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    for n in 0..30 {
        new_todo(&app, &user, &format!("todo {n}")).await;
    }
    let query = format!(
        "{{ todos(first: 20) {{ totalCount nodes {{ ...TodoFields }} edges {{ cursor }} pageInfo {{ hasNextPage endCursor }} }} }} {TODO_FIELDS}"
    );

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct CountedPage {
        total_count: u64,
        nodes: Vec<Todo>,
        page_info: Option<PageInfoEnd>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct PageInfoEnd {
        end_cursor: String,
    }

    app.take_statement_count();
    let page: CountedPage = app
        .graphql_as(&user.access_token, &query, json!({}))
        .await
        .root_as("todos");
    let statements = app.take_statement_count();

    assert_eq!(page.total_count, 30);
    assert_eq!(page.nodes.len(), 20);
    assert_eq!(statements, 1, "{statements} statements");

    // Ordered by due date, filtered and searched, with a cursor: still one.
    let cursor = page.page_info.expect("pageInfo").end_cursor;
    let query = format!(
        "query($after: String) {{ todos(first: 20, after: $after, filter: {{ isCompleted: false, search: \"todo\" }}) {{ totalCount nodes {{ ...TodoFields }} }} }} {TODO_FIELDS}"
    );
    app.take_statement_count();
    let next: CountedPage = app
        .graphql_as(&user.access_token, &query, json!({ "after": cursor }))
        .await
        .root_as("todos");
    let statements = app.take_statement_count();
    assert_eq!(next.nodes.len(), 10);
    assert_eq!(next.total_count, 30);
    assert_eq!(statements, 1, "{statements} statements");
}

#[tokio::test]
async fn total_count_is_answered_when_selected_through_a_fragment() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    new_todo(&app, &user, "a").await;
    new_todo(&app, &user, "b").await;
    let query =
        "{ todos(first: 1) { ...Counted } } fragment Counted on TodoConnection { totalCount }";
    app.take_statement_count();
    let page = app.graphql_as(&user.access_token, query, json!({})).await;
    assert_eq!(page.data()["todos"]["totalCount"], 2);
    assert_eq!(app.take_statement_count(), 1);
}

#[tokio::test]
async fn a_list_without_total_count_pages_the_same() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    for title in ["a", "b", "c"] {
        new_todo(&app, &user, title).await;
    }
    let query = "query($after: String) { todos(first: 2, after: $after, orderBy: { field: TITLE, direction: ASC }) { nodes { title } pageInfo { hasNextPage endCursor } } }";
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct TitlesPage {
        nodes: Vec<Titled>,
        page_info: NextPage,
    }
    #[derive(Deserialize)]
    struct Titled {
        title: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct NextPage {
        has_next_page: bool,
        end_cursor: Option<String>,
    }
    let titles_of =
        |page: &TitlesPage| -> Vec<String> { page.nodes.iter().map(|n| n.title.clone()).collect() };

    app.take_statement_count();
    let first: TitlesPage = app
        .graphql_as(&user.access_token, query, json!({}))
        .await
        .root_as("todos");
    assert_eq!(app.take_statement_count(), 1);
    assert_eq!(titles_of(&first), ["a", "b"]);
    assert!(first.page_info.has_next_page);
    let second: TitlesPage = app
        .graphql_as(
            &user.access_token,
            query,
            json!({ "after": first.page_info.end_cursor }),
        )
        .await
        .root_as("todos");
    assert_eq!(titles_of(&second), ["c"]);
    assert!(!second.page_info.has_next_page);
}
