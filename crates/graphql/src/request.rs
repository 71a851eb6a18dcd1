//! What the HTTP layer knows about one request, and who is making it (checked at most once).

use crate::error::Result;
use async_graphql::parser::types::OperationType;
use secrecy::SecretString;
use std::future::Future;
use todoql_domain::auth::sessions::{self, ClientInfo};
use todoql_domain::auth::viewer::Viewer;
use todoql_domain::{AppError, AppResult, AppState};
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

/// The domain's state from a resolver's context. The schema is always built with it, so its
/// absence is a programming error caught by every test.
pub fn state<'a>(ctx: &async_graphql::Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

/// The request's client, for recording on new sessions and for rate limits.
pub fn client<'a>(ctx: &async_graphql::Context<'a>) -> &'a RequestContext {
    ctx.data_unchecked::<RequestContext>()
}

/// The client as the domain records it on sessions and counts it in rate limits.
pub fn client_info(ctx: &async_graphql::Context<'_>) -> ClientInfo {
    let request = client(ctx);
    ClientInfo {
        ip: request.client_ip.clone(),
        user_agent: request.user_agent.clone(),
    }
}

/// The caller, when the request carries a valid access token of a live session. The check
/// runs at most once per request.
pub async fn viewer<'a>(ctx: &async_graphql::Context<'a>) -> Result<Option<&'a Viewer>> {
    let request = client(ctx);
    let app = state(ctx);
    if request.bearer_token.is_some()
        && !request.viewer.initialized()
        && ctx.path_node.is_some_and(|node| node.parent.is_none())
        && ctx.query_env.operation.node.ty == OperationType::Query
    {
        // A root field of a query gives way once before checking the token itself:
        // async-graphql polls a query's root fields in turn within one poll, so a sibling that
        // reads the caller in its own statement (the todo list,
        // [`require_verified_viewer_with`]) starts that check first, whatever the order in the
        // document, and this field waits for its answer instead of reading the session again.
        // Costs one wake-up of the request's task when no such sibling exists. (Mutations run
        // their root fields one after the other, so they never wait here. `query_env` is
        // hidden from async-graphql's docs but public; the version is pinned.)
        tokio::task::yield_now().await;
    }
    let viewer = request
        .viewer
        .get_or_try_init(|| sessions::viewer_of_access_token(app, request.bearer_token.as_ref()))
        .await?;
    Ok(viewer.as_ref())
}

/// The caller, if signed in. A request that carries an access token that is no longer valid is
/// UNAUTHENTICATED rather than treated as signed out, for operations whose outcome depends on
/// who calls: the client refreshes and retries instead of silently acting signed out (a link
/// turning into a sign-in, a verification dropping the caller's own password).
pub async fn optional_viewer<'a>(ctx: &async_graphql::Context<'a>) -> Result<Option<&'a Viewer>> {
    let viewer = viewer(ctx).await?;
    if viewer.is_none() && client(ctx).bearer_token.is_some() {
        return Err(AppError::Unauthenticated.into());
    }
    Ok(viewer)
}

/// The caller, or UNAUTHENTICATED.
pub async fn require_viewer<'a>(ctx: &async_graphql::Context<'a>) -> Result<&'a Viewer> {
    Ok(viewer(ctx).await?.ok_or(AppError::Unauthenticated)?)
}

/// [`require_verified_viewer`] for a resolver that can read the caller together with what it
/// reads itself: when no resolver of this request has checked the token yet, `read` gets the
/// token, checks it and reads the resolver's data in one go (the todo list: one statement,
/// `todos::list_for_token`), and the request's caller is taken from its answer, so the rest
/// of the request does not check again. The data comes back with the caller, or `None` when
/// the caller was known already (the resolver then reads it on its own).
pub async fn require_verified_viewer_with<'a, T, F, Fut>(
    ctx: &async_graphql::Context<'a>,
    read: F,
) -> Result<(&'a Viewer, Option<T>)>
where
    F: FnOnce(Option<&'a SecretString>) -> Fut,
    Fut: Future<Output = AppResult<Option<(Viewer, T)>>>,
{
    let request = client(ctx);
    let mut data = None;
    let slot = &mut data;
    let viewer =
        request
            .viewer
            .get_or_try_init(|| async move {
                Ok::<_, AppError>(read(request.bearer_token.as_ref()).await?.map(
                    |(viewer, read)| {
                        *slot = Some(read);
                        viewer
                    },
                ))
            })
            .await?;
    let viewer = viewer.as_ref().ok_or(AppError::Unauthenticated)?;
    viewer.require_verified(state(ctx))?;
    Ok((viewer, data))
}

/// The caller with a verified email (unless the server does not require it), or
/// UNAUTHENTICATED / EMAIL_NOT_VERIFIED.
pub async fn require_verified_viewer<'a>(ctx: &async_graphql::Context<'a>) -> Result<&'a Viewer> {
    let viewer = require_viewer(ctx).await?;
    viewer.require_verified(state(ctx))?;
    Ok(viewer)
}
