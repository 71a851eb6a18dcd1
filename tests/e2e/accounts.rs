//! Password accounts and sessions: sign-up, sign-in, tokens, rotation and reuse detection,
//! session management, profile, deletion and rate limits.

use crate::support::*;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashSet;

const SIGN_IN: &str = "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) { accessToken refreshToken session { id } user { id email } } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken session { id expiresAt } user { id } } }";
const ME: &str = "{ me { id email username avatar emailVerified hasPassword } }";
const SESSIONS: &str = "{ sessions { id current ipAddress userAgent createdAt expiresAt } }";

/// `updateProfile` as [`UPDATE_PROFILE`] selects it.
#[derive(Debug, Deserialize)]
struct Profile {
    username: String,
    avatar: Option<String>,
}

async fn sign_up_with(app: &TestApp, email: &str, password: &str) -> Gql {
    app.graphql(
        SIGN_UP,
        json!({ "input": { "email": email, "password": password } }),
    )
    .await
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> Gql {
    app.graphql(SIGN_IN, json!({ "e": email, "p": password }))
        .await
}

async fn refresh(app: &TestApp, token: &str) -> Gql {
    app.graphql(REFRESH, json!({ "t": token })).await
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.graphql_as(token, ME, json!({})).await.body
}

// --- sign-up -----------------------------------------------------------------------------

#[tokio::test]
async fn sign_up_returns_tokens_that_work_for_me() {
    let app = spawn_app().await;
    let user = app.sign_up("Ada@Example.com").await;
    let me: User = app
        .graphql_as(&user.access_token, ME, json!({}))
        .await
        .root_as("me");
    assert_eq!(me.id, user.id);
    assert_eq!(me.email.as_deref(), Some("ada@example.com"));
    assert_eq!(me.email_verified, Some(false));
    assert_eq!(me.has_password, Some(true));
}

#[tokio::test]
async fn emails_are_trimmed_and_lowercased_and_username_defaults_to_the_local_part() {
    let app = spawn_app().await;
    let signed_up: AuthPayload = sign_up_with(&app, "  Grace.Hopper@Example.COM ", PASSWORD)
        .await
        .root_as("signUp");
    assert_eq!(
        signed_up.user().email.as_deref(),
        Some("grace.hopper@example.com")
    );
    assert_eq!(signed_up.user().username.as_deref(), Some("grace.hopper"));
    let signed_in: AuthPayload = sign_in(&app, "GRACE.HOPPER@example.com  ", PASSWORD)
        .await
        .root_as("signIn");
    assert_eq!(
        signed_in.user().email.as_deref(),
        Some("grace.hopper@example.com")
    );
    assert_eq!(signed_in.user().id, signed_up.user().id);
}

#[tokio::test]
async fn malformed_emails_are_bad_user_input_on_email() {
    let app = spawn_app().await;
    for email in [
        "",
        "not-an-email",
        "a@b",
        "Ada <ada@example.com>",
        "ada@@example.com",
    ] {
        sign_up_with(&app, email, PASSWORD)
            .await
            .assert_error("BAD_USER_INPUT", Some("email"));
    }
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn an_email_is_taken_case_insensitively() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com").await;
    let again = sign_up_with(&app, "ADA@Example.com", PASSWORD).await;
    again.assert_error("CONFLICT", None);
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn parallel_sign_ups_with_one_address_give_one_account_and_conflicts() {
    let app = spawn_app().await;
    let attempts = (0..4).map(|i| {
        let email = if i % 2 == 0 {
            "race@example.com"
        } else {
            "RACE@example.com"
        };
        sign_up_with(&app, email, PASSWORD)
    });
    let results = futures_util::future::join_all(attempts).await;
    let ok = results
        .iter()
        .filter(|r| r.body.get("errors").is_none())
        .count();
    let conflicts = results
        .iter()
        .filter(|r| r.body["errors"][0]["extensions"]["code"] == "CONFLICT")
        .count();
    assert_eq!((ok, conflicts), (1, 3), "{results:?}");
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn passwords_must_be_8_to_128_characters_counted_as_characters() {
    let app = spawn_app().await;
    sign_up_with(&app, "a@example.com", "Xq7!zP2")
        .await
        .assert_error("BAD_USER_INPUT", Some("password"));
    let too_long: String = "Zebra-Quilt-9 ".repeat(10);
    assert!(too_long.chars().count() > 128);
    sign_up_with(&app, "a@example.com", &too_long)
        .await
        .assert_error("BAD_USER_INPUT", Some("password"));
    // 8 characters in 16 bytes: too short in bytes-blind counting would pass, and must not here.
    let seven_chars = "ŧĦœ¶ŋđŁ";
    sign_up_with(&app, "a@example.com", seven_chars)
        .await
        .assert_error("BAD_USER_INPUT", Some("password"));
    // 128 multibyte characters (256+ bytes) are accepted.
    let long_ok: String = "ĝœŧ ĥørşë ŋ ".chars().cycle().take(128).collect();
    let response = sign_up_with(&app, "b@example.com", &long_ok).await;
    assert!(response.body.get("errors").is_none(), "{}", response.body);
}

#[tokio::test]
async fn common_passwords_are_refused_with_a_helpful_message() {
    let app = spawn_app().await;
    for weak in ["password123", "qwertyuiop", "iloveyou1", "ada@example.com"] {
        let response = sign_up_with(&app, "ada@example.com", weak).await;
        response.assert_error("BAD_USER_INPUT", Some("password"));
        assert!(
            response.message().contains("too easy to guess"),
            "{}",
            response.message()
        );
    }
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_phc_strings_with_the_product_parameters() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    use sea_orm::EntityTrait;
    let row = todoql_entity::user::Entity::find_by_id(uuid::Uuid::parse_str(&user.id).unwrap())
        .one(app.state.db())
        .await
        .unwrap()
        .unwrap();
    let hash = row.password_hash.unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn usernames_are_validated_at_sign_up() {
    let app = spawn_app().await;
    for bad in ["   ", &"x".repeat(51)] {
        let response = app
            .graphql(SIGN_UP, json!({ "input": { "email": "u@example.com", "password": PASSWORD, "username": bad } }))
            .await;
        response.assert_error("BAD_USER_INPUT", Some("username"));
    }
    let ok = app
        .graphql(SIGN_UP, json!({ "input": { "email": "u@example.com", "password": PASSWORD, "username": "  Ünïcode Name  " } }))
        .await;
    assert_eq!(ok.data()["signUp"]["user"]["username"], "Ünïcode Name");
}

// --- sign-in -----------------------------------------------------------------------------

#[tokio::test]
async fn unknown_email_and_wrong_password_answer_the_same() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com").await;
    let wrong_password = sign_in(&app, "ada@example.com", "not the password at all").await;
    let unknown_email = sign_in(&app, "nobody@example.com", PASSWORD).await;
    wrong_password.assert_error("INVALID_CREDENTIALS", None);
    unknown_email.assert_error("INVALID_CREDENTIALS", None);
    assert_eq!(wrong_password.body, unknown_email.body);
    let right = sign_in(&app, "ada@example.com", PASSWORD).await;
    assert!(right.data()["signIn"]["accessToken"].is_string());
}

#[tokio::test]
async fn each_sign_in_is_its_own_session() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    let second = sign_in(&app, "ada@example.com", PASSWORD).await;
    assert_ne!(
        second.data()["signIn"]["session"]["id"],
        user.session_id.as_str()
    );
    let sessions = app
        .graphql_as(&user.access_token, SESSIONS, json!({}))
        .await;
    assert_eq!(sessions.data()["sessions"].as_array().unwrap().len(), 2);
}

// --- access tokens -----------------------------------------------------------------------

fn forge(claims: Value, algorithm: jsonwebtoken::Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(algorithm),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn claims_of(user: &TestUser) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "sub": user.id, "sid": user.session_id, "iat": now, "exp": now + 600, "iss": "todoql", "aud": "todoql" })
}

const TEST_SECRET: &[u8] = b"test-secret-test-secret-test-secret!!";

#[tokio::test]
async fn tampered_and_foreign_access_tokens_are_rejected() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    // The forger knows our secret and claims, so only the rule under test can reject each one.
    let genuine = forge(
        claims_of(&user),
        jsonwebtoken::Algorithm::HS256,
        TEST_SECRET,
    );
    assert_eq!(
        me(&app, &genuine).await["data"]["me"]["id"],
        user.id.as_str()
    );

    let mut cases: Vec<(&str, String)> = Vec::new();
    cases.push((
        "other secret",
        forge(
            claims_of(&user),
            jsonwebtoken::Algorithm::HS256,
            b"another-secret-another-secret-another",
        ),
    ));
    cases.push((
        "HS384",
        forge(
            claims_of(&user),
            jsonwebtoken::Algorithm::HS384,
            TEST_SECRET,
        ),
    ));
    cases.push((
        "HS512",
        forge(
            claims_of(&user),
            jsonwebtoken::Algorithm::HS512,
            TEST_SECRET,
        ),
    ));
    let mut wrong_iss = claims_of(&user);
    wrong_iss["iss"] = json!("someone-else");
    cases.push((
        "iss",
        forge(wrong_iss, jsonwebtoken::Algorithm::HS256, TEST_SECRET),
    ));
    let mut wrong_aud = claims_of(&user);
    wrong_aud["aud"] = json!("another-app");
    cases.push((
        "aud",
        forge(wrong_aud, jsonwebtoken::Algorithm::HS256, TEST_SECRET),
    ));
    let mut expired = claims_of(&user);
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 1);
    cases.push((
        "expired",
        forge(expired, jsonwebtoken::Algorithm::HS256, TEST_SECRET),
    ));
    let mut other_session = claims_of(&user);
    other_session["sid"] = json!(uuid::Uuid::new_v4().to_string());
    cases.push((
        "unknown session",
        forge(other_session, jsonwebtoken::Algorithm::HS256, TEST_SECRET),
    ));
    // alg "none": header and payload without a signature.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims_of(&user).to_string())
    );
    cases.push(("alg none", none));
    let mut flipped = user.access_token.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    cases.push(("flipped signature", String::from_utf8(flipped).unwrap()));

    for (name, token) in cases {
        let body = me(&app, &token).await;
        assert!(body["data"]["me"].is_null(), "{name}: {body}");
        let sessions = app.graphql_as(&token, SESSIONS, json!({})).await;
        sessions.assert_error("UNAUTHENTICATED", None);
    }
}

#[tokio::test]
async fn access_tokens_expire_after_15_minutes() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    app.clock.advance(chrono::Duration::minutes(14));
    assert!(me(&app, &user.access_token).await["data"]["me"].is_object());
    app.clock
        .advance(chrono::Duration::minutes(1) + chrono::Duration::seconds(1));
    assert!(me(&app, &user.access_token).await["data"]["me"].is_null());
}

#[tokio::test]
async fn signed_out_callers_get_null_me_and_unauthenticated_elsewhere() {
    let app = spawn_app().await;
    let response = app.graphql(ME, json!({})).await;
    assert!(response.data()["me"].is_null());
    app.graphql(SESSIONS, json!({}))
        .await
        .assert_error("UNAUTHENTICATED", None);
    app.graphql("mutation { signOut }", json!({}))
        .await
        .assert_error("UNAUTHENTICATED", None);
    app.graphql("mutation { revokeOtherSessions }", json!({}))
        .await
        .assert_error("UNAUTHENTICATED", None);
    app.graphql(
        "mutation { updateProfile(input: {username: \"x\"}) { id } }",
        json!({}),
    )
    .await
    .assert_error("UNAUTHENTICATED", None);
    app.graphql(
        "mutation { deleteAccount(input: {password: \"x\"}) }",
        json!({}),
    )
    .await
    .assert_error("UNAUTHENTICATED", None);
}

#[tokio::test]
async fn the_session_check_and_the_user_load_are_one_statement() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    app.take_statement_count();
    let body = me(&app, &user.access_token).await;
    assert!(body["data"]["me"].is_object());
    assert_eq!(app.take_statement_count(), 1);
}

// --- refresh tokens ----------------------------------------------------------------------

#[tokio::test]
async fn refresh_rotates_both_tokens_and_extends_the_session() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    app.clock.advance(chrono::Duration::days(20));
    let payload: AuthPayload = refresh(&app, &user.refresh_token)
        .await
        .root_as("refreshSession");
    assert_ne!(payload.refresh_token(), user.refresh_token);
    assert_ne!(payload.access_token, user.access_token);
    assert_eq!(payload.session().id, user.session_id);
    let expires: chrono::DateTime<chrono::Utc> = payload
        .session()
        .expires_at
        .as_deref()
        .expect("expiresAt")
        .parse()
        .unwrap();
    let expected = chrono::Utc::now() + chrono::Duration::days(50);
    assert!(
        (expires - expected).num_seconds().abs() < 60,
        "{expires} vs {expected}"
    );
    // The session outlives its original 30 days thanks to the refresh.
    app.clock.advance(chrono::Duration::days(15));
    let again = refresh(&app, payload.refresh_token()).await;
    assert!(again.data()["refreshSession"]["accessToken"].is_string());
}

#[tokio::test]
async fn refresh_tokens_are_stored_only_as_sha256() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    use sea_orm::EntityTrait;
    use sha2::Digest;
    let session = todoql_entity::session::Entity::find_by_id(
        uuid::Uuid::parse_str(&user.session_id).unwrap(),
    )
    .one(app.state.db())
    .await
    .unwrap()
    .unwrap();
    let digest: String = sha2::Sha256::digest(user.refresh_token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(session.session_token, digest);
    assert_eq!(user.refresh_token.len(), 43, "32 random bytes, base64url");
}

#[tokio::test]
async fn a_replaced_refresh_token_retried_within_the_grace_window_gets_the_same_successor() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    let first = refresh(&app, &user.refresh_token).await;
    app.clock.advance(chrono::Duration::seconds(5));
    let retried = refresh(&app, &user.refresh_token).await;
    assert_eq!(
        first.data()["refreshSession"]["refreshToken"],
        retried.data()["refreshSession"]["refreshToken"]
    );
    let successor = first.data()["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap();
    assert!(refresh(&app, successor).await.data()["refreshSession"]["accessToken"].is_string());
}

#[tokio::test]
async fn reusing_a_replaced_refresh_token_after_the_grace_window_revokes_the_session() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    let rotated = refresh(&app, &user.refresh_token).await;
    let successor = rotated.data()["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let access = rotated.data()["refreshSession"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(chrono::Duration::seconds(11));

    refresh(&app, &user.refresh_token)
        .await
        .assert_error("INVALID_TOKEN", None);

    refresh(&app, &successor)
        .await
        .assert_error("INVALID_TOKEN", None);
    assert!(
        me(&app, &access).await["data"]["me"].is_null(),
        "the session is revoked at once"
    );
}

#[tokio::test]
async fn reusing_an_older_ancestor_revokes_the_session_even_within_the_grace_window() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    let second = refresh(&app, &user.refresh_token).await.data()["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let third = refresh(&app, &second).await;
    let third_token = third.data()["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // The grandparent is no retry of the last rotation: theft.
    refresh(&app, &user.refresh_token)
        .await
        .assert_error("INVALID_TOKEN", None);
    refresh(&app, &third_token)
        .await
        .assert_error("INVALID_TOKEN", None);
}

#[tokio::test]
async fn parallel_refreshes_of_one_token_never_yield_two_live_sessions() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    let results =
        futures_util::future::join_all((0..8).map(|_| refresh(&app, &user.refresh_token))).await;
    let tokens: HashSet<String> = results
        .iter()
        .filter(|r| r.body.get("errors").is_none())
        .map(|r| {
            r.body["data"]["refreshSession"]["refreshToken"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        tokens.len(),
        1,
        "every winner got the same successor: {results:?}"
    );
    let sessions = app
        .graphql_as(&user.access_token, SESSIONS, json!({}))
        .await;
    assert_eq!(sessions.data()["sessions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn garbage_and_revoked_refresh_tokens_are_invalid_token() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    refresh(&app, "garbage")
        .await
        .assert_error("INVALID_TOKEN", None);
    refresh(&app, "").await.assert_error("INVALID_TOKEN", None);
    app.graphql_as(&user.access_token, "mutation { signOut }", json!({}))
        .await;
    refresh(&app, &user.refresh_token)
        .await
        .assert_error("INVALID_TOKEN", None);
}

#[tokio::test]
async fn an_expired_session_cannot_be_refreshed() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    app.clock
        .advance(chrono::Duration::days(30) + chrono::Duration::seconds(1));
    refresh(&app, &user.refresh_token)
        .await
        .assert_error("INVALID_TOKEN", None);
}

// --- sessions ----------------------------------------------------------------------------

#[tokio::test]
async fn sessions_list_active_ones_newest_first_with_the_current_marked() {
    let app = spawn_app().await;
    let first = app.sign_up("ada@example.com").await;
    app.clock.advance(chrono::Duration::seconds(1));
    let second = TestUser::from_payload(
        &sign_in(&app, "ada@example.com", PASSWORD).await.data()["signIn"],
        "ada@example.com",
    );
    app.clock.advance(chrono::Duration::seconds(1));
    let third = TestUser::from_payload(
        &sign_in(&app, "ada@example.com", PASSWORD).await.data()["signIn"],
        "ada@example.com",
    );
    app.graphql_as(
        &third.access_token,
        &format!("mutation {{ revokeSession(id: \"{}\") }}", third.session_id),
        json!({}),
    )
    .await;

    let list = app
        .graphql_as(&first.access_token, SESSIONS, json!({}))
        .await;
    let sessions: Vec<Session> = list.root_as("sessions");
    let ids: Vec<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![second.session_id.as_str(), first.session_id.as_str()]
    );
    assert_eq!(sessions[1].current, Some(true));
    assert_eq!(sessions[0].current, Some(false));
    assert_eq!(sessions[0].ip_address.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn revoking_another_users_session_is_not_found_and_changes_nothing() {
    let app = spawn_app().await;
    let ada = app.sign_up("ada@example.com").await;
    let eve = app.sign_up("eve@example.com").await;
    let response = app
        .graphql_as(
            &eve.access_token,
            &format!("mutation {{ revokeSession(id: \"{}\") }}", ada.session_id),
            json!({}),
        )
        .await;
    response.assert_error("NOT_FOUND", None);
    assert!(me(&app, &ada.access_token).await["data"]["me"].is_object());
    app.graphql_as(
        &eve.access_token,
        "mutation { revokeSession(id: \"not-a-uuid\") }",
        json!({}),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("id"));
}

#[tokio::test]
async fn revocation_takes_effect_on_the_very_next_request() {
    let app = spawn_app().await;
    let phone = app.sign_up("ada@example.com").await;
    let laptop = TestUser::from_payload(
        &sign_in(&app, "ada@example.com", PASSWORD).await.data()["signIn"],
        "ada@example.com",
    );
    let revoked = app
        .graphql_as(
            &laptop.access_token,
            &format!("mutation {{ revokeSession(id: \"{}\") }}", phone.session_id),
            json!({}),
        )
        .await;
    assert_eq!(revoked.data()["revokeSession"], true);
    assert!(me(&app, &phone.access_token).await["data"]["me"].is_null());
    refresh(&app, &phone.refresh_token)
        .await
        .assert_error("INVALID_TOKEN", None);

    let signed_out = app
        .graphql_as(&laptop.access_token, "mutation { signOut }", json!({}))
        .await;
    assert_eq!(signed_out.data()["signOut"], true);
    assert!(me(&app, &laptop.access_token).await["data"]["me"].is_null());
}

#[tokio::test]
async fn revoke_other_sessions_keeps_only_the_current_one() {
    let app = spawn_app().await;
    let current = app.sign_up("ada@example.com").await;
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(TestUser::from_payload(
            &sign_in(&app, "ada@example.com", PASSWORD).await.data()["signIn"],
            "ada@example.com",
        ));
    }
    let stranger = app.sign_up("eve@example.com").await;
    let response = app
        .graphql_as(
            &current.access_token,
            "mutation { revokeOtherSessions }",
            json!({}),
        )
        .await;
    assert_eq!(response.data()["revokeOtherSessions"], 3);
    for other in &others {
        assert!(me(&app, &other.access_token).await["data"]["me"].is_null());
    }
    assert!(me(&app, &current.access_token).await["data"]["me"].is_object());
    assert!(me(&app, &stranger.access_token).await["data"]["me"].is_object());
}

#[tokio::test]
async fn sessions_record_the_peer_address_and_ignore_x_forwarded_for_by_default() {
    let sign_in_from = |app: &TestApp| {
        app.client
            .post(format!("{}/graphql", app.base_url))
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.7")
            .header("user-agent", format!("Agent/{}", "x".repeat(1000)))
            .json(&json!({ "query": SIGN_IN, "variables": { "e": "ada@example.com", "p": PASSWORD } }))
            .send()
    };
    let direct = spawn_app().await;
    direct.sign_up("ada@example.com").await;
    let body: Value = sign_in_from(&direct).await.unwrap().json().await.unwrap();
    let token = body["data"]["signIn"]["accessToken"].as_str().unwrap();
    let sessions = direct.graphql_as(token, SESSIONS, json!({})).await;
    let current = sessions.data()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()
        .clone();
    assert_eq!(current["ipAddress"], "127.0.0.1");
    assert_eq!(
        current["userAgent"].as_str().unwrap().chars().count(),
        512,
        "truncated"
    );

    let proxied = TestApp::spawn_with(&["--trust-proxy", "true"]).await;
    proxied.sign_up("ada@example.com").await;
    let body: Value = sign_in_from(&proxied).await.unwrap().json().await.unwrap();
    let token = body["data"]["signIn"]["accessToken"].as_str().unwrap();
    let sessions = proxied.graphql_as(token, SESSIONS, json!({})).await;
    let current = sessions.data()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()
        .clone();
    assert_eq!(
        current["ipAddress"], "198.51.100.7",
        "the address our proxy appended"
    );
}

// --- password change ---------------------------------------------------------------------

const CHANGE_PASSWORD: &str = "mutation($c: String, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { accessToken refreshToken session { id } } }";
const NEW_PASSWORD: &str = "another fine horse saddle";

#[tokio::test]
async fn change_password_needs_the_current_one() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    app.graphql_as(
        &user.access_token,
        CHANGE_PASSWORD,
        json!({ "n": NEW_PASSWORD }),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("currentPassword"));
    app.graphql_as(
        &user.access_token,
        CHANGE_PASSWORD,
        json!({ "c": "wrong password here", "n": NEW_PASSWORD }),
    )
    .await
    .assert_error("INVALID_CREDENTIALS", None);
    app.graphql_as(
        &user.access_token,
        CHANGE_PASSWORD,
        json!({ "c": PASSWORD, "n": "short" }),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("newPassword"));
    assert!(
        sign_in(&app, "ada@example.com", PASSWORD)
            .await
            .body
            .get("errors")
            .is_none()
    );
}

#[tokio::test]
async fn change_password_keeps_this_session_revokes_the_others_and_returns_fresh_tokens() {
    let app = spawn_app().await;
    let current = app.sign_up("ada@example.com").await;
    let other = TestUser::from_payload(
        &sign_in(&app, "ada@example.com", PASSWORD).await.data()["signIn"],
        "ada@example.com",
    );

    let changed = app
        .graphql_as(
            &current.access_token,
            CHANGE_PASSWORD,
            json!({ "c": PASSWORD, "n": NEW_PASSWORD }),
        )
        .await;
    let payload = &changed.data()["changePassword"];
    assert_eq!(payload["session"]["id"], current.session_id.as_str());
    assert_ne!(payload["refreshToken"], current.refresh_token.as_str());

    assert!(me(&app, payload["accessToken"].as_str().unwrap()).await["data"]["me"].is_object());
    assert!(me(&app, &other.access_token).await["data"]["me"].is_null());
    refresh(&app, &current.refresh_token)
        .await
        .assert_error("INVALID_TOKEN", None);
    assert!(
        refresh(&app, payload["refreshToken"].as_str().unwrap())
            .await
            .body
            .get("errors")
            .is_none()
    );
    sign_in(&app, "ada@example.com", PASSWORD)
        .await
        .assert_error("INVALID_CREDENTIALS", None);
    assert!(
        sign_in(&app, "ada@example.com", NEW_PASSWORD)
            .await
            .body
            .get("errors")
            .is_none()
    );
}

// --- profile -----------------------------------------------------------------------------

const UPDATE_PROFILE: &str =
    "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { username avatar updatedAt } }";

#[tokio::test]
async fn update_profile_validates_and_absent_fields_stay() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    let token = &user.access_token;
    let set = app
        .graphql_as(
            token,
            UPDATE_PROFILE,
            json!({ "i": { "username": "  Ada L.  ", "avatar": "https://example.com/ada.png" } }),
        )
        .await;
    let set: Profile = set.root_as("updateProfile");
    assert_eq!(set.username, "Ada L.");
    assert_eq!(set.avatar.as_deref(), Some("https://example.com/ada.png"));

    let only_name = app
        .graphql_as(token, UPDATE_PROFILE, json!({ "i": { "username": "Ada" } }))
        .await;
    assert_eq!(
        only_name.data()["updateProfile"]["avatar"],
        "https://example.com/ada.png"
    );

    for (input, field) in [
        (json!({ "username": "" }), "username"),
        (json!({ "username": "   " }), "username"),
        (json!({ "username": "x".repeat(51) }), "username"),
        (json!({ "username": null }), "username"),
        (json!({ "avatar": "http://example.com/a.png" }), "avatar"),
        (json!({ "avatar": "javascript:alert(1)" }), "avatar"),
        (
            json!({ "avatar": format!("https://example.com/{}", "a".repeat(2040)) }),
            "avatar",
        ),
    ] {
        app.graphql_as(token, UPDATE_PROFILE, json!({ "i": input }))
            .await
            .assert_error("BAD_USER_INPUT", Some(field));
    }
    let unchanged = app.graphql_as(token, ME, json!({})).await;
    assert_eq!(unchanged.data()["me"]["username"], "Ada");

    let cleared: Profile = app
        .graphql_as(token, UPDATE_PROFILE, json!({ "i": { "avatar": null } }))
        .await
        .root_as("updateProfile");
    assert_eq!(cleared.avatar, None);
    assert_eq!(cleared.username, "Ada");
}

// --- account deletion --------------------------------------------------------------------

#[tokio::test]
async fn delete_account_needs_the_password() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    app.graphql_as(
        &user.access_token,
        "mutation { deleteAccount(input: {}) }",
        json!({}),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("password"));
    app.graphql_as(
        &user.access_token,
        "mutation { deleteAccount(input: {password: \"not my password\"}) }",
        json!({}),
    )
    .await
    .assert_error("INVALID_CREDENTIALS", None);
    assert!(me(&app, &user.access_token).await["data"]["me"].is_object());
}

#[tokio::test]
async fn delete_account_removes_everything_at_once_and_frees_the_email() {
    let app = spawn_app().await;
    let user = app.sign_up("ada@example.com").await;
    let other_device = TestUser::from_payload(
        &sign_in(&app, "ada@example.com", PASSWORD).await.data()["signIn"],
        "ada@example.com",
    );
    let user_id = uuid::Uuid::parse_str(&user.id).unwrap();
    insert_todo_and_trash(&app, user_id).await;

    let deleted = app
        .graphql_as(
            &user.access_token,
            "mutation($p: String) { deleteAccount(input: {password: $p}) }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(deleted.data()["deleteAccount"], true);

    assert!(me(&app, &user.access_token).await["data"]["me"].is_null());
    assert!(me(&app, &other_device.access_token).await["data"]["me"].is_null());
    refresh(&app, &user.refresh_token)
        .await
        .assert_error("INVALID_TOKEN", None);
    sign_in(&app, "ada@example.com", PASSWORD)
        .await
        .assert_error("INVALID_CREDENTIALS", None);
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let db = app.state.db();
    assert_eq!(
        todoql_entity::todo::Entity::find()
            .filter(todoql_entity::todo::Column::UserId.eq(user_id))
            .count(db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        todoql_entity::deleted_todo_log::Entity::find()
            .filter(todoql_entity::deleted_todo_log::Column::UserId.eq(user_id))
            .count(db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        todoql_entity::session::Entity::find()
            .filter(todoql_entity::session::Column::UserId.eq(user_id))
            .count(db)
            .await
            .unwrap(),
        0
    );
    let row = todoql_entity::user::Entity::find_by_id(user_id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        row.deleted_at.is_some(),
        "soft-deleted, purged after 30 days"
    );

    let again = app.sign_up("ada@example.com").await;
    assert_ne!(again.id, user.id);
}

async fn insert_todo_and_trash(app: &TestApp, user_id: uuid::Uuid) {
    use sea_orm::{ActiveModelTrait, Set};
    let now = chrono::Utc::now();
    todoql_entity::todo::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        user_id: Set(user_id),
        title: Set("Buy milk".into()),
        description: Set(None),
        due_date: Set(None),
        is_completed: Set(false),
        completed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(app.state.db())
    .await
    .unwrap();
    todoql_entity::deleted_todo_log::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        user_id: Set(user_id),
        original_todo_id: Set(uuid::Uuid::now_v7()),
        title: Set("Old".into()),
        description: Set(None),
        due_date: Set(None),
        is_completed: Set(true),
        completed_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(now),
    }
    .insert(app.state.db())
    .await
    .unwrap();
}

#[tokio::test]
async fn an_account_without_password_can_be_deleted_only_from_a_recent_sign_in() {
    let app = spawn_app().await;
    let user = passwordless_user(&app, "code@example.com").await;
    app.clock.advance(chrono::Duration::minutes(11));
    // A fresh access token of the same (now old) session.
    let old = refresh(&app, &user.refresh_token).await;
    let token = old.data()["refreshSession"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = app
        .graphql_as(&token, "mutation { deleteAccount(input: {}) }", json!({}))
        .await;
    refused.assert_error("REAUTHENTICATION_REQUIRED", None);
    assert_eq!(refused.body["errors"][0]["extensions"]["maxAge"], 600);

    let recent = passwordless_session(&app, &user.id).await;
    let response = app
        .graphql_as(
            &recent.access_token,
            "mutation { deleteAccount(input: {}) }",
            json!({}),
        )
        .await;
    assert_eq!(response.data()["deleteAccount"], true);
}

async fn passwordless_user(app: &TestApp, email: &str) -> TestUser {
    use sea_orm::{ActiveModelTrait, Set};
    let now = app.state.now();
    let user = todoql_entity::user::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        email: Set(email.into()),
        username: Set("code".into()),
        avatar: Set(None),
        password_hash: Set(None),
        email_verified: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        totp_enabled: Set(false),
    }
    .insert(app.state.db())
    .await
    .unwrap();
    passwordless_session(app, &user.id.to_string()).await
}

async fn passwordless_session(app: &TestApp, user_id: &str) -> TestUser {
    use sea_orm::EntityTrait;
    let user = todoql_entity::user::Entity::find_by_id(uuid::Uuid::parse_str(user_id).unwrap())
        .one(app.state.db())
        .await
        .unwrap()
        .unwrap();
    let email = user.email.clone();
    let signed_in = todoql_domain::auth::sessions::start_session(
        app.state.on(app.state.db()),
        user,
        &Default::default(),
        todoql_domain::auth::sessions::AuthMethod::EmailCode,
    )
    .await
    .unwrap();
    TestUser {
        id: user_id.to_owned(),
        email,
        access_token: signed_in.access_token,
        refresh_token: signed_in.refresh_token,
        session_id: signed_in.session.id.to_string(),
    }
}

// --- rate limits -------------------------------------------------------------------------

#[tokio::test]
async fn failed_sign_ins_per_email_are_limited_even_for_the_right_password() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com").await;
    for _ in 0..10 {
        sign_in(&app, "ada@example.com", "wrong password guess")
            .await
            .assert_error("INVALID_CREDENTIALS", None);
    }
    let limited = sign_in(&app, "ada@example.com", PASSWORD).await;
    limited.assert_error("RATE_LIMITED", None);
    let retry_after = limited.body["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    // Other addresses are not affected.
    app.sign_up("bob@example.com").await;
    assert!(
        sign_in(&app, "bob@example.com", PASSWORD)
            .await
            .body
            .get("errors")
            .is_none()
    );

    app.clock.advance(chrono::Duration::minutes(15));
    assert!(
        sign_in(&app, "ada@example.com", PASSWORD)
            .await
            .body
            .get("errors")
            .is_none()
    );
}

#[tokio::test]
async fn failed_sign_ins_per_ip_are_limited_across_addresses() {
    let app = TestApp::spawn_with(&["--signin-failures-per-ip", "3"]).await;
    app.sign_up("ada@example.com").await;
    for i in 0..3 {
        sign_in(
            &app,
            &format!("nobody{i}@example.com"),
            "wrong password guess",
        )
        .await
        .assert_error("INVALID_CREDENTIALS", None);
    }
    sign_in(&app, "ada@example.com", PASSWORD)
        .await
        .assert_error("RATE_LIMITED", None);
}

#[tokio::test]
async fn a_sign_in_costs_at_most_four_statements_on_postgres_and_five_on_sqlite() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com").await;
    app.take_statement_count();
    let response = sign_in(&app, "ada@example.com", PASSWORD).await;
    assert!(response.body.get("errors").is_none());
    // The user, the attempt counted before the hash (one upsert for address and IP), its
    // unit given back on success, the session with its SIGNED_IN event: one statement on
    // PostgreSQL (a data-modifying WITH); SQLite writes the event in a statement of its own.
    let limit = match app.state.db().get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => 4,
        _ => 5,
    };
    let statements = app.take_statement_count();
    assert!(statements <= limit, "{statements} statements");
}

#[tokio::test]
async fn auth_config_lists_the_sign_in_methods() {
    let app = TestApp::spawn_with(&["--require-verified-email", "false"]).await;
    let response = app
        .graphql(
            "{ authConfig { passwordSignIn emailCodeSignIn oauthProviders requireVerifiedEmail } }",
            json!({}),
        )
        .await;
    let config: AuthConfig = response.root_as("authConfig");
    assert_eq!(config.password_sign_in, Some(true));
    assert_eq!(config.require_verified_email, Some(false));
    assert_eq!(
        config.oauth_providers,
        Some(vec![]),
        "none is configured here"
    );
}

// --- logs --------------------------------------------------------------------------------

#[tokio::test]
async fn no_password_token_or_hash_reaches_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("logs.db").display());
    let server = ServerProcess::start(
        &url,
        &[
            ("TODOQL_LOG", "trace"),
            (
                "TODOQL_JWT_SECRET",
                "a-secret-of-at-least-thirty-two-bytes!",
            ),
        ],
    )
    .await;
    let signed_up = server
        .graphql(
            None,
            SIGN_UP,
            json!({ "input": { "email": "logs@example.com", "password": PASSWORD } }),
        )
        .await;
    let access = signed_up.data()["signUp"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh_token = signed_up.data()["signUp"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .graphql(
            None,
            SIGN_IN,
            json!({ "e": "logs@example.com", "p": "a wrong password!" }),
        )
        .await;
    let refreshed = server
        .graphql(None, REFRESH, json!({ "t": refresh_token }))
        .await;
    let new_refresh = refreshed.data()["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    server.graphql(Some(&access), ME, json!({})).await;

    server.log_when(|log| log.contains("request_id")).await;
    let log = server.log();
    assert!(
        log.contains("request_id"),
        "request logs carry the request id:\n{log}"
    );
    for secret in [
        PASSWORD,
        "a wrong password!",
        &access,
        &refresh_token,
        &new_refresh,
        "$argon2id$",
        "a-secret-of-at-least",
    ] {
        assert!(
            !log.contains(secret),
            "the log contains a secret ({secret}):\n{log}"
        );
    }
    let access_signature = access.rsplit('.').next().unwrap();
    assert!(!log.contains(access_signature));
}
