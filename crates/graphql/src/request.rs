//! What the HTTP layer knows about one request, and who is making it (checked at most once).

use crate::auth::sessions;
use crate::error::{AppError, AppResult};
use crate::state::{AppState, state};
use secrecy::{ExposeSecret, SecretString};
use todoql_entity::{session, user};
use tokio::sync::OnceCell;

/// Per-request data the server puts into each GraphQL request.
#[derive(Debug, Default)]
pub struct RequestContext {
    /// The `Authorization: Bearer` token, if any.
    pub bearer_token: Option<SecretString>,
    /// The client's IP address (the peer, or X-Forwarded-For behind a trusted proxy).
    pub client_ip: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    viewer: OnceCell<Option<Viewer>>,
}

impl RequestContext {
    /// Context for a request with these headers.
    pub fn new(
        bearer_token: Option<String>,
        client_ip: Option<String>,
        user_agent: Option<String>,
    ) -> Self {
        Self {
            bearer_token: bearer_token.map(SecretString::from),
            client_ip,
            user_agent,
            viewer: OnceCell::new(),
        }
    }
}

/// The signed-in user and the session the request belongs to.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The user (live, not deleted).
    pub user: user::Model,
    /// The session (not revoked, not expired).
    pub session: session::Model,
}

/// The request's client, for recording on new sessions and for rate limits.
pub fn client<'a>(ctx: &async_graphql::Context<'a>) -> &'a RequestContext {
    ctx.data_unchecked::<RequestContext>()
}

/// The caller, when the request carries a valid access token of a live session. The check
/// (token, then session and user in one query) runs at most once per request.
pub async fn viewer<'a>(ctx: &async_graphql::Context<'a>) -> AppResult<Option<&'a Viewer>> {
    let request = client(ctx);
    let app = state(ctx);
    let viewer = request
        .viewer
        .get_or_try_init(|| load_viewer(app, request.bearer_token.as_ref()))
        .await?;
    Ok(viewer.as_ref())
}

async fn load_viewer(app: &AppState, token: Option<&SecretString>) -> AppResult<Option<Viewer>> {
    let Some(token) = token else { return Ok(None) };
    let Some(claims) = app.access_tokens().verify(token.expose_secret(), app.now()) else {
        return Ok(None);
    };
    sessions::load_live_session(app, claims.sub, claims.sid).await
}

/// The caller, if signed in. A request that carries an access token that is no longer valid is
/// UNAUTHENTICATED rather than treated as signed out, for operations whose outcome depends on
/// who calls: the client refreshes and retries instead of silently acting signed out (a link
/// turning into a sign-in, a verification dropping the caller's own password).
pub async fn optional_viewer<'a>(
    ctx: &async_graphql::Context<'a>,
) -> AppResult<Option<&'a Viewer>> {
    let viewer = viewer(ctx).await?;
    if viewer.is_none() && client(ctx).bearer_token.is_some() {
        return Err(AppError::Unauthenticated);
    }
    Ok(viewer)
}

/// The caller, or UNAUTHENTICATED.
pub async fn require_viewer<'a>(ctx: &async_graphql::Context<'a>) -> AppResult<&'a Viewer> {
    viewer(ctx).await?.ok_or(AppError::Unauthenticated)
}

/// The caller with a verified email (unless the server does not require it), or
/// UNAUTHENTICATED / EMAIL_NOT_VERIFIED.
pub async fn require_verified_viewer<'a>(
    ctx: &async_graphql::Context<'a>,
) -> AppResult<&'a Viewer> {
    let viewer = require_viewer(ctx).await?;
    if state(ctx).settings().require_verified_email && !viewer.user.email_verified {
        return Err(AppError::EmailNotVerified);
    }
    Ok(viewer)
}
