//! Recent sign-in (issue 12, finding 11): a stolen 15-minute access token of an account
//! without a password must not be enough to keep the account (set a password, link a provider,
//! change the address). Sessions record how and when they signed in.

use crate::fake_providers::{FakeProvider, FakeUser};
use crate::support::*;
use chrono::Duration;
use serde_json::{Value, json};

const CHANGE_PASSWORD: &str =
    "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }";
const SIGN_IN_WITH_CODE: &str = "mutation($input: SignInWithCodeInput!) { signInWithCode(input: $input) { accessToken refreshToken } }";
const SIGN_IN: &str =
    "mutation($input: SignInInput!) { signIn(input: $input) { accessToken refreshToken } }";
const REFRESH: &str =
    "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken } }";
const START: &str = "mutation($p: String!, $r: String!, $c: String!) { startOAuth(provider: $p, redirectUri: $r, codeChallenge: $c) { authorizationUrl } }";
const COMPLETE: &str = "mutation($input: CompleteOAuthInput!) { completeOAuth(input: $input) { accessToken user { id linkedAccounts { provider } } } }";
/// The sessions' recorded methods.
const METHODS: &str = "{ sessions { id current authenticationMethods } }";

const NEW_PASSWORD: &str = "a brand new passphrase 2026";

/// A code sign-in of `email` (creating the account, without a password, on first use).
async fn code_sign_in(app: &TestApp, sink: &SmtpSink, email: &str) -> AuthPayload {
    app.graphql(REQUEST_CODE, json!({ "email": email }))
        .await
        .data();
    let code = sink.next_mail_to(email).await.code().unwrap();
    app.graphql(
        SIGN_IN_WITH_CODE,
        json!({ "input": { "email": email, "code": code } }),
    )
    .await
    .root_as("signInWithCode")
}

fn assert_reauthentication_required(response: &Gql, max_age: u64) {
    response.assert_error("REAUTHENTICATION_REQUIRED", None);
    assert_eq!(
        response.body["errors"][0]["extensions"]["maxAge"], max_age,
        "{}",
        response.body
    );
}

fn set_password(password: &str) -> Value {
    json!({ "input": { "newPassword": password } })
}

#[tokio::test]
async fn a_stolen_token_of_a_passwordless_account_cannot_set_a_password_once_the_sign_in_is_old() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let signed_in = code_sign_in(&app, &sink, "ada@example.com").await;
    // 601 s later the access token (15 minutes) still works, but the sign-in is not recent.
    app.clock.advance(Duration::seconds(601));

    let refused = app
        .graphql_as(
            &signed_in.access_token,
            CHANGE_PASSWORD,
            set_password(NEW_PASSWORD),
        )
        .await;

    assert_reauthentication_required(&refused, 600);
    assert!(
        refused.message().contains("Sign in again"),
        "{}",
        refused.body
    );
    // A refresh does not make the sign-in recent.
    let refreshed = app
        .graphql(REFRESH, json!({ "token": signed_in.refresh_token() }))
        .await;
    let refreshed: AuthPayload = refreshed.root_as("refreshSession");
    assert_reauthentication_required(
        &app.graphql_as(
            &refreshed.access_token,
            CHANGE_PASSWORD,
            set_password(NEW_PASSWORD),
        )
        .await,
        600,
    );

    // A fresh sign-in may.
    let fresh = code_sign_in(&app, &sink, "ada@example.com").await;
    app.graphql_as(
        &fresh.access_token,
        CHANGE_PASSWORD,
        set_password(NEW_PASSWORD),
    )
    .await
    .data();
}

#[tokio::test]
async fn a_passwordless_account_sets_a_password_within_the_max_age() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let signed_in = code_sign_in(&app, &sink, "ada@example.com").await;
    app.clock.advance(Duration::seconds(590));

    app.graphql_as(
        &signed_in.access_token,
        CHANGE_PASSWORD,
        set_password(NEW_PASSWORD),
    )
    .await
    .data();
}

#[tokio::test]
async fn a_stale_session_without_password_cannot_move_the_account_to_another_address() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let signed_in = code_sign_in(&app, &sink, "ada@example.com").await;
    app.clock.advance(Duration::minutes(11));
    let change = json!({ "input": { "newEmail": "thief@evil.example" } });

    let refused = app
        .graphql_as(&signed_in.access_token, REQUEST_CHANGE, change.clone())
        .await;

    assert_reauthentication_required(&refused, 600);
    let fresh = code_sign_in(&app, &sink, "ada@example.com").await;
    let allowed = app
        .graphql_as(&fresh.access_token, REQUEST_CHANGE, change)
        .await;
    assert_eq!(allowed.data()["requestEmailChange"], true);
}

#[tokio::test]
async fn an_account_with_a_password_still_confirms_changes_with_it_however_old_the_session() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let user = app.sign_up("ada@example.com").await;
    sink.next_mail_to("ada@example.com").await;
    app.clock.advance(Duration::minutes(14));

    // The current password is the proof: no recent sign-in needed, and none is enough.
    app.graphql_as(
        &user.access_token,
        CHANGE_PASSWORD,
        json!({ "input": { "newPassword": NEW_PASSWORD } }),
    )
    .await
    .assert_error("BAD_USER_INPUT", Some("currentPassword"));
    app.graphql_as(
        &user.access_token,
        REQUEST_CHANGE,
        json!({ "input": { "newEmail": "ada@new.example", "currentPassword": PASSWORD } }),
    )
    .await
    .data();
}

#[tokio::test]
async fn the_max_age_is_configurable() {
    let (app, sink) = spawn_mail_app(&["--reauth-max-age", "60"]).await;
    let signed_in = code_sign_in(&app, &sink, "ada@example.com").await;
    app.clock.advance(Duration::seconds(61));

    assert_reauthentication_required(
        &app.graphql_as(
            &signed_in.access_token,
            CHANGE_PASSWORD,
            set_password(NEW_PASSWORD),
        )
        .await,
        60,
    );
}

/// The recorded methods of the session that `token` belongs to, and of every live one.
async fn methods(app: &TestApp, token: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let sessions: Vec<Session> = app
        .graphql_as(token, METHODS, json!({}))
        .await
        .root_as("sessions");
    let methods = |session: &Session| {
        session
            .authentication_methods
            .clone()
            .expect("the query selects authenticationMethods")
    };
    let current = sessions
        .iter()
        .find(|session| session.current == Some(true))
        .map(methods)
        .expect("the token's own session is listed");
    let mut all: Vec<_> = sessions.iter().map(methods).collect();
    all.sort();
    (current, all)
}

#[tokio::test]
async fn sessions_record_how_they_signed_in_and_keep_it_across_refreshes() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let by_code = code_sign_in(&app, &sink, "ada@example.com").await;
    assert_eq!(methods(&app, &by_code.access_token).await.0, ["EMAIL_CODE"]);
    app.graphql_as(
        &by_code.access_token,
        CHANGE_PASSWORD,
        set_password(NEW_PASSWORD),
    )
    .await
    .data();
    let by_password = app
        .graphql(
            SIGN_IN,
            json!({ "input": { "email": "ada@example.com", "password": NEW_PASSWORD } }),
        )
        .await;
    let by_password: AuthPayload = by_password.root_as("signIn");
    assert_eq!(
        methods(&app, &by_password.access_token).await.0,
        ["PASSWORD"]
    );

    app.clock.advance(Duration::minutes(20));
    let refreshed = app
        .graphql(REFRESH, json!({ "token": by_password.refresh_token() }))
        .await;
    let refreshed: AuthPayload = refreshed.root_as("refreshSession");
    let (current, all) = methods(&app, &refreshed.access_token).await;
    assert_eq!(current, ["PASSWORD"]);
    assert_eq!(all, [["EMAIL_CODE"], ["PASSWORD"]]);
}

// --- linking a provider ---------------------------------------------------------------------

async fn oauth_app(extra: &[&str]) -> (TestApp, SmtpSink, FakeProvider) {
    let corp = FakeProvider::oidc("corp-client", "corp-secret").await;
    let spec = format!(
        "name=corp,issuer={},client-id=corp-client,client-secret=corp-secret",
        corp.base_url
    );
    let mut args = vec![
        "--encryption-key",
        KEY_HEX,
        "--oauth-redirect-uris",
        CALLBACK,
        "--oidc-provider",
        &spec,
    ];
    args.extend_from_slice(extra);
    let (app, sink) = spawn_mail_app(&args).await;
    (app, sink, corp)
}

async fn start(app: &TestApp, token: Option<&str>) -> Gql {
    let vars = json!({ "p": "corp", "r": CALLBACK, "c": BROWSER_CHALLENGE });
    match token {
        Some(token) => app.graphql_as(token, START, vars).await,
        None => app.graphql(START, vars).await,
    }
}

/// At the provider as `user`, then back: completeOAuth's answer.
async fn finish(
    app: &TestApp,
    corp: &FakeProvider,
    started: &Gql,
    user: FakeUser,
    token: Option<&str>,
) -> Gql {
    let url = started.data()["startOAuth"]["authorizationUrl"]
        .as_str()
        .unwrap();
    corp.set_user(user);
    let back = corp.authorize(url).await;
    let vars = json!({ "input": { "provider": "corp", "code": back.code, "state": back.state, "codeVerifier": BROWSER_VERIFIER } });
    match token {
        Some(token) => app.graphql_as(token, COMPLETE, vars).await,
        None => app.graphql(COMPLETE, vars).await,
    }
}

#[tokio::test]
async fn linking_a_provider_needs_a_recent_sign_in_even_with_a_password() {
    let (app, sink, corp) = oauth_app(&[]).await;
    let user = app.sign_up("ada@example.com").await;
    sink.next_mail_to("ada@example.com").await;
    app.clock.advance(Duration::seconds(601));

    assert_reauthentication_required(&start(&app, Some(&user.access_token)).await, 600);

    let fresh = app
        .graphql(
            SIGN_IN,
            json!({ "input": { "email": "ada@example.com", "password": PASSWORD } }),
        )
        .await;
    let fresh = fresh.root_as::<AuthPayload>("signIn").access_token;
    let started = start(&app, Some(&fresh)).await;
    let linked = finish(
        &app,
        &corp,
        &started,
        FakeUser::verified("corp-1", "ada@corp.example"),
        Some(&fresh),
    )
    .await;
    assert_eq!(
        linked
            .root_as::<AuthPayload>("completeOAuth")
            .user()
            .providers(),
        ["corp"]
    );
}

#[tokio::test]
async fn a_link_completed_after_the_sign_in_went_stale_is_refused() {
    let (app, sink, corp) = oauth_app(&["--reauth-max-age", "60"]).await;
    let signed_in = code_sign_in(&app, &sink, "ada@example.com").await;
    let started = start(&app, Some(&signed_in.access_token)).await;
    app.clock.advance(Duration::seconds(61));

    let refused = finish(
        &app,
        &corp,
        &started,
        FakeUser::verified("corp-1", "ada@corp.example"),
        Some(&signed_in.access_token),
    )
    .await;

    assert_reauthentication_required(&refused, 60);
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        todoql_entity::account::Entity::find()
            .count(app.state.db())
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn an_oauth_sign_in_records_its_method() {
    let (app, _sink, corp) = oauth_app(&[]).await;
    let started = start(&app, None).await;
    let signed_in = finish(
        &app,
        &corp,
        &started,
        FakeUser::verified("corp-1", "ada@corp.example"),
        None,
    )
    .await;
    let signed_in: AuthPayload = signed_in.root_as("completeOAuth");
    assert_eq!(methods(&app, &signed_in.access_token).await.0, ["OAUTH"]);
}
