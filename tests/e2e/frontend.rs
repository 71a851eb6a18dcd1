//! What frontend developers touch on the server: GraphiQL served offline from the binary, the
//! introspection query that GraphiQL and code generators send, and short access-token lifetimes
//! for client tests.

use crate::support::*;
use serde::Deserialize;
use serde_json::json;
use todoql_server::config::Config;

const INTROSPECTION: &str = include_str!("fixtures/introspection.graphql");

/// Every `src="…"` and `href="…"` value of an HTML page.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (start, _) in html.match_indices(attribute) {
            let rest = &html[start + attribute.len()..];
            found.push(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    found
}

/// The asset URLs of the page, absolute.
async fn asset_urls(app: &TestApp) -> Vec<String> {
    let html = app.get("/graphql").await.text().await.unwrap();
    references(&html)
        .into_iter()
        .filter(|r| !r.starts_with("data:"))
        .map(|r| format!("{}/{r}", app.base_url))
        .collect()
}

#[tokio::test]
async fn graphiql_page_is_served_with_a_policy_that_allows_this_server_only() {
    let app = spawn_app().await;

    let response = app.get("/graphql").await;

    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    assert!(!policy.contains("http"), "{policy}");
    let html = response.text().await.unwrap();
    assert!(html.contains("todoql GraphiQL"), "{html}");
    // The page refers to nothing off this host: no URL with a scheme at all, no
    // protocol-relative URL; every script and stylesheet is one of ours.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    let refs = references(&html);
    assert!(refs.len() >= 5, "{refs:?}");
    for r in &refs {
        assert!(
            r.starts_with("graphql/assets/") || r.starts_with("data:"),
            "off-host or unexpected reference {r}"
        );
    }
    // No inline script runs (the policy would block it): the settings are inert JSON.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=").count() + 1
    );
    assert!(html.contains(r#"<script id="todoql-graphiql-config" type="application/json">"#));
}

#[tokio::test]
async fn graphiql_opens_with_the_tour_and_the_authorization_header_to_fill_in() {
    let app = spawn_app().await;

    let html = app.get("/graphql").await.text().await.unwrap();

    let start = html.find(r#"type="application/json">"#).unwrap() + 24;
    let end = start + html[start..].find("</script>").unwrap();
    let config: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(config["endpoint"], "graphql");
    // Subscriptions go over a WebSocket to /graphql itself, with GraphiQL's own graphql-ws.
    assert_eq!(config["subscriptionEndpoint"], "graphql", "{config}");
    assert!(!html.contains("graphql-ws.min.js"));
    let tour = config["defaultQuery"].as_str().unwrap();
    for operation in [
        "query Tour",
        "mutation SignUp",
        "mutation SignIn",
        "query MyTodos",
    ] {
        assert!(
            tour.contains(operation),
            "{operation} missing from the tour"
        );
    }
    let headers: serde_json::Value =
        serde_json::from_str(config["defaultHeaders"].as_str().unwrap()).unwrap();
    assert_eq!(headers["Authorization"], "Bearer PASTE_ACCESS_TOKEN_HERE");
    // The tour's first operation runs as it is, even with the placeholder token.
    let tour_query = &tour[tour.find("query Tour").unwrap()..];
    let tour_query = &tour_query[..tour_query.find("\n}\n").unwrap() + 2];
    let answer = app
        .graphql_as("PASTE_ACCESS_TOKEN_HERE", tour_query, json!({}))
        .await;
    assert!(answer.body.get("errors").is_none(), "{}", answer.body);
    /// The tour's `query Tour`: the sign-in methods and the viewer.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Tour {
        auth_config: AuthConfig,
        me: Option<User>,
    }
    let answer: Tour = answer.data_as();
    assert_eq!(answer.auth_config.password_sign_in, Some(true));
    assert!(answer.me.is_none(), "the placeholder token signs nobody in");
}

#[tokio::test]
async fn graphiql_assets_are_served_from_the_binary_with_their_content_type() {
    let app = spawn_app().await;
    let urls = asset_urls(&app).await;

    for url in &urls {
        let response = app.client.get(url).send().await.unwrap();

        assert_eq!(response.status(), 200, "{url}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let path = url.split('?').next().unwrap();
        let expected = if path.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            "text/javascript; charset=utf-8"
        };
        assert_eq!(content_type, expected, "{url}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{url}"
        );
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let body = response.text().await.unwrap();
        assert!(
            body.len() > 1000 || path.ends_with("todoql-graphiql.js"),
            "{url}"
        );
        // Nothing loads more code or styles from elsewhere.
        assert!(!body.contains("@import"), "{url} imports a stylesheet");
        for url_value in body.split("url(").skip(1) {
            let target = url_value.trim_start_matches(['"', '\'']);
            assert!(
                !target.starts_with("http") && !target.starts_with("//"),
                "{url} loads {}",
                &target[..target.len().min(80)]
            );
        }
        for cdn in [
            "unpkg.com",
            "cdn.jsdelivr.net",
            "cdnjs.cloudflare.com",
            "esm.sh/",
            "fonts.googleapis.com",
        ] {
            assert!(!body.contains(cdn), "{url} mentions {cdn}");
        }
        assert!(
            !body.contains("sourceMappingURL"),
            "{url} points at a missing map"
        );
    }
    let names: Vec<&str> = urls
        .iter()
        .map(|u| u.rsplit('/').next().unwrap().split('?').next().unwrap())
        .collect();
    for needed in [
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "todoql-graphiql.js",
    ] {
        assert!(
            names.contains(&needed),
            "{needed} not on the page: {names:?}"
        );
    }
}

#[tokio::test]
async fn an_asset_asked_for_without_its_current_hash_must_be_revalidated() {
    let app = spawn_app().await;

    let bare = app.get("/graphql/assets/graphiql.min.js").await;
    let stale = app.get("/graphql/assets/graphiql.min.js?v=0000").await;
    let unknown = app.get("/graphql/assets/nothing.js").await;
    let escape = app.get("/graphql/assets/..%2F..%2FCargo.toml").await;

    assert_eq!(bare.status(), 200);
    assert_eq!(bare.headers()["cache-control"], "no-cache");
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.headers()["cache-control"], "no-cache");
    assert_eq!(unknown.status(), 404);
    assert_eq!(escape.status(), 404);
}

/// GraphiQL's largest file, as the binary embeds it.
const GRAPHIQL_JS: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/graphiql/graphiql.min.js"
));

/// GET the asset with `accept_encoding` (none: no header); the status, Content-Encoding, Vary
/// and the body as sent. The client decodes nothing itself.
async fn fetch_asset(
    app: &TestApp,
    accept_encoding: Option<&str>,
) -> (u16, Option<String>, String, Vec<u8>) {
    let mut request = app
        .client
        .get(format!("{}/graphql/assets/graphiql.min.js", app.base_url));
    if let Some(encoding) = accept_encoding {
        request = request.header("accept-encoding", encoding);
    }
    let response = request.send().await.expect("request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (encoding, vary) = (
        header("content-encoding"),
        header("vary").unwrap_or_default(),
    );
    let status = response.status().as_u16();
    (
        status,
        encoding,
        vary,
        response.bytes().await.unwrap().to_vec(),
    )
}

#[tokio::test]
async fn graphiql_assets_come_gzip_or_br_compressed_when_accepted_and_plain_otherwise() {
    use std::io::Read;
    let app = spawn_app().await;

    let (status, encoding, vary, body) = fetch_asset(&app, Some("gzip")).await;
    assert_eq!((status, encoding.as_deref()), (200, Some("gzip")));
    assert!(
        vary.to_ascii_lowercase().contains("accept-encoding"),
        "{vary}"
    );
    assert!(body.len() < GRAPHIQL_JS.len() / 2, "{} bytes", body.len());
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert!(decoded == GRAPHIQL_JS, "gzip decodes to other bytes");

    let (status, encoding, _, body) = fetch_asset(&app, Some("br")).await;
    assert_eq!((status, encoding.as_deref()), (200, Some("br")));
    assert!(body.len() < GRAPHIQL_JS.len() / 2, "{} bytes", body.len());
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&body[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert!(decoded == GRAPHIQL_JS, "br decodes to other bytes");

    for accept in [None, Some("identity")] {
        let (status, encoding, vary, body) = fetch_asset(&app, accept).await;
        assert_eq!((status, encoding), (200, None), "{accept:?}");
        assert!(
            vary.to_ascii_lowercase().contains("accept-encoding"),
            "{vary}"
        );
        assert!(body == GRAPHIQL_JS, "{accept:?}: other bytes");
    }
}

#[tokio::test]
async fn graphql_answers_are_not_compressed() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header("accept-encoding", "gzip, br")
        .json(&json!({ "query": "{ authConfig { passwordSignIn } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn the_introspection_query_of_graphiql_and_code_generators_passes_the_depth_limit() {
    // The default depth limit (12) is lower than the introspection query's nesting (13).
    let app = spawn_app().await;

    let answer = app.graphql(INTROSPECTION, json!({})).await;

    assert!(answer.body.get("errors").is_none(), "{}", answer.body);
    let types = answer.data()["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "AuthPayload"));
}

#[tokio::test]
async fn queries_of_our_own_types_stay_under_the_depth_limit_next_to_introspection() {
    let app = TestApp::spawn_with(&["--max-depth", "2"]).await;

    let deep = app
        .graphql(
            "{ __schema { queryType { name } } me { linkedAccounts { provider } } }",
            json!({}),
        )
        .await;
    let shallow = app
        .graphql(
            "{ __schema { types { fields { type { ofType { name } } } } } me { id } }",
            json!({}),
        )
        .await;

    deep.assert_error("BAD_USER_INPUT", None);
    assert!(deep.message().contains("nested too deep"), "{}", deep.body);
    assert!(shallow.body.get("errors").is_none(), "{}", shallow.body);
}

#[tokio::test]
async fn access_tokens_live_as_long_as_access_token_ttl_says() {
    let app = TestApp::spawn_with(&["--access-token-ttl", "5"]).await;
    let user = app.sign_up("ttl@example.com").await;
    let me = "{ me { id } }";

    let fresh = app.graphql_as(&user.access_token, me, json!({})).await;
    app.clock.advance(chrono::Duration::seconds(6));
    let expired = app.graphql_as(&user.access_token, me, json!({})).await;
    let refreshed = app
        .graphql(
            "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken accessTokenExpiresAt } }",
            json!({ "t": user.refresh_token }),
        )
        .await;

    // The viewer's id, `None` when the token signs nobody in.
    let viewer = |answer: &Gql| answer.root_as::<Option<User>>("me").map(|me| me.id);
    assert_eq!(viewer(&fresh), Some(user.id.clone()));
    assert_eq!(viewer(&expired), None, "{}", expired.body);
    let payload: AuthPayload = refreshed.root_as("refreshSession");
    let token = payload.access_token.as_str();
    let claims = jwt_claims(token);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        5
    );
    let expires_at: chrono::DateTime<chrono::Utc> = payload
        .access_token_expires_at
        .as_deref()
        .expect("accessTokenExpiresAt")
        .parse()
        .unwrap();
    assert_eq!(expires_at.timestamp(), claims["exp"].as_i64().unwrap());
    let again = app.graphql_as(token, me, json!({})).await;
    assert_eq!(viewer(&again), Some(user.id.clone()));
}

/// The claims of a JWT, read without checking the signature.
fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn access_token_ttl_must_be_between_a_second_and_a_day() {
    assert_eq!(
        Config::from_args::<_, &str>([])
            .unwrap()
            .sessions
            .access_token_ttl,
        900
    );
    assert_eq!(
        Config::from_args(["--access-token-ttl", "86400"])
            .unwrap()
            .sessions
            .access_token_ttl,
        86400
    );
    for bad in ["0", "86401", "-1", "15m", ""] {
        assert!(
            Config::from_args(["--access-token-ttl", bad]).is_err(),
            "{bad:?} was accepted"
        );
    }
}
