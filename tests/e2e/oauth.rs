//! OAuth and OpenID Connect: sign-in, linking and unlinking, against fake providers over HTTP.

use crate::fake_providers::{FakeProvider, FakeUser, Tamper};
use crate::support::*;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde::Deserialize;
use serde_json::json;
use todoql_domain::auth::oauth::{EncryptionKey, TokenCipher, purpose};
use todoql_entity::{account, oauth_state};

const OTHER_CALLBACK: &str = "https://app.example/oauth/callback";

const START: &str = "mutation($p: String!, $r: String!, $c: String!) { startOAuth(provider: $p, redirectUri: $r, codeChallenge: $c) { authorizationUrl state } }";
const COMPLETE: &str = "mutation($input: CompleteOAuthInput!) { completeOAuth(input: $input) { accessToken accessTokenExpiresAt refreshToken session { id current } user { id email username avatar emailVerified hasPassword linkedAccounts { provider accountId createdAt } } } }";
const UNLINK: &str = "mutation($p: String!) { unlinkAccount(provider: $p) }";
const ME: &str =
    "{ me { id email emailVerified hasPassword linkedAccounts { provider accountId } } }";

/// startOAuth as [`START`] selects it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Started {
    authorization_url: String,
    state: String,
}

fn started(response: &Gql) -> Started {
    response.root_as("startOAuth")
}

/// A server with GitHub, Google and a generic OIDC provider `corp`, each a fake.
struct World {
    app: TestApp,
    corp: FakeProvider,
    google: FakeProvider,
    github: FakeProvider,
    /// The test's browser: the verifier of each flow it started, by state (what the
    /// TypeScript client keeps in sessionStorage).
    browser: Browser,
}

/// What a browser keeps between startOAuth and completeOAuth: a verifier per state.
#[derive(Default)]
struct Browser {
    verifiers: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

impl Browser {
    /// A fresh random verifier (43 characters) and its S256 challenge.
    fn new_verifier() -> (String, String) {
        let verifier = base64_url(uuid::Uuid::new_v4().as_bytes())
            + &base64_url(uuid::Uuid::new_v4().as_bytes());
        let challenge = base64_url(&sha2::Sha256::digest(verifier.as_bytes()));
        (verifier, challenge)
    }

    fn keep(&self, state: &str, verifier: String) {
        self.verifiers
            .lock()
            .unwrap()
            .insert(state.to_owned(), verifier);
    }

    /// The verifier of `state`; "" when this browser did not start it. Unlike the TypeScript
    /// client it keeps the verifier after use, so that a test replaying a completion presents
    /// the right verifier and sees the state's own rules at work.
    fn verifier(&self, state: &str) -> String {
        self.verifiers
            .lock()
            .unwrap()
            .get(state)
            .cloned()
            .unwrap_or_default()
    }
}

async fn world() -> World {
    world_with(&[]).await
}

async fn world_with(extra: &[&str]) -> World {
    let corp = FakeProvider::oidc("corp-client", "corp-secret").await;
    let google = FakeProvider::oidc("google-client.apps.example", "google-secret").await;
    let github = FakeProvider::github("gh-client", "gh-secret").await;
    let corp_spec = format!(
        "name=corp,issuer={},client-id=corp-client,client-secret=corp-secret",
        corp.base_url
    );
    let redirect_uris = format!("{CALLBACK},{OTHER_CALLBACK}");
    let gh_auth = format!("{}/login/oauth/authorize", github.base_url);
    let gh_token = format!("{}/login/oauth/access_token", github.base_url);
    let mut args = vec![
        "--encryption-key",
        KEY_HEX,
        "--oauth-redirect-uris",
        &redirect_uris,
        "--oauth-github-client-id",
        "gh-client",
        "--oauth-github-client-secret",
        "gh-secret",
        "--oauth-github-auth-url",
        &gh_auth,
        "--oauth-github-token-url",
        &gh_token,
        "--oauth-github-api-url",
        &github.base_url,
        "--oauth-google-client-id",
        "google-client.apps.example",
        "--oauth-google-client-secret",
        "google-secret",
        "--oauth-google-issuer",
        &google.base_url,
        "--oidc-provider",
        &corp_spec,
    ];
    args.extend_from_slice(extra);
    let app = TestApp::spawn_with(&args).await;
    World {
        app,
        corp,
        google,
        github,
        browser: Browser::default(),
    }
}

fn cipher() -> TokenCipher {
    TokenCipher::new(&EncryptionKey::parse(KEY_HEX).unwrap())
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl World {
    fn fake(&self, provider: &str) -> &FakeProvider {
        match provider {
            "corp" => &self.corp,
            "google" => &self.google,
            "github" => &self.github,
            other => panic!("no fake for {other}"),
        }
    }

    async fn start(&self, provider: &str, token: Option<&str>) -> Gql {
        self.start_to(provider, CALLBACK, token).await
    }

    /// startOAuth from the test's browser, which keeps the verifier of the flow.
    async fn start_to(&self, provider: &str, redirect_uri: &str, token: Option<&str>) -> Gql {
        let (verifier, challenge) = Browser::new_verifier();
        let started = self
            .start_with_challenge(provider, redirect_uri, &challenge, token)
            .await;
        if let Some(state) = started.body["data"]["startOAuth"]["state"].as_str() {
            self.browser.keep(state, verifier);
        }
        started
    }

    async fn start_with_challenge(
        &self,
        provider: &str,
        redirect_uri: &str,
        challenge: &str,
        token: Option<&str>,
    ) -> Gql {
        let vars = json!({ "p": provider, "r": redirect_uri, "c": challenge });
        match token {
            Some(token) => self.app.graphql_as(token, START, vars).await,
            None => self.app.graphql(START, vars).await,
        }
    }

    /// startOAuth, then the browser at the provider (signed in as `user`): code and state.
    async fn authorize(
        &self,
        provider: &str,
        user: FakeUser,
        token: Option<&str>,
    ) -> (String, String) {
        let started = started(&self.start(provider, token).await);
        let fake = self.fake(provider);
        fake.set_user(user);
        let back = fake.authorize(&started.authorization_url).await;
        assert_eq!(back.redirected_to, CALLBACK);
        assert_eq!(back.state, started.state);
        (back.code, back.state)
    }

    /// completeOAuth from the test's browser, with the verifier it kept for `state`.
    async fn complete(&self, provider: &str, code: &str, state: &str, token: Option<&str>) -> Gql {
        let verifier = self.browser.verifier(state);
        self.complete_with_verifier(provider, code, state, &verifier, token)
            .await
    }

    async fn complete_with_verifier(
        &self,
        provider: &str,
        code: &str,
        state: &str,
        verifier: &str,
        token: Option<&str>,
    ) -> Gql {
        let vars = json!({ "input": {
            "provider": provider, "code": code, "state": state, "codeVerifier": verifier,
        } });
        match token {
            Some(token) => self.app.graphql_as(token, COMPLETE, vars).await,
            None => self.app.graphql(COMPLETE, vars).await,
        }
    }

    /// The whole flow.
    async fn sign_in(&self, provider: &str, user: FakeUser, token: Option<&str>) -> Gql {
        let (code, state) = self.authorize(provider, user, token).await;
        self.complete(provider, &code, &state, token).await
    }

    async fn accounts(&self) -> Vec<account::Model> {
        account::Entity::find()
            .all(self.app.state.db())
            .await
            .unwrap()
    }

    async fn states(&self) -> u64 {
        oauth_state::Entity::find()
            .count(self.app.state.db())
            .await
            .unwrap()
    }
}

/// completeOAuth's answer, as [`COMPLETE`] selects it.
fn payload(response: &Gql) -> AuthPayload {
    response.root_as("completeOAuth")
}

/// `me` as [`ME`] selects it, for `token`.
async fn me(world: &World, token: &str) -> User {
    world
        .app
        .graphql_as(token, ME, json!({}))
        .await
        .root_as("me")
}

// --- configuration and start ---------------------------------------------------------------

#[tokio::test]
async fn auth_config_lists_the_configured_providers() {
    let world = world().await;
    let config = world
        .app
        .graphql("{ authConfig { oauthProviders } }", json!({}))
        .await;
    assert_eq!(
        config.data()["authConfig"]["oauthProviders"],
        json!(["github", "google", "corp"])
    );

    let plain = spawn_app().await;
    let config = plain
        .graphql("{ authConfig { oauthProviders } }", json!({}))
        .await;
    assert_eq!(config.data()["authConfig"]["oauthProviders"], json!([]));
    let (_, challenge) = Browser::new_verifier();
    let refused = plain
        .graphql(
            START,
            json!({ "p": "github", "r": CALLBACK, "c": challenge }),
        )
        .await;
    refused.assert_error("BAD_USER_INPUT", Some("provider"));
}

#[tokio::test]
async fn start_oauth_asks_for_a_code_with_pkce_s256_a_state_and_a_nonce() {
    let world = world().await;
    let Started {
        authorization_url: url,
        state,
    } = started(&world.start("corp", None).await);
    let (url, state) = (url.as_str(), state.as_str());

    assert!(
        url.starts_with(&format!("{}/authorize?", world.corp.base_url)),
        "{url}"
    );
    assert_eq!(query_param(url, "response_type").as_deref(), Some("code"));
    assert_eq!(
        query_param(url, "client_id").as_deref(),
        Some("corp-client")
    );
    assert_eq!(query_param(url, "redirect_uri").as_deref(), Some(CALLBACK));
    assert_eq!(query_param(url, "state").as_deref(), Some(state));
    assert_eq!(
        query_param(url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(query_param(url, "code_challenge").unwrap().len(), 43);
    let scope = query_param(url, "scope").unwrap();
    for wanted in ["openid", "email", "profile"] {
        assert!(scope.split(' ').any(|s| s == wanted), "{scope}");
    }
    let nonce = query_param(url, "nonce").expect("a nonce");

    // Stored: the state and nonce only as SHA-256, the verifier encrypted.
    let rows = oauth_state::Entity::find()
        .all(world.app.state.db())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.state, sha256_hex(state));
    assert_eq!(row.nonce.as_deref(), Some(sha256_hex(&nonce).as_str()));
    assert!(row.pkce_verifier.starts_with("v1."));
    let verifier = cipher()
        .decrypt(purpose::PKCE_VERIFIER, &row.pkce_verifier)
        .unwrap();
    assert_eq!(
        query_param(url, "code_challenge").unwrap(),
        base64_url(&sha2::Sha256::digest(verifier.as_bytes()))
    );
    assert_eq!(row.provider, "corp");
    assert_eq!(row.redirect_uri, CALLBACK);
    // The browser's challenge is kept with the state; it is not the one the provider sees
    // (that PKCE is todoql's own), and the browser's verifier never leaves the browser.
    let browser_verifier = world.browser.verifier(state);
    let browser_challenge = base64_url(&sha2::Sha256::digest(browser_verifier.as_bytes()));
    assert_eq!(
        row.browser_challenge.as_deref(),
        Some(browser_challenge.as_str())
    );
    assert_ne!(
        query_param(url, "code_challenge").unwrap(),
        browser_challenge
    );
    assert!(!url.contains(&browser_verifier) && !url.contains(&browser_challenge));
    assert!(row.user_id.is_none());
    assert_eq!((row.expires_at - row.created_at).num_minutes(), 10);

    // GitHub: PKCE too, no nonce.
    let github = world.start("github", None).await;
    let url = &started(&github).authorization_url;
    assert!(url.starts_with(&format!("{}/login/oauth/authorize?", world.github.base_url)));
    assert_eq!(
        query_param(url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(query_param(url, "nonce").is_none());
}

use sha2::Digest as _;

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn an_unknown_provider_is_bad_input() {
    let world = world().await;
    world
        .start("facebook", None)
        .await
        .assert_error("BAD_USER_INPUT", Some("provider"));
    world
        .complete("facebook", "code", "state", None)
        .await
        .assert_error("BAD_USER_INPUT", Some("provider"));
    assert_eq!(world.states().await, 0);
}

#[tokio::test]
async fn provider_names_are_case_insensitive() {
    let world = world().await;
    let started = world.start("GitHub", None).await;
    assert!(started.data()["startOAuth"]["authorizationUrl"].is_string());
}

#[tokio::test]
async fn a_redirect_uri_not_in_the_allow_list_is_bad_input() {
    let world = world().await;
    for uri in [
        "https://evil.example/oauth/callback",
        "http://localhost:3000/oauth/callback/",
        "http://localhost:3000/oauth/callback?next=https://evil.example",
        "http://localhost:3000/OAUTH/callback",
        "http://localhost:3000/oauth/callbackx",
        "http://localhost:3000",
        "",
    ] {
        world
            .start_to("corp", uri, None)
            .await
            .assert_error("BAD_USER_INPUT", Some("redirectUri"));
    }
    assert_eq!(world.states().await, 0);
    // Every listed URI works.
    let other = world.start_to("corp", OTHER_CALLBACK, None).await;
    let url = &started(&other).authorization_url;
    assert_eq!(
        query_param(url, "redirect_uri").as_deref(),
        Some(OTHER_CALLBACK)
    );
}

#[tokio::test]
async fn a_provider_that_cannot_be_discovered_gives_a_clear_error() {
    // Port 1 on loopback: nothing listens there.
    let world = world_with(&[
        "--oidc-provider",
        "name=down,issuer=http://127.0.0.1:1,client-id=a,client-secret=b",
    ])
    .await;
    let started = world.start("down", None).await;
    started.assert_error("INTERNAL_SERVER_ERROR", None);
    assert!(started.message().contains("down"), "{}", started.body);
    assert!(
        started.message().contains("unavailable"),
        "{}",
        started.body
    );
    assert_eq!(world.states().await, 0);
    // The other providers and the server are fine.
    assert!(world.start("corp", None).await.data()["startOAuth"]["state"].is_string());
}

// --- sign-in ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_new_user_signs_in_with_oidc_and_is_created_from_the_profile() {
    let world = world().await;
    let response = world
        .sign_in(
            "corp",
            FakeUser::verified("corp-123", "Ada@Corp.Example"),
            None,
        )
        .await;
    let signed_in = payload(&response);
    let user = signed_in.user();
    assert_eq!(user.email.as_deref(), Some("ada@corp.example"));
    assert_eq!(user.email_verified, Some(true));
    assert_eq!(user.has_password, Some(false));
    assert_eq!(user.username.as_deref(), Some("Ada Lovelace"));
    assert_eq!(
        user.avatar.as_deref(),
        Some("https://pictures.example/ada.png")
    );
    assert_eq!(user.linked_accounts()[0].provider, "corp");
    assert_eq!(
        user.linked_accounts()[0].account_id.as_deref(),
        Some("corp-123")
    );
    assert_eq!(signed_in.session().current, Some(true));

    assert_eq!(me(&world, &signed_in.access_token).await.id, user.id);
    assert_eq!(world.states().await, 0, "the state is used up");
}

#[tokio::test]
async fn a_returning_user_signs_in_to_the_same_account() {
    let world = world().await;
    let first = world
        .sign_in(
            "corp",
            FakeUser::verified("corp-123", "ada@corp.example"),
            None,
        )
        .await;
    let again = world
        .sign_in(
            "corp",
            FakeUser::verified("corp-123", "ada@corp.example"),
            None,
        )
        .await;
    let (first, again) = (payload(&first), payload(&again));
    assert_eq!(again.user().id, first.user().id);
    assert_ne!(again.session().id, first.session().id);
    assert_eq!(world.accounts().await.len(), 1);
    // The stored tokens are the latest ones.
    let stored = &world.accounts().await[0];
    let access = cipher()
        .decrypt(purpose::ACCESS_TOKEN, stored.access_token.as_ref().unwrap())
        .unwrap();
    assert_eq!(access, world.corp.issued().access_token);
}

#[tokio::test]
async fn a_returning_user_is_found_by_account_even_when_the_provider_email_changed() {
    let world = world().await;
    let first = world
        .sign_in(
            "corp",
            FakeUser::verified("corp-123", "ada@corp.example"),
            None,
        )
        .await;
    let again = world
        .sign_in(
            "corp",
            FakeUser::verified("corp-123", "ada@new.example"),
            None,
        )
        .await;
    let (first, again) = (payload(&first), payload(&again));
    assert_eq!(again.user().id, first.user().id);
    assert_eq!(again.user().email.as_deref(), Some("ada@corp.example"));
}

#[tokio::test]
async fn google_sign_in_works_through_discovery() {
    let world = world().await;
    let response = world
        .sign_in(
            "google",
            FakeUser::verified("1098765", "ada@gmail.example"),
            None,
        )
        .await;
    let signed_in = payload(&response);
    let user = signed_in.user();
    assert_eq!(user.email.as_deref(), Some("ada@gmail.example"));
    assert_eq!(user.linked_accounts()[0].provider, "google");
    assert_eq!(
        user.linked_accounts()[0].account_id.as_deref(),
        Some("1098765")
    );
}

#[tokio::test]
async fn github_sign_in_reads_the_primary_verified_email() {
    let world = world().await;
    world.github.set_extra_emails(vec![
        json!({ "email": "old@example.com", "primary": false, "verified": true }),
        json!({ "email": "spam@example.com", "primary": false, "verified": false }),
    ]);
    let response = world
        .sign_in(
            "github",
            FakeUser::verified("4242", "Ada@GitHub.Example"),
            None,
        )
        .await;
    let signed_in = payload(&response);
    let user = signed_in.user();
    assert_eq!(user.email.as_deref(), Some("ada@github.example"));
    assert_eq!(user.email_verified, Some(true));
    assert_eq!(user.username.as_deref(), Some("Ada Lovelace"));
    assert_eq!(user.linked_accounts()[0].provider, "github");
    assert_eq!(
        user.linked_accounts()[0].account_id.as_deref(),
        Some("4242")
    );
}

#[tokio::test]
async fn a_github_user_whose_primary_email_is_unverified_gets_an_unverified_account() {
    let world = world().await;
    let response = world
        .sign_in(
            "github",
            FakeUser::unverified("4242", "ada@github.example"),
            None,
        )
        .await;
    let signed_in = payload(&response);
    assert_eq!(signed_in.user().email_verified, Some(false));
    assert_eq!(signed_in.user().has_password, Some(false));
}

#[tokio::test]
async fn a_profile_is_cleaned_before_it_becomes_a_user() {
    let world = world().await;
    let mut user = FakeUser::verified("corp-1", "ada@corp.example");
    user.name = Some("A".repeat(80));
    user.picture = Some("http://insecure.example/ada.png".into());
    let response = world.sign_in("corp", user, None).await;
    let signed_in = payload(&response);
    let user = signed_in.user();
    assert_eq!(
        user.username.as_deref().map(|u| u.chars().count()),
        Some(50)
    );
    assert_eq!(user.avatar, None);

    let mut nameless = FakeUser::verified("corp-2", "grace@corp.example");
    nameless.name = None;
    let response = world.sign_in("corp", nameless, None).await;
    assert_eq!(payload(&response).user().username.as_deref(), Some("grace"));
}

#[tokio::test]
async fn a_provider_that_shares_no_email_cannot_create_a_user() {
    let world = world().await;
    let mut user = FakeUser::verified("corp-1", "x@corp.example");
    user.email = None;
    world
        .sign_in("corp", user, None)
        .await
        .assert_error("BAD_USER_INPUT", Some("provider"));
    assert!(world.accounts().await.is_empty());
}

#[tokio::test]
async fn a_verified_provider_email_links_to_the_verified_local_user() {
    let world = world().await;
    let local = world.app.verified_user("ada@example.com").await;
    let response = world
        .sign_in(
            "corp",
            FakeUser::verified("corp-1", "ADA@example.com"),
            None,
        )
        .await;
    let signed_in = payload(&response);
    let user = signed_in.user();
    assert_eq!(user.id, local.id);
    assert_eq!(user.has_password, Some(true));
    assert_eq!(user.linked_accounts()[0].provider, "corp");
}

#[tokio::test]
async fn an_unverified_local_user_is_not_taken_over_by_a_provider_email() {
    let world = world().await;
    // Someone pre-registered the address without proving they own it.
    let squatter = world.app.sign_up("ada@example.com").await;
    let response = world
        .sign_in(
            "corp",
            FakeUser::verified("corp-1", "ada@example.com"),
            None,
        )
        .await;
    response.assert_error("CONFLICT", None);
    assert!(
        response.message().contains("Sign in to it first"),
        "{}",
        response.body
    );
    assert!(world.accounts().await.is_empty());
    assert!(
        me(&world, &squatter.access_token)
            .await
            .linked_accounts()
            .is_empty()
    );
}

#[tokio::test]
async fn an_unverified_provider_email_does_not_link_to_an_existing_user() {
    let world = world().await;
    world.app.verified_user("ada@example.com").await;
    world
        .sign_in(
            "corp",
            FakeUser::unverified("corp-1", "ada@example.com"),
            None,
        )
        .await
        .assert_error("CONFLICT", None);
    assert!(world.accounts().await.is_empty());
}

#[tokio::test]
async fn a_deleted_account_frees_its_provider_identity() {
    let world = world().await;
    let first = world
        .sign_in(
            "corp",
            FakeUser::verified("corp-1", "ada@corp.example"),
            None,
        )
        .await;
    let first = payload(&first);
    let deleted = world
        .app
        .graphql_as(
            &first.access_token,
            "mutation { deleteAccount(input: {}) }",
            json!({}),
        )
        .await;
    assert_eq!(deleted.data()["deleteAccount"], true);
    let again = world
        .sign_in(
            "corp",
            FakeUser::verified("corp-1", "ada@corp.example"),
            None,
        )
        .await;
    assert_ne!(payload(&again).user().id, first.user().id);
}

// --- linking ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_signed_in_user_links_a_provider_explicitly() {
    let world = world().await;
    let local = world.app.sign_up("ada@example.com").await;
    let url = started(&world.start("github", Some(&local.access_token)).await).authorization_url;
    let row = oauth_state::Entity::find()
        .one(world.app.state.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.user_id.map(|id| id.to_string()), Some(local.id.clone()));

    // A different address at the provider: linking does not care.
    world
        .github
        .set_user(FakeUser::verified("4242", "ada.work@corp.example"));
    let back = world.github.authorize(&url).await;
    let response = world
        .complete("github", &back.code, &back.state, Some(&local.access_token))
        .await;
    let linked = payload(&response);
    let user = linked.user();
    assert_eq!(user.id, local.id);
    assert_eq!(user.email.as_deref(), Some("ada@example.com"));
    let [account] = user.linked_accounts() else {
        panic!("one linked account: {:?}", user.linked_accounts());
    };
    assert_eq!(account.provider, "github");
    assert_eq!(account.account_id.as_deref(), Some("4242"));
    assert!(account.created_at.is_some());

    // From now on GitHub signs in to this user.
    let again = world
        .sign_in(
            "github",
            FakeUser::verified("4242", "ada.work@corp.example"),
            None,
        )
        .await;
    assert_eq!(payload(&again).user().id, local.id);
}

#[tokio::test]
async fn an_account_linked_to_another_user_cannot_be_linked_again() {
    let world = world().await;
    world
        .sign_in(
            "corp",
            FakeUser::verified("corp-1", "first@corp.example"),
            None,
        )
        .await
        .data();
    let other = world.app.sign_up("other@example.com").await;
    world
        .sign_in(
            "corp",
            FakeUser::verified("corp-1", "first@corp.example"),
            Some(&other.access_token),
        )
        .await
        .assert_error("CONFLICT", None);
    let accounts = world.accounts().await;
    assert_eq!(accounts.len(), 1);
    assert_ne!(accounts[0].user_id.to_string(), other.id);
}

#[tokio::test]
async fn a_user_cannot_link_two_accounts_of_one_provider() {
    let world = world().await;
    let local = world.app.sign_up("ada@example.com").await;
    world
        .sign_in(
            "corp",
            FakeUser::verified("corp-1", "a@corp.example"),
            Some(&local.access_token),
        )
        .await
        .data();
    let second = world
        .sign_in(
            "corp",
            FakeUser::verified("corp-2", "b@corp.example"),
            Some(&local.access_token),
        )
        .await;
    second.assert_error("CONFLICT", None);
    assert!(
        second.message().contains("Unlink it first"),
        "{}",
        second.body
    );
    assert_eq!(world.accounts().await.len(), 1);
}

#[tokio::test]
async fn a_linking_state_belongs_to_the_user_who_started_it() {
    let world = world().await;
    let owner = world.app.sign_up("owner@example.com").await;
    let intruder = world.app.sign_up("intruder@example.com").await;

    let (code, state) = world
        .authorize(
            "corp",
            FakeUser::verified("corp-1", "x@corp.example"),
            Some(&owner.access_token),
        )
        .await;
    world
        .complete("corp", &code, &state, Some(&intruder.access_token))
        .await
        .assert_error("INVALID_TOKEN", None);

    let (code, state) = world
        .authorize(
            "corp",
            FakeUser::verified("corp-1", "x@corp.example"),
            Some(&owner.access_token),
        )
        .await;
    world
        .complete("corp", &code, &state, None)
        .await
        .assert_error("UNAUTHENTICATED", None);
    assert!(world.accounts().await.is_empty());
}

#[tokio::test]
async fn a_sign_in_state_completed_while_signed_in_does_not_link() {
    let world = world().await;
    let victim = world.app.sign_up("victim@example.com").await;
    // Started signed out (say, by an attacker with their own provider account)…
    let (code, state) = world
        .authorize(
            "corp",
            FakeUser::verified("attacker", "attacker@corp.example"),
            None,
        )
        .await;
    // …and completed in the victim's signed-in browser: a sign-in, never a link.
    let response = world
        .complete("corp", &code, &state, Some(&victim.access_token))
        .await;
    assert_ne!(payload(&response).user().id, victim.id);
    assert!(
        me(&world, &victim.access_token)
            .await
            .linked_accounts()
            .is_empty()
    );
}

#[tokio::test]
async fn starting_with_an_invalid_access_token_is_unauthenticated() {
    let world = world().await;
    world
        .start("corp", Some("not-a-valid-token"))
        .await
        .assert_error("UNAUTHENTICATED", None);
    assert_eq!(world.states().await, 0);
}

// --- the browser that started a flow (login CSRF, RFC 6749 §10.12) ---------------------------

#[tokio::test]
async fn an_attackers_callback_url_completed_in_the_victims_browser_signs_no_one_in() {
    let world = world().await;
    let victim = world.app.sign_up("victim@example.com").await;
    // The victim's browser, with a sign-in of its own under way.
    let victims_browser = Browser::default();
    let (victims_verifier, victims_challenge) = Browser::new_verifier();
    let victims_flow = world
        .start_with_challenge("corp", CALLBACK, &victims_challenge, None)
        .await;
    let victims_flow = started(&victims_flow);
    victims_browser.keep(&victims_flow.state, victims_verifier.clone());

    // Signed out with no verifier for that state, with another flow's verifier, signed in.
    for (verifier, token) in [
        ("", None),
        (victims_verifier.as_str(), None),
        ("", Some(victim.access_token.as_str())),
    ] {
        // The attacker starts in their own browser, signs in at the provider with their own
        // account, stops at the callback and sends its URL to the victim.
        let (code, state) = world
            .authorize(
                "corp",
                FakeUser::verified("attacker-1", "attacker@corp.example"),
                None,
            )
            .await;
        assert_eq!(
            victims_browser.verifier(&state),
            "",
            "not the victim's flow"
        );
        let refused = world
            .complete_with_verifier("corp", &code, &state, verifier, token)
            .await;
        refused.assert_error("INVALID_TOKEN", None);
        assert!(
            refused.message().contains("not started in this browser"),
            "{}",
            refused.body
        );
        // The state is used up: not even the attacker's own browser can finish it now.
        world
            .complete("corp", &code, &state, None)
            .await
            .assert_error("INVALID_TOKEN", None);
    }

    assert_eq!(
        world.corp.token_requests(),
        0,
        "the provider was never asked"
    );
    assert!(world.accounts().await.is_empty());
    assert_eq!(world.app.user_count().await, 1, "no user was created");
    assert!(
        me(&world, &victim.access_token)
            .await
            .linked_accounts()
            .is_empty()
    );
    // The victim's own flow is untouched and completes with its verifier.
    world
        .corp
        .set_user(FakeUser::verified("victim-1", "victim.work@corp.example"));
    let back = world.corp.authorize(&victims_flow.authorization_url).await;
    let signed_in = world
        .complete_with_verifier("corp", &back.code, &back.state, &victims_verifier, None)
        .await;
    assert_eq!(
        payload(&signed_in).user().email.as_deref(),
        Some("victim.work@corp.example")
    );
}

#[tokio::test]
async fn a_missing_malformed_or_wrong_verifier_is_invalid_token_and_uses_up_the_state() {
    let world = world().await;
    let (other_browsers_verifier, _) = Browser::new_verifier();
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("42 characters", "a".repeat(42)),
        ("129 characters", "a".repeat(129)),
        (
            "a character outside [A-Za-z0-9-._~]",
            format!("{}+", "a".repeat(42)),
        ),
        ("non-ASCII", "é".repeat(43)),
        ("another browser's verifier", other_browsers_verifier),
    ];
    for (what, bad) in &cases {
        let (code, state) = world
            .authorize("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
            .await;
        let right = world.browser.verifier(&state);
        world
            .complete_with_verifier("corp", &code, &state, bad, None)
            .await
            .assert_error("INVALID_TOKEN", None);
        // One state, one try: the right verifier comes too late.
        let late = world
            .complete_with_verifier("corp", &code, &state, &right, None)
            .await;
        assert_eq!(late.code(), "INVALID_TOKEN", "{what}: {}", late.body);
    }
    // The challenge itself as the verifier (the "plain" method), and the right verifier with
    // a trailing space.
    for mangle in [
        (|v: &str| base64_url(&sha2::Sha256::digest(v.as_bytes()))) as fn(&str) -> String,
        |v: &str| format!("{v} "),
    ] {
        let (code, state) = world
            .authorize("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
            .await;
        let bad = mangle(&world.browser.verifier(&state));
        world
            .complete_with_verifier("corp", &code, &state, &bad, None)
            .await
            .assert_error("INVALID_TOKEN", None);
    }
    assert_eq!(
        world.corp.token_requests(),
        0,
        "checked before the provider is asked"
    );
    assert!(world.accounts().await.is_empty());
    assert_eq!(world.states().await, 0, "every state was used up");
}

#[tokio::test]
async fn a_linking_flow_needs_the_verifier_of_the_browser_that_started_it() {
    let world = world().await;
    let owner = world.app.sign_up("owner@example.com").await;
    let (code, state) = world
        .authorize(
            "github",
            FakeUser::verified("4242", "owner@corp.example"),
            Some(&owner.access_token),
        )
        .await;
    let (wrong, _) = Browser::new_verifier();
    world
        .complete_with_verifier("github", &code, &state, &wrong, Some(&owner.access_token))
        .await
        .assert_error("INVALID_TOKEN", None);
    assert!(world.accounts().await.is_empty());
    assert_eq!(world.github.token_requests(), 0);

    // From the browser that started it, linking works.
    let linked = world
        .sign_in(
            "github",
            FakeUser::verified("4242", "owner@corp.example"),
            Some(&owner.access_token),
        )
        .await;
    let linked = payload(&linked);
    assert_eq!(linked.user().id, owner.id);
    assert_eq!(
        linked.user().linked_accounts()[0].account_id.as_deref(),
        Some("4242")
    );
}

#[tokio::test]
async fn start_oauth_refuses_a_code_challenge_that_is_not_s256() {
    let world = world().await;
    let (verifier, challenge) = Browser::new_verifier();
    let non_canonical = format!("{}{}", &challenge[..42], "_");
    let bad = [
        String::new(),
        "abc".to_owned(),
        verifier.clone() + &verifier,    // a verifier, not its challenge
        format!("{challenge}="),         // padded
        format!("+{}", &challenge[1..]), // the standard alphabet
        non_canonical,                   // unused bits set
        format!(" {challenge}"),
    ];
    for challenge in &bad {
        world
            .start_with_challenge("corp", CALLBACK, challenge, None)
            .await
            .assert_error("BAD_USER_INPUT", Some("codeChallenge"));
    }
    let without = world
        .app
        .graphql(
            "mutation { startOAuth(provider: \"corp\", redirectUri: \"http://localhost:3000/oauth/callback\") { state } }",
            json!({}),
        )
        .await;
    without.assert_error("GRAPHQL_VALIDATION_FAILED", None);
    assert_eq!(world.states().await, 0);
}

#[tokio::test]
async fn a_completion_without_the_code_verifier_field_is_refused_and_leaves_the_state() {
    let world = world().await;
    let (code, state) = world
        .authorize("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
        .await;
    // A client that predates codeVerifier: the variable's value is refused before any
    // resolver runs, so the state is still there for the browser that holds the verifier.
    let old_client = world
        .app
        .graphql(
            COMPLETE,
            json!({ "input": { "provider": "corp", "code": code, "state": state } }),
        )
        .await;
    old_client.assert_error("BAD_USER_INPUT", Some("codeVerifier"));
    assert_eq!(world.states().await, 1);
    world.complete("corp", &code, &state, None).await.data();
}

// --- unlinking -------------------------------------------------------------------------------

#[tokio::test]
async fn unlink_removes_the_account_of_a_user_with_a_password() {
    let world = world().await;
    let local = world.app.sign_up("ada@example.com").await;
    world
        .sign_in(
            "corp",
            FakeUser::verified("corp-1", "a@corp.example"),
            Some(&local.access_token),
        )
        .await
        .data();
    let unlinked = world
        .app
        .graphql_as(&local.access_token, UNLINK, json!({ "p": "corp" }))
        .await;
    assert_eq!(unlinked.data()["unlinkAccount"], true);
    assert!(world.accounts().await.is_empty());
    // The identity is free: signing in with it now creates a new user.
    let fresh = world
        .sign_in("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
        .await;
    assert_ne!(payload(&fresh).user().id, local.id);
}

#[tokio::test]
async fn unlinking_the_only_way_to_sign_in_is_a_conflict() {
    let world = world().await;
    // No password, an email nobody verified, one linked account.
    let response = world
        .sign_in(
            "corp",
            FakeUser::unverified("corp-1", "a@corp.example"),
            None,
        )
        .await;
    let token = &payload(&response).access_token;
    let refused = world
        .app
        .graphql_as(token, UNLINK, json!({ "p": "corp" }))
        .await;
    refused.assert_error("CONFLICT", None);
    assert_eq!(world.accounts().await.len(), 1);
}

#[tokio::test]
async fn unlinking_is_allowed_when_the_email_is_verified() {
    let world = world().await;
    // Sign-in by emailed code remains.
    let response = world
        .sign_in("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
        .await;
    let token = &payload(&response).access_token;
    let unlinked = world
        .app
        .graphql_as(token, UNLINK, json!({ "p": "corp" }))
        .await;
    assert_eq!(unlinked.data()["unlinkAccount"], true);
    assert!(me(&world, token).await.linked_accounts().is_empty());
}

#[tokio::test]
async fn unlinking_is_allowed_while_another_linked_account_remains() {
    let world = world().await;
    let response = world
        .sign_in(
            "corp",
            FakeUser::unverified("corp-1", "a@corp.example"),
            None,
        )
        .await;
    let token = payload(&response).access_token;
    world
        .sign_in(
            "github",
            FakeUser::unverified("4242", "a@corp.example"),
            Some(&token),
        )
        .await
        .data();

    let unlinked = world
        .app
        .graphql_as(&token, UNLINK, json!({ "p": "corp" }))
        .await;
    assert_eq!(unlinked.data()["unlinkAccount"], true);
    // Now GitHub is the last way in.
    world
        .app
        .graphql_as(&token, UNLINK, json!({ "p": "github" }))
        .await
        .assert_error("CONFLICT", None);
    assert_eq!(world.accounts().await.len(), 1);
}

#[tokio::test]
async fn unlinking_an_unknown_or_unlinked_provider_is_refused() {
    let world = world().await;
    let local = world.app.sign_up("ada@example.com").await;
    world
        .app
        .graphql_as(&local.access_token, UNLINK, json!({ "p": "facebook" }))
        .await
        .assert_error("BAD_USER_INPUT", Some("provider"));
    world
        .app
        .graphql_as(&local.access_token, UNLINK, json!({ "p": "github" }))
        .await
        .assert_error("NOT_FOUND", None);
    world
        .app
        .graphql(UNLINK, json!({ "p": "github" }))
        .await
        .assert_error("UNAUTHENTICATED", None);
}

// --- state, nonce, signature, PKCE -----------------------------------------------------------

#[tokio::test]
async fn an_unknown_state_is_invalid_token() {
    let world = world().await;
    world
        .authorize("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
        .await;
    let code = "whatever";
    for state in ["made-up-state", ""] {
        world
            .complete("corp", code, state, None)
            .await
            .assert_error("INVALID_TOKEN", None);
    }
    assert_eq!(
        world.corp.token_requests(),
        0,
        "the provider is not even asked"
    );
}

#[tokio::test]
async fn an_expired_state_is_invalid_token() {
    let world = world().await;
    let (code, state) = world
        .authorize("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
        .await;
    world
        .app
        .clock
        .advance(chrono::Duration::minutes(10) + chrono::Duration::seconds(1));
    world
        .complete("corp", &code, &state, None)
        .await
        .assert_error("INVALID_TOKEN", None);
    assert_eq!(world.corp.token_requests(), 0);
    assert!(world.accounts().await.is_empty());
}

#[tokio::test]
async fn a_state_is_still_good_just_before_ten_minutes() {
    let world = world().await;
    let (code, state) = world
        .authorize("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
        .await;
    world
        .app
        .clock
        .advance(chrono::Duration::minutes(9) + chrono::Duration::seconds(50));
    world.complete("corp", &code, &state, None).await.data();
}

#[tokio::test]
async fn a_state_cannot_be_used_twice() {
    let world = world().await;
    let (code, state) = world
        .authorize("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
        .await;
    world.complete("corp", &code, &state, None).await.data();
    world
        .complete("corp", &code, &state, None)
        .await
        .assert_error("INVALID_TOKEN", None);
    assert_eq!(world.corp.token_requests(), 1);
}

#[tokio::test]
async fn a_state_used_by_two_requests_at_once_works_once() {
    let world = world().await;
    let (code, state) = world
        .authorize("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
        .await;
    let (a, b) = tokio::join!(
        world.complete("corp", &code, &state, None),
        world.complete("corp", &code, &state, None)
    );
    let ok = [&a, &b]
        .iter()
        .filter(|r| r.body.get("errors").is_none())
        .count();
    assert_eq!(ok, 1, "{} / {}", a.body, b.body);
    let failed = if a.body.get("errors").is_some() {
        &a
    } else {
        &b
    };
    failed.assert_error("INVALID_TOKEN", None);
}

#[tokio::test]
async fn a_state_for_another_provider_is_invalid_token() {
    let world = world().await;
    let (code, state) = world
        .authorize("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
        .await;
    world
        .complete("google", &code, &state, None)
        .await
        .assert_error("INVALID_TOKEN", None);
    // Presenting it to the wrong provider used it up.
    world
        .complete("corp", &code, &state, None)
        .await
        .assert_error("INVALID_TOKEN", None);
    assert_eq!(
        world.corp.token_requests() + world.google.token_requests(),
        0
    );
}

#[tokio::test]
async fn a_code_the_provider_refuses_is_invalid_token() {
    let world = world().await;
    for provider in ["corp", "github"] {
        let (_, state) = world
            .authorize(provider, FakeUser::verified("4242", "a@corp.example"), None)
            .await;
        world
            .complete(provider, "forged-code", &state, None)
            .await
            .assert_error("INVALID_TOKEN", None);
    }
    assert!(world.accounts().await.is_empty());
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused_by_the_provider() {
    let world = world().await;
    for provider in ["corp", "github"] {
        // The code is bound to another challenge than the one todoql sent: the verifier
        // todoql presents cannot match it.
        world
            .fake(provider)
            .set_tamper(Tamper::Challenge(base64_url(&[7u8; 32])));
        let response = world
            .sign_in(provider, FakeUser::verified("4242", "a@corp.example"), None)
            .await;
        response.assert_error("INVALID_TOKEN", None);
        assert_eq!(
            world.fake(provider).token_requests(),
            1,
            "{provider} was asked"
        );
    }
    assert!(world.accounts().await.is_empty());
}

#[tokio::test]
async fn an_id_token_with_the_wrong_nonce_is_refused() {
    let world = world().await;
    for tamper in [Tamper::Nonce("someone-elses-nonce".into()), Tamper::NoNonce] {
        world.corp.set_tamper(tamper);
        world
            .sign_in("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
            .await
            .assert_error("INVALID_TOKEN", None);
    }
    assert!(world.accounts().await.is_empty());
}

#[tokio::test]
async fn an_id_token_signed_by_another_key_is_refused() {
    let world = world().await;
    world.corp.set_tamper(Tamper::OtherKey);
    let response = world
        .sign_in("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
        .await;
    response.assert_error("INVALID_TOKEN", None);
    assert!(world.accounts().await.is_empty());
}

#[tokio::test]
async fn an_id_token_for_another_audience_or_issuer_or_expired_is_refused() {
    let world = world().await;
    for tamper in [
        Tamper::Audience("someone-else".into()),
        Tamper::Issuer("https://evil.example".into()),
        Tamper::Expired,
    ] {
        world.corp.set_tamper(tamper.clone());
        world
            .sign_in("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
            .await
            .assert_error("INVALID_TOKEN", None);
    }
    assert!(world.accounts().await.is_empty());
}

// --- provider tokens --------------------------------------------------------------------------

#[tokio::test]
async fn provider_tokens_are_stored_encrypted_and_never_returned() {
    let world = world().await;
    let response = world
        .sign_in("corp", FakeUser::verified("corp-1", "a@corp.example"), None)
        .await;
    let issued = world.corp.issued();
    let token = payload(&response).access_token;
    let me = world.app.graphql_as(&token, ME, json!({})).await;
    let sessions = world
        .app
        .graphql_as(&token, "{ sessions { id userAgent ipAddress } }", json!({}))
        .await;
    let refresh = issued.refresh_token.clone().unwrap();
    let id_token = issued.id_token.clone().unwrap();
    for body in [&response.body, &me.body, &sessions.body] {
        let text = body.to_string();
        for secret in [&issued.access_token, &refresh, &id_token] {
            assert!(
                !text.contains(secret.as_str()),
                "a provider token leaked: {text}"
            );
        }
    }

    let stored = &world.accounts().await[0];
    let columns = [
        (
            purpose::ACCESS_TOKEN,
            stored.access_token.as_deref(),
            &issued.access_token,
        ),
        (
            purpose::REFRESH_TOKEN,
            stored.refresh_token.as_deref(),
            &refresh,
        ),
        (purpose::ID_TOKEN, stored.id_token.as_deref(), &id_token),
    ];
    for (purpose, ciphertext, plain) in columns {
        let ciphertext = ciphertext.expect("stored");
        assert!(
            !ciphertext.contains(plain.as_str()),
            "{purpose} stored in clear"
        );
        assert!(ciphertext.starts_with("v1."));
        assert_eq!(&cipher().decrypt(purpose, ciphertext).unwrap(), plain);
    }
    assert!(stored.access_token_expires_at.is_some());
    assert_eq!(stored.scope.as_deref(), Some("openid email profile"));
}

// --- the binary refuses a bad OAuth configuration -------------------------------------------

fn todoql(env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_todoql"))
        .args(["serve", "--check-config"])
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("run todoql")
}

#[test]
fn the_server_refuses_oauth_without_an_encryption_key() {
    let out = todoql(&[
        ("TODOQL_OAUTH_GITHUB_CLIENT_ID", "id"),
        ("TODOQL_OAUTH_GITHUB_CLIENT_SECRET", "secret"),
        ("TODOQL_OAUTH_REDIRECT_URIS", CALLBACK),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("TODOQL_ENCRYPTION_KEY"), "{stderr}");
}

#[test]
fn the_server_refuses_a_bad_encryption_key_without_printing_it() {
    let out = todoql(&[("TODOQL_ENCRYPTION_KEY", "c2hvcnQta2V5LXNlY3JldA==")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("TODOQL_ENCRYPTION_KEY"), "{stderr}");
    assert!(!stderr.contains("c2hvcnQta2V5LXNlY3JldA"), "{stderr}");
}

#[test]
fn the_server_names_a_missing_oidc_variable() {
    let out = todoql(&[
        ("TODOQL_OIDC_PROVIDERS", "corp"),
        ("TODOQL_OIDC_CORP_ISSUER", "https://sso.corp.example"),
        ("TODOQL_OIDC_CORP_CLIENT_SECRET", "secret"),
        ("TODOQL_ENCRYPTION_KEY", KEY_HEX),
        ("TODOQL_OAUTH_REDIRECT_URIS", CALLBACK),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TODOQL_OIDC_CORP_CLIENT_ID"), "{stderr}");
}

#[test]
fn a_complete_oauth_configuration_starts() {
    let out = todoql(&[
        ("TODOQL_OIDC_PROVIDERS", "corp"),
        ("TODOQL_OIDC_CORP_ISSUER", "https://sso.corp.example"),
        ("TODOQL_OIDC_CORP_CLIENT_ID", "id"),
        ("TODOQL_OIDC_CORP_CLIENT_SECRET", "secret"),
        ("TODOQL_ENCRYPTION_KEY", KEY_HEX),
        ("TODOQL_OAUTH_REDIRECT_URIS", CALLBACK),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// --- security log --------------------------------------------------------------------------

/// The caller's security events as (type, method, provider), newest first.
async fn log_of(world: &World, token: &str) -> Vec<(String, Option<String>, Option<String>)> {
    let response = world
        .app
        .graphql_as(
            token,
            "{ securityEvents(first: 100) { nodes { type method provider } } }",
            json!({}),
        )
        .await;
    response.data()["securityEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |name: &str| e[name].as_str().map(str::to_owned);
            (text("type").unwrap(), text("method"), text("provider"))
        })
        .collect()
}

fn event(
    kind: &str,
    method: Option<&str>,
    provider: Option<&str>,
) -> (String, Option<String>, Option<String>) {
    (
        kind.to_owned(),
        method.map(str::to_owned),
        provider.map(str::to_owned),
    )
}

#[tokio::test]
async fn oauth_sign_up_sign_in_link_and_unlink_are_in_the_security_log_with_their_provider() {
    let world = world().await;
    let created = world
        .sign_in("corp", FakeUser::verified("c-1", "ada@example.com"), None)
        .await;
    let token = payload(&created).access_token;
    let url = started(&world.start("github", Some(&token)).await).authorization_url;
    world
        .github
        .set_user(FakeUser::verified("4242", "ada@example.com"));
    let back = world.github.authorize(&url).await;
    world
        .complete("github", &back.code, &back.state, Some(&token))
        .await
        .data();
    world
        .app
        .graphql_as(&token, UNLINK, json!({ "p": "github" }))
        .await
        .data();
    let signed_in = world
        .sign_in("corp", FakeUser::verified("c-1", "ada@example.com"), None)
        .await;
    let token = payload(&signed_in).access_token;

    let log = log_of(&world, &token).await;

    assert_eq!(
        log,
        [
            event("SIGNED_IN", Some("OAUTH"), Some("corp")),
            event("OAUTH_UNLINKED", None, Some("github")),
            event("SIGNED_IN", Some("OAUTH"), Some("github")),
            event("OAUTH_LINKED", None, Some("github")),
            event("SIGNED_IN", Some("OAUTH"), Some("corp")),
            event("SIGNED_UP", Some("OAUTH"), Some("corp")),
        ]
    );
}

#[tokio::test]
async fn a_link_by_verified_email_is_recorded_as_oauth_linked() {
    let world = world().await;
    let local = world.app.sign_up("ada@example.com").await;
    world.app.mark_verified(&local.id).await;
    let response = world
        .sign_in("google", FakeUser::verified("g-1", "ada@example.com"), None)
        .await;
    let token = payload(&response).access_token;
    let log = log_of(&world, &token).await;
    assert_eq!(
        log[..2],
        [
            event("SIGNED_IN", Some("OAUTH"), Some("google")),
            event("OAUTH_LINKED", None, Some("google")),
        ]
    );
}

// --- second factor -------------------------------------------------------------------------

#[tokio::test]
async fn an_oauth_sign_in_needs_the_second_factor_and_creates_no_session_until_then() {
    use crate::mfa::{Phone, enroll, mfa_token};
    let world = world().await;
    let ada = || FakeUser::verified("corp-123", "ada@corp.example");
    let first = payload(&world.sign_in("corp", ada(), None).await);
    let (phone, _codes): (Phone, _) = enroll(&world.app, &first.access_token).await;
    let sessions = || async {
        todoql_entity::session::Entity::find()
            .count(world.app.state.db())
            .await
            .unwrap()
    };
    let before = sessions().await;

    let again = world.sign_in("corp", ada(), None).await;
    let token = mfa_token(&again);
    assert_eq!(
        sessions().await,
        before,
        "no session before the second factor"
    );

    let verified = world
        .app
        .graphql(
            "mutation($input: VerifyMfaInput!) { verifyMfa(input: $input) { session { authenticationMethods } } }",
            json!({ "input": { "mfaToken": token, "totpCode": phone.code(&world.app, 0) } }),
        )
        .await;
    assert_eq!(
        verified.data()["verifyMfa"]["session"]["authenticationMethods"],
        json!(["OAUTH", "TOTP"])
    );
    assert_eq!(sessions().await, before + 1);
}

#[tokio::test]
async fn linking_from_a_session_that_gave_its_second_factor_needs_no_other_and_carries_it_on() {
    use crate::mfa::{enroll, mfa_token};
    let world = world().await;
    let local = world.app.verified_user("ada@example.com").await;
    enroll(&world.app, &local.access_token).await;

    let url = started(&world.start("github", Some(&local.access_token)).await).authorization_url;
    world
        .github
        .set_user(FakeUser::verified("4242", "ada.work@corp.example"));
    let back = world.github.authorize(&url).await;
    let linked = world
        .complete("github", &back.code, &back.state, Some(&local.access_token))
        .await;
    assert_eq!(payload(&linked).user().providers(), ["github"]);
    assert_eq!(
        world
            .app
            .current_session_methods(&payload(&linked).access_token)
            .await,
        json!(["OAUTH", "TOTP"])
    );

    // Signing in with the linked provider needs the second factor.
    let again = world
        .sign_in(
            "github",
            FakeUser::verified("4242", "ada.work@corp.example"),
            None,
        )
        .await;
    mfa_token(&again);
}
