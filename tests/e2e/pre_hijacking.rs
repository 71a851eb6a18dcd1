//! Account pre-hijacking (issue 12, finding 5): whatever someone set on an address before its
//! owner proved it — a password, a provider link, sessions, a pending change of address — does
//! not survive the owner's proof, unless the proof came from a session of that account.

use crate::fake_providers::{FakeProvider, FakeUser};
use crate::support::*;
use serde_json::{Value, json};

const VICTIM: &str = "victim@example.com";
const ATTACKER_PASSWORD: &str = "attacker chosen passphrase 77";
const ME: &str = "{ me { id email emailVerified hasPassword linkedAccounts { provider } } }";
const SIGN_UP_AS: &str = "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken refreshToken session { id } user { id } } }";
const SIGN_IN: &str = "mutation($input: SignInInput!) { signIn(input: $input) { accessToken refreshToken user { id hasPassword } } }";
const REFRESH: &str =
    "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken } }";
const VERIFY: &str = "mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) { id emailVerified hasPassword } }";
const SIGN_IN_WITH_CODE: &str = "mutation($input: SignInWithCodeInput!) { signInWithCode(input: $input) { accessToken refreshToken user { id emailVerified hasPassword linkedAccounts { provider } } } }";
const CONFIRM_CHANGE: &str =
    "mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) { email } }";
const START: &str = "mutation($p: String!, $r: String!, $c: String!) { startOAuth(provider: $p, redirectUri: $r, codeChallenge: $c) { authorizationUrl } }";
const COMPLETE: &str = "mutation($input: CompleteOAuthInput!) { completeOAuth(input: $input) { accessToken user { id email emailVerified } } }";

/// Someone who signed up with the victim's address and a password of their own.
struct Attacker {
    id: String,
    access_token: String,
    refresh_token: String,
}

async fn attacker_signs_up(app: &TestApp, sink: &SmtpSink) -> Attacker {
    let response = app
        .graphql(
            SIGN_UP_AS,
            json!({ "input": { "email": VICTIM, "password": ATTACKER_PASSWORD } }),
        )
        .await;
    // The verification mail goes to the victim's mailbox.
    sink.next_mail_to(VICTIM).await;
    Attacker::from(response.root_as::<AuthPayload>("signUp"))
}

impl From<AuthPayload> for Attacker {
    fn from(signed_up: AuthPayload) -> Attacker {
        Attacker {
            id: signed_up.user().id.clone(),
            refresh_token: signed_up.refresh_token().to_owned(),
            access_token: signed_up.access_token,
        }
    }
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

/// The victim asks for a sign-in code and signs in with it.
async fn victim_signs_in_with_a_code(app: &TestApp, sink: &SmtpSink) -> AuthPayload {
    app.graphql(REQUEST_CODE, json!({ "email": VICTIM }))
        .await
        .data();
    let code = sink.next_mail_to(VICTIM).await.code().unwrap();
    let response = app
        .graphql(
            SIGN_IN_WITH_CODE,
            json!({ "input": { "email": VICTIM, "code": code } }),
        )
        .await;
    response.root_as("signInWithCode")
}

/// Everything the attacker held is dead: their password, their session's access and refresh
/// tokens.
async fn assert_attacker_is_out(app: &TestApp, attacker: &Attacker) {
    password_sign_in(app, VICTIM, ATTACKER_PASSWORD)
        .await
        .assert_error("INVALID_CREDENTIALS", None);
    assert!(
        viewer(app, &attacker.access_token).await.is_none(),
        "the attacker's session still works"
    );
    app.graphql(REFRESH, json!({ "token": attacker.refresh_token }))
        .await
        .assert_error("INVALID_TOKEN", None);
}

// --- a password set before the proof ---------------------------------------------------------

#[tokio::test]
async fn a_password_set_before_the_owner_signs_in_with_a_code_dies_with_its_sessions() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let attacker = attacker_signs_up(&app, &sink).await;

    let victim = victim_signs_in_with_a_code(&app, &sink).await;

    assert_eq!(victim.user().id, attacker.id, "the same account");
    assert_eq!(victim.user().email_verified, Some(true));
    assert_eq!(victim.user().has_password, Some(false));
    assert_attacker_is_out(&app, &attacker).await;
    assert_eq!(
        me(&app, &victim.access_token).await.email.as_deref(),
        Some(VICTIM)
    );
}

#[tokio::test]
async fn a_passkey_added_before_the_owner_signs_in_with_a_code_is_dropped() {
    const FINISH_REGISTRATION: &str = "mutation($input: FinishPasskeyRegistrationInput!) { finishPasskeyRegistration(input: $input) { id } }";
    const START_SIGN_IN: &str =
        "mutation($email: String) { startPasskeySignIn(email: $email) { ceremonyId options } }";
    const FINISH_SIGN_IN: &str = "mutation($input: FinishPasskeyInput!) { finishPasskeySignIn(input: $input) { accessToken } }";
    let (app, sink) = spawn_mail_app(&[]).await;
    let attacker = attacker_signs_up(&app, &sink).await;
    let mut device = SoftAuthenticator::new(APP_URL);
    let started = app
        .graphql_as(
            &attacker.access_token,
            "mutation { startPasskeyRegistration { ceremonyId options } }",
            json!({}),
        )
        .await;
    let ceremony = &started.data()["startPasskeyRegistration"];
    let credential = device.create(&ceremony["options"]);
    app.graphql_as(
        &attacker.access_token,
        FINISH_REGISTRATION,
        json!({ "input": { "ceremonyId": ceremony["ceremonyId"], "credential": credential } }),
    )
    .await
    .data();

    let victim = victim_signs_in_with_a_code(&app, &sink).await;

    assert_eq!(victim.user().id, attacker.id, "the same account");
    let passkeys = app
        .graphql_as(
            &victim.access_token,
            "{ me { passkeys { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(passkeys.data()["me"]["passkeys"], json!([]));
    // The attacker's authenticator no longer gets in.
    let started = app.graphql(START_SIGN_IN, json!({ "email": VICTIM })).await;
    let ceremony = &started.data()["startPasskeySignIn"];
    let request =
        json!({ "rpId": "app.example.com", "challenge": ceremony["options"]["challenge"] });
    let assertion = device.get(&request).unwrap();
    app.graphql(
        FINISH_SIGN_IN,
        json!({ "input": { "ceremonyId": ceremony["ceremonyId"], "credential": assertion } }),
    )
    .await
    .assert_error("INVALID_TOKEN", None);
}

#[tokio::test]
async fn a_password_set_before_the_owner_signs_in_with_the_link_dies_with_its_sessions() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let attacker = attacker_signs_up(&app, &sink).await;
    app.graphql(REQUEST_CODE, json!({ "email": VICTIM }))
        .await
        .data();
    let token = sink.next_mail_to(VICTIM).await.token("sign-in");

    let victim: AuthPayload = app
        .graphql(SIGN_IN_WITH_CODE, json!({ "input": { "token": token } }))
        .await
        .root_as("signInWithCode");

    assert_eq!(victim.user().has_password, Some(false));
    assert_attacker_is_out(&app, &attacker).await;
}

#[tokio::test]
async fn a_password_set_before_the_owner_verifies_by_link_signed_out_dies_with_its_sessions() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let response = app
        .graphql(
            SIGN_UP_AS,
            json!({ "input": { "email": VICTIM, "password": ATTACKER_PASSWORD } }),
        )
        .await;
    let attacker = Attacker::from(response.root_as::<AuthPayload>("signUp"));
    // The victim finds the verification mail and clicks its link, not signed in.
    let token = sink.next_mail_to(VICTIM).await.token("verify-email");

    let verified: User = app
        .graphql(VERIFY, json!({ "input": { "token": token } }))
        .await
        .root_as("verifyEmail");

    assert_eq!(verified.email_verified, Some(true));
    assert_eq!(verified.has_password, Some(false));
    assert_attacker_is_out(&app, &attacker).await;
    // The owner gets in by what the address proves.
    let victim = victim_signs_in_with_a_code(&app, &sink).await;
    assert_eq!(victim.user().id, attacker.id);
}

#[tokio::test]
async fn the_owner_who_verifies_in_the_session_that_set_the_password_keeps_it() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let owner = app.sign_up("ada@example.com").await;
    // The same person also signed in on a second device before verifying.
    let phone = password_sign_in(&app, "ada@example.com", PASSWORD).await;
    let phone_token = phone.root_as::<AuthPayload>("signIn").access_token;
    let code = sink.next_mail_to("ada@example.com").await.code().unwrap();

    let verified = app
        .graphql_as(
            &owner.access_token,
            VERIFY,
            json!({ "input": { "email": "ada@example.com", "code": code } }),
        )
        .await;

    assert_eq!(
        verified.root_as::<User>("verifyEmail").has_password,
        Some(true)
    );
    assert_eq!(
        me(&app, &owner.access_token).await.email_verified,
        Some(true)
    );
    password_sign_in(&app, "ada@example.com", PASSWORD)
        .await
        .data();
    // Every other session ends; the device signs in again.
    assert!(viewer(&app, &phone_token).await.is_none());
}

#[tokio::test]
async fn the_owner_who_verifies_by_link_in_their_own_session_keeps_the_password() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let owner = app.sign_up("ada@example.com").await;
    let token = sink
        .next_mail_to("ada@example.com")
        .await
        .token("verify-email");

    app.graphql_as(
        &owner.access_token,
        VERIFY,
        json!({ "input": { "token": token } }),
    )
    .await
    .data();

    password_sign_in(&app, "ada@example.com", PASSWORD)
        .await
        .data();
    assert_eq!(me(&app, &owner.access_token).await.has_password, Some(true));
}

#[tokio::test]
async fn verifying_with_an_expired_access_token_is_unauthenticated_not_signed_out() {
    let (app, sink) = spawn_mail_app(&["--access-token-ttl", "60"]).await;
    let owner = app.sign_up("ada@example.com").await;
    let code = sink.next_mail_to("ada@example.com").await.code().unwrap();
    app.clock.advance(chrono::Duration::seconds(61));
    let input = json!({ "input": { "email": "ada@example.com", "code": code } });

    // Taken as signed out, this would drop the owner's own password.
    app.graphql_as(&owner.access_token, VERIFY, input.clone())
        .await
        .assert_error("UNAUTHENTICATED", None);

    let refreshed = app
        .graphql(REFRESH, json!({ "token": owner.refresh_token }))
        .await;
    let fresh = refreshed.data()["refreshSession"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let verified = app.graphql_as(&fresh, VERIFY, input).await;
    assert_eq!(verified.data()["verifyEmail"]["hasPassword"], true);
}

#[tokio::test]
async fn a_verified_account_keeps_its_password_and_sessions_when_signing_in_by_code() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let owner = app.verified_user("ada@example.com").await;
    sink.next_mail_to("ada@example.com").await;

    app.graphql(REQUEST_CODE, json!({ "email": "ada@example.com" }))
        .await
        .data();
    let code = sink.next_mail_to("ada@example.com").await.code().unwrap();
    let signed_in = app
        .graphql(
            SIGN_IN_WITH_CODE,
            json!({ "input": { "email": "ada@example.com", "code": code } }),
        )
        .await;

    let signed_in: AuthPayload = signed_in.root_as("signInWithCode");
    assert_eq!(signed_in.user().has_password, Some(true));
    assert_eq!(
        me(&app, &owner.access_token).await.email.as_deref(),
        Some("ada@example.com")
    );
    password_sign_in(&app, "ada@example.com", PASSWORD)
        .await
        .data();
}

// --- a pending change of address made before the proof ---------------------------------------

/// The attacker, signed in to the unverified account, asks to move it to their own address.
async fn attacker_requests_a_move(app: &TestApp, sink: &SmtpSink, attacker: &Attacker) -> String {
    app.graphql_as(
        &attacker.access_token,
        REQUEST_CHANGE,
        json!({ "input": { "newEmail": "mallory@evil.example", "currentPassword": ATTACKER_PASSWORD } }),
    )
    .await
    .data();
    sink.next_mail_to("mallory@evil.example")
        .await
        .token("confirm-email")
}

#[tokio::test]
async fn a_change_of_address_asked_before_the_owner_verifies_cannot_be_confirmed_after() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let attacker = attacker_signs_up(&app, &sink).await;
    let move_token = attacker_requests_a_move(&app, &sink, &attacker).await;

    let victim = victim_signs_in_with_a_code(&app, &sink).await;

    app.graphql(CONFIRM_CHANGE, json!({ "input": { "token": move_token } }))
        .await
        .assert_error("INVALID_TOKEN", None);
    assert_eq!(
        me(&app, &victim.access_token).await.email.as_deref(),
        Some(VICTIM)
    );
}

#[tokio::test]
async fn a_reset_by_the_owner_drops_a_change_of_address_asked_before_it() {
    let (app, sink) = spawn_mail_app(&[]).await;
    let attacker = attacker_signs_up(&app, &sink).await;
    let move_token = attacker_requests_a_move(&app, &sink, &attacker).await;

    app.graphql(REQUEST_RESET, json!({ "email": VICTIM }))
        .await
        .data();
    let reset = sink.next_mail_to(VICTIM).await.token("reset-password");
    app.graphql(
        RESET,
        json!({ "input": { "token": reset, "newPassword": "the owner's own passphrase 1" } }),
    )
    .await
    .data();

    app.graphql(CONFIRM_CHANGE, json!({ "input": { "token": move_token } }))
        .await
        .assert_error("INVALID_TOKEN", None);
    assert_attacker_is_out(&app, &attacker).await;
    let owner = password_sign_in(&app, VICTIM, "the owner's own passphrase 1").await;
    assert_eq!(
        owner.root_as::<AuthPayload>("signIn").user().id,
        attacker.id
    );
}

#[tokio::test]
async fn sign_up_on_a_taken_address_says_how_its_owner_gets_in() {
    let (app, sink) = spawn_mail_app(&[]).await;
    attacker_signs_up(&app, &sink).await;

    let response = app
        .graphql(
            SIGN_UP_AS,
            json!({ "input": { "email": VICTIM, "password": PASSWORD } }),
        )
        .await;

    response.assert_error("CONFLICT", None);
    let message = response.message();
    assert!(
        message.contains("code") && message.contains("reset"),
        "{message}"
    );
}

// --- provider links set before the proof -----------------------------------------------------

/// A server with one OpenID Connect provider (`corp`, a fake) and an SMTP sink.
async fn oauth_world() -> (TestApp, SmtpSink, FakeProvider) {
    let corp = FakeProvider::oidc("corp-client", "corp-secret").await;
    let spec = format!(
        "name=corp,issuer={},client-id=corp-client,client-secret=corp-secret",
        corp.base_url
    );
    let (app, sink) = spawn_mail_app(&[
        "--encryption-key",
        KEY_HEX,
        "--oauth-redirect-uris",
        CALLBACK,
        "--oidc-provider",
        &spec,
    ])
    .await;
    (app, sink, corp)
}

/// The whole OAuth flow with `corp` as `user`, signed in as `token` (linking) or not.
async fn corp_flow(app: &TestApp, corp: &FakeProvider, user: FakeUser, token: Option<&str>) -> Gql {
    let vars = json!({ "p": "corp", "r": CALLBACK, "c": BROWSER_CHALLENGE });
    let started = match token {
        Some(token) => app.graphql_as(token, START, vars).await,
        None => app.graphql(START, vars).await,
    };
    let url = started.data()["startOAuth"]["authorizationUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    corp.set_user(user);
    let back = corp.authorize(&url).await;
    let vars = json!({ "input": { "provider": "corp", "code": back.code, "state": back.state, "codeVerifier": BROWSER_VERIFIER } });
    match token {
        Some(token) => app.graphql_as(token, COMPLETE, vars).await,
        None => app.graphql(COMPLETE, vars).await,
    }
}

#[tokio::test]
async fn an_account_created_by_an_unverified_provider_email_loses_that_link_when_the_owner_signs_in_by_code()
 {
    let (app, sink, corp) = oauth_world().await;
    // The attacker's provider account claims the victim's address without vouching for it.
    let attacker_identity = || FakeUser::unverified("attacker-sub", VICTIM);
    let created = corp_flow(&app, &corp, attacker_identity(), None).await;
    let created: AuthPayload = created.root_as("completeOAuth");
    assert_eq!(created.user().email_verified, Some(false));
    sink.next_mail_to(VICTIM).await; // its verification mail
    // The victim finds the address taken…
    app.graphql(
        SIGN_UP_AS,
        json!({ "input": { "email": VICTIM, "password": PASSWORD } }),
    )
    .await
    .assert_error("CONFLICT", None);

    // …and gets in with an emailed code, as the message says.
    let victim = victim_signs_in_with_a_code(&app, &sink).await;

    assert!(victim.user().linked_accounts().is_empty());
    assert!(viewer(&app, &created.access_token).await.is_none());
    // The attacker's provider identity no longer leads into the account.
    let again = corp_flow(&app, &corp, attacker_identity(), None).await;
    again.assert_error("CONFLICT", None);
}

#[tokio::test]
async fn a_provider_linked_before_the_owner_resets_the_password_is_unlinked() {
    let (app, sink, corp) = oauth_world().await;
    let attacker = attacker_signs_up(&app, &sink).await;
    corp_flow(
        &app,
        &corp,
        FakeUser::verified("attacker-sub", "mallory@corp.example"),
        Some(&attacker.access_token),
    )
    .await
    .data();

    app.graphql(REQUEST_RESET, json!({ "email": VICTIM }))
        .await
        .data();
    let reset = sink.next_mail_to(VICTIM).await.token("reset-password");
    app.graphql(
        RESET,
        json!({ "input": { "token": reset, "newPassword": "the owner's own passphrase 1" } }),
    )
    .await
    .data();

    let owner = password_sign_in(&app, VICTIM, "the owner's own passphrase 1").await;
    let owner_token = owner.root_as::<AuthPayload>("signIn").access_token;
    assert!(me(&app, &owner_token).await.linked_accounts().is_empty());
    // The attacker's provider account now signs in to an account of its own, not the victim's.
    let back = corp_flow(
        &app,
        &corp,
        FakeUser::verified("attacker-sub", "mallory@corp.example"),
        None,
    )
    .await;
    assert_ne!(
        back.root_as::<AuthPayload>("completeOAuth").user().id,
        attacker.id
    );
}

// --- sign-ins racing with the proof ----------------------------------------------------------

#[tokio::test]
async fn an_attacker_signing_in_again_and_again_while_the_owner_proves_the_address_keeps_no_session()
 {
    // Failed sign-ins after the proof must not hit the limit before the final check.
    let (app, sink) = spawn_mail_app(&["--signin-failures-per-email", "1000"]).await;
    let attacker = attacker_signs_up(&app, &sink).await;
    app.graphql(REQUEST_CODE, json!({ "email": VICTIM }))
        .await
        .data();
    let code = sink.next_mail_to(VICTIM).await.code().unwrap();

    // Password sign-ins in a loop, each one hashing while the proof may commit.
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let (attempts, successes) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let loops: Vec<_> = (0..4)
        .map(|_| {
            let client = app.client.clone();
            let url = format!("{}/graphql", app.base_url);
            let (stop, attempts, successes) = (stop.clone(), attempts.clone(), successes.clone());
            tokio::spawn(async move {
                let mut tokens = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let body = json!({ "query": SIGN_IN, "variables": { "input": { "email": VICTIM, "password": ATTACKER_PASSWORD } } });
                    let response: Value = client
                        .post(&url)
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    if let Some(token) = response["data"]["signIn"]["accessToken"].as_str() {
                        tokens.push(token.to_owned());
                        successes.fetch_add(1, Ordering::SeqCst);
                    }
                    attempts.fetch_add(1, Ordering::SeqCst);
                }
                tokens
            })
        })
        .collect();
    wait_until("the attacker signed in a few times", || async {
        successes.load(Ordering::SeqCst) >= 4
    })
    .await;
    let victim = app
        .graphql(
            SIGN_IN_WITH_CODE,
            json!({ "input": { "email": VICTIM, "code": code } }),
        )
        .await;
    let victim_token = victim.root_as::<AuthPayload>("signInWithCode").access_token;
    let at_proof = attempts.load(Ordering::SeqCst);
    wait_until("every loop tried again after the proof", || async {
        attempts.load(Ordering::SeqCst) >= at_proof + 8
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    let mut tokens = Vec::new();
    for handle in loops {
        tokens.extend(handle.await.unwrap());
    }

    assert!(
        !tokens.is_empty(),
        "the attacker signed in before the proof"
    );
    for token in &tokens {
        assert!(
            viewer(&app, token).await.is_none(),
            "an attacker session survived"
        );
    }
    assert_attacker_is_out(&app, &attacker).await;
    assert_eq!(me(&app, &victim_token).await.email.as_deref(), Some(VICTIM));
}
