//! Email: the outbox and its SMTP delivery, verification, passwordless sign-in, password reset,
//! change of address, security notices and mail limits. Every test talks to a real SMTP sink.

use crate::support::*;
use chrono::Duration;
use serde_json::{Value, json};

const ME: &str = "{ me { id email username emailVerified hasPassword } }";
const SEND_VERIFICATION: &str = "mutation { sendVerificationEmail }";
const VERIFY: &str =
    "mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) { id email emailVerified } }";
const SIGN_IN_WITH_CODE: &str = "mutation($input: SignInWithCodeInput!) { signInWithCode(input: $input) { accessToken accessTokenExpiresAt refreshToken session { id current } user { id email username emailVerified hasPassword } } }";
const CONFIRM_CHANGE: &str = "mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) { id email emailVerified } }";
const SIGN_IN: &str = "mutation($input: SignInInput!) { signIn(input: $input) { accessToken refreshToken session { id current } user { id email } } }";
const REFRESH: &str =
    "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken } }";
const CHANGE_PASSWORD: &str =
    "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }";

const NEW_PASSWORD: &str = "a brand new passphrase 2026";

async fn request_code(app: &TestApp, email: &str) -> Gql {
    app.graphql(REQUEST_CODE, json!({ "email": email })).await
}

async fn request_reset(app: &TestApp, email: &str) -> Gql {
    app.graphql(REQUEST_RESET, json!({ "email": email })).await
}

async fn sign_in_with_code(app: &TestApp, input: Value) -> Gql {
    app.graphql(SIGN_IN_WITH_CODE, json!({ "input": input }))
        .await
}

async fn verify(app: &TestApp, input: Value) -> Gql {
    app.graphql(VERIFY, json!({ "input": input })).await
}

async fn password_sign_in(app: &TestApp, email: &str, password: &str) -> Gql {
    app.graphql(
        SIGN_IN,
        json!({ "input": { "email": email, "password": password } }),
    )
    .await
}

/// `me` for `token`: `None` once the token signs nobody in.
async fn viewer(app: &TestApp, token: &str) -> Option<User> {
    app.graphql_as(token, ME, json!({})).await.root_as("me")
}

/// `me` for `token`, which must still sign its user in.
async fn me(app: &TestApp, token: &str) -> User {
    viewer(app, token)
        .await
        .expect("the token still signs its user in")
}

/// A different well-formed code than `code`.
fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

/// Waits until nothing is queued for `to` (pending jobs resolved, mails sent), then asserts
/// that nothing arrived that the test has not read.
async fn assert_no_mail_for(app: &TestApp, sink: &SmtpSink, to: &str) {
    wait_until(&format!("the outbox holds nothing for {to}"), || async {
        app.outbox_to(to).await.is_empty()
    })
    .await;
    assert_eq!(sink.unread_count(to), 0, "an unexpected mail reached {to}");
}

/// Signs up and reads (and discards) the verification mail.
async fn signed_up(app: &TestApp, sink: &SmtpSink, email: &str) -> TestUser {
    let user = app.sign_up(email).await;
    sink.next_mail_to(email).await;
    user
}

// --- delivery --------------------------------------------------------------------------------

#[tokio::test]
async fn sign_up_mails_a_verification_code_and_link_over_smtp() {
    let (app, sink) = spawn_mail_app(&[]).await;

    app.sign_up("Ada@Example.com").await;

    let mail = sink.next_mail_to("ada@example.com").await;
    assert_eq!(mail.subject(), "Verify your email address for todoql");
    assert_eq!(mail.envelope_to, vec!["ada@example.com".to_owned()]);
    assert!(
        mail.header("From")
            .unwrap()
            .contains("no-reply@todoql.localhost")
    );
    let code = mail.code().expect("a line with the 6-digit code");
    let link = mail.link("verify-email").expect("the full link");
    assert_eq!(mail.token("verify-email").len(), 43);
    assert!(mail.html.contains(&code), "{}", mail.html);
    assert!(
        mail.html.contains(&format!("href=\"{link}\"")),
        "{}",
        mail.html
    );
}

#[tokio::test]
async fn a_sent_mail_leaves_no_copy_of_its_code_or_link_behind() {
    use sea_orm::EntityTrait;
    use sha2::{Digest, Sha256};
    let (app, sink) = spawn_mail_app(&[]).await;

    app.sign_up("ada@example.com").await;
    let mail = sink.next_mail_to("ada@example.com").await;

    let a = &app;
    wait_until("the sent mail leaves the outbox", move || async move {
        a.outbox_to("ada@example.com").await.is_empty()
    })
    .await;
    let codes = todoql_entity::email_verification_code::Entity::find()
        .all(app.state.db())
        .await
        .unwrap();
    assert_eq!(codes.len(), 1);
    let hex = |s: &str| format!("{:x}", Sha256::digest(s.as_bytes()));
    assert_eq!(codes[0].code, hex(&mail.code().unwrap()));
    assert_eq!(codes[0].token, hex(&mail.token("verify-email")));
}

#[tokio::test]
async fn a_mail_queued_while_smtp_is_down_arrives_once_it_is_back() {
    let (app, mut sink) = spawn_mail_app(&["--mail-retry-base", "60"]).await;
    sink.stop().await;

    // Requests do not wait for SMTP: they succeed while it is down.
    let user = app.sign_up("ada@example.com").await;
    request_reset(&app, "ada@example.com").await.data();
    let a = &app;
    wait_until("both deliveries failed once", move || async move {
        let rows = a.outbox_to("ada@example.com").await;
        rows.len() == 2
            && rows
                .iter()
                .all(|r| r.attempts >= 1 && r.last_error.is_some())
    })
    .await;
    for row in app.outbox_to("ada@example.com").await {
        assert!(
            !row.last_error.unwrap().contains("token="),
            "no secret in last_error"
        );
    }

    sink.restart().await;
    app.clock.advance(Duration::seconds(61));

    let first = sink.next_mail_to("ada@example.com").await;
    let second = sink.next_mail_to("ada@example.com").await;
    let verification = [&first, &second]
        .into_iter()
        .find(|m| m.code().is_some())
        .expect("the verification mail");
    app.graphql_as(
        &user.access_token,
        VERIFY,
        json!({ "input": { "email": "ada@example.com", "code": verification.code() } }),
    )
    .await
    .data();
    assert_eq!(
        me(&app, &user.access_token).await.email_verified,
        Some(true)
    );
    wait_until("the outbox is empty", move || async move {
        a.outbox_to("ada@example.com").await.is_empty()
    })
    .await;
    let metrics = app.metrics_text().await;
    assert!(
        metric_value(
            &metrics,
            "todoql_mails_retried_total{kind=\"verify_email\"}"
        ) >= 1.0
    );
    assert!(metric_value(&metrics, "todoql_mails_sent_total{kind=\"verify_email\"}") >= 1.0);
}

#[tokio::test]
async fn the_sender_gives_up_after_the_configured_attempts_and_keeps_no_copy() {
    let (app, mut sink) =
        spawn_mail_app(&["--mail-max-attempts", "2", "--mail-retry-base", "5"]).await;
    sink.stop().await;

    request_code(&app, "lost@example.com").await.data();
    let a = &app;
    wait_until("the first delivery failed", move || async move {
        a.outbox_to("lost@example.com")
            .await
            .iter()
            .any(|r| r.attempts == 1)
    })
    .await;
    app.clock.advance(Duration::seconds(6));
    wait_until("the mail is given up and deleted", move || async move {
        a.outbox_to("lost@example.com").await.is_empty()
    })
    .await;

    let metrics = app.metrics_text().await;
    assert!(metric_value(&metrics, "todoql_mails_failed_total{kind=\"sign_in\"}") >= 1.0);
    sink.restart().await;
    // The sender is still alive: a new mail goes out, the given-up one never does.
    request_code(&app, "lost@example.com").await.data();
    sink.next_mail_to("lost@example.com").await;
    assert_eq!(sink.mails_to("lost@example.com").len(), 1);
}

#[tokio::test]
async fn several_senders_never_send_one_mail_twice() {
    use todoql_domain::mail::{messages, outbox, transport};
    let (app, sink) = spawn_mail_app(&[]).await;
    let recipients: Vec<String> = (0..30).map(|i| format!("user{i}@example.com")).collect();
    let txn = todoql_domain::db::begin_write(app.state.db())
        .await
        .unwrap();
    for to in &recipients {
        let content = messages::sign_in("https://app.example.com", "123456", "token", 15);
        outbox::enqueue(&txn, app.state.now(), to, content)
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();

    // Three more senders race the server's own one over the same rows.
    let smtp = transport::SmtpUrl::parse(&sink.url()).unwrap();
    let from = transport::parse_mailbox("t <t@example.com>").unwrap();
    let mailer = std::sync::Arc::new(transport::SmtpTransport::new(&smtp, from).unwrap());
    let mut senders = Vec::new();
    for _ in 0..3 {
        let state = app.state.clone();
        let mailer = mailer.clone();
        senders.push(tokio::spawn(async move {
            let policy = outbox::RetryPolicy::default();
            let jobs = todoql_domain::auth::mail_jobs();
            loop {
                let report =
                    outbox::deliver_due(state.on(state.db()), mailer.as_ref(), &policy, &jobs, 5)
                        .await
                        .unwrap();
                if report.is_empty() {
                    break;
                }
            }
        }));
    }
    for sender in senders {
        sender.await.unwrap();
    }

    for to in &recipients {
        sink.next_mail_to(to).await;
    }
    let a = &app;
    wait_until("the outbox is drained", move || async move {
        use sea_orm::{EntityTrait, PaginatorTrait};
        todoql_entity::email_outbox::Entity::find()
            .count(a.state.db())
            .await
            .unwrap()
            == 0
    })
    .await;
    for to in &recipients {
        assert_eq!(sink.mails_to(to).len(), 1, "{to} got a mail twice");
    }
}

// --- email verification ----------------------------------------------------------------------

#[tokio::test]
async fn verify_email_with_the_code_works_signed_out() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = app.sign_up("ada@example.com").await;
    let code = sink.next_mail_to("ada@example.com").await.code().unwrap();

    let response = verify(&app, json!({ "email": " ADA@example.com ", "code": code })).await;

    let verified: User = response.root_as("verifyEmail");
    assert_eq!(verified.id, user.id);
    assert_eq!(verified.email_verified, Some(true));
    // Signed out, the proof came from outside the account: its sessions are gone (see
    // pre_hijacking.rs), and a code sign-in finds the address verified.
    request_code(&app, "ada@example.com").await.data();
    let code = sink.next_mail_to("ada@example.com").await.code().unwrap();
    let signed_in: AuthPayload =
        sign_in_with_code(&app, json!({ "email": "ada@example.com", "code": code }))
            .await
            .root_as("signInWithCode");
    assert_eq!(signed_in.user().email_verified, Some(true));
}

#[tokio::test]
async fn verify_email_with_the_link_token_works_signed_in() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = app.sign_up("ada@example.com").await;
    let token = sink
        .next_mail_to("ada@example.com")
        .await
        .token("verify-email");

    let response = app
        .graphql_as(
            &user.access_token,
            VERIFY,
            json!({ "input": { "token": token } }),
        )
        .await;

    let verified: User = response.root_as("verifyEmail");
    assert_eq!(verified.email_verified, Some(true));
    assert_eq!(
        me(&app, &user.access_token).await.email_verified,
        Some(true)
    );
}

#[tokio::test]
async fn verify_email_needs_exactly_one_of_email_and_code_or_token() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = app.sign_up("ada@example.com").await;
    let mail = sink.next_mail_to("ada@example.com").await;
    let (code, token) = (mail.code().unwrap(), mail.token("verify-email"));

    for (input, field) in [
        (
            json!({ "email": "ada@example.com", "code": code, "token": token }),
            "token",
        ),
        (json!({ "code": code, "token": token }), "token"),
        (json!({}), "email"),
        (json!({ "code": code }), "email"),
        (json!({ "email": "ada@example.com" }), "code"),
        (json!({ "email": "not an address", "code": code }), "email"),
        (
            json!({ "email": "ada@example.com", "code": "12345a" }),
            "code",
        ),
        (
            json!({ "email": "ada@example.com", "code": "1234567" }),
            "code",
        ),
    ] {
        verify(&app, input.clone())
            .await
            .assert_error("BAD_USER_INPUT", Some(field));
    }
    // None of that used the code up or counted as a guess.
    assert_eq!(
        me(&app, &user.access_token).await.email_verified,
        Some(false)
    );
    verify(&app, json!({ "email": "ada@example.com", "code": code }))
        .await
        .data();
}

#[tokio::test]
async fn a_new_verification_mail_invalidates_the_previous_code_and_link() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = app.sign_up("ada@example.com").await;
    let first = sink.next_mail_to("ada@example.com").await;

    let sent = app
        .graphql_as(&user.access_token, SEND_VERIFICATION, json!({}))
        .await;
    assert_eq!(sent.data()["sendVerificationEmail"], true);
    let second = sink.next_mail_to("ada@example.com").await;

    verify(
        &app,
        json!({ "email": "ada@example.com", "code": first.code() }),
    )
    .await
    .assert_error("INVALID_TOKEN", None);
    verify(&app, json!({ "token": first.token("verify-email") }))
        .await
        .assert_error("INVALID_TOKEN", None);
    verify(&app, json!({ "token": second.token("verify-email") }))
        .await
        .data();
}

#[tokio::test]
async fn send_verification_email_needs_sign_in_and_sends_nothing_once_verified() {
    let (app, sink) = spawn_mail_app(&[]).await;
    app.graphql(SEND_VERIFICATION, json!({}))
        .await
        .assert_error("UNAUTHENTICATED", None);
    let user = app.sign_up("ada@example.com").await;
    let code = sink.next_mail_to("ada@example.com").await.code();
    app.graphql_as(
        &user.access_token,
        VERIFY,
        json!({ "input": { "email": "ada@example.com", "code": code } }),
    )
    .await
    .data();

    let sent = app
        .graphql_as(&user.access_token, SEND_VERIFICATION, json!({}))
        .await;

    assert_eq!(sent.data()["sendVerificationEmail"], false);
    assert_no_mail_for(&app, &sink, "ada@example.com").await;
}

#[tokio::test]
async fn a_code_and_its_link_expire_after_15_minutes() {
    let (app, sink) = spawn_mail_app(&[]).await;
    app.sign_up("early@example.com").await;
    app.sign_up("late@example.com").await;
    let early = sink.next_mail_to("early@example.com").await;
    let late = sink.next_mail_to("late@example.com").await;

    app.clock.advance(Duration::minutes(14));
    verify(
        &app,
        json!({ "email": "early@example.com", "code": early.code() }),
    )
    .await
    .data();

    app.clock
        .advance(Duration::minutes(1) + Duration::seconds(1));
    verify(
        &app,
        json!({ "email": "late@example.com", "code": late.code() }),
    )
    .await
    .assert_error("INVALID_TOKEN", None);
    verify(&app, json!({ "token": late.token("verify-email") }))
        .await
        .assert_error("INVALID_TOKEN", None);
}

#[tokio::test]
async fn a_code_dies_after_five_wrong_attempts() {
    let (app, sink) = spawn_mail_app(&["--code-guesses-per-address", "100"]).await;
    app.sign_up("four@example.com").await;
    app.sign_up("five@example.com").await;
    let four = sink.next_mail_to("four@example.com").await;
    let five = sink.next_mail_to("five@example.com").await;

    for _ in 0..4 {
        verify(
            &app,
            json!({ "email": "four@example.com", "code": wrong(&four.code().unwrap()) }),
        )
        .await
        .assert_error("INVALID_TOKEN", None);
    }
    verify(
        &app,
        json!({ "email": "four@example.com", "code": four.code() }),
    )
    .await
    .data();

    for _ in 0..5 {
        verify(
            &app,
            json!({ "email": "five@example.com", "code": wrong(&five.code().unwrap()) }),
        )
        .await
        .assert_error("INVALID_TOKEN", None);
    }
    verify(
        &app,
        json!({ "email": "five@example.com", "code": five.code() }),
    )
    .await
    .assert_error("INVALID_TOKEN", None);
    verify(&app, json!({ "token": five.token("verify-email") }))
        .await
        .assert_error("INVALID_TOKEN", None);
}

#[tokio::test]
async fn a_code_and_its_link_work_only_once() {
    let (app, sink) = spawn_mail_app(&[]).await;
    app.sign_up("ada@example.com").await;
    let mail = sink.next_mail_to("ada@example.com").await;

    verify(
        &app,
        json!({ "email": "ada@example.com", "code": mail.code() }),
    )
    .await
    .data();

    verify(
        &app,
        json!({ "email": "ada@example.com", "code": mail.code() }),
    )
    .await
    .assert_error("INVALID_TOKEN", None);
    verify(&app, json!({ "token": mail.token("verify-email") }))
        .await
        .assert_error("INVALID_TOKEN", None);
}

#[tokio::test]
async fn a_code_works_only_for_its_own_action() {
    let (app, sink) = spawn_mail_app(&[]).await;
    app.sign_up("ada@example.com").await;
    let verification = sink.next_mail_to("ada@example.com").await;
    request_code(&app, "ada@example.com").await.data();
    let sign_in = sink.next_mail_to("ada@example.com").await;

    sign_in_with_code(&app, json!({ "token": verification.token("verify-email") }))
        .await
        .assert_error("INVALID_TOKEN", None);
    sign_in_with_code(
        &app,
        json!({ "email": "ada@example.com", "code": verification.code() }),
    )
    .await
    .assert_error("INVALID_TOKEN", None);
    verify(&app, json!({ "token": sign_in.token("sign-in") }))
        .await
        .assert_error("INVALID_TOKEN", None);
}

// --- passwordless sign-in --------------------------------------------------------------------

#[tokio::test]
async fn request_sign_in_code_answers_true_for_any_well_formed_address() {
    let (app, sink) = spawn_mail_app(&[]).await;
    signed_up(&app, &sink, "known@example.com").await;

    let known = request_code(&app, "known@example.com").await;
    let unknown = request_code(&app, "unknown@example.com").await;

    assert_eq!(known.data()["requestSignInCode"], true);
    assert_eq!(unknown.data()["requestSignInCode"], true);
    let to_known = sink.next_mail_to("known@example.com").await;
    let to_unknown = sink.next_mail_to("unknown@example.com").await;
    assert_eq!(to_known.subject(), "Your todoql sign-in code");
    assert_eq!(to_unknown.subject(), to_known.subject());
    assert!(to_unknown.code().is_some() && to_unknown.link("sign-in").is_some());
    for bad in ["", "not an address", "a@b", "@example.com"] {
        request_code(&app, bad)
            .await
            .assert_error("BAD_USER_INPUT", Some("email"));
    }
}

#[tokio::test]
async fn sign_in_with_code_creates_the_account_on_first_use() {
    let (app, sink) = spawn_mail_app(&[]).await;
    request_code(&app, "New.Person@Example.com").await.data();
    let code = sink.next_mail_to("new.person@example.com").await.code();

    let response = sign_in_with_code(
        &app,
        json!({ "email": "new.person@example.com", "code": code }),
    )
    .await;

    let payload: AuthPayload = response.root_as("signInWithCode");
    let user = payload.user();
    assert_eq!(user.email.as_deref(), Some("new.person@example.com"));
    assert_eq!(user.email_verified, Some(true));
    assert_eq!(user.has_password, Some(false));
    assert_eq!(user.username.as_deref(), Some("new.person"));
    assert_eq!(payload.session().current, Some(true));
    assert_eq!(me(&app, &payload.access_token).await.id, user.id);

    // The next sign-in by code finds the same account.
    request_code(&app, "new.person@example.com").await.data();
    let token = sink
        .next_mail_to("new.person@example.com")
        .await
        .token("sign-in");
    let again: AuthPayload = sign_in_with_code(&app, json!({ "token": token }))
        .await
        .root_as("signInWithCode");
    assert_eq!(again.user().id, user.id);
}

#[tokio::test]
async fn sign_in_with_the_link_signs_in_an_existing_user_and_verifies_the_address() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = signed_up(&app, &sink, "ada@example.com").await;
    request_code(&app, "ada@example.com").await.data();
    let token = sink.next_mail_to("ada@example.com").await.token("sign-in");

    let response = sign_in_with_code(&app, json!({ "token": token })).await;

    let payload: AuthPayload = response.root_as("signInWithCode");
    assert_eq!(payload.user().id, user.id);
    assert_eq!(payload.user().email_verified, Some(true));
    // The first proof of the address came from outside the account: the password set before
    // it is gone (see pre_hijacking.rs).
    assert_eq!(payload.user().has_password, Some(false));
    let refreshed = app
        .graphql(REFRESH, json!({ "token": payload.refresh_token() }))
        .await;
    assert!(refreshed.data()["refreshSession"]["accessToken"].is_string());
}

#[tokio::test]
async fn sign_in_with_code_needs_exactly_one_of_email_and_code_or_token() {
    let (app, sink) = spawn_mail_app(&[]).await;
    request_code(&app, "ada@example.com").await.data();
    let mail = sink.next_mail_to("ada@example.com").await;
    let (code, token) = (mail.code().unwrap(), mail.token("sign-in"));

    for (input, field) in [
        (
            json!({ "email": "ada@example.com", "code": code, "token": token }),
            "token",
        ),
        (
            json!({ "email": "ada@example.com", "token": token }),
            "token",
        ),
        (json!({}), "email"),
        (json!({ "code": code }), "email"),
        (json!({ "email": "ada@example.com" }), "code"),
        (
            json!({ "email": "ada@example.com", "code": "abcdef" }),
            "code",
        ),
    ] {
        sign_in_with_code(&app, input)
            .await
            .assert_error("BAD_USER_INPUT", Some(field));
    }
    sign_in_with_code(&app, json!({ "email": "ada@example.com", "code": code }))
        .await
        .data();
}

#[tokio::test]
async fn a_new_sign_in_code_invalidates_the_previous_one() {
    let (app, sink) = spawn_mail_app(&[]).await;
    request_code(&app, "ada@example.com").await.data();
    let first = sink.next_mail_to("ada@example.com").await;
    request_code(&app, "ada@example.com").await.data();
    let second = sink.next_mail_to("ada@example.com").await;

    sign_in_with_code(
        &app,
        json!({ "email": "ada@example.com", "code": first.code() }),
    )
    .await
    .assert_error("INVALID_TOKEN", None);
    sign_in_with_code(&app, json!({ "token": first.token("sign-in") }))
        .await
        .assert_error("INVALID_TOKEN", None);
    sign_in_with_code(
        &app,
        json!({ "email": "ada@example.com", "code": second.code() }),
    )
    .await
    .data();
    // Used: neither the code nor its link works again.
    sign_in_with_code(&app, json!({ "token": second.token("sign-in") }))
        .await
        .assert_error("INVALID_TOKEN", None);
}

// --- password reset --------------------------------------------------------------------------

#[tokio::test]
async fn request_password_reset_answers_true_and_mails_only_existing_accounts() {
    let (app, sink) = spawn_mail_app(&[]).await;
    signed_up(&app, &sink, "ada@example.com").await;

    let unknown = request_reset(&app, "nobody@example.com").await;
    let known = request_reset(&app, "ADA@example.com").await;

    assert_eq!(unknown.data()["requestPasswordReset"], true);
    assert_eq!(known.data()["requestPasswordReset"], true);
    let mail = sink.next_mail_to("ada@example.com").await;
    assert_eq!(mail.subject(), "Reset your todoql password");
    assert!(mail.link("reset-password").is_some());
    assert_eq!(mail.code(), None, "a reset mail carries a link only");
    assert_no_mail_for(&app, &sink, "nobody@example.com").await;
    for bad in ["", "nope", "a@@example.com"] {
        request_reset(&app, bad)
            .await
            .assert_error("BAD_USER_INPUT", Some("email"));
    }
}

#[tokio::test]
async fn reset_password_sets_the_password_revokes_every_session_and_sends_a_notice() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let first = signed_up(&app, &sink, "ada@example.com").await;
    let second = password_sign_in(&app, "ada@example.com", PASSWORD).await;
    let second_token = second.root_as::<AuthPayload>("signIn").access_token;
    request_reset(&app, "ada@example.com").await.data();
    let token = sink
        .next_mail_to("ada@example.com")
        .await
        .token("reset-password");

    let reset = app
        .graphql(
            RESET,
            json!({ "input": { "token": token, "newPassword": NEW_PASSWORD } }),
        )
        .await;

    assert_eq!(reset.data()["resetPassword"], true);
    assert!(viewer(&app, &first.access_token).await.is_none());
    assert!(viewer(&app, &second_token).await.is_none());
    app.graphql(REFRESH, json!({ "token": first.refresh_token }))
        .await
        .assert_error("INVALID_TOKEN", None);
    password_sign_in(&app, "ada@example.com", PASSWORD)
        .await
        .assert_error("INVALID_CREDENTIALS", None);
    password_sign_in(&app, "ada@example.com", NEW_PASSWORD)
        .await
        .data();
    let notice = sink.next_mail_to("ada@example.com").await;
    assert_eq!(notice.subject(), "Your todoql password was changed");
}

#[tokio::test]
async fn a_reset_token_works_only_once() {
    let (app, sink) = spawn_mail_app(&[]).await;
    signed_up(&app, &sink, "ada@example.com").await;
    request_reset(&app, "ada@example.com").await.data();
    let token = sink
        .next_mail_to("ada@example.com")
        .await
        .token("reset-password");
    app.graphql(
        RESET,
        json!({ "input": { "token": token, "newPassword": NEW_PASSWORD } }),
    )
    .await
    .data();

    let again = app
        .graphql(
            RESET,
            json!({ "input": { "token": token, "newPassword": "yet another passphrase 99" } }),
        )
        .await;

    again.assert_error("INVALID_TOKEN", None);
    password_sign_in(&app, "ada@example.com", NEW_PASSWORD)
        .await
        .data();
}

#[tokio::test]
async fn a_reset_token_expires_after_30_minutes() {
    let (app, sink) = spawn_mail_app(&[]).await;
    signed_up(&app, &sink, "early@example.com").await;
    signed_up(&app, &sink, "late@example.com").await;
    request_reset(&app, "early@example.com").await.data();
    request_reset(&app, "late@example.com").await.data();
    let early = sink
        .next_mail_to("early@example.com")
        .await
        .token("reset-password");
    let late = sink
        .next_mail_to("late@example.com")
        .await
        .token("reset-password");

    app.clock.advance(Duration::minutes(29));
    app.graphql(
        RESET,
        json!({ "input": { "token": early, "newPassword": NEW_PASSWORD } }),
    )
    .await
    .data();
    app.clock
        .advance(Duration::minutes(1) + Duration::seconds(1));
    app.graphql(
        RESET,
        json!({ "input": { "token": late, "newPassword": NEW_PASSWORD } }),
    )
    .await
    .assert_error("INVALID_TOKEN", None);
}

#[tokio::test]
async fn an_invalid_new_password_leaves_the_reset_token_usable() {
    let (app, sink) = spawn_mail_app(&[]).await;
    signed_up(&app, &sink, "ada@example.com").await;
    request_reset(&app, "ada@example.com").await.data();
    let token = sink
        .next_mail_to("ada@example.com")
        .await
        .token("reset-password");

    for weak in ["short", "password123"] {
        app.graphql(
            RESET,
            json!({ "input": { "token": token, "newPassword": weak } }),
        )
        .await
        .assert_error("BAD_USER_INPUT", Some("newPassword"));
    }
    password_sign_in(&app, "ada@example.com", PASSWORD)
        .await
        .data();

    app.graphql(
        RESET,
        json!({ "input": { "token": token, "newPassword": NEW_PASSWORD } }),
    )
    .await
    .data();
    password_sign_in(&app, "ada@example.com", NEW_PASSWORD)
        .await
        .data();
}

#[tokio::test]
async fn a_new_reset_request_invalidates_the_previous_link() {
    let (app, sink) = spawn_mail_app(&[]).await;
    signed_up(&app, &sink, "ada@example.com").await;
    request_reset(&app, "ada@example.com").await.data();
    let first = sink
        .next_mail_to("ada@example.com")
        .await
        .token("reset-password");
    request_reset(&app, "ada@example.com").await.data();
    let second = sink
        .next_mail_to("ada@example.com")
        .await
        .token("reset-password");

    app.graphql(
        RESET,
        json!({ "input": { "token": first, "newPassword": NEW_PASSWORD } }),
    )
    .await
    .assert_error("INVALID_TOKEN", None);
    app.graphql(
        RESET,
        json!({ "input": { "token": second, "newPassword": NEW_PASSWORD } }),
    )
    .await
    .data();
}

// --- change of address -----------------------------------------------------------------------

#[tokio::test]
async fn email_change_by_code_moves_the_account_and_notifies_the_old_address() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = signed_up(&app, &sink, "old@example.com").await;
    let other = password_sign_in(&app, "old@example.com", PASSWORD).await;
    let other_token = other.root_as::<AuthPayload>("signIn").access_token;

    let requested = app
        .graphql_as(
            &user.access_token,
            REQUEST_CHANGE,
            json!({ "input": { "newEmail": "New@Example.com", "currentPassword": PASSWORD } }),
        )
        .await;
    assert_eq!(requested.data()["requestEmailChange"], true);
    let mail = sink.next_mail_to("new@example.com").await;
    assert_eq!(mail.subject(), "Confirm your new email address for todoql");
    assert!(mail.link("confirm-email").is_some());
    assert_no_mail_for(&app, &sink, "old@example.com").await;
    assert_eq!(
        me(&app, &user.access_token).await.email.as_deref(),
        Some("old@example.com")
    );

    let confirmed = app
        .graphql_as(
            &user.access_token,
            CONFIRM_CHANGE,
            json!({ "input": { "code": mail.code() } }),
        )
        .await;

    let confirmed: User = confirmed.root_as("confirmEmailChange");
    assert_eq!(confirmed.email.as_deref(), Some("new@example.com"));
    assert_eq!(confirmed.email_verified, Some(true));
    assert_eq!(
        me(&app, &user.access_token).await.email.as_deref(),
        Some("new@example.com")
    );
    assert!(
        viewer(&app, &other_token).await.is_none(),
        "other sessions are revoked"
    );
    let notice = sink.next_mail_to("old@example.com").await;
    assert_eq!(notice.subject(), "Your todoql email address was changed");
    assert!(
        notice
            .text
            .contains("from old@example.com to new@example.com")
    );
    password_sign_in(&app, "new@example.com", PASSWORD)
        .await
        .data();
    password_sign_in(&app, "old@example.com", PASSWORD)
        .await
        .assert_error("INVALID_CREDENTIALS", None);
}

#[tokio::test]
async fn email_change_by_link_works_signed_out() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = signed_up(&app, &sink, "old@example.com").await;
    app.graphql_as(
        &user.access_token,
        REQUEST_CHANGE,
        json!({ "input": { "newEmail": "new@example.com", "currentPassword": PASSWORD } }),
    )
    .await
    .data();
    let token = sink
        .next_mail_to("new@example.com")
        .await
        .token("confirm-email");

    let confirmed = app
        .graphql(CONFIRM_CHANGE, json!({ "input": { "token": token } }))
        .await;

    let confirmed: User = confirmed.root_as("confirmEmailChange");
    assert_eq!(confirmed.email.as_deref(), Some("new@example.com"));
    assert_eq!(confirmed.id, user.id);
    assert!(
        viewer(&app, &user.access_token).await.is_none(),
        "no session confirmed it: all revoked"
    );
    sink.next_mail_to("old@example.com").await;
    app.graphql(CONFIRM_CHANGE, json!({ "input": { "token": token } }))
        .await
        .assert_error("INVALID_TOKEN", None);
}

#[tokio::test]
async fn email_change_needs_the_current_password_when_the_account_has_one() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = signed_up(&app, &sink, "ada@example.com").await;
    let change = |password: Value| json!({ "input": { "newEmail": "new@example.com", "currentPassword": password } });

    app.graphql(REQUEST_CHANGE, change(json!(PASSWORD)))
        .await
        .assert_error("UNAUTHENTICATED", None);
    app.graphql_as(&user.access_token, REQUEST_CHANGE, change(Value::Null))
        .await
        .assert_error("BAD_USER_INPUT", Some("currentPassword"));
    app.graphql_as(
        &user.access_token,
        REQUEST_CHANGE,
        change(json!("wrong password here")),
    )
    .await
    .assert_error("INVALID_CREDENTIALS", None);
    assert_no_mail_for(&app, &sink, "new@example.com").await;

    // An account without a password (made by code) needs none.
    request_code(&app, "nopass@example.com").await.data();
    let code = sink.next_mail_to("nopass@example.com").await.code();
    let signed_in =
        sign_in_with_code(&app, json!({ "email": "nopass@example.com", "code": code })).await;
    let token = signed_in
        .root_as::<AuthPayload>("signInWithCode")
        .access_token;
    let requested = app
        .graphql_as(
            &token,
            REQUEST_CHANGE,
            json!({ "input": { "newEmail": "other@example.com" } }),
        )
        .await;
    assert_eq!(requested.data()["requestEmailChange"], true);
    sink.next_mail_to("other@example.com").await;
}

#[tokio::test]
async fn email_change_to_a_taken_or_the_same_address_is_refused() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = signed_up(&app, &sink, "ada@example.com").await;
    signed_up(&app, &sink, "taken@example.com").await;
    let change = |new: &str| json!({ "input": { "newEmail": new, "currentPassword": PASSWORD } });

    app.graphql_as(
        &user.access_token,
        REQUEST_CHANGE,
        change("TAKEN@example.com"),
    )
    .await
    .assert_error("CONFLICT", None);
    app.graphql_as(
        &user.access_token,
        REQUEST_CHANGE,
        change("ada@example.com"),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("newEmail"));
    app.graphql_as(&user.access_token, REQUEST_CHANGE, change("not-an-address"))
        .await
        .assert_error("BAD_USER_INPUT", Some("newEmail"));
    assert_no_mail_for(&app, &sink, "taken@example.com").await;
}

#[tokio::test]
async fn email_change_conflict_is_checked_again_at_confirmation() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = signed_up(&app, &sink, "ada@example.com").await;
    app.graphql_as(
        &user.access_token,
        REQUEST_CHANGE,
        json!({ "input": { "newEmail": "wanted@example.com", "currentPassword": PASSWORD } }),
    )
    .await
    .data();
    let mail = sink.next_mail_to("wanted@example.com").await;
    let rival = signed_up(&app, &sink, "wanted@example.com").await;

    let confirmed = app
        .graphql_as(
            &user.access_token,
            CONFIRM_CHANGE,
            json!({ "input": { "code": mail.code() } }),
        )
        .await;

    confirmed.assert_error("CONFLICT", None);
    assert_eq!(
        me(&app, &user.access_token).await.email.as_deref(),
        Some("ada@example.com")
    );
    // The refusal did not use the code up: once the rival moves away, it works.
    app.graphql_as(
        &rival.access_token,
        REQUEST_CHANGE,
        json!({ "input": { "newEmail": "elsewhere@example.com", "currentPassword": PASSWORD } }),
    )
    .await
    .data();
    let token = sink
        .next_mail_to("elsewhere@example.com")
        .await
        .token("confirm-email");
    app.graphql(CONFIRM_CHANGE, json!({ "input": { "token": token } }))
        .await
        .data();
    let confirmed = app
        .graphql_as(
            &user.access_token,
            CONFIRM_CHANGE,
            json!({ "input": { "code": mail.code() } }),
        )
        .await;
    assert_eq!(
        confirmed
            .root_as::<User>("confirmEmailChange")
            .email
            .as_deref(),
        Some("wanted@example.com")
    );
}

#[tokio::test]
async fn confirm_email_change_needs_exactly_one_of_code_or_token_and_a_code_needs_sign_in() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = signed_up(&app, &sink, "ada@example.com").await;
    app.graphql_as(
        &user.access_token,
        REQUEST_CHANGE,
        json!({ "input": { "newEmail": "new@example.com", "currentPassword": PASSWORD } }),
    )
    .await
    .data();
    let mail = sink.next_mail_to("new@example.com").await;
    let (code, token) = (mail.code().unwrap(), mail.token("confirm-email"));

    for (input, field) in [
        (json!({}), "code"),
        (json!({ "code": code, "token": token }), "token"),
        (json!({ "code": "12 34" }), "code"),
    ] {
        app.graphql_as(
            &user.access_token,
            CONFIRM_CHANGE,
            json!({ "input": input }),
        )
        .await
        .assert_error("BAD_USER_INPUT", Some(field));
    }
    app.graphql(CONFIRM_CHANGE, json!({ "input": { "code": code } }))
        .await
        .assert_error("UNAUTHENTICATED", None);
    assert_eq!(
        me(&app, &user.access_token).await.email.as_deref(),
        Some("ada@example.com")
    );
}

#[tokio::test]
async fn another_user_cannot_confirm_my_email_change_with_my_code() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let ada = signed_up(&app, &sink, "ada@example.com").await;
    let eve = signed_up(&app, &sink, "eve@example.com").await;
    app.graphql_as(
        &ada.access_token,
        REQUEST_CHANGE,
        json!({ "input": { "newEmail": "ada.new@example.com", "currentPassword": PASSWORD } }),
    )
    .await
    .data();
    let code = sink.next_mail_to("ada.new@example.com").await.code();

    let stolen = app
        .graphql_as(
            &eve.access_token,
            CONFIRM_CHANGE,
            json!({ "input": { "code": code } }),
        )
        .await;

    stolen.assert_error("INVALID_TOKEN", None);
    assert_eq!(
        me(&app, &eve.access_token).await.email.as_deref(),
        Some("eve@example.com")
    );
    assert_eq!(
        me(&app, &ada.access_token).await.email.as_deref(),
        Some("ada@example.com")
    );
}

// --- security notices ------------------------------------------------------------------------

#[tokio::test]
async fn changing_the_password_sends_a_security_notice() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = signed_up(&app, &sink, "ada@example.com").await;

    app.graphql_as(
        &user.access_token,
        CHANGE_PASSWORD,
        json!({ "input": { "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD } }),
    )
    .await
    .data();

    let notice = sink.next_mail_to("ada@example.com").await;
    assert_eq!(notice.subject(), "Your todoql password was changed");
    assert_eq!(notice.code(), None);
    assert!(
        notice
            .html
            .contains("password of your todoql account was changed")
    );
}

// --- limits ----------------------------------------------------------------------------------

#[tokio::test]
async fn beyond_the_mail_limit_requests_answer_true_without_sending_for_known_and_unknown_alike() {
    let (app, sink) = spawn_mail_app(&["--mails-per-address", "2"]).await;
    signed_up(&app, &sink, "known@example.com").await; // 1 of 2

    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(
            request_reset(&app, "known@example.com")
                .await
                .data()
                .clone(),
        );
        answers.push(
            request_code(&app, "unknown@example.com")
                .await
                .data()
                .clone(),
        );
    }

    assert!(
        answers
            .iter()
            .all(|a| a.as_object().unwrap().values().all(|v| v == true))
    );
    sink.next_mail_to("known@example.com").await; // 2 of 2
    sink.next_mail_to("unknown@example.com").await;
    sink.next_mail_to("unknown@example.com").await;
    assert_no_mail_for(&app, &sink, "known@example.com").await;
    assert_no_mail_for(&app, &sink, "unknown@example.com").await;
}

#[tokio::test]
async fn only_mails_really_queued_count_against_the_limit() {
    let (app, sink) = spawn_mail_app(&["--mails-per-address", "2"]).await;
    for _ in 0..5 {
        request_reset(&app, "ghost@example.com").await.data(); // no account: nothing queued
    }

    request_code(&app, "ghost@example.com").await.data();
    request_code(&app, "ghost@example.com").await.data();

    sink.next_mail_to("ghost@example.com").await;
    sink.next_mail_to("ghost@example.com").await;
}

#[tokio::test]
async fn the_mail_limit_window_ends_after_an_hour() {
    let (app, sink) = spawn_mail_app(&["--mails-per-address", "1"]).await;
    request_code(&app, "ada@example.com").await.data();
    sink.next_mail_to("ada@example.com").await;
    request_code(&app, "ada@example.com").await.data();
    assert_no_mail_for(&app, &sink, "ada@example.com").await;

    app.clock.advance(Duration::minutes(61));
    request_code(&app, "ada@example.com").await.data();

    sink.next_mail_to("ada@example.com").await;
}

#[tokio::test]
async fn signed_in_mail_requests_beyond_the_limit_are_rate_limited() {
    let (app, sink) = spawn_mail_app(&["--mails-per-address", "2"]).await;
    let user = signed_up(&app, &sink, "ada@example.com").await; // 1 of 2
    let sent = app
        .graphql_as(&user.access_token, SEND_VERIFICATION, json!({}))
        .await;
    assert_eq!(sent.data()["sendVerificationEmail"], true); // 2 of 2
    let code = sink.next_mail_to("ada@example.com").await.code();

    let refused = app
        .graphql_as(&user.access_token, SEND_VERIFICATION, json!({}))
        .await;

    refused.assert_error("RATE_LIMITED", None);
    let retry_after = refused.body["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    // Nothing was queued and the last code still works.
    assert_no_mail_for(&app, &sink, "ada@example.com").await;
    verify(&app, json!({ "email": "ada@example.com", "code": code }))
        .await
        .data();
}

#[tokio::test]
async fn wrong_code_guesses_are_limited_per_address_and_a_new_code_does_not_reset_the_budget() {
    let (app, sink) = spawn_mail_app(&["--code-guesses-per-address", "3"]).await;
    request_code(&app, "ada@example.com").await.data();
    let first = sink.next_mail_to("ada@example.com").await.code().unwrap();
    for _ in 0..2 {
        sign_in_with_code(
            &app,
            json!({ "email": "ada@example.com", "code": wrong(&first) }),
        )
        .await
        .assert_error("INVALID_TOKEN", None);
    }
    request_code(&app, "ada@example.com").await.data();
    let second = sink.next_mail_to("ada@example.com").await.code().unwrap();
    sign_in_with_code(
        &app,
        json!({ "email": "ada@example.com", "code": wrong(&second) }),
    )
    .await
    .assert_error("INVALID_TOKEN", None);

    let refused =
        sign_in_with_code(&app, json!({ "email": "ada@example.com", "code": second })).await;

    refused.assert_error("RATE_LIMITED", None);
    assert!(
        refused.body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn wrong_code_guesses_are_limited_alike_whether_or_not_the_address_has_an_account() {
    let (app, sink) = spawn_mail_app(&["--code-guesses-per-address", "3"]).await;
    signed_up(&app, &sink, "known@example.com").await;

    let mut outcomes = Vec::new();
    for email in ["known@example.com", "unknown@example.com"] {
        let mut codes = Vec::new();
        for _ in 0..4 {
            let response =
                sign_in_with_code(&app, json!({ "email": email, "code": "000000" })).await;
            codes.push(response.code().to_owned());
        }
        outcomes.push(codes);
    }

    let expected = [
        "INVALID_TOKEN",
        "INVALID_TOKEN",
        "INVALID_TOKEN",
        "RATE_LIMITED",
    ];
    assert_eq!(outcomes[0], expected);
    assert_eq!(outcomes[1], expected);
}

// --- transports and configuration ------------------------------------------------------------

#[tokio::test]
async fn the_log_transport_prints_each_mail_with_its_code_and_link_and_says_so_at_start() {
    let db = TestDb::create().await;
    let server = ServerProcess::start(
        &db.url,
        &[(
            "TODOQL_JWT_SECRET",
            "a-secret-of-at-least-thirty-two-bytes!",
        )],
    )
    .await;
    assert!(
        server.log().contains("mail transport: log")
            && server.log().contains("WITH ITS CODE AND LINK"),
        "{}",
        server.log()
    );

    let requested = server
        .graphql(None, REQUEST_CODE, json!({ "email": "dev@example.com" }))
        .await;
    assert_eq!(requested.data()["requestSignInCode"], true);
    let printed = |log: &str| log.contains("Subject: Your todoql sign-in code");
    let log = server.log_when(printed).await;
    assert!(printed(&log), "{log}");
    assert!(log.contains("To: dev@example.com"), "{log}");
    assert!(
        log.contains("http://localhost:3000/sign-in?token="),
        "{log}"
    );
    let code = log
        .lines()
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("the code on a line of its own");

    let signed_in = server
        .graphql(
            None,
            SIGN_IN_WITH_CODE,
            json!({ "input": { "email": "dev@example.com", "code": code } }),
        )
        .await;
    let signed_in: AuthPayload = signed_in.root_as("signInWithCode");
    assert_eq!(signed_in.user().email.as_deref(), Some("dev@example.com"));
}

#[tokio::test]
async fn the_default_smtp_url_to_a_loopback_relay_sends_in_plain_when_it_offers_no_starttls() {
    let sink = SmtpSink::start().await;
    let url = format!("smtp://127.0.0.1:{}", sink.port());
    let app = TestApp::spawn_with(&["--smtp-url", &url]).await;

    request_code(&app, "ada@example.com").await.data();

    let mail = sink.next_mail_to("ada@example.com").await;
    assert!(mail.code().is_some());
}

#[tokio::test]
async fn tls_required_never_falls_back_to_plain() {
    let sink = SmtpSink::start().await;
    let url = format!("smtp://127.0.0.1:{}?tls=required", sink.port());
    let app = TestApp::spawn_with(&["--smtp-url", &url]).await;

    request_code(&app, "ada@example.com").await.data();

    let a = &app;
    wait_until("the delivery failed", move || async move {
        a.outbox_to("ada@example.com")
            .await
            .iter()
            .any(|r| r.attempts >= 1)
    })
    .await;
    assert!(sink.mails().is_empty(), "a mail went out without TLS");
}

/// This machine's hostname (a name, not `localhost`) and the address it resolves to: an SMTP
/// URL naming it looks remote to todoql, yet reaches a sink started on that address.
async fn a_hostname_of_this_machine() -> (String, std::net::IpAddr) {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("the hostname")
        .trim()
        .to_owned();
    assert!(!name.is_empty() && !name.eq_ignore_ascii_case("localhost"));
    let ip = tokio::net::lookup_host((name.as_str(), 25))
        .await
        .unwrap_or_else(|e| panic!("this machine's hostname {name:?} does not resolve: {e}"))
        .map(|addr| addr.ip())
        .next()
        .expect("an address");
    (name, ip)
}

#[tokio::test]
async fn smtp_to_a_named_host_without_starttls_sends_nothing_logs_an_error_and_retries() {
    let (host, ip) = a_hostname_of_this_machine().await;
    let sink = SmtpSink::start_on(ip).await;
    let url = format!("smtp://mailer:hunter2@{host}:{}", sink.port());
    let db = TestDb::create().await;
    let server = ServerProcess::start(
        &db.url,
        &[
            ("TODOQL_SMTP_URL", url.as_str()),
            ("TODOQL_MAIL_RETRY_BASE", "1"),
            (
                "TODOQL_JWT_SECRET",
                "a-secret-of-at-least-thirty-two-bytes!",
            ),
        ],
    )
    .await;
    assert!(
        server.log().contains("STARTTLS required"),
        "{}",
        server.log()
    );

    let requested = server
        .graphql(None, REQUEST_CODE, json!({ "email": "ada@example.com" }))
        .await;
    assert_eq!(requested.data()["requestSignInCode"], true);

    // Two attempts, each refused before anything but EHLO was said, each an ERROR line.
    let refusal = "the SMTP connection could not be encrypted; will retry";
    let refusals = |log: &str| {
        log.lines()
            .filter(|l| l.contains("ERROR") && l.contains(refusal))
            .count()
    };
    let log = server.log_when(|log| refusals(log) >= 2).await;
    assert!(refusals(&log) >= 2, "{log}");
    assert!(log.contains("did not offer STARTTLS"), "{log}");
    assert!(!log.contains("hunter2"), "{log}");
    let commands = sink.commands();
    assert!(
        commands.iter().filter(|c| *c == "EHLO").count() >= 2,
        "{commands:?}"
    );
    assert!(
        commands.iter().all(|c| c == "EHLO" || c == "QUIT"),
        "nothing but EHLO (and QUIT) in plaintext: {commands:?}"
    );
    assert!(sink.mails().is_empty());

    // The mail waits in the outbox for the next attempt.
    let outbox = sea_orm::Database::connect(&db.url).await.unwrap();
    use sea_orm::EntityTrait;
    let rows = todoql_entity::email_outbox::Entity::find()
        .all(&outbox)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].attempts >= 2, "{:?}", rows[0].attempts);
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("STARTTLS"),
        "{:?}",
        rows[0].last_error
    );
    outbox.close().await.ok();
}

#[tokio::test]
async fn smtp_to_a_named_host_with_tls_opportunistic_may_send_in_plain() {
    let (host, ip) = a_hostname_of_this_machine().await;
    let sink = SmtpSink::start_on(ip).await;
    let url = format!("smtp://{host}:{}?tls=opportunistic", sink.port());
    let app = TestApp::spawn_with(&["--smtp-url", &url]).await;

    request_code(&app, "ada@example.com").await.data();

    let mail = sink.next_mail_to("ada@example.com").await;
    assert!(mail.code().is_some());
}

#[test]
fn a_bad_mail_setting_stops_the_server_with_one_line_naming_it_and_no_password() {
    for (variable, value) in [
        (
            "TODOQL_SMTP_URL",
            "smtp://mailer:hunter2@mail.example.com?tls=sometimes",
        ),
        ("TODOQL_SMTP_URL", "http://mailer:hunter2@mail.example.com"),
        ("TODOQL_MAIL_FROM", "nobody"),
        ("TODOQL_MAIL_MAX_ATTEMPTS", "0"),
        ("TODOQL_MAIL_RETRY_BASE", "soon"),
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
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}

// --- answer time (a benchmark: prints numbers, asserts none) -----------------------------------

/// `cargo test --test e2e -- --ignored --nocapture answer_time` prints the mean answer time of
/// requestPasswordReset and requestSignInCode for addresses with and without an account
/// (requests alternate between the two, after a warm-up).
#[tokio::test]
#[ignore = "benchmark: prints timings"]
async fn answer_time_of_reset_and_code_requests_for_known_and_unknown_addresses() {
    let (app, _sink) = spawn_mail_app(&[]).await;
    const N: usize = 40;
    for i in 0..N {
        app.sign_up(&format!("known{i}@example.com")).await;
    }
    for (query, field) in [
        (REQUEST_RESET, "requestPasswordReset"),
        (REQUEST_CODE, "requestSignInCode"),
    ] {
        for i in 0..5 {
            app.graphql(query, json!({ "email": format!("warmup{i}@example.com") }))
                .await
                .data();
        }
        let mut total = [std::time::Duration::ZERO; 2];
        for i in 0..N {
            for (k, kind) in ["known", "unknown"].into_iter().enumerate() {
                let email = format!("{kind}{i}@example.com");
                let started = std::time::Instant::now();
                let response = app.graphql(query, json!({ "email": email })).await;
                total[k] += started.elapsed();
                assert_eq!(response.data()[field], true);
            }
        }
        let mean = |d: std::time::Duration| d.as_secs_f64() * 1000.0 / N as f64;
        println!(
            "{field}: known {:.2} ms, unknown {:.2} ms (mean of {N} each)",
            mean(total[0]),
            mean(total[1])
        );
    }
}

#[tokio::test]
async fn deleting_an_account_keeps_another_users_pending_change_to_its_address() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = signed_up(&app, &sink, "ada@example.com").await;
    let rival = signed_up(&app, &sink, "wanted@example.com").await;
    app.graphql_as(
        &user.access_token,
        REQUEST_CHANGE,
        json!({ "input": { "newEmail": "wanted@example.com", "currentPassword": PASSWORD } }),
    )
    .await
    .assert_error("CONFLICT", None);
    // The rival leaves; the address is free, and Ada asks for it.
    app.graphql_as(
        &rival.access_token,
        "mutation($p: String) { deleteAccount(input: {password: $p}) }",
        json!({ "p": PASSWORD }),
    )
    .await
    .data();
    app.graphql_as(
        &user.access_token,
        REQUEST_CHANGE,
        json!({ "input": { "newEmail": "wanted@example.com", "currentPassword": PASSWORD } }),
    )
    .await
    .data();
    let mail = sink.next_mail_to("wanted@example.com").await;
    // Someone signs up with the address and deletes that account again before Ada confirms.
    let passerby = signed_up(&app, &sink, "wanted@example.com").await;
    app.graphql_as(
        &passerby.access_token,
        "mutation($p: String) { deleteAccount(input: {password: $p}) }",
        json!({ "p": PASSWORD }),
    )
    .await
    .data();

    let confirmed = app
        .graphql_as(
            &user.access_token,
            CONFIRM_CHANGE,
            json!({ "input": { "code": mail.code() } }),
        )
        .await;
    assert_eq!(
        confirmed
            .root_as::<User>("confirmEmailChange")
            .email
            .as_deref(),
        Some("wanted@example.com")
    );
}
