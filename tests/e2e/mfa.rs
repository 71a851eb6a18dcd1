//! The second factor (issue 15): TOTP enrollment with recovery codes, MFA_REQUIRED from every
//! first factor, verifyMfa, and the limits on replays and guesses — on one instance and on two.
//!
//! Codes are computed here with `totp-rs` from the secret the server handed out, as an
//! authenticator app would, at the server's (movable) clock.

use crate::support::*;
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use todoql_entity::{mfa_challenge, session, totp_factor};
use totp_rs::{Algorithm, Secret, TOTP};

const START: &str = "mutation { startTotpEnrollment { secret otpauthUri } }";
const CONFIRM: &str = "mutation($code: String!) { confirmTotpEnrollment(code: $code) { codes } }";
const DISABLE: &str = "mutation($code: String!) { disableTotp(code: $code) }";
const REGENERATE: &str =
    "mutation($code: String!) { regenerateRecoveryCodes(code: $code) { codes } }";
const VERIFY: &str = "mutation($input: VerifyMfaInput!) { verifyMfa(input: $input) { accessToken refreshToken session { id authenticationMethods } user { id } } }";
const SIGN_IN: &str = "mutation($input: SignInInput!) { signIn(input: $input) { accessToken } }";
const SIGN_IN_WITH_CODE: &str =
    "mutation($input: SignInWithCodeInput!) { signInWithCode(input: $input) { accessToken } }";
const ME: &str = "{ me { id totpEnabled recoveryCodesLeft } }";

/// A server that can store authenticator secrets (TODOQL_ENCRYPTION_KEY), with mail.
async fn mfa_app(extra: &[&str]) -> (TestApp, SmtpSink) {
    let mut args = vec!["--encryption-key", KEY_HEX];
    args.extend_from_slice(extra);
    spawn_mail_app(&args).await
}

/// The user's authenticator app.
pub(crate) struct Phone(TOTP);

impl Phone {
    fn new(secret: &str) -> Phone {
        let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
        Phone(TOTP::new(Algorithm::SHA1, 6, 0, 30, bytes, None, String::new()).unwrap())
    }

    /// The code `steps` steps away from the server's now.
    pub(crate) fn code(&self, app: &TestApp, steps: i64) -> String {
        let at = app.state.now().timestamp() + steps * 30;
        self.0.generate(at as u64)
    }
}

/// Moves the server's clock to 5 s into a time step, so that a test's codes stay in the step
/// they were computed for while it runs.
pub(crate) fn to_step_start(app: &TestApp) {
    let into = app.state.now().timestamp().rem_euclid(30);
    app.clock.advance(Duration::seconds((35 - into) % 30));
}

/// Turns TOTP on for the user of `access_token` (signed in just now): the phone and the
/// recovery codes.
pub(crate) async fn enroll(app: &TestApp, access_token: &str) -> (Phone, Vec<String>) {
    let started = app.graphql_as(access_token, START, json!({})).await;
    let secret = started.data()["startTotpEnrollment"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let phone = Phone::new(&secret);
    to_step_start(app);
    let confirmed = app
        .graphql_as(access_token, CONFIRM, json!({ "code": phone.code(app, 0) }))
        .await;
    let codes = confirmed.data()["confirmTotpEnrollment"]["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    // The enrollment used this step; the tests' sign-ins use later ones.
    app.clock.advance(Duration::seconds(30));
    (phone, codes)
}

/// A verified user with TOTP on.
async fn enrolled_user(app: &TestApp, email: &str) -> (TestUser, Phone, Vec<String>) {
    let user = app.verified_user(email).await;
    let (phone, codes) = enroll(app, &user.access_token).await;
    (user, phone, codes)
}

async fn password_sign_in(app: &TestApp, email: &str) -> Gql {
    app.graphql(
        SIGN_IN,
        json!({ "input": { "email": email, "password": PASSWORD } }),
    )
    .await
}

/// The mfaToken of an MFA_REQUIRED answer (failing the test on any other answer).
pub(crate) fn mfa_token(response: &Gql) -> String {
    response.assert_error("MFA_REQUIRED", None);
    assert_eq!(response.body["data"], Value::Null, "{}", response.body);
    response.body["errors"][0]["extensions"]["mfaToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no mfaToken: {}", response.body))
        .to_owned()
}

/// A password sign-in that must answer MFA_REQUIRED: its mfaToken.
async fn first_factor(app: &TestApp, email: &str) -> String {
    mfa_token(&password_sign_in(app, email).await)
}

async fn verify_totp(app: &TestApp, token: &str, code: &str) -> Gql {
    app.graphql(
        VERIFY,
        json!({ "input": { "mfaToken": token, "totpCode": code } }),
    )
    .await
}

async fn verify_recovery(app: &TestApp, token: &str, code: &str) -> Gql {
    app.graphql(
        VERIFY,
        json!({ "input": { "mfaToken": token, "recoveryCode": code } }),
    )
    .await
}

async fn sessions_of(app: &TestApp, user: &TestUser) -> u64 {
    session::Entity::find()
        .filter(session::Column::UserId.eq(uuid::Uuid::parse_str(&user.id).unwrap()))
        .count(app.state.db())
        .await
        .unwrap()
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.graphql_as(token, ME, json!({})).await.data()["me"].clone()
}

fn count(events: &[(String, Option<String>)], kind: &str) -> usize {
    events.iter().filter(|(k, _)| k == kind).count()
}

// --- enrollment ------------------------------------------------------------------------------

#[tokio::test]
async fn enrollment_hands_out_a_secret_that_a_code_confirms_with_ten_recovery_codes() {
    let (app, _sink) = mfa_app(&[]).await;
    let user = app.verified_user("ada@example.com").await;
    let config = app.graphql("{ authConfig { totp } }", json!({})).await;
    assert_eq!(config.data()["authConfig"]["totp"], true);

    let started = app.graphql_as(&user.access_token, START, json!({})).await;
    let secret = started.data()["startTotpEnrollment"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = started.data()["startTotpEnrollment"]["otpauthUri"]
        .as_str()
        .unwrap();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    assert!(
        uri.starts_with("otpauth://totp/app.example.com:ada%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains("issuer=app.example.com"), "{uri}");
    // Not active until confirmed: signing in needs no second factor yet.
    assert_eq!(me(&app, &user.access_token).await["totpEnabled"], false);
    password_sign_in(&app, "ada@example.com").await.data();

    let phone = Phone::new(&secret);
    to_step_start(&app);
    let wrong = app
        .graphql_as(
            &user.access_token,
            CONFIRM,
            json!({ "code": phone.code(&app, 3) }),
        )
        .await;
    wrong.assert_error("INVALID_TOKEN", None);
    assert_eq!(me(&app, &user.access_token).await["totpEnabled"], false);

    let confirmed = app
        .graphql_as(
            &user.access_token,
            CONFIRM,
            json!({ "code": phone.code(&app, 0) }),
        )
        .await;
    let codes = confirmed.data()["confirmTotpEnrollment"]["codes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(codes.len(), 10);
    for code in &codes {
        let code = code.as_str().unwrap();
        assert_eq!(code.len(), 14, "{code}");
        assert_eq!(code.split('-').count(), 3, "{code}");
    }
    let unique: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), 10);
    let me = me(&app, &user.access_token).await;
    assert_eq!(me["totpEnabled"], true);
    assert_eq!(me["recoveryCodesLeft"], 10);
    // The confirming session proved the second factor: it says so.
    assert_eq!(
        app.current_session_methods(&user.access_token).await,
        json!(["PASSWORD", "TOTP"])
    );
    assert_eq!(
        app.security_log(&user.access_token).await[0],
        ("TOTP_ENABLED".to_owned(), None)
    );
    // Once on, another enrollment is CONFLICT.
    let again = app.graphql_as(&user.access_token, START, json!({})).await;
    again.assert_error("CONFLICT", None);
}

#[tokio::test]
async fn the_secret_is_encrypted_in_the_database() {
    let (app, _sink) = mfa_app(&[]).await;
    let user = app.verified_user("ada@example.com").await;
    let started = app.graphql_as(&user.access_token, START, json!({})).await;
    let secret = started.data()["startTotpEnrollment"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored = totp_factor::Entity::find()
        .one(app.state.db())
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.secret.contains(&secret), "{}", stored.secret);
    assert!(stored.secret.starts_with("v1."), "{}", stored.secret);
    // The raw bytes of the secret are not in it either (base64 of the ciphertext only).
    let raw = Secret::Encoded(secret.clone()).to_bytes().unwrap();
    let raw_b32 = Secret::Raw(raw).to_encoded().to_string();
    assert!(!stored.secret.contains(&raw_b32));
    // It decrypts with the server's key only.
    let cipher = todoql_domain::cipher::TokenCipher::new(
        &todoql_domain::cipher::EncryptionKey::parse(KEY_HEX).unwrap(),
    );
    assert_eq!(
        cipher
            .decrypt("totp_factors.secret", &stored.secret)
            .unwrap(),
        secret
    );
    let other = todoql_domain::cipher::TokenCipher::new(
        &todoql_domain::cipher::EncryptionKey::parse(&"ab".repeat(32)).unwrap(),
    );
    assert!(
        other
            .decrypt("totp_factors.secret", &stored.secret)
            .is_err()
    );
}

#[tokio::test]
async fn enrollment_needs_the_encryption_key_a_recent_sign_in_and_a_verified_address() {
    // Without TODOQL_ENCRYPTION_KEY: off, and the mutations say why.
    let (plain, _sink) = spawn_mail_app(&[]).await;
    let config = plain.graphql("{ authConfig { totp } }", json!({})).await;
    assert_eq!(config.data()["authConfig"]["totp"], false);
    let user = plain.verified_user("ada@example.com").await;
    let refused = plain.graphql_as(&user.access_token, START, json!({})).await;
    refused.assert_error("FORBIDDEN", None);
    assert!(
        refused.message().contains("TODOQL_ENCRYPTION_KEY"),
        "{}",
        refused.body
    );

    let (app, _sink) = mfa_app(&[]).await;
    let unverified = app.sign_up("bob@example.com").await;
    app.graphql_as(&unverified.access_token, START, json!({}))
        .await
        .assert_error("EMAIL_NOT_VERIFIED", None);

    let user = app.verified_user("ada@example.com").await;
    app.clock.advance(Duration::seconds(601));
    let stale = app.graphql_as(&user.access_token, START, json!({})).await;
    stale.assert_error("REAUTHENTICATION_REQUIRED", None);

    app.graphql(START, json!({}))
        .await
        .assert_error("UNAUTHENTICATED", None);
}

#[tokio::test]
async fn confirmation_revokes_the_other_sessions_and_keeps_this_one() {
    let (app, _sink) = mfa_app(&[]).await;
    let user = app.verified_user("ada@example.com").await;
    let laptop = password_sign_in(&app, "ada@example.com").await;
    let laptop_token = laptop.data()["signIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(me(&app, &laptop_token).await["id"].is_string());

    enroll(&app, &user.access_token).await;

    assert_eq!(me(&app, &laptop_token).await, Value::Null, "revoked");
    assert_eq!(me(&app, &user.access_token).await["totpEnabled"], true);
    let revoked = count(
        &app.security_log(&user.access_token).await,
        "SESSION_REVOKED",
    );
    assert_eq!(revoked, 1);
}

#[tokio::test]
async fn sign_ins_racing_the_confirmation_leave_no_session_without_the_second_factor() {
    let (app, _sink) = mfa_app(&[]).await;
    let user = app.verified_user("ada@example.com").await;
    let started = app.graphql_as(&user.access_token, START, json!({})).await;
    let phone = Phone::new(
        started.data()["startTotpEnrollment"]["secret"]
            .as_str()
            .unwrap(),
    );
    to_step_start(&app);
    let code = phone.code(&app, 0);
    let confirm = app.graphql_as(&user.access_token, CONFIRM, json!({ "code": code }));
    let sign_ins =
        futures_util::future::join_all((0..8).map(|_| password_sign_in(&app, "ada@example.com")));
    let (confirmed, answers) = tokio::join!(confirm, sign_ins);
    confirmed.data();
    for answer in &answers {
        // Before the confirmation: a session (revoked by it); after: MFA_REQUIRED; while it
        // commits: refused. Never anything else.
        let fine = answer.body["data"]["signIn"].is_object()
            || matches!(answer.code(), "MFA_REQUIRED" | "INVALID_CREDENTIALS");
        assert!(fine, "{}", answer.body);
    }
    // Every live session of the user gave the second factor: the confirming one only.
    let now = app.state.now();
    let live: Vec<session::Model> = session::Entity::find()
        .filter(session::Column::UserId.eq(uuid::Uuid::parse_str(&user.id).unwrap()))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .all(app.state.db())
        .await
        .unwrap();
    let methods: Vec<&str> = live
        .iter()
        .map(|s| s.authentication_methods.as_str())
        .collect();
    assert_eq!(methods, ["PASSWORD,TOTP"], "{live:?}");
}

// --- MFA_REQUIRED from every first factor ------------------------------------------------------

#[tokio::test]
async fn a_password_sign_in_needs_the_second_factor_and_creates_no_session_until_then() {
    let (app, _sink) = mfa_app(&[]).await;
    let (user, phone, _codes) = enrolled_user(&app, "ada@example.com").await;
    let before = sessions_of(&app, &user).await;

    let response = password_sign_in(&app, "ada@example.com").await;
    let token = mfa_token(&response);
    assert_eq!(
        response.body["errors"][0]["extensions"]["methods"],
        json!(["TOTP", "RECOVERY_CODE"])
    );
    assert_eq!(sessions_of(&app, &user).await, before, "no session yet");

    let verified = verify_totp(&app, &token, &phone.code(&app, 0)).await;
    let payload = &verified.data()["verifyMfa"];
    assert_eq!(payload["user"]["id"], user.id.as_str());
    assert_eq!(
        payload["session"]["authenticationMethods"],
        json!(["PASSWORD", "TOTP"])
    );
    assert_eq!(sessions_of(&app, &user).await, before + 1);
    let access = payload["accessToken"].as_str().unwrap();
    assert_eq!(me(&app, access).await["id"], user.id.as_str());
    assert_eq!(
        app.current_session_methods(access).await,
        json!(["PASSWORD", "TOTP"])
    );
    assert_eq!(
        app.security_log(access).await[0],
        ("SIGNED_IN".to_owned(), Some("TOTP".to_owned()))
    );
    // The token is used up.
    verify_totp(&app, &token, &phone.code(&app, 1))
        .await
        .assert_error("INVALID_TOKEN", None);
}

#[tokio::test]
async fn an_emailed_code_and_an_emailed_link_need_the_second_factor_too() {
    let (app, sink) = mfa_app(&[]).await;
    let (user, phone, _codes) = enrolled_user(&app, "ada@example.com").await;
    let _verification = sink.next_mail_to("ada@example.com").await;
    let before = sessions_of(&app, &user).await;

    app.graphql(REQUEST_CODE, json!({ "email": "ada@example.com" }))
        .await
        .data();
    let mail = sink.next_mail_to("ada@example.com").await;
    let by_code = app
        .graphql(
            SIGN_IN_WITH_CODE,
            json!({ "input": { "email": "ada@example.com", "code": mail.code().unwrap() } }),
        )
        .await;
    let token = mfa_token(&by_code);
    assert_eq!(sessions_of(&app, &user).await, before);
    let verified = verify_totp(&app, &token, &phone.code(&app, 0)).await;
    assert_eq!(
        verified.data()["verifyMfa"]["session"]["authenticationMethods"],
        json!(["EMAIL_CODE", "TOTP"])
    );

    app.clock.advance(Duration::seconds(30));
    app.graphql(REQUEST_CODE, json!({ "email": "ada@example.com" }))
        .await
        .data();
    let link = sink.next_mail_to("ada@example.com").await.token("sign-in");
    let by_link = app
        .graphql(SIGN_IN_WITH_CODE, json!({ "input": { "token": link } }))
        .await;
    let token = mfa_token(&by_link);
    assert_eq!(sessions_of(&app, &user).await, before + 1);
    // The link is used up by the first factor: it cannot start a second pending sign-in.
    app.graphql(SIGN_IN_WITH_CODE, json!({ "input": { "token": link } }))
        .await
        .assert_error("INVALID_TOKEN", None);
    verify_totp(&app, &token, &phone.code(&app, 0)).await.data();
    assert_eq!(sessions_of(&app, &user).await, before + 2);
}

#[tokio::test]
async fn a_password_reset_does_not_skip_the_second_factor_and_ends_pending_sign_ins() {
    let (app, sink) = mfa_app(&[]).await;
    let (_user, phone, _codes) = enrolled_user(&app, "ada@example.com").await;
    let _verification = sink.next_mail_to("ada@example.com").await;
    let pending = first_factor(&app, "ada@example.com").await;

    app.graphql(REQUEST_RESET, json!({ "email": "ada@example.com" }))
        .await
        .data();
    let reset = sink
        .next_mail_to("ada@example.com")
        .await
        .token("reset-password");
    let new_password = "the owner's own passphrase 1";
    app.graphql(
        RESET,
        json!({ "input": { "token": reset, "newPassword": new_password } }),
    )
    .await
    .data();

    // The sign-in that was waiting for its second factor ended with the old password.
    verify_totp(&app, &pending, &phone.code(&app, 0))
        .await
        .assert_error("INVALID_TOKEN", None);
    let after = app
        .graphql(
            SIGN_IN,
            json!({ "input": { "email": "ada@example.com", "password": new_password } }),
        )
        .await;
    let token = mfa_token(&after);
    verify_totp(&app, &token, &phone.code(&app, 0)).await.data();
}

// --- replays, skew, guesses ------------------------------------------------------------------

#[tokio::test]
async fn a_code_is_accepted_once_even_within_its_step() {
    let (app, _sink) = mfa_app(&[]).await;
    let (_user, phone, _codes) = enrolled_user(&app, "ada@example.com").await;
    let code = phone.code(&app, 0);
    verify_totp(&app, &first_factor(&app, "ada@example.com").await, &code)
        .await
        .data();

    let second = first_factor(&app, "ada@example.com").await;
    let replay = verify_totp(&app, &second, &code).await;
    replay.assert_error("INVALID_TOKEN", None);
    // An earlier step than one already used is refused too (steps only move forward).
    verify_totp(&app, &second, &phone.code(&app, -1))
        .await
        .assert_error("INVALID_TOKEN", None);
    // The next step works.
    verify_totp(&app, &second, &phone.code(&app, 1))
        .await
        .data();
}

#[tokio::test]
async fn the_same_code_at_two_instances_at_once_signs_in_once() {
    let (app, _sink) = mfa_app(&[]).await;
    let (_user, phone, _codes) = enrolled_user(&app, "ada@example.com").await;
    let beside = app.spawn_beside(&["--encryption-key", KEY_HEX]).await;
    for round in 0..3 {
        app.clock.advance(Duration::seconds(30));
        let code = phone.code(&app, 0);
        let one = first_factor(&app, "ada@example.com").await;
        let other = first_factor(&beside, "ada@example.com").await;
        let (a, b) = tokio::join!(
            verify_totp(&app, &one, &code),
            verify_totp(&beside, &other, &code)
        );
        let signed_in = [&a, &b]
            .iter()
            .filter(|r| r.body["data"]["verifyMfa"]["accessToken"].is_string())
            .count();
        assert_eq!(signed_in, 1, "round {round}: {} / {}", a.body, b.body);
        let refused = if a.body["data"]["verifyMfa"].is_object() {
            &b
        } else {
            &a
        };
        refused.assert_error("INVALID_TOKEN", None);
    }
}

#[tokio::test]
async fn one_step_of_clock_skew_is_accepted_and_two_are_not() {
    let (app, _sink) = mfa_app(&[]).await;
    let (_user, phone, _codes) = enrolled_user(&app, "ada@example.com").await;
    // Two steps either way: refused.
    for steps in [-2, 2] {
        let token = first_factor(&app, "ada@example.com").await;
        verify_totp(&app, &token, &phone.code(&app, steps))
            .await
            .assert_error("INVALID_TOKEN", None);
    }
    // One behind, then one ahead (each a later step than the last used).
    app.clock.advance(Duration::seconds(60));
    let token = first_factor(&app, "ada@example.com").await;
    verify_totp(&app, &token, &phone.code(&app, -1))
        .await
        .data();
    let token = first_factor(&app, "ada@example.com").await;
    verify_totp(&app, &token, &phone.code(&app, 1)).await.data();
}

#[tokio::test]
async fn five_wrong_answers_kill_the_token_and_each_is_logged() {
    let (app, _sink) = mfa_app(&[]).await;
    let (user, phone, _codes) = enrolled_user(&app, "ada@example.com").await;
    let token = first_factor(&app, "ada@example.com").await;
    for _ in 0..5 {
        verify_totp(&app, &token, &phone.code(&app, 5))
            .await
            .assert_error("INVALID_TOKEN", None);
    }
    let dead = verify_totp(&app, &token, &phone.code(&app, 0)).await;
    dead.assert_error("INVALID_TOKEN", None);
    assert!(dead.message().contains("Sign in again"), "{}", dead.body);

    // A new first factor gets a new token; the right code works with it.
    let token = first_factor(&app, "ada@example.com").await;
    let signed_in = verify_totp(&app, &token, &phone.code(&app, 0)).await;
    let access = signed_in.data()["verifyMfa"]["accessToken"]
        .as_str()
        .unwrap();
    let log = app.security_log(access).await;
    assert_eq!(count(&log, "MFA_FAILED"), 5);
    assert!(log.contains(&("MFA_FAILED".to_owned(), Some("TOTP".to_owned()))));
    drop(user);
}

#[tokio::test]
async fn a_pending_sign_in_lives_five_minutes() {
    let (app, _sink) = mfa_app(&[]).await;
    let (_user, phone, _codes) = enrolled_user(&app, "ada@example.com").await;
    let token = first_factor(&app, "ada@example.com").await;
    app.clock.advance(Duration::seconds(301));
    verify_totp(&app, &token, &phone.code(&app, 0))
        .await
        .assert_error("INVALID_TOKEN", None);
    let report = todoql_domain::maintenance::purge(&app.state).await.unwrap();
    assert_eq!(report.mfa_challenges, 1);
}

#[tokio::test]
async fn wrong_answers_are_limited_per_user_whatever_the_token() {
    let (app, _sink) = mfa_app(&["--mfa-guesses-per-user", "3"]).await;
    let (_user, phone, _codes) = enrolled_user(&app, "ada@example.com").await;
    // Three wrong answers, each with a fresh token (so the token's own limit never applies).
    for _ in 0..3 {
        let token = first_factor(&app, "ada@example.com").await;
        verify_totp(&app, &token, &phone.code(&app, 5))
            .await
            .assert_error("INVALID_TOKEN", None);
    }
    // Counted before checked: now even the right code waits.
    let token = first_factor(&app, "ada@example.com").await;
    let limited = verify_totp(&app, &token, &phone.code(&app, 0)).await;
    limited.assert_error("RATE_LIMITED", None);
    // Concurrent guesses cannot slip past either.
    let tokens = [
        first_factor(&app, "ada@example.com").await,
        first_factor(&app, "ada@example.com").await,
    ];
    let (six, seven) = (phone.code(&app, 6), phone.code(&app, 7));
    let (a, b) = tokio::join!(
        verify_totp(&app, &tokens[0], &six),
        verify_totp(&app, &tokens[1], &seven)
    );
    a.assert_error("RATE_LIMITED", None);
    b.assert_error("RATE_LIMITED", None);
    // After the 15-minute window, the right code works.
    app.clock.advance(Duration::minutes(15));
    let token = first_factor(&app, "ada@example.com").await;
    verify_totp(&app, &token, &phone.code(&app, 0)).await.data();
}

// --- recovery codes --------------------------------------------------------------------------

#[tokio::test]
async fn each_recovery_code_works_once() {
    let (app, _sink) = mfa_app(&[]).await;
    let (_user, _phone, codes) = enrolled_user(&app, "ada@example.com").await;

    let token = first_factor(&app, "ada@example.com").await;
    // As people type it: upper case, spaces for dashes.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let signed_in = verify_recovery(&app, &token, &typed).await;
    let payload = &signed_in.data()["verifyMfa"];
    assert_eq!(
        payload["session"]["authenticationMethods"],
        json!(["PASSWORD", "RECOVERY_CODE"])
    );
    let access = payload["accessToken"].as_str().unwrap();
    assert_eq!(me(&app, access).await["recoveryCodesLeft"], 9);
    let log = app.security_log(access).await;
    assert_eq!(count(&log, "RECOVERY_CODE_USED"), 1);
    assert!(log.contains(&("SIGNED_IN".to_owned(), Some("RECOVERY_CODE".to_owned()))));

    let token = first_factor(&app, "ada@example.com").await;
    verify_recovery(&app, &token, &codes[0])
        .await
        .assert_error("INVALID_TOKEN", None);
    verify_recovery(&app, &token, &codes[1]).await.data();
}

#[tokio::test]
async fn two_concurrent_uses_of_one_recovery_code_sign_in_once() {
    let (app, _sink) = mfa_app(&[]).await;
    let (_user, _phone, codes) = enrolled_user(&app, "ada@example.com").await;
    let beside = app.spawn_beside(&["--encryption-key", KEY_HEX]).await;
    for code in &codes[..3] {
        let one = first_factor(&app, "ada@example.com").await;
        let other = first_factor(&beside, "ada@example.com").await;
        let (a, b) = tokio::join!(
            verify_recovery(&app, &one, code),
            verify_recovery(&beside, &other, code)
        );
        let winners = [&a, &b]
            .iter()
            .filter(|r| r.body["data"]["verifyMfa"].is_object())
            .count();
        assert_eq!(winners, 1, "{} / {}", a.body, b.body);
    }
}

#[tokio::test]
async fn verify_mfa_takes_exactly_one_answer() {
    let (app, _sink) = mfa_app(&[]).await;
    let (_user, phone, codes) = enrolled_user(&app, "ada@example.com").await;
    let token = first_factor(&app, "ada@example.com").await;
    for input in [
        json!({ "mfaToken": token }),
        json!({ "mfaToken": token, "totpCode": phone.code(&app, 0), "recoveryCode": codes[0] }),
    ] {
        app.graphql(VERIFY, json!({ "input": input }))
            .await
            .assert_error("BAD_USER_INPUT", Some("totpCode"));
    }
    app.graphql(
        VERIFY,
        json!({ "input": { "mfaToken": token, "totpCode": "12a456" } }),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("totpCode"));
    // None of these counted: the token still takes the right code.
    verify_totp(&app, &token, &phone.code(&app, 0)).await.data();
    // An unknown token.
    verify_totp(&app, "not-a-token", &phone.code(&app, 1))
        .await
        .assert_error("INVALID_TOKEN", None);
}

// --- turning it off, new recovery codes ------------------------------------------------------

#[tokio::test]
async fn disabling_needs_a_valid_code_and_then_sign_in_needs_one_factor() {
    let (app, _sink) = mfa_app(&[]).await;
    let (user, phone, codes) = enrolled_user(&app, "ada@example.com").await;
    let refused = app
        .graphql_as(
            &user.access_token,
            DISABLE,
            json!({ "code": phone.code(&app, 4) }),
        )
        .await;
    refused.assert_error("INVALID_TOKEN", None);
    let wrong_recovery = app
        .graphql_as(
            &user.access_token,
            DISABLE,
            json!({ "code": "0000-0000-0000" }),
        )
        .await;
    wrong_recovery.assert_error("INVALID_TOKEN", None);
    app.graphql_as(&user.access_token, DISABLE, json!({ "code": "nonsense" }))
        .await
        .assert_error("BAD_USER_INPUT", Some("code"));
    assert_eq!(me(&app, &user.access_token).await["totpEnabled"], true);

    let disabled = app
        .graphql_as(&user.access_token, DISABLE, json!({ "code": codes[2] }))
        .await;
    assert_eq!(disabled.data()["disableTotp"], true);
    let me_now = me(&app, &user.access_token).await;
    assert_eq!(me_now["totpEnabled"], false);
    assert_eq!(me_now["recoveryCodesLeft"], 0);
    password_sign_in(&app, "ada@example.com").await.data();
    let log = app.security_log(&user.access_token).await;
    assert!(log.contains(&("TOTP_DISABLED".to_owned(), Some("RECOVERY_CODE".to_owned()))));
    assert_eq!(count(&log, "MFA_FAILED"), 2);
    assert_eq!(
        totp_factor::Entity::find()
            .count(app.state.db())
            .await
            .unwrap(),
        0
    );
    // And it can be turned on again, with a TOTP code this time to turn it off.
    app.clock.advance(Duration::seconds(30));
    let (phone, _codes) = enroll(&app, &user.access_token).await;
    let disabled = app
        .graphql_as(
            &user.access_token,
            DISABLE,
            json!({ "code": phone.code(&app, 0) }),
        )
        .await;
    assert_eq!(disabled.data()["disableTotp"], true);
}

#[tokio::test]
async fn new_recovery_codes_need_a_totp_code_and_replace_the_old_ones() {
    let (app, _sink) = mfa_app(&[]).await;
    let (user, phone, old) = enrolled_user(&app, "ada@example.com").await;
    app.graphql_as(
        &user.access_token,
        REGENERATE,
        json!({ "code": phone.code(&app, 3) }),
    )
    .await
    .assert_error("INVALID_TOKEN", None);
    app.graphql_as(&user.access_token, REGENERATE, json!({ "code": old[0] }))
        .await
        .assert_error("BAD_USER_INPUT", Some("code"));

    let fresh = app
        .graphql_as(
            &user.access_token,
            REGENERATE,
            json!({ "code": phone.code(&app, 0) }),
        )
        .await;
    let fresh: Vec<String> = fresh.data()["regenerateRecoveryCodes"]["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !old.contains(c)));
    assert_eq!(
        count(
            &app.security_log(&user.access_token).await,
            "RECOVERY_CODES_REGENERATED"
        ),
        1
    );

    let token = first_factor(&app, "ada@example.com").await;
    verify_recovery(&app, &token, &old[1])
        .await
        .assert_error("INVALID_TOKEN", None);
    verify_recovery(&app, &token, &fresh[0]).await.data();
}

#[tokio::test]
async fn pending_sign_ins_end_when_the_other_sessions_are_revoked() {
    let (app, _sink) = mfa_app(&[]).await;
    let (user, phone, _codes) = enrolled_user(&app, "ada@example.com").await;
    let pending = first_factor(&app, "ada@example.com").await;
    app.graphql_as(
        &user.access_token,
        "mutation { revokeOtherSessions }",
        json!({}),
    )
    .await
    .data();
    assert_eq!(
        mfa_challenge::Entity::find()
            .count(app.state.db())
            .await
            .unwrap(),
        0
    );
    verify_totp(&app, &pending, &phone.code(&app, 0))
        .await
        .assert_error("INVALID_TOKEN", None);
}
