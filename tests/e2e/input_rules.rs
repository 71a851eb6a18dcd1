//! Input that every database holds: no NUL or other control character in any text input (tabs
//! and line breaks only in a todo's description), and cursors and dates within the years 1 to
//! 9999. A refusal is BAD_USER_INPUT naming the field, the same on SQLite and PostgreSQL, and
//! writes nothing. (Before, PostgreSQL answered INTERNAL_SERVER_ERROR where SQLite stored the
//! NUL, or matched "banana" for a search of "a<NUL>b".)

use crate::support::*;
use crate::todos::{TODO_FIELDS, create_todo, new_todo, todo_op, todo_rows, todo_user};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

/// One text input of the API: the field a refusal names, and an operation that sends `$v`
/// there (everything else in it valid).
struct TextInput {
    field: &'static str,
    query: String,
}

fn text_input(field: &'static str, query: &str) -> TextInput {
    TextInput {
        field,
        query: query.replace("PASSWORD", PASSWORD),
    }
}

/// Every text argument and input field of the schema.
fn every_text_input(todo_id: &str) -> Vec<TextInput> {
    let update = |input: &str| {
        format!(
            "mutation($v: String!) {{ updateTodo(id: \"{todo_id}\", input: {{{input}}}) {{ id }} }}"
        )
    };
    vec![
        text_input(
            "email",
            r#"mutation($v: String!) { signUp(input: {email: $v, password: "PASSWORD"}) { accessToken } }"#,
        ),
        text_input(
            "password",
            r#"mutation($v: String!) { signUp(input: {email: "new@example.com", password: $v}) { accessToken } }"#,
        ),
        text_input(
            "username",
            r#"mutation($v: String!) { signUp(input: {email: "new@example.com", password: "PASSWORD", username: $v}) { accessToken } }"#,
        ),
        text_input(
            "email",
            r#"mutation($v: String!) { signIn(input: {email: $v, password: "PASSWORD"}) { accessToken } }"#,
        ),
        text_input(
            "refreshToken",
            r#"mutation($v: String!) { refreshSession(refreshToken: $v) { accessToken } }"#,
        ),
        text_input("id", r#"mutation($v: ID!) { revokeSession(id: $v) }"#),
        text_input(
            "newPassword",
            r#"mutation($v: String!) { changePassword(input: {currentPassword: "PASSWORD", newPassword: $v}) { accessToken } }"#,
        ),
        text_input(
            "username",
            r#"mutation($v: String) { updateProfile(input: {username: $v}) { id } }"#,
        ),
        text_input(
            "avatar",
            r#"mutation($v: String) { updateProfile(input: {avatar: $v}) { id } }"#,
        ),
        text_input(
            "email",
            r#"mutation($v: String) { verifyEmail(input: {email: $v, code: "123456"}) { id } }"#,
        ),
        text_input(
            "code",
            r#"mutation($v: String) { verifyEmail(input: {email: "ada@example.com", code: $v}) { id } }"#,
        ),
        text_input(
            "token",
            r#"mutation($v: String) { verifyEmail(input: {token: $v}) { id } }"#,
        ),
        text_input(
            "email",
            r#"mutation($v: String!) { requestSignInCode(email: $v) }"#,
        ),
        text_input(
            "email",
            r#"mutation($v: String) { signInWithCode(input: {email: $v, code: "123456"}) { accessToken } }"#,
        ),
        text_input(
            "code",
            r#"mutation($v: String) { signInWithCode(input: {email: "ada@example.com", code: $v}) { accessToken } }"#,
        ),
        text_input(
            "token",
            r#"mutation($v: String) { signInWithCode(input: {token: $v}) { accessToken } }"#,
        ),
        text_input(
            "email",
            r#"mutation($v: String!) { requestPasswordReset(email: $v) }"#,
        ),
        text_input(
            "token",
            r#"mutation($v: String!) { resetPassword(input: {token: $v, newPassword: "a brand new passphrase"}) }"#,
        ),
        text_input(
            "newPassword",
            r#"mutation($v: String!) { resetPassword(input: {token: "abc", newPassword: $v}) }"#,
        ),
        text_input(
            "newEmail",
            r#"mutation($v: String!) { requestEmailChange(input: {newEmail: $v, currentPassword: "PASSWORD"}) }"#,
        ),
        text_input(
            "code",
            r#"mutation($v: String) { confirmEmailChange(input: {code: $v}) { id } }"#,
        ),
        text_input(
            "token",
            r#"mutation($v: String) { confirmEmailChange(input: {token: $v}) { id } }"#,
        ),
        text_input(
            "provider",
            r#"mutation($v: String!) { startOAuth(provider: $v, redirectUri: "http://localhost:3000/cb") { state } }"#,
        ),
        text_input(
            "redirectUri",
            r#"mutation($v: String!) { startOAuth(provider: "github", redirectUri: $v) { state } }"#,
        ),
        text_input(
            "provider",
            r#"mutation($v: String!) { completeOAuth(input: {provider: $v, code: "c", state: "s"}) { accessToken } }"#,
        ),
        text_input(
            "code",
            r#"mutation($v: String!) { completeOAuth(input: {provider: "github", code: $v, state: "s"}) { accessToken } }"#,
        ),
        text_input(
            "state",
            r#"mutation($v: String!) { completeOAuth(input: {provider: "github", code: "c", state: $v}) { accessToken } }"#,
        ),
        text_input(
            "provider",
            r#"mutation($v: String!) { unlinkAccount(provider: $v) }"#,
        ),
        text_input(
            "title",
            r#"mutation($v: String!) { createTodo(input: {title: $v}) { id } }"#,
        ),
        text_input(
            "description",
            r#"mutation($v: String) { createTodo(input: {title: "fresh", description: $v}) { id } }"#,
        ),
        TextInput {
            field: "title",
            query: update("title: $v"),
        },
        TextInput {
            field: "description",
            query: update("description: $v"),
        },
        text_input(
            "id",
            r#"mutation($v: ID!) { setTodoCompleted(id: $v, completed: true) { id } }"#,
        ),
        text_input("id", r#"mutation($v: ID!) { deleteTodo(id: $v) { id } }"#),
        text_input("id", r#"mutation($v: ID!) { restoreTodo(id: $v) { id } }"#),
        text_input("id", r#"query($v: ID!) { todo(id: $v) { id } }"#),
        text_input(
            "search",
            r#"query($v: String) { todos(filter: {search: $v}) { totalCount } }"#,
        ),
        text_input(
            "after",
            r#"query($v: String) { todos(after: $v) { totalCount } }"#,
        ),
        text_input(
            "after",
            r#"query($v: String) { deletedTodos(after: $v) { totalCount } }"#,
        ),
    ]
}

#[tokio::test]
async fn control_characters_in_any_text_input_are_bad_user_input_naming_the_field() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    let todo = new_todo(&app, &user, "existing").await;
    let todo_id = todo["id"].as_str().unwrap();

    for input in every_text_input(todo_id) {
        for bad in ["a\u{0}b", "\u{0}", "a\u{1b}[2Jb", "a\u{7f}b", "a\u{85}b"] {
            let response = app
                .graphql_as(&user.access_token, &input.query, json!({ "v": bad }))
                .await;
            assert_eq!(
                response.code(),
                "BAD_USER_INPUT",
                "{bad:?} in {}: {}",
                input.query,
                response.body
            );
            assert_eq!(
                response.field(),
                input.field,
                "{}: {}",
                input.query,
                response.body
            );
        }
    }

    // Nothing was written: one user, one todo, titled as before.
    assert_eq!(app.user_count().await, 1);
    assert_eq!(todo_rows(&app).await, 1);
    let fetched = todo_op(
        &app,
        &user,
        "query($id: ID!) { todo(id: $id) { ...TodoFields } }",
        json!({ "id": todo_id }),
    )
    .await;
    assert_eq!(fetched.data()["todo"], todo);
}

#[tokio::test]
async fn a_nul_written_into_the_document_itself_is_refused_like_one_in_a_variable() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;

    let literal = app
        .graphql_as(
            &user.access_token,
            r#"mutation { createTodo(input: {title: "milk\u0000"}) { id } }"#,
            json!({}),
        )
        .await;
    literal.assert_error("BAD_USER_INPUT", Some("title"));
    let over_get = app
        .get_graphql(&[(
            "query",
            r#"{ todos(filter: {search: "a\u0000b"}) { totalCount } }"#,
        )])
        .await;
    over_get.assert_error("BAD_USER_INPUT", Some("search"));
    assert_eq!(todo_rows(&app).await, 0);
}

#[tokio::test]
async fn a_title_holds_one_line_while_a_description_may_hold_tabs_and_line_breaks() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    for title in ["buy\nmilk", "buy\tmilk", "buy\rmilk", "buy\u{2028}milk"] {
        create_todo(&app, &user, json!({ "title": title }))
            .await
            .assert_error("BAD_USER_INPUT", Some("title"));
    }

    let description = "two litres\n\t- skimmed\r\n- organic";
    let created = create_todo(
        &app,
        &user,
        json!({ "title": "  milk \n", "description": description }),
    )
    .await;
    let todo: Todo = created.root_as("createTodo");
    assert_eq!(
        todo.title, "milk",
        "surrounding whitespace is still trimmed"
    );
    assert_eq!(todo.description.as_deref(), Some(description));

    let update = format!(
        "mutation($id: ID!, $input: UpdateTodoInput!) {{ updateTodo(id: $id, input: $input) {{ ...TodoFields }} }} {TODO_FIELDS}"
    );
    let moved = app
        .graphql_as(
            &user.access_token,
            &update,
            json!({ "id": todo.id, "input": { "title": "milk\nand bread" } }),
        )
        .await;
    moved.assert_error("BAD_USER_INPUT", Some("title"));
    let described = app
        .graphql_as(
            &user.access_token,
            &update,
            json!({ "id": todo.id, "input": { "description": "a\nb\u{0}" } }),
        )
        .await;
    described.assert_error("BAD_USER_INPUT", Some("description"));
}

#[tokio::test]
async fn a_search_holding_a_nul_is_refused_rather_than_matched() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    new_todo(&app, &user, "banana").await;

    let response = app
        .graphql_as(
            &user.access_token,
            "query($s: String) { todos(filter: {search: $s}) { totalCount nodes { title } } }",
            json!({ "s": "a\u{0}b" }),
        )
        .await;

    response.assert_error("BAD_USER_INPUT", Some("search"));
}

#[tokio::test]
async fn a_password_with_a_nul_is_refused_at_sign_up_and_simply_does_not_match_at_sign_in() {
    let app = spawn_app().await;
    let sign_up = app
        .graphql(
            SIGN_UP,
            json!({ "input": { "email": "ada@example.com", "password": format!("{PASSWORD}\u{0}") } }),
        )
        .await;
    sign_up.assert_error("BAD_USER_INPUT", Some("password"));
    assert_eq!(app.user_count().await, 0);

    app.sign_up("ada@example.com").await;
    let sign_in = app
        .graphql(
            "mutation($p: String!) { signIn(input: {email: \"ada@example.com\", password: $p}) { accessToken } }",
            json!({ "p": format!("{PASSWORD}\u{0}") }),
        )
        .await;
    sign_in.assert_error("INVALID_CREDENTIALS", None);
}

/// A cursor as the server writes them, with any content.
fn forged_cursor(ordering: &str, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "v1|{ordering}|{}|{key}",
        uuid::Uuid::now_v7().simple()
    ))
}

#[tokio::test]
async fn cursors_naming_times_or_titles_no_database_holds_are_bad_user_input_on_after() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;
    new_todo(&app, &user, "milk").await;
    let list = "query($after: String, $order: TodoOrder) { todos(after: $after, orderBy: $order) { totalCount nodes { id } } }";
    let cases = [
        // Before PostgreSQL's first timestamp (4713 BC), after RFC 3339's last year.
        ("created_at.desc", json!(null), "t-8000000000000000000"),
        (
            "due_date.asc",
            json!({ "field": "DUE_DATE", "direction": "ASC" }),
            "t253402300800000000",
        ),
        (
            "updated_at.asc",
            json!({ "field": "UPDATED_AT", "direction": "ASC" }),
            "t-62135596800000001",
        ),
        (
            "title.asc",
            json!({ "field": "TITLE", "direction": "ASC" }),
            "sa\u{0}b",
        ),
    ];
    for (ordering, order, key) in cases {
        let response = app
            .graphql_as(
                &user.access_token,
                list,
                json!({ "after": forged_cursor(ordering, key), "order": order }),
            )
            .await;
        assert_eq!(
            response.code(),
            "BAD_USER_INPUT",
            "{key}: {}",
            response.body
        );
        assert_eq!(response.field(), "after", "{}", response.body);
    }

    let trash = app
        .graphql_as(
            &user.access_token,
            "query($after: String) { deletedTodos(after: $after) { totalCount } }",
            json!({ "after": forged_cursor("deleted_at.desc", "t-8000000000000000000") }),
        )
        .await;
    trash.assert_error("BAD_USER_INPUT", Some("after"));

    // The first and last instants of the range still make valid cursors.
    let first = app
        .graphql_as(
            &user.access_token,
            list,
            json!({ "after": forged_cursor("created_at.desc", "t-62135596800000000") }),
        )
        .await;
    assert_eq!(first.data()["todos"]["totalCount"], 1);
}

#[tokio::test]
async fn dates_outside_the_years_1_to_9999_are_bad_user_input_on_their_field() {
    let app = spawn_app().await;
    let user = todo_user(&app, "ada@example.com").await;

    // Year 10000 in UTC, and still in the future: no other rule would refuse it.
    create_todo(
        &app,
        &user,
        json!({ "title": "far", "dueDate": "9999-12-31T23:59:59-01:00" }),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("dueDate"));
    let todo = new_todo(&app, &user, "milk").await;
    let update =
        "mutation($id: ID!, $due: DateTime) { updateTodo(id: $id, input: {dueDate: $due}) { id } }";
    app.graphql_as(
        &user.access_token,
        update,
        json!({ "id": todo["id"], "due": "+10000-01-01T00:00:00Z" }),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("dueDate"));

    let filter = "query($f: TodoFilter) { todos(filter: $f) { totalCount } }";
    for (field, value) in [
        ("dueBefore", "0001-01-01T00:00:00+01:00"),
        ("dueAfter", "0000-12-31T00:00:00Z"),
        ("dueBefore", "not a date"),
    ] {
        let response = app
            .graphql_as(&user.access_token, filter, json!({ "f": { field: value } }))
            .await;
        assert_eq!(
            response.code(),
            "BAD_USER_INPUT",
            "{value}: {}",
            response.body
        );
        assert_eq!(response.field(), field, "{}", response.body);
    }

    // The edges of the range are fine.
    let edges = app
        .graphql_as(
            &user.access_token,
            filter,
            json!({ "f": { "dueAfter": "0001-01-01T00:00:00Z", "dueBefore": "9999-12-31T23:59:59Z" } }),
        )
        .await;
    assert_eq!(edges.data()["todos"]["totalCount"], 0);
    let far = create_todo(
        &app,
        &user,
        json!({ "title": "far", "dueDate": "9999-12-31T23:59:59.999999Z" }),
    )
    .await;
    assert_eq!(
        far.data()["createTodo"]["dueDate"],
        "9999-12-31T23:59:59.999999Z"
    );
}
