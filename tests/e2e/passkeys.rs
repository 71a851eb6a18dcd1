//! Passkeys (issue 16): registration and sign-in ceremonies with a software authenticator over
//! the browser's JSON forms, their refusals, ceremonies finished on another instance, the
//! signature counter, and managing passkeys.

use crate::support::*;
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use todoql_entity::{passkey, user};
use todoql_server::config::Config;

const START_REGISTRATION: &str = "mutation { startPasskeyRegistration { ceremonyId options } }";
const FINISH_REGISTRATION: &str = "mutation($input: FinishPasskeyRegistrationInput!) { finishPasskeyRegistration(input: $input) { id name createdAt lastUsedAt } }";
const START_SIGN_IN: &str =
    "mutation($email: String) { startPasskeySignIn(email: $email) { ceremonyId options } }";
const FINISH_SIGN_IN: &str = "mutation($input: FinishPasskeyInput!) { finishPasskeySignIn(input: $input) { accessToken user { id } session { authenticationMethods } } }";
const PASSKEYS: &str = "{ me { passkeys { id name lastUsedAt } } }";
const RENAME: &str =
    "mutation($id: ID!, $name: String!) { renamePasskey(id: $id, name: $name) { id name } }";
const DELETE: &str = "mutation($id: ID!) { deletePasskey(id: $id) }";

/// How a device or page can lie: the options' challenge changed, another origin, another RP
/// id, no user verification. Each must be refused.
type Lie = fn(&mut SoftAuthenticator, &mut Value);

fn lies() -> [(&'static str, Lie); 4] {
    [
        ("challenge", |_, options| {
            options["challenge"] = json!(base64_url(b"a challenge the server never issued"));
        }),
        ("origin", |device, _| {
            device.origin = "https://evil.example.com".into()
        }),
        ("rp id", |device, _| {
            device.rp_id_override = Some("evil.example.com".into())
        }),
        ("user verification", |device, _| {
            device.user_verified = false
        }),
    ]
}

/// A started ceremony: its id and the options for the browser.
struct Started {
    id: String,
    options: Value,
}

fn started(response: &Gql, name: &str) -> Started {
    let ceremony = &response.data()[name];
    Started {
        id: ceremony["ceremonyId"].as_str().unwrap().to_owned(),
        options: ceremony["options"].clone(),
    }
}

async fn start_registration(app: &TestApp, token: &str) -> Started {
    let response = app.graphql_as(token, START_REGISTRATION, json!({})).await;
    started(&response, "startPasskeyRegistration")
}

async fn finish_registration(app: &TestApp, token: &str, id: &str, credential: Value) -> Gql {
    app.graphql_as(
        token,
        FINISH_REGISTRATION,
        json!({ "input": { "ceremonyId": id, "credential": credential } }),
    )
    .await
}

async fn start_sign_in(app: &TestApp, email: Option<&str>) -> Started {
    let response = app.graphql(START_SIGN_IN, json!({ "email": email })).await;
    started(&response, "startPasskeySignIn")
}

async fn finish_sign_in(app: &TestApp, id: &str, credential: Value) -> Gql {
    app.graphql(
        FINISH_SIGN_IN,
        json!({ "input": { "ceremonyId": id, "credential": credential } }),
    )
    .await
}

/// The page's authenticator (the test app's frontend is at APP_URL).
fn authenticator() -> SoftAuthenticator {
    SoftAuthenticator::new(APP_URL)
}

/// Registers a passkey of `token`'s user with `device`; its id.
async fn register(app: &TestApp, token: &str, device: &mut SoftAuthenticator) -> String {
    let ceremony = start_registration(app, token).await;
    let credential = device.create(&ceremony.options);
    let added = finish_registration(app, token, &ceremony.id, credential).await;
    added.data()["finishPasskeyRegistration"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A passkey sign-in of `email` (or discoverable without one) with `device`.
async fn passkey_sign_in(
    app: &TestApp,
    email: Option<&str>,
    device: &mut SoftAuthenticator,
) -> Gql {
    let ceremony = start_sign_in(app, email).await;
    let assertion = device
        .get(&ceremony.options)
        .expect("a credential for the options");
    finish_sign_in(app, &ceremony.id, assertion).await
}

async fn passkeys(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.graphql_as(token, PASSKEYS, json!({})).await;
    response.data()["me"]["passkeys"]
        .as_array()
        .unwrap()
        .clone()
}

async fn stored_passkeys(app: &TestApp) -> u64 {
    passkey::Entity::find().count(app.state.db()).await.unwrap()
}

// --- registration ----------------------------------------------------------------------------

#[tokio::test]
async fn a_passkey_is_registered_from_standard_options_and_then_signs_in_alone() {
    let app = TestApp::spawn_with(&["--app-url", APP_URL]).await;
    let config = app.graphql("{ authConfig { passkeys } }", json!({})).await;
    assert_eq!(config.data()["authConfig"]["passkeys"], true);
    let ada = app.sign_up("ada@example.com").await;
    let mut phone = authenticator();

    let ceremony = start_registration(&app, &ada.access_token).await;
    let options = &ceremony.options;
    // PublicKeyCredentialCreationOptionsJSON itself, not wrapped in {publicKey}.
    assert!(
        options["challenge"].as_str().unwrap().len() >= 43,
        "{options}"
    );
    assert_eq!(options["rp"]["id"], "app.example.com");
    assert_eq!(
        options["user"]["id"].as_str().unwrap(),
        base64_url(uuid::Uuid::parse_str(&ada.id).unwrap().as_bytes())
    );
    assert_eq!(options["user"]["name"], "ada@example.com");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(
        options["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    assert!(options.get("publicKey").is_none());

    let credential = phone.create(options);
    let added = finish_registration(&app, &ada.access_token, &ceremony.id, credential).await;
    let added = &added.data()["finishPasskeyRegistration"];
    assert_eq!(added["name"], "Passkey 1");
    assert_eq!(added["lastUsedAt"], Value::Null);
    assert_eq!(passkeys(&app, &ada.access_token).await.len(), 1);

    // Sign in with the address: the options name the credential, and the session is complete.
    let signed_in = passkey_sign_in(&app, Some("ada@example.com"), &mut phone).await;
    let payload = &signed_in.data()["finishPasskeySignIn"];
    assert_eq!(payload["user"]["id"], ada.id.as_str());
    assert_eq!(
        payload["session"]["authenticationMethods"],
        json!(["PASSKEY"])
    );
    let access = payload["accessToken"].as_str().unwrap();
    let me = app.graphql_as(access, "{ me { id } }", json!({})).await;
    assert_eq!(me.data()["me"]["id"], ada.id.as_str());
    assert!(passkeys(&app, access).await[0]["lastUsedAt"].is_string());
    let log = app.security_log(access).await;
    assert_eq!(log[0], ("SIGNED_IN".to_owned(), Some("PASSKEY".to_owned())));
    assert!(log.contains(&("PASSKEY_ADDED".to_owned(), None)));
}

#[tokio::test]
async fn a_discoverable_passkey_signs_in_without_an_address() {
    let app = TestApp::spawn_with(&["--app-url", APP_URL]).await;
    let ada = app.sign_up("ada@example.com").await;
    let mut phone = authenticator();
    register(&app, &ada.access_token, &mut phone).await;

    let ceremony = start_sign_in(&app, None).await;
    assert!(
        ceremony.options.get("allowCredentials").is_none()
            || ceremony.options["allowCredentials"] == json!([]),
        "{}",
        ceremony.options
    );
    let assertion = phone.get(&ceremony.options).unwrap();
    let signed_in = finish_sign_in(&app, &ceremony.id, assertion).await;
    assert_eq!(
        signed_in.data()["finishPasskeySignIn"]["user"]["id"],
        ada.id.as_str()
    );
}

#[tokio::test]
async fn a_second_registration_excludes_the_first_passkey() {
    let app = TestApp::spawn_with(&["--app-url", APP_URL]).await;
    let ada = app.sign_up("ada@example.com").await;
    let mut phone = authenticator();
    register(&app, &ada.access_token, &mut phone).await;
    let first = passkey::Entity::find()
        .one(app.state.db())
        .await
        .unwrap()
        .unwrap();
    let ceremony = start_registration(&app, &ada.access_token).await;
    let excluded: Vec<&str> = ceremony.options["excludeCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(excluded, [first.credential_id.as_str()]);
    // Another authenticator adds a second one, named by its number.
    let mut laptop = authenticator();
    let credential = laptop.create(&ceremony.options);
    let added = finish_registration(&app, &ada.access_token, &ceremony.id, credential).await;
    assert_eq!(
        added.data()["finishPasskeyRegistration"]["name"],
        "Passkey 2"
    );
}

#[tokio::test]
async fn registration_refuses_a_wrong_challenge_origin_rp_id_or_no_user_verification() {
    let app = TestApp::spawn_with(&["--app-url", APP_URL]).await;
    let ada = app.sign_up("ada@example.com").await;
    for (what, lie) in lies() {
        let mut device = authenticator();
        let ceremony = start_registration(&app, &ada.access_token).await;
        let mut options = ceremony.options.clone();
        lie(&mut device, &mut options);
        let credential = device.create(&options);
        let refused = finish_registration(&app, &ada.access_token, &ceremony.id, credential).await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "{what}: {}", refused.body);
        assert_eq!(refused.field(), "credential", "{what}");
    }
    assert_eq!(stored_passkeys(&app).await, 0);
}

#[tokio::test]
async fn registration_needs_a_recent_sign_in_and_its_own_ceremony() {
    let app = TestApp::spawn_with(&["--app-url", APP_URL]).await;
    let ada = app.sign_up("ada@example.com").await;
    let bob = app.sign_up("bob@example.com").await;
    let mut device = authenticator();
    // Bob cannot finish Ada's ceremony.
    let ceremony = start_registration(&app, &ada.access_token).await;
    let credential = device.create(&ceremony.options);
    finish_registration(&app, &bob.access_token, &ceremony.id, credential)
        .await
        .assert_error("INVALID_TOKEN", None);
    // A ceremony lives 5 minutes.
    let ceremony = start_registration(&app, &ada.access_token).await;
    app.clock.advance(Duration::seconds(301));
    let credential = authenticator().create(&ceremony.options);
    finish_registration(&app, &ada.access_token, &ceremony.id, credential)
        .await
        .assert_error("INVALID_TOKEN", None);
    // Past TODOQL_REAUTH_MAX_AGE, no new ceremony.
    app.clock.advance(Duration::seconds(300));
    app.graphql_as(&ada.access_token, START_REGISTRATION, json!({}))
        .await
        .assert_error("REAUTHENTICATION_REQUIRED", None);
    app.graphql(START_REGISTRATION, json!({}))
        .await
        .assert_error("UNAUTHENTICATED", None);
}

// --- sign-in ---------------------------------------------------------------------------------

#[tokio::test]
async fn sign_in_refuses_a_wrong_challenge_origin_rp_id_or_no_user_verification() {
    let app = TestApp::spawn_with(&["--app-url", APP_URL]).await;
    let ada = app.sign_up("ada@example.com").await;
    let mut device = authenticator();
    register(&app, &ada.access_token, &mut device).await;
    for (what, lie) in lies() {
        let ceremony = start_sign_in(&app, Some("ada@example.com")).await;
        let mut options = ceremony.options.clone();
        lie(&mut device, &mut options);
        let assertion = device.get(&options).unwrap();
        let refused = finish_sign_in(&app, &ceremony.id, assertion).await;
        assert_eq!(refused.code(), "INVALID_TOKEN", "{what}: {}", refused.body);
        // Back to an honest device for the next lie.
        device.origin = APP_URL.into();
        device.rp_id_override = None;
        device.user_verified = true;
    }
    let signed_in = passkey_sign_in(&app, Some("ada@example.com"), &mut device).await;
    let access = signed_in.data()["finishPasskeySignIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // Recorded off the answer's path: wait for the four.
    wait_until("four failed passkey sign-ins are recorded", || async {
        let failed = app
            .security_log(&access)
            .await
            .iter()
            .filter(|(kind, method)| {
                kind == "SIGN_IN_FAILED" && method.as_deref() == Some("PASSKEY")
            })
            .count();
        failed == 4
    })
    .await;
}

#[tokio::test]
async fn a_finish_cannot_be_replayed() {
    let app = TestApp::spawn_with(&["--app-url", APP_URL]).await;
    let ada = app.sign_up("ada@example.com").await;
    let mut device = authenticator();
    register(&app, &ada.access_token, &mut device).await;
    let ceremony = start_sign_in(&app, Some("ada@example.com")).await;
    let assertion = device.get(&ceremony.options).unwrap();
    finish_sign_in(&app, &ceremony.id, assertion.clone())
        .await
        .data();
    finish_sign_in(&app, &ceremony.id, assertion.clone())
        .await
        .assert_error("INVALID_TOKEN", None);
    // Nor the assertion answered to another ceremony (its challenge is not this one's).
    let other = start_sign_in(&app, Some("ada@example.com")).await;
    finish_sign_in(&app, &other.id, assertion)
        .await
        .assert_error("INVALID_TOKEN", None);
}

#[tokio::test]
async fn ceremonies_finish_on_another_instance() {
    let app = TestApp::spawn_with(&["--app-url", APP_URL]).await;
    let beside = app.spawn_beside(&["--app-url", APP_URL]).await;
    let ada = app.sign_up("ada@example.com").await;
    let mut device = authenticator();

    let ceremony = start_registration(&app, &ada.access_token).await;
    let credential = device.create(&ceremony.options);
    finish_registration(&beside, &ada.access_token, &ceremony.id, credential)
        .await
        .data();

    let ceremony = start_sign_in(&beside, Some("ada@example.com")).await;
    let assertion = device.get(&ceremony.options).unwrap();
    let signed_in = finish_sign_in(&app, &ceremony.id, assertion.clone()).await;
    assert_eq!(
        signed_in.data()["finishPasskeySignIn"]["user"]["id"],
        ada.id.as_str()
    );
    // Consumed there: the other instance cannot finish it again.
    finish_sign_in(&beside, &ceremony.id, assertion)
        .await
        .assert_error("INVALID_TOKEN", None);
}

#[tokio::test]
async fn a_signature_counter_that_goes_backwards_is_refused() {
    let app = TestApp::spawn_with(&["--app-url", APP_URL]).await;
    let ada = app.sign_up("ada@example.com").await;
    let mut device = authenticator();
    register(&app, &ada.access_token, &mut device).await;
    passkey_sign_in(&app, Some("ada@example.com"), &mut device)
        .await
        .data(); // counter 2 stored
    device.set_counter(0); // a clone that lags: its next assertion carries 1
    let refused = passkey_sign_in(&app, Some("ada@example.com"), &mut device).await;
    refused.assert_error("INVALID_TOKEN", None);
    device.set_counter(10);
    passkey_sign_in(&app, Some("ada@example.com"), &mut device)
        .await
        .data();
}

#[tokio::test]
async fn a_passkey_sign_in_skips_the_second_factor() {
    let (app, _sink) = spawn_mail_app(&["--encryption-key", KEY_HEX]).await;
    let ada = app.verified_user("ada@example.com").await;
    let mut device = authenticator();
    register(&app, &ada.access_token, &mut device).await;
    crate::mfa::enroll(&app, &ada.access_token).await;
    let password = app
        .graphql(
            "mutation($input: SignInInput!) { signIn(input: $input) { accessToken } }",
            json!({ "input": { "email": "ada@example.com", "password": PASSWORD } }),
        )
        .await;
    crate::mfa::mfa_token(&password);
    let signed_in = passkey_sign_in(&app, Some("ada@example.com"), &mut device).await;
    assert_eq!(
        signed_in.data()["finishPasskeySignIn"]["session"]["authenticationMethods"],
        json!(["PASSKEY"])
    );
}

#[tokio::test]
async fn an_address_without_passkeys_gets_options_of_the_same_shape() {
    let app = TestApp::spawn_with(&["--app-url", APP_URL]).await;
    let ada = app.sign_up("ada@example.com").await;
    register(&app, &ada.access_token, &mut authenticator()).await;
    app.sign_up("bob@example.com").await; // an account, no passkey

    let real = start_sign_in(&app, Some("ada@example.com")).await.options;
    let shape = |options: &Value| {
        let mut keys: Vec<String> = options.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        let allowed = options["allowCredentials"].as_array().unwrap();
        assert!(!allowed.is_empty(), "{options}");
        assert!(
            allowed
                .iter()
                .all(|c| c["type"] == "public-key" && c["id"].is_string())
        );
        (
            keys,
            options["userVerification"].clone(),
            options["rpId"].clone(),
        )
    };
    // Many addresses: webauthn-rs's generator draws no credential for some of them (it did
    // for a@example.com), which an empty allow-list would give away.
    for n in 0..40u8 {
        let name = ((b'a' + n % 26) as char)
            .to_string()
            .repeat(1 + usize::from(n / 26));
        let email = format!("{name}@example.com");
        let decoy = start_sign_in(&app, Some(&email)).await;
        assert_eq!(shape(&decoy.options), shape(&real), "{email}");
    }
    for email in ["nobody@example.com", "bob@example.com"] {
        let decoy = start_sign_in(&app, Some(email)).await;
        assert_eq!(shape(&decoy.options), shape(&real), "{email}");
        // The same decoy ids every time (a fresh random one would give it away).
        let again = start_sign_in(&app, Some(email)).await;
        assert_eq!(
            decoy.options["allowCredentials"],
            again.options["allowCredentials"]
        );
        // And nothing finishes it.
        let mut stranger = authenticator();
        let options = json!({ "rp": { "id": "app.example.com" }, "user": { "id": base64_url(b"x") }, "challenge": "AAAA" });
        stranger.create(&options);
        let assertion = stranger
            .get(&json!({ "rpId": "app.example.com", "challenge": decoy.options["challenge"] }))
            .unwrap();
        finish_sign_in(&app, &decoy.id, assertion)
            .await
            .assert_error("INVALID_TOKEN", None);
    }
}

// --- managing passkeys -----------------------------------------------------------------------

#[tokio::test]
async fn passkeys_are_renamed_and_deleted_by_their_owner_only() {
    let app = TestApp::spawn_with(&["--app-url", APP_URL]).await;
    let ada = app.sign_up("ada@example.com").await;
    let bob = app.sign_up("bob@example.com").await;
    let id = register(&app, &ada.access_token, &mut authenticator()).await;

    let renamed = app
        .graphql_as(
            &ada.access_token,
            RENAME,
            json!({ "id": id, "name": "  Work laptop " }),
        )
        .await;
    assert_eq!(renamed.data()["renamePasskey"]["name"], "Work laptop");
    app.graphql_as(&ada.access_token, RENAME, json!({ "id": id, "name": " " }))
        .await
        .assert_error("BAD_USER_INPUT", Some("name"));
    app.graphql_as(
        &bob.access_token,
        RENAME,
        json!({ "id": id, "name": "mine" }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    app.graphql_as(&bob.access_token, DELETE, json!({ "id": id }))
        .await
        .assert_error("NOT_FOUND", None);

    let deleted = app
        .graphql_as(&ada.access_token, DELETE, json!({ "id": id }))
        .await;
    assert_eq!(deleted.data()["deletePasskey"], true);
    assert!(passkeys(&app, &ada.access_token).await.is_empty());
    assert!(
        app.security_log(&ada.access_token)
            .await
            .contains(&("PASSKEY_REMOVED".to_owned(), None))
    );
}

#[tokio::test]
async fn the_last_way_to_sign_in_cannot_be_deleted() {
    let app = TestApp::spawn_with(&["--app-url", APP_URL]).await;
    let ada = app.sign_up("ada@example.com").await;
    let mut device = authenticator();
    let first = register(&app, &ada.access_token, &mut device).await;
    let second = register(&app, &ada.access_token, &mut authenticator()).await;
    // An account with no password, no provider and an unproven address — as one created
    // through a provider that does not vouch for the address ends up once that link is gone:
    // its passkeys are its only way in.
    user::Entity::update_many()
        .col_expr(
            user::Column::PasswordHash,
            Expr::value(Option::<String>::None),
        )
        .filter(user::Column::Email.eq("ada@example.com"))
        .exec(app.state.db())
        .await
        .unwrap();
    let signed_in = passkey_sign_in(&app, Some("ada@example.com"), &mut device).await;
    let token = signed_in.data()["finishPasskeySignIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let deleted = app
        .graphql_as(&token, DELETE, json!({ "id": second }))
        .await;
    assert_eq!(deleted.data()["deletePasskey"], true);
    let last = app.graphql_as(&token, DELETE, json!({ "id": first })).await;
    last.assert_error("CONFLICT", None);
    assert_eq!(passkeys(&app, &token).await.len(), 1);
    // Proving the address gives another way in; then the passkey may go.
    app.mark_verified(&ada.id).await;
    let deleted = app.graphql_as(&token, DELETE, json!({ "id": first })).await;
    assert_eq!(deleted.data()["deletePasskey"], true);
    assert_eq!(
        passkey::Entity::find()
            .filter(passkey::Column::UserId.eq(uuid::Uuid::parse_str(&ada.id).unwrap()))
            .count(app.state.db())
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn an_app_url_on_an_ip_address_turns_passkeys_off_instead_of_stopping_the_server() {
    let app = TestApp::spawn_with(&["--app-url", "http://127.0.0.1:5173"]).await;
    let config = app.graphql("{ authConfig { passkeys } }", json!({})).await;
    assert_eq!(config.data()["authConfig"]["passkeys"], false);
    let ada = app.sign_up("ada@example.com").await;
    let refused = app
        .graphql_as(&ada.access_token, START_REGISTRATION, json!({}))
        .await;
    refused.assert_error("FORBIDDEN", None);
    assert!(
        refused.message().contains("TODOQL_WEBAUTHN_RP_ID"),
        "{}",
        refused.body
    );
    app.graphql(START_SIGN_IN, json!({ "email": null }))
        .await
        .assert_error("FORBIDDEN", None);
    // Named explicitly, the same host is a configuration error (exit 2, see the CLI tests).
    let explicit = Config::from_args([
        "--jwt-secret",
        "test-secret-test-secret-test-secret!!",
        "--app-url",
        "http://127.0.0.1:5173",
        "--webauthn-rp-id",
        "127.0.0.1",
    ]);
    assert!(explicit.is_err());
}

#[tokio::test]
async fn passkey_sign_in_starts_are_limited_per_client_ip() {
    // Each start stores a ceremony and needs no account: without a limit, a flood of starts
    // would fill the table.
    let app = TestApp::spawn_with(&["--app-url", APP_URL, "--passkey-starts-per-ip", "3"]).await;
    for email in [None, Some("ada@example.com"), None] {
        app.graphql(START_SIGN_IN, json!({ "email": email }))
            .await
            .data();
    }
    let limited = app.graphql(START_SIGN_IN, json!({ "email": null })).await;
    limited.assert_error("RATE_LIMITED", None);
    assert!(
        limited.body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        todoql_entity::webauthn_ceremony::Entity::find()
            .count(app.state.db())
            .await
            .unwrap(),
        3,
        "the refused start stored nothing"
    );
    app.clock.advance(Duration::minutes(15));
    app.graphql(START_SIGN_IN, json!({ "email": null }))
        .await
        .data();
}

#[tokio::test]
async fn deleting_the_account_deletes_its_passkeys() {
    let app = TestApp::spawn_with(&["--app-url", APP_URL]).await;
    let ada = app.sign_up("ada@example.com").await;
    let mut device = authenticator();
    register(&app, &ada.access_token, &mut device).await;
    app.graphql_as(
        &ada.access_token,
        "mutation($input: DeleteAccountInput!) { deleteAccount(input: $input) }",
        json!({ "input": { "password": PASSWORD } }),
    )
    .await
    .data();
    assert_eq!(stored_passkeys(&app).await, 0);
    let ceremony = start_sign_in(&app, None).await;
    let assertion = device.get(&ceremony.options).unwrap();
    finish_sign_in(&app, &ceremony.id, assertion)
        .await
        .assert_error("INVALID_TOKEN", None);
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
