//! Limits that hold under concurrency (issue 12, finding 6: count, then check) and per-IP
//! limits on mail requests and code guesses (finding 7).

use crate::support::*;
use futures_util::future::join_all;
use serde_json::{Value, json};

const SIGN_IN: &str =
    "mutation($input: SignInInput!) { signIn(input: $input) { accessToken user { id } } }";
const CHANGE_PASSWORD: &str =
    "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }";
const SIGN_IN_WITH_CODE: &str = "mutation($input: SignInWithCodeInput!) { signInWithCode(input: $input) { accessToken user { id } } }";

/// The default failed sign-ins per address (TODOQL_SIGNIN_FAILURES_PER_EMAIL).
const LIMIT: usize = 10;
const GUESSES: usize = 59;

fn sign_in_vars(email: &str, password: &str) -> Value {
    json!({ "input": { "email": email, "password": password } })
}

/// The current count of a rate-limit counter.
async fn counter(app: &TestApp, key: &str) -> i32 {
    use sea_orm::EntityTrait;
    todoql_entity::rate_limit_counter::Entity::find_by_id(key.to_owned())
        .one(app.state.db())
        .await
        .unwrap()
        .map_or(0, |c| c.count)
}

/// Waits until the counter `key` has reached `at_least` (the first guesses have taken their
/// units), so that the next request is certainly counted after them.
async fn wait_for_counter(app: &TestApp, key: &str, at_least: i32) {
    wait_until(&format!("{key} reaches {at_least}"), || async {
        counter(app, key).await >= at_least
    })
    .await;
}

/// (checked and wrong, refused) among `responses`; every response must be one of them.
fn tally(responses: &[Gql], wrong: &str) -> (usize, usize) {
    let mut checked = 0;
    let mut refused = 0;
    for response in responses {
        match response.code() {
            "RATE_LIMITED" => refused += 1,
            code if code == wrong => checked += 1,
            other => panic!("unexpected {other}: {}", response.body),
        }
    }
    (checked, refused)
}

/// POSTs from the client IP `ip` (the server must trust X-Forwarded-For).
async fn graphql_from(app: &TestApp, ip: &str, query: &str, variables: Value) -> Gql {
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header("x-forwarded-for", ip)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request");
    let body = response.json().await.expect("json");
    Gql { status: 200, body }
}

// --- count, then check ---------------------------------------------------------------------

#[tokio::test]
async fn sixty_concurrent_password_guesses_check_at_most_the_limit_and_the_right_one_waits() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com").await;

    let guesses: Vec<_> = (0..GUESSES)
        .map(|i| {
            let client = app.client.clone();
            let url = format!("{}/graphql", app.base_url);
            tokio::spawn(async move {
                let body = json!({ "query": SIGN_IN, "variables": sign_in_vars("ada@example.com", &format!("wrong guess number {i}")) });
                let response = client.post(url).json(&body).send().await.unwrap();
                Gql {
                    status: 200,
                    body: response.json().await.unwrap(),
                }
            })
        })
        .collect();
    // Guess 60, the right password, while the others are being checked.
    wait_for_counter(&app, "signin-email:ada@example.com", LIMIT as i32).await;
    let right = app
        .graphql(SIGN_IN, sign_in_vars("ada@example.com", PASSWORD))
        .await;
    let responses: Vec<Gql> = join_all(guesses)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    right.assert_error("RATE_LIMITED", None);
    let (checked, refused) = tally(&responses, "INVALID_CREDENTIALS");
    assert!(checked <= LIMIT, "{checked} wrong passwords were checked");
    assert_eq!(checked + refused, GUESSES);
    assert_eq!(
        counter(&app, "signin-email:ada@example.com").await,
        checked as i32
    );
}

#[tokio::test]
async fn concurrent_password_guesses_across_two_instances_check_at_most_the_limit() {
    let first = spawn_app().await;
    let second = first.spawn_beside(&[]).await;
    first.sign_up("ada@example.com").await;

    let guesses = (0..GUESSES).map(|i| {
        let app = if i % 2 == 0 { &first } else { &second };
        async move {
            app.graphql(
                SIGN_IN,
                sign_in_vars("ada@example.com", &format!("wrong guess number {i}")),
            )
            .await
        }
    });
    let all = join_all(guesses);
    let right = async {
        wait_for_counter(&first, "signin-email:ada@example.com", LIMIT as i32).await;
        second
            .graphql(SIGN_IN, sign_in_vars("ada@example.com", PASSWORD))
            .await
    };
    let (responses, right) = tokio::join!(all, right);

    right.assert_error("RATE_LIMITED", None);
    let (checked, refused) = tally(&responses, "INVALID_CREDENTIALS");
    assert!(checked <= LIMIT, "{checked} wrong passwords were checked");
    assert_eq!(checked + refused, GUESSES);
    drop(second);
}

#[tokio::test]
async fn concurrent_current_password_guesses_check_at_most_the_limit() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    let change = |current: String| json!({ "input": { "currentPassword": current, "newPassword": "another fine passphrase 9" } });

    let guesses = (0..GUESSES).map(|i| {
        let vars = change(format!("wrong guess number {i}"));
        let token = user.access_token.clone();
        let app = &app;
        async move { app.graphql_as(&token, CHANGE_PASSWORD, vars).await }
    });
    let all = join_all(guesses);
    let right = async {
        wait_for_counter(&app, "signin-email:ada@example.com", LIMIT as i32).await;
        app.graphql_as(
            &user.access_token,
            CHANGE_PASSWORD,
            change(PASSWORD.to_owned()),
        )
        .await
    };
    let (responses, right) = tokio::join!(all, right);

    right.assert_error("RATE_LIMITED", None);
    let (checked, refused) = tally(&responses, "INVALID_CREDENTIALS");
    assert!(checked <= LIMIT, "{checked} wrong passwords were checked");
    assert_eq!(checked + refused, GUESSES);
}

#[tokio::test]
async fn right_passwords_give_their_unit_back_so_only_failures_count() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com").await;
    for i in 0..LIMIT - 1 {
        app.graphql(
            SIGN_IN,
            sign_in_vars("ada@example.com", &format!("wrong guess {i}")),
        )
        .await
        .assert_error("INVALID_CREDENTIALS", None);
    }
    for _ in 0..5 {
        app.graphql(SIGN_IN, sign_in_vars("ada@example.com", PASSWORD))
            .await
            .data();
    }
    // The tenth failure is still checked; after it, even the right password waits.
    app.graphql(SIGN_IN, sign_in_vars("ada@example.com", "wrong guess 10"))
        .await
        .assert_error("INVALID_CREDENTIALS", None);
    app.graphql(SIGN_IN, sign_in_vars("ada@example.com", PASSWORD))
        .await
        .assert_error("RATE_LIMITED", None);
    assert_eq!(
        counter(&app, "signin-email:ada@example.com").await,
        LIMIT as i32
    );
}

#[tokio::test]
async fn concurrent_code_guesses_check_at_most_the_limit_and_the_right_code_waits() {
    let (app, sink) = spawn_mail_app(&[]).await;
    app.graphql(REQUEST_CODE, json!({ "email": "ada@example.com" }))
        .await
        .data();
    let code = sink.next_mail_to("ada@example.com").await.code().unwrap();
    let wrong = |i: usize| {
        let n = (code.parse::<usize>().unwrap() + 1 + i) % 1_000_000;
        format!("{n:06}")
    };

    let guesses = (0..GUESSES).map(|i| {
        let vars = json!({ "input": { "email": "ada@example.com", "code": wrong(i) } });
        let app = &app;
        async move { app.graphql(SIGN_IN_WITH_CODE, vars).await }
    });
    let all = join_all(guesses);
    let right = async {
        wait_for_counter(&app, "code-guess:ada@example.com", LIMIT as i32).await;
        app.graphql(
            SIGN_IN_WITH_CODE,
            json!({ "input": { "email": "ada@example.com", "code": code } }),
        )
        .await
    };
    let (responses, right) = tokio::join!(all, right);

    right.assert_error("RATE_LIMITED", None);
    let (checked, refused) = tally(&responses, "INVALID_TOKEN");
    assert!(checked <= LIMIT, "{checked} wrong codes were checked");
    assert_eq!(checked + refused, GUESSES);
    // The code's own count of wrong attempts never passes 5.
    use sea_orm::EntityTrait;
    let rows = todoql_entity::email_verification_code::Entity::find()
        .all(app.state.db())
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.attempts <= 5), "{rows:?}");
}

// --- per-IP limits ----------------------------------------------------------------------------

#[tokio::test]
async fn mail_requests_sprayed_across_addresses_from_one_ip_are_stopped() {
    let app = TestApp::spawn_with(&["--mails-per-ip", "3", "--trust-proxy", "true"]).await;
    app.sign_up("known@example.com").await;
    let ip = "203.0.113.7";
    for i in 0..2 {
        let sent = graphql_from(
            &app,
            ip,
            REQUEST_CODE,
            json!({ "email": format!("n{i}@example.com") }),
        )
        .await;
        assert_eq!(sent.data()["requestSignInCode"], true);
    }
    let reset = graphql_from(
        &app,
        ip,
        REQUEST_RESET,
        json!({ "email": "n9@example.com" }),
    )
    .await;
    assert_eq!(reset.data()["requestPasswordReset"], true);

    // Past the limit, for known and unknown addresses alike (a refusal says nothing about one).
    for (query, email) in [
        (REQUEST_CODE, "known@example.com"),
        (REQUEST_CODE, "unknown@example.com"),
        (REQUEST_RESET, "known@example.com"),
        (REQUEST_RESET, "unknown@example.com"),
    ] {
        let refused = graphql_from(&app, ip, query, json!({ "email": email })).await;
        refused.assert_error("RATE_LIMITED", None);
        let retry_after = refused.body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap();
        assert!((1..=3600).contains(&retry_after), "{retry_after}");
    }
    // Another client is not affected; an IPv6 client is counted by its /64 network.
    for ip in ["2001:db8:7:7::1", "2001:db8:7:7::2", "2001:db8:7:7:ffff::3"] {
        let sent = graphql_from(&app, ip, REQUEST_CODE, json!({ "email": "v6@example.com" })).await;
        assert_eq!(sent.data()["requestSignInCode"], true);
    }
    graphql_from(
        &app,
        "2001:db8:7:7:abcd::4",
        REQUEST_CODE,
        json!({ "email": "v6b@example.com" }),
    )
    .await
    .assert_error("RATE_LIMITED", None);
    let other = graphql_from(
        &app,
        "198.51.100.4",
        REQUEST_CODE,
        json!({ "email": "n0@example.com" }),
    )
    .await;
    assert_eq!(other.data()["requestSignInCode"], true);
    // The window ends after an hour.
    app.clock.advance(chrono::Duration::hours(1));
    let later = graphql_from(&app, ip, REQUEST_CODE, json!({ "email": "n5@example.com" })).await;
    assert_eq!(later.data()["requestSignInCode"], true);
}

#[tokio::test]
async fn thirty_mail_requests_per_ip_and_hour_by_default() {
    let app = spawn_app().await;
    for i in 0..30 {
        let sent = app
            .graphql(
                REQUEST_CODE,
                json!({ "email": format!("n{i}@example.com") }),
            )
            .await;
        assert_eq!(sent.data()["requestSignInCode"], true, "request {i}");
    }
    app.graphql(REQUEST_CODE, json!({ "email": "n30@example.com" }))
        .await
        .assert_error("RATE_LIMITED", None);
}

#[tokio::test]
async fn sign_ups_count_as_mail_requests_of_their_ip_before_any_hashing() {
    let app = TestApp::spawn_with(&["--mails-per-ip", "2"]).await;
    app.sign_up("a@example.com").await;
    app.sign_up("b@example.com").await;
    let before = app.user_count().await;

    app.graphql(
        SIGN_UP,
        json!({ "input": { "email": "c@example.com", "password": PASSWORD } }),
    )
    .await
    .assert_error("RATE_LIMITED", None);

    assert_eq!(app.user_count().await, before);
}

#[tokio::test]
async fn code_guesses_sprayed_across_addresses_from_one_ip_are_stopped() {
    let (app, sink) =
        spawn_mail_app(&["--code-guesses-per-ip", "5", "--trust-proxy", "true"]).await;
    let ip = "203.0.113.7";
    // A real code for one address, asked from elsewhere.
    graphql_from(
        &app,
        "198.51.100.4",
        REQUEST_CODE,
        json!({ "email": "ada@example.com" }),
    )
    .await
    .data();
    let code = sink.next_mail_to("ada@example.com").await.code().unwrap();

    for i in 0..5 {
        graphql_from(
            &app,
            ip,
            SIGN_IN_WITH_CODE,
            json!({ "input": { "email": format!("n{i}@example.com"), "code": "123456" } }),
        )
        .await
        .assert_error("INVALID_TOKEN", None);
    }
    // Past the limit even a right code, for an address never guessed from here, waits.
    graphql_from(
        &app,
        ip,
        SIGN_IN_WITH_CODE,
        json!({ "input": { "email": "ada@example.com", "code": code } }),
    )
    .await
    .assert_error("RATE_LIMITED", None);
    // From another client it works (and was not used up by the refusal).
    let other = graphql_from(
        &app,
        "198.51.100.4",
        SIGN_IN_WITH_CODE,
        json!({ "input": { "email": "ada@example.com", "code": code } }),
    )
    .await;
    assert!(other.data()["signInWithCode"]["accessToken"].is_string());
}

#[test]
fn bad_values_of_the_new_limits_stop_the_server_naming_the_variable() {
    for (variable, value) in [
        ("TODOQL_MAILS_PER_IP", "0"),
        ("TODOQL_CODE_GUESSES_PER_IP", "many"),
        ("TODOQL_REAUTH_MAX_AGE", "-5"),
    ] {
        let output = todoql_bin()
            .args(["serve", "--check-config"])
            .env(variable, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}={value}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(variable), "{stderr}");
    }
}
