//! The GraphiQL page and its files, all embedded in the binary: the page works on a machine
//! with no internet (async-graphql's own page loads GraphiQL from a CDN and stays blank
//! offline). The vendored files come from npm at pinned versions
//! (`crates/server/assets/graphiql/vendor.sh` regenerates them); `todoql-graphiql.js` is ours.

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// One embedded file served under `/graphql/assets/`.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../../assets/graphiql/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file the page loads, in the order its scripts must run.
static ASSETS: &[Asset] = &[
    asset!("graphiql.min.css", CSS),
    asset!("react.production.min.js", JS),
    asset!("react-dom.production.min.js", JS),
    asset!("graphiql.min.js", JS),
    asset!("todoql-graphiql.js", JS),
];

/// Where the assets are served, relative to the page at `/graphql` (relative, so that the page
/// also works behind a proxy that mounts todoql under a path prefix).
const ASSET_DIR: &str = "graphql/assets";

/// The policy of the page: scripts, styles and connections to this server only. Styles may be
/// inline (React sets style attributes); fonts and icons are data: URLs inside the CSS.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The query in the editor the first time someone opens the page.
const TOUR: &str = r#"# Welcome to todoql. This editor runs GraphQL against this server.
#
# 1. Run "Tour" (the ▶ button, or Ctrl-Enter with the cursor inside it).
#    `me` is null: you are not signed in yet.
# 2. Run "SignUp" (or "SignIn" when you have an account) and copy `accessToken`.
# 3. In the Headers tab below, replace PASTE_ACCESS_TOKEN_HERE with it, so that every
#    request sends   Authorization: Bearer <accessToken>
# 4. Run "Tour" again: `me` is you. Verify your address with the 6-digit code from the mail
#    (printed in the server's log unless SMTP is configured), then try "AddTodo" and "MyTodos".
#
# The access token is short-lived (see accessTokenExpiresAt): "Refresh" trades the refresh
# token for new tokens. The Docs button (top left) describes every type and field.

query Tour {
  authConfig { passwordSignIn emailCodeSignIn oauthProviders requireVerifiedEmail }
  me { id email username emailVerified }
}

mutation SignUp {
  signUp(input: { email: "ada@example.com", password: "correct horse battery staple", username: "Ada" }) {
    accessToken
    accessTokenExpiresAt
    refreshToken
    user { id email emailVerified }
  }
}

mutation SignIn {
  signIn(input: { email: "ada@example.com", password: "correct horse battery staple" }) {
    accessToken
    refreshToken
  }
}

mutation VerifyEmail {
  verifyEmail(input: { email: "ada@example.com", code: "123456" }) { email emailVerified }
}

mutation AddTodo {
  createTodo(input: { title: "Try todoql", description: "from GraphiQL" }) { id title isCompleted createdAt }
}

query MyTodos {
  todos(first: 10, orderBy: { field: CREATED_AT, direction: DESC }) {
    totalCount
    nodes { id title isCompleted dueDate }
    pageInfo { hasNextPage endCursor }
  }
}

mutation Refresh {
  refreshSession(refreshToken: "PASTE_REFRESH_TOKEN_HERE") { accessToken refreshToken }
}
"#;

/// What the Headers tab holds at first: the shape of the header every signed-in request needs.
const HEADERS: &str = "{\n  \"Authorization\": \"Bearer PASTE_ACCESS_TOKEN_HERE\"\n}";

fn versions() -> &'static [String] {
    static VERSIONS: OnceLock<Vec<String>> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| {
                Sha256::digest(asset.body)
                    .iter()
                    .take(8)
                    .map(|b| format!("{b:02x}"))
                    .collect()
            })
            .collect()
    })
}

/// The asset's URL relative to the page, with a content hash so that it can be cached forever.
fn asset_url(name: &str) -> String {
    let index = ASSETS
        .iter()
        .position(|a| a.name == name)
        .expect("a known asset");
    format!("{ASSET_DIR}/{name}?v={}", versions()[index])
}

/// The HTML of GraphiQL, pointed at /graphql; when the schema has a Subscription type,
/// subscriptions go over a WebSocket to the same /graphql (graphql-transport-ws, signed in by the
/// Headers tab's Authorization sent as the connection_init payload).
pub fn page(subscriptions: bool) -> &'static str {
    static PAGES: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    PAGES[usize::from(subscriptions)].get_or_init(|| render(subscriptions))
}

fn render(subscriptions: bool) -> String {
    let config = serde_json::json!({
        "endpoint": "graphql",
        "subscriptionEndpoint": subscriptions.then_some("graphql"),
        "defaultQuery": TOUR,
        "defaultHeaders": HEADERS,
    });
    // `<` escaped so that no string in the JSON can close the <script> element.
    let config = config.to_string().replace('<', "\\u003c");
    let styles = ASSETS
        .iter()
        .filter(|a| a.content_type == CSS)
        .map(|a| format!(r#"  <link rel="stylesheet" href="{}">"#, asset_url(a.name)))
        .collect::<Vec<_>>()
        .join("\n");
    let scripts = ASSETS
        .iter()
        .filter(|a| a.content_type == JS)
        .map(|a| format!(r#"  <script src="{}"></script>"#, asset_url(a.name)))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>todoql GraphiQL</title>
  <link rel="icon" href="data:,">
{styles}
  <style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script id="todoql-graphiql-config" type="application/json">{config}</script>
{scripts}
</body>
</html>
"#
    )
}

/// The page as a response, with its Content-Security-Policy.
pub fn page_response(subscriptions: bool) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        page(subscriptions),
    )
        .into_response()
}

/// GET /graphql/assets/{name}: an embedded file. Asked for with its current content hash
/// (`?v=…`, as the page does), it may be cached for a year; otherwise it must be revalidated.
pub async fn asset(Path(name): Path<String>, RawQuery(query): RawQuery) -> Response {
    let Some(index) = ASSETS.iter().position(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let asset = &ASSETS[index];
    let current = query
        .as_deref()
        .and_then(|q| q.strip_prefix("v="))
        .is_some_and(|v| v == versions()[index]);
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        asset.body,
    )
        .into_response()
}
