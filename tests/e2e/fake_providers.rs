//! Fake OAuth providers that the tests start over HTTP on 127.0.0.1 port 0: an OpenID Connect
//! issuer (discovery, JWKS, authorize, token with RS256-signed ID tokens) and a GitHub-like
//! API (authorize, token, /user, /user/emails).
//!
//! Both check what a real provider checks: client credentials, the redirect URI, single-use
//! codes and the PKCE verifier against the S256 challenge of the authorization request. The
//! test plays the browser: `authorize(url)` asks the fake's authorize endpoint (signed in as
//! the user set with `set_user`) and reads the code from its redirect.
//!
//! The RSA keys in fixtures/ were made for these tests only (`openssl genpkey`); they sign
//! nothing else.

#![allow(dead_code)]

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The key whose public half the fake issuer publishes.
pub const SIGNING_KEY: &str = include_str!("fixtures/oidc_signing_key.pem");
/// A key the issuer does not publish (for forged ID tokens).
pub const OTHER_KEY: &str = include_str!("fixtures/oidc_other_key.pem");
const KID: &str = "test-key-1";

/// Who is signed in at the fake provider.
#[derive(Debug, Clone)]
pub struct FakeUser {
    /// OIDC `sub` (or GitHub's numeric id, as text).
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub picture: Option<String>,
}

impl FakeUser {
    /// A user with a verified email and a profile.
    pub fn verified(sub: &str, email: &str) -> Self {
        FakeUser {
            sub: sub.into(),
            email: Some(email.into()),
            email_verified: true,
            name: Some("Ada Lovelace".into()),
            picture: Some("https://pictures.example/ada.png".into()),
        }
    }

    /// The same, with an email the provider does not vouch for.
    pub fn unverified(sub: &str, email: &str) -> Self {
        FakeUser {
            email_verified: false,
            ..Self::verified(sub, email)
        }
    }
}

/// A deliberate defect in the next code the fake issues.
#[derive(Debug, Clone, Default)]
pub enum Tamper {
    #[default]
    None,
    /// The ID token is signed with a key the issuer does not publish (same kid).
    OtherKey,
    /// The ID token carries this nonce instead of the one requested.
    Nonce(String),
    /// The ID token has no nonce.
    NoNonce,
    /// The ID token is for another client.
    Audience(String),
    /// The ID token names another issuer.
    Issuer(String),
    /// The ID token expired an hour ago.
    Expired,
    /// The code is bound to this PKCE challenge instead of the requested one, so the server's
    /// verifier does not match it.
    Challenge(String),
}

/// What the token endpoint handed out last (the tests look for these in the database and the
/// API).
#[derive(Debug, Clone, Default)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
}

struct Grant {
    user: FakeUser,
    client_id: String,
    redirect_uri: String,
    challenge: Option<String>,
    nonce: Option<String>,
    tamper: Tamper,
}

#[derive(Default)]
struct Shared {
    base_url: String,
    client_id: String,
    client_secret: String,
    user: Option<FakeUser>,
    tamper: Tamper,
    codes: HashMap<String, Grant>,
    /// access token → user, for the GitHub API.
    access: HashMap<String, FakeUser>,
    /// GitHub: emails beyond the primary one.
    extra_emails: Vec<Value>,
    issued: Option<IssuedTokens>,
    token_requests: usize,
}

type Fake = Arc<Mutex<Shared>>;

/// A running fake provider.
pub struct FakeProvider {
    /// e.g. http://127.0.0.1:41234 — the OIDC issuer, or GitHub's base URL.
    pub base_url: String,
    shared: Fake,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn random(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

impl FakeProvider {
    async fn serve(router: Router<Fake>, client_id: &str, client_secret: &str) -> FakeProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Mutex::new(Shared {
            base_url: base_url.clone(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            ..Default::default()
        }));
        let app = router.with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        FakeProvider {
            base_url,
            shared,
            task,
        }
    }

    /// An OpenID Connect issuer at `base_url` for the client `client_id`/`client_secret`.
    pub async fn oidc(client_id: &str, client_secret: &str) -> FakeProvider {
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(oidc_token));
        Self::serve(router, client_id, client_secret).await
    }

    /// A GitHub-like provider: /login/oauth/authorize, /login/oauth/access_token, /user,
    /// /user/emails.
    pub async fn github(client_id: &str, client_secret: &str) -> FakeProvider {
        let router = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(github_token))
            .route("/user", get(github_user))
            .route("/user/emails", get(github_emails));
        Self::serve(router, client_id, client_secret).await
    }

    /// Signs `user` in at the provider: the next authorizations are theirs.
    pub fn set_user(&self, user: FakeUser) {
        self.shared.lock().unwrap().user = Some(user);
    }

    /// The next code issued carries this defect.
    pub fn set_tamper(&self, tamper: Tamper) {
        self.shared.lock().unwrap().tamper = tamper;
    }

    /// GitHub: more entries for /user/emails (the primary one comes from the user).
    pub fn set_extra_emails(&self, emails: Vec<Value>) {
        self.shared.lock().unwrap().extra_emails = emails;
    }

    /// The tokens of the last successful token request.
    pub fn issued(&self) -> IssuedTokens {
        self.shared
            .lock()
            .unwrap()
            .issued
            .clone()
            .expect("no token was issued")
    }

    /// How many token requests arrived.
    pub fn token_requests(&self) -> usize {
        self.shared.lock().unwrap().token_requests
    }

    /// Plays the browser: opens `authorization_url` at the fake (signed in as the current
    /// user) and returns the `code` and `state` of the redirect, and the redirect target.
    pub async fn authorize(&self, authorization_url: &str) -> Authorized {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client
            .get(authorization_url)
            .send()
            .await
            .expect("authorize");
        assert_eq!(
            response.status(),
            303,
            "authorize answered {}",
            response.status()
        );
        let location = response.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned();
        let url = url::Url::parse(&location).unwrap();
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| panic!("no {name} in {location}"))
        };
        Authorized {
            code: param("code"),
            state: param("state"),
            redirected_to: format!("{}{}", url.origin().ascii_serialization(), url.path()),
        }
    }

    /// A signed ID token with arbitrary claims (for forging).
    pub fn sign(claims: &Value, pem: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.into());
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("test key");
        jsonwebtoken::encode(&header, claims, &key).expect("sign")
    }
}

/// The provider's redirect back to the frontend.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub code: String,
    pub state: String,
    /// The redirect URI the browser was sent to (without query).
    pub redirected_to: String,
}

async fn discovery(State(fake): State<Fake>) -> Json<Value> {
    let base = fake.lock().unwrap().base_url.clone();
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks() -> Json<JwkSet> {
    let key = EncodingKey::from_rsa_pem(SIGNING_KEY.as_bytes()).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(KID.into());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
    Json(JwkSet { keys: vec![jwk] })
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

/// The authorize endpoint, for the signed-in fake user: checks the request like a provider
/// would and redirects (303) to redirect_uri with a fresh code and the state.
async fn authorize(
    State(fake): State<Fake>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let mut shared = fake.lock().unwrap();
    let p = |k: &str| params.get(k).cloned();
    if p("client_id").as_deref() != Some(shared.client_id.as_str()) {
        return oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    }
    let Some(redirect_uri) = p("redirect_uri") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let is_github = p("response_type").is_none();
    if !is_github && p("response_type").as_deref() != Some("code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_response_type");
    }
    if p("code_challenge_method").as_deref() != Some("S256") || p("code_challenge").is_none() {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let Some(user) = shared.user.clone() else {
        return oauth_error(StatusCode::UNAUTHORIZED, "login_required");
    };
    let tamper = std::mem::take(&mut shared.tamper);
    let challenge = match &tamper {
        Tamper::Challenge(other) => Some(other.clone()),
        _ => p("code_challenge"),
    };
    let code = random("code");
    let client_id = shared.client_id.clone();
    shared.codes.insert(
        code.clone(),
        Grant {
            user,
            client_id,
            redirect_uri: redirect_uri.clone(),
            challenge,
            nonce: p("nonce"),
            tamper,
        },
    );
    let mut target = url::Url::parse(&redirect_uri).expect("redirect uri");
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &p("state").unwrap_or_default());
    Redirect::to(target.as_str()).into_response()
}

/// Client credentials from HTTP Basic or from the body.
fn client_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Option<(String, String)> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(encoded) = value.strip_prefix("Basic ")
    {
        let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return Some((unescape(id)?, unescape(secret)?));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
    ))
}

/// Checks a token request against its grant and consumes the code.
fn redeem(
    shared: &mut Shared,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Grant, &'static str> {
    shared.token_requests += 1;
    let (id, secret) = client_credentials(headers, form).ok_or("invalid_client")?;
    if id != shared.client_id || secret != shared.client_secret {
        return Err("invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return Err("unsupported_grant_type");
    }
    let code = form.get("code").ok_or("invalid_request")?;
    // Single use: removed whether or not the rest checks out.
    let grant = shared.codes.remove(code).ok_or("invalid_grant")?;
    if grant.client_id != id || form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return Err("invalid_grant");
    }
    if let Some(challenge) = &grant.challenge {
        let verifier = form.get("code_verifier").ok_or("invalid_grant")?;
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if &computed != challenge {
            return Err("invalid_grant");
        }
    }
    Ok(grant)
}

async fn oidc_token(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut shared = fake.lock().unwrap();
    let grant = match redeem(&mut shared, &headers, &form) {
        Ok(grant) => grant,
        Err(error) => return oauth_error(StatusCode::BAD_REQUEST, error),
    };
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": shared.base_url,
        "sub": grant.user.sub,
        "aud": grant.client_id,
        "iat": now,
        "exp": now + 3600,
        "email_verified": grant.user.email_verified,
    });
    if let Some(email) = &grant.user.email {
        claims["email"] = json!(email);
    }
    if let Some(name) = &grant.user.name {
        claims["name"] = json!(name);
    }
    if let Some(picture) = &grant.user.picture {
        claims["picture"] = json!(picture);
    }
    if let Some(nonce) = &grant.nonce {
        claims["nonce"] = json!(nonce);
    }
    let mut pem = SIGNING_KEY;
    match &grant.tamper {
        Tamper::OtherKey => pem = OTHER_KEY,
        Tamper::Nonce(other) => claims["nonce"] = json!(other),
        Tamper::NoNonce => {
            claims.as_object_mut().unwrap().remove("nonce");
        }
        Tamper::Audience(other) => claims["aud"] = json!(other),
        Tamper::Issuer(other) => claims["iss"] = json!(other),
        Tamper::Expired => {
            claims["iat"] = json!(now - 7200);
            claims["exp"] = json!(now - 3600);
        }
        Tamper::None | Tamper::Challenge(_) => {}
    }
    let id_token = FakeProvider::sign(&claims, pem);
    let tokens = IssuedTokens {
        access_token: random("oidc-access"),
        refresh_token: Some(random("oidc-refresh")),
        id_token: Some(id_token.clone()),
    };
    shared.issued = Some(tokens.clone());
    Json(json!({
        "access_token": tokens.access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": tokens.refresh_token,
        "id_token": id_token,
        "scope": "openid email profile",
    }))
    .into_response()
}

/// GitHub answers token errors with 200 and an `error` field; so does the fake.
async fn github_token(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut shared = fake.lock().unwrap();
    let grant = match redeem(&mut shared, &headers, &form) {
        Ok(grant) => grant,
        Err(_) => {
            return Json(json!({
                "error": "bad_verification_code",
                "error_description": "The code passed is incorrect or expired.",
            }))
            .into_response();
        }
    };
    let access_token = random("gho");
    shared.access.insert(access_token.clone(), grant.user);
    shared.issued = Some(IssuedTokens {
        access_token: access_token.clone(),
        refresh_token: None,
        id_token: None,
    });
    Json(json!({
        "access_token": access_token,
        "token_type": "bearer",
        "scope": "read:user,user:email",
    }))
    .into_response()
}

fn github_caller(shared: &Shared, headers: &HeaderMap) -> Option<FakeUser> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    shared.access.get(token).cloned()
}

async fn github_user(State(fake): State<Fake>, headers: HeaderMap) -> Response {
    let shared = fake.lock().unwrap();
    if headers.get(header::USER_AGENT).is_none() {
        // GitHub refuses requests without a User-Agent.
        return (StatusCode::FORBIDDEN, "User-Agent required").into_response();
    }
    let Some(user) = github_caller(&shared, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "message": "Bad credentials" })),
        )
            .into_response();
    };
    Json(json!({
        "id": user.sub.parse::<u64>().expect("GitHub ids are numbers"),
        "login": "ada-gh",
        "name": user.name,
        "avatar_url": user.picture,
        "email": null,
    }))
    .into_response()
}

async fn github_emails(State(fake): State<Fake>, headers: HeaderMap) -> Response {
    let shared = fake.lock().unwrap();
    let Some(user) = github_caller(&shared, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "message": "Bad credentials" })),
        )
            .into_response();
    };
    let mut emails = shared.extra_emails.clone();
    if let Some(email) = user.email {
        emails.push(json!({
            "email": email,
            "primary": true,
            "verified": user.email_verified,
            "visibility": "private",
        }));
    }
    Json(Value::Array(emails)).into_response()
}
