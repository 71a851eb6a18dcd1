//! Sign-in and account linking with OAuth 2.0 / OpenID Connect providers: the authorization
//! code flow with PKCE (S256), a server-stored state (and, for OpenID Connect, a nonce).
//!
//! Rules:
//! - A pending flow lives in `oauth_states` for 10 minutes and is used once: the row is deleted
//!   by the statement that reads it. Its state is stored as a SHA-256 hash, its nonce too, its
//!   PKCE verifier encrypted. It is bound to the provider and, when started signed in, to that
//!   user: completing it needs the same provider and the same signed-in user.
//! - It is bound to the browser that started it ([`browser_binding`]): completing it needs the
//!   verifier whose S256 challenge was given to startOAuth. A missing, malformed or wrong
//!   verifier is INVALID_TOKEN, checked before the provider is asked, and the state is used up
//!   all the same: one state, one try.
//! - Sign-in: a known (provider, account id) signs its user in. Otherwise a provider-verified
//!   email equal to a live user's *verified* email links to that user; an unverified local
//!   address, or an address the provider does not vouch for, is CONFLICT (sign in first, then
//!   link). Without a user of that email, a new one is created (no password).
//! - Linking: one account per provider per user; an account linked to another user is
//!   CONFLICT. It needs a recent sign-in (`auth::reauth`), checked at start and at completion.
//! - Unlinking keeps at least one way to sign in (`auth::ways_in`).
//! - Provider tokens are stored encrypted (AES-256-GCM) and never returned by the API.

pub mod browser_binding;
mod providers;
mod registry;
pub mod settings;

pub use crate::cipher::TokenCipher;
pub use registry::OAuth;
use registry::{display_name, provider_key, unknown_provider};
pub use settings::{EncryptionKey, OAuthSettings, ProviderKind, ProviderSettings};

use crate::auth::identity::{
    MAX_USERNAME_CHARS, normalize_email, username_from_email, validate_avatar, validate_username,
};
use crate::auth::mfa::first_factor::{self, Outcome};
use crate::auth::reauth::{lock_for_credential_change, require_recent_sign_in};
use crate::auth::sessions::{self, AuthMethod, ClientInfo, Factors, SignedIn};
use crate::auth::users::{self, NewUser};
use crate::auth::viewer::Viewer;
use crate::auth::ways_in::{self, Removing};
use crate::error::{AppError, AppResult, is_unique_violation};
use crate::secrets::{constant_time_eq, random_token, sha256_hex};
use crate::security_log::{self, Event, EventType};
use crate::state::{AppState, Ctx};
use chrono::Duration;
use providers::{Exchange, Identity, ProviderTokens};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use secrecy::ExposeSecret;
use todoql_entity::{account, oauth_state, user};
use uuid::Uuid;

/// How long a started flow may take to complete.
pub const STATE_TTL_MINUTES: i64 = 10;

/// Associated data of each encrypted column (see [`TokenCipher`]).
pub mod purpose {
    /// `oauth_states.pkce_verifier`.
    pub const PKCE_VERIFIER: &str = "oauth_states.pkce_verifier";
    /// `accounts.access_token`.
    pub const ACCESS_TOKEN: &str = "accounts.access_token";
    /// `accounts.refresh_token`.
    pub const REFRESH_TOKEN: &str = "accounts.refresh_token";
    /// `accounts.id_token`.
    pub const ID_TOKEN: &str = "accounts.id_token";
}

/// Where to send the browser, and the state the provider will send back.
#[derive(Debug)]
pub struct OAuthStarted {
    /// The provider's authorization URL with every parameter set.
    pub authorization_url: String,
    /// The state parameter (also inside the URL).
    pub state: String,
}

/// What startOAuth asks for.
#[derive(Debug)]
pub struct Start<'a> {
    /// The provider's name, as configured.
    pub provider: &'a str,
    /// Where the provider sends the browser back; one of TODOQL_OAUTH_REDIRECT_URIS.
    pub redirect_uri: &'a str,
    /// base64url(SHA-256(verifier)) of the verifier the browser keeps.
    pub code_challenge: &'a str,
}

/// Starts a flow with `provider` that will come back to `redirect_uri`. Signed in (`viewer`),
/// the flow links the provider to the viewer; signed out, it signs in.
pub async fn start(
    app: &AppState,
    viewer: Option<&Viewer>,
    request: Start<'_>,
) -> AppResult<OAuthStarted> {
    let Start {
        provider,
        redirect_uri,
        code_challenge,
    } = request;
    let oauth = app.oauth();
    let provider = oauth.provider(provider, "provider")?;
    let browser_challenge = browser_binding::parse_challenge(code_challenge, "codeChallenge")?;
    if !oauth.allows_redirect_uri(redirect_uri) {
        return Err(AppError::bad_input(
            "redirectUri",
            "This redirect URI is not allowed: it must be one of TODOQL_OAUTH_REDIRECT_URIS, exactly.",
        ));
    }
    if let Some(viewer) = viewer {
        // Linking needs a recent sign-in; say so before the trip to the provider.
        require_recent_sign_in(app, viewer)?;
    }
    let cipher = oauth.cipher()?;
    let state = random_token();
    let authorization = provider
        .authorize(oauth.http()?, &state, redirect_uri)
        .await?;
    let now = app.now();
    oauth_state::ActiveModel {
        id: Set(Uuid::now_v7()),
        state: Set(sha256_hex(&state)),
        provider: Set(provider.settings.name.clone()),
        pkce_verifier: Set(cipher.encrypt(
            purpose::PKCE_VERIFIER,
            authorization.pkce_verifier.expose_secret(),
        )),
        nonce: Set(authorization
            .nonce
            .as_ref()
            .map(|nonce| sha256_hex(nonce.expose_secret()))),
        redirect_uri: Set(redirect_uri.to_owned()),
        browser_challenge: Set(Some(browser_challenge)),
        user_id: Set(viewer.map(|v| v.user.id)),
        expires_at: Set(now + Duration::minutes(STATE_TTL_MINUTES)),
        created_at: Set(now),
    }
    .insert(app.db())
    .await?;
    Ok(OAuthStarted {
        authorization_url: authorization.url,
        state,
    })
}

/// What the provider sent back to the redirect URI.
#[derive(Debug)]
pub struct Callback {
    /// The provider name given to `startOAuth`.
    pub provider: String,
    /// The authorization code.
    pub code: String,
    /// The state.
    pub state: String,
    /// The verifier the browser kept when it started the flow.
    pub code_verifier: String,
}

fn invalid_state() -> AppError {
    AppError::InvalidToken(
        "This sign-in state is unknown, expired or already used. Start the sign-in again.".into(),
    )
}

/// Finishes a flow: checks and consumes the state, exchanges the code, verifies the identity,
/// then — in one transaction — finds, links or creates the user, stores the provider's tokens
/// encrypted, and starts a session.
pub async fn complete(
    app: &AppState,
    viewer: Option<&Viewer>,
    callback: Callback,
    client: &ClientInfo,
) -> AppResult<SignedIn> {
    let oauth = app.oauth();
    let provider = oauth.provider(&callback.provider, "provider")?;
    if callback.code.trim().is_empty() {
        return Err(AppError::bad_input(
            "code",
            "The authorization code is missing.",
        ));
    }
    let pending = consume_state(app, &callback.state).await?;
    let now = app.now();
    if pending.expires_at <= now || pending.provider != provider.settings.name {
        return Err(invalid_state());
    }
    let started_in_this_browser = pending
        .browser_challenge
        .as_deref()
        .is_some_and(|challenge| browser_binding::verifies(&callback.code_verifier, challenge));
    if !started_in_this_browser {
        return Err(AppError::InvalidToken(
            "This sign-in was not started in this browser (or its codeVerifier was lost). Start \
             the sign-in again from this page."
                .into(),
        ));
    }
    if let Some(owner) = pending.user_id {
        match viewer {
            None => return Err(AppError::Unauthenticated),
            Some(viewer) if viewer.user.id != owner => return Err(invalid_state()),
            Some(viewer) => require_recent_sign_in(app, viewer)?,
        }
    }
    let cipher = oauth.cipher()?;
    let verifier = cipher
        .decrypt(purpose::PKCE_VERIFIER, &pending.pkce_verifier)
        .map_err(|_| invalid_state())?;
    let (identity, tokens) = provider
        .exchange(
            oauth.http()?,
            app.clock(),
            Exchange {
                code: callback.code.trim(),
                pkce_verifier: verifier,
                redirect_uri: &pending.redirect_uri,
                nonce_hash: pending.nonce.as_deref(),
            },
        )
        .await?;
    if identity.account_id.is_empty() {
        return Err(AppError::ProviderUnavailable(format!(
            "{} did not identify the account. Try again later.",
            display_name(&provider.settings.name)
        )));
    }

    let found = Found {
        provider: &provider.settings.name,
        identity: &identity,
        tokens: &tokens,
        cipher,
    };
    let txn = crate::db::begin_write(app.db()).await?;
    let cx = app.on(&txn);
    let (user, outcome) = match pending.user_id {
        Some(owner) => {
            if let Some(viewer) = viewer {
                lock_for_credential_change(cx, viewer).await?;
            }
            found.link_to(cx, owner).await?
        }
        None => found.sign_in_or_create(cx).await?,
    };
    let name = provider.settings.name.as_str();
    let recorded = match outcome {
        "created" => Some(Event::sign_in(EventType::SignedUp, AuthMethod::OAuth, None)),
        "linked" | "linked_by_email" => Some(Event::about(EventType::OauthLinked, None)),
        _ => None,
    };
    if let Some(event) = recorded {
        security_log::record(cx, user.id, event.by_provider(name), client).await?;
    }
    let finished = match (pending.user_id, viewer) {
        // A link from a signed-in session, which gave its second factor already (if any): the
        // new session carries it on.
        (Some(_), Some(viewer)) => {
            let factors = Factors {
                first: AuthMethod::OAuth,
                second: Factors::of_stored(&viewer.session.authentication_methods)
                    .and_then(|factors| factors.second),
            };
            let signed_in = sessions::start_session_via(cx, user, client, factors, Some(name));
            Outcome::SignedIn(Box::new(signed_in.await?))
        }
        _ => first_factor::finish(cx, user, client, AuthMethod::OAuth, Some(name)).await?,
    };
    txn.commit().await?;
    // A user created here may have a verification mail queued.
    crate::mail::wake_sender(app);
    // MFA_REQUIRED for an account with a second factor (the pending sign-in is stored).
    let signed_in = finished.into_result()?;
    tracing::info!(
        user_id = %signed_in.user.id,
        provider = %provider.settings.name,
        outcome,
        "OAuth flow completed"
    );
    metrics::counter!(
        "todoql_oauth_completed_total",
        "provider" => provider.settings.name.clone(),
        "outcome" => outcome
    )
    .increment(1);
    Ok(signed_in)
}

/// Takes the state row: reads it, then deletes it by id; only the request whose DELETE removed
/// the row gets it, so two requests with the same state cannot both have it.
///
/// Not one `DELETE … RETURNING`: on SQLite, a pooled connection that was opened while the
/// migrations ran (so before this column existed) answers `RETURNING "browser_challenge"` with
/// a result column named `"browser_challenge"`, quotes included, and sea-orm then reads the
/// challenge as absent (seen in the e2e suite). The SELECT, whose columns carry their table's
/// name, is read correctly on every connection.
async fn consume_state(app: &AppState, state: &str) -> AppResult<oauth_state::Model> {
    if state.is_empty() || state.len() > 512 {
        return Err(invalid_state());
    }
    let hash = sha256_hex(state);
    let pending = oauth_state::Entity::find()
        .filter(oauth_state::Column::State.eq(&hash))
        .one(app.db())
        .await?
        .filter(|row| constant_time_eq(&row.state, &hash))
        .ok_or_else(invalid_state)?;
    let taken = oauth_state::Entity::delete_by_id(pending.id)
        .exec(app.db())
        .await?;
    if taken.rows_affected != 1 {
        return Err(invalid_state()); // another request took it first
    }
    Ok(pending)
}

/// A verified identity and its tokens, on their way into the database.
struct Found<'a> {
    provider: &'a str,
    identity: &'a Identity,
    tokens: &'a ProviderTokens,
    cipher: &'a TokenCipher,
}

impl Found<'_> {
    fn provider_name(&self) -> String {
        display_name(self.provider)
    }

    fn already_linked_elsewhere(&self) -> AppError {
        AppError::Conflict(format!(
            "This {} account is already linked to another user.",
            self.provider_name()
        ))
    }

    fn other_account_of_same_provider(&self) -> AppError {
        AppError::Conflict(format!(
            "A different {} account is already linked to this user. Unlink it first.",
            self.provider_name()
        ))
    }

    async fn find_account<C: ConnectionTrait>(&self, db: &C) -> AppResult<Option<account::Model>> {
        Ok(account::Entity::find()
            .filter(account::Column::ProviderId.eq(self.provider))
            .filter(account::Column::AccountId.eq(&self.identity.account_id))
            .one(db)
            .await?)
    }

    /// Links the identity to `owner` (the user who started the flow signed in): "linked", or
    /// "already_linked" when it was (its tokens are renewed).
    async fn link_to<C: ConnectionTrait>(
        &self,
        cx: Ctx<'_, C>,
        owner: Uuid,
    ) -> AppResult<(user::Model, &'static str)> {
        let user = users::live_by_id(owner)
            .one(cx.db())
            .await?
            .ok_or_else(invalid_state)?;
        match self.find_account(cx.db()).await? {
            Some(existing) if existing.user_id == user.id => {
                self.update_tokens(cx, existing).await?;
                Ok((user, "already_linked"))
            }
            Some(_) => Err(self.already_linked_elsewhere()),
            None => {
                self.insert_account(cx, &user).await?;
                Ok((user, "linked"))
            }
        }
    }

    /// Signs in the account's user, or links by verified email, or creates a user.
    async fn sign_in_or_create<C: ConnectionTrait>(
        &self,
        cx: Ctx<'_, C>,
    ) -> AppResult<(user::Model, &'static str)> {
        if let Some(existing) = self.find_account(cx.db()).await? {
            let owner = users::live_by_id(existing.user_id).one(cx.db()).await?;
            if let Some(owner) = owner {
                self.update_tokens(cx, existing).await?;
                return Ok((owner, "signed_in"));
            }
            // A leftover of a deleted user: the identity is free again.
            account::Entity::delete_by_id(existing.id)
                .exec(cx.db())
                .await?;
        }

        let email = self
            .identity
            .email
            .as_deref()
            .and_then(|raw| normalize_email(raw, "email").ok())
            .ok_or_else(|| {
                AppError::bad_input(
                    "provider",
                    format!(
                        "{} did not share an email address. Allow access to your email address \
                         there and try again.",
                        self.provider_name()
                    ),
                )
            })?;

        let local = users::live_by_email(&email).one(cx.db()).await?;
        if let Some(local) = local {
            // Never a takeover path: both sides must vouch for the address.
            if !(self.identity.email_verified && local.email_verified) {
                return Err(AppError::Conflict(format!(
                    "An account with this email address already exists. Sign in to it first \
                     (with your password or an emailed code), then link {} from your account.",
                    self.provider_name()
                )));
            }
            self.insert_account(cx, &local).await?;
            return Ok((local, "linked_by_email"));
        }

        let user = self.create_user(cx, email).await?;
        self.insert_account(cx, &user).await?;
        Ok((user, "created"))
    }

    async fn create_user<C: ConnectionTrait>(
        &self,
        cx: Ctx<'_, C>,
        email: String,
    ) -> AppResult<user::Model> {
        let now = cx.now();
        let username = self
            .identity
            .name
            .as_deref()
            .and_then(profile_username)
            .unwrap_or_else(|| username_from_email(&email));
        let avatar = self
            .identity
            .picture
            .as_deref()
            .and_then(|url| validate_avatar(url).ok());
        let user = NewUser {
            email,
            username,
            avatar,
            password_hash: None,
            email_verified: self.identity.email_verified,
        }
        .insert(cx.db(), now)
        .await
        .map_err(|err| {
            AppError::conflict_on_unique(
                err,
                "An account with this email address already exists. Sign in to it first, then link the provider.",
            )
        })?;
        if !user.email_verified {
            crate::auth::account_mail::on_sign_up(cx, &user).await?;
        }
        Ok(user)
    }

    async fn insert_account<C: ConnectionTrait>(
        &self,
        cx: Ctx<'_, C>,
        user: &user::Model,
    ) -> AppResult<()> {
        let other = account::Entity::find()
            .filter(account::Column::UserId.eq(user.id))
            .filter(account::Column::ProviderId.eq(self.provider))
            .one(cx.db())
            .await?;
        if other.is_some() {
            return Err(self.other_account_of_same_provider());
        }
        let now = cx.now();
        let tokens = self.tokens;
        let cipher = self.cipher;
        account::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user.id),
            provider_id: Set(self.provider.to_owned()),
            account_id: Set(self.identity.account_id.clone()),
            access_token: Set(Some(
                cipher.encrypt(purpose::ACCESS_TOKEN, tokens.access_token.expose_secret()),
            )),
            access_token_expires_at: Set(tokens.access_token_expires_at),
            refresh_token: Set(tokens
                .refresh_token
                .as_ref()
                .map(|t| cipher.encrypt(purpose::REFRESH_TOKEN, t.expose_secret()))),
            refresh_token_expires_at: Set(None),
            scope: Set(tokens.scope.clone()),
            id_token: Set(tokens
                .id_token
                .as_ref()
                .map(|t| cipher.encrypt(purpose::ID_TOKEN, t.expose_secret()))),
            raw: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(cx.db())
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                // Lost a race: the same identity, or another account of this provider, was
                // linked meanwhile.
                self.already_linked_elsewhere()
            } else {
                AppError::from(err)
            }
        })?;
        Ok(())
    }

    /// Stores the fresh tokens; a refresh or ID token the provider did not send again is kept.
    async fn update_tokens<C: ConnectionTrait>(
        &self,
        cx: Ctx<'_, C>,
        existing: account::Model,
    ) -> AppResult<()> {
        let tokens = self.tokens;
        let cipher = self.cipher;
        let mut active: account::ActiveModel = existing.into();
        active.access_token = Set(Some(
            cipher.encrypt(purpose::ACCESS_TOKEN, tokens.access_token.expose_secret()),
        ));
        active.access_token_expires_at = Set(tokens.access_token_expires_at);
        if let Some(refresh) = &tokens.refresh_token {
            active.refresh_token = Set(Some(
                cipher.encrypt(purpose::REFRESH_TOKEN, refresh.expose_secret()),
            ));
        }
        if let Some(id_token) = &tokens.id_token {
            active.id_token = Set(Some(
                cipher.encrypt(purpose::ID_TOKEN, id_token.expose_secret()),
            ));
        }
        if tokens.scope.is_some() {
            active.scope = Set(tokens.scope.clone());
        }
        active.updated_at = Set(cx.now());
        active.update(cx.db()).await.map_err(|err| match err {
            // Unlinked meanwhile (e.g. by the first proof of the address): no sign-in through it.
            sea_orm::DbErr::RecordNotUpdated => invalid_state(),
            other => AppError::from(other),
        })?;
        Ok(())
    }
}

/// A username from a profile name: valid as is, or cleaned of control characters and cut to
/// 50 characters; `None` when nothing usable is left.
fn profile_username(raw: &str) -> Option<String> {
    if let Ok(valid) = validate_username(raw) {
        return Some(valid);
    }
    let cleaned: String = raw.chars().filter(|c| !c.is_control()).collect();
    let cut: String = cleaned.trim().chars().take(MAX_USERNAME_CHARS).collect();
    validate_username(&cut).ok()
}

/// The provider accounts linked to a user, oldest first.
pub async fn linked_accounts(app: &AppState, user_id: Uuid) -> AppResult<Vec<account::Model>> {
    Ok(account::Entity::find()
        .filter(account::Column::UserId.eq(user_id))
        .order_by_asc(account::Column::CreatedAt)
        .all(app.db())
        .await?)
}

/// Unlinks the viewer's account of `provider`, unless it is their last way to sign in (see
/// `ways_in`: a password, a verified address, another configured provider's account, a passkey).
pub async fn unlink(
    app: &AppState,
    viewer: &Viewer,
    provider: &str,
    client: &ClientInfo,
) -> AppResult<()> {
    let oauth = app.oauth();
    let name = provider_key(provider);
    let txn = crate::db::begin_write(app.db()).await?;
    // Serialises concurrent unlinks of one user on PostgreSQL (SQLite's write lock already
    // does): two of them must not each leave the other as the last way in, then both go.
    let user = users::live_by_id(viewer.user.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let accounts = account::Entity::find()
        .filter(account::Column::UserId.eq(user.id))
        .all(&txn)
        .await?;
    let Some(target) = accounts.iter().find(|a| a.provider_id == name) else {
        return Err(if oauth.is_configured(&name) {
            AppError::NotFound(format!("No {} account is linked.", display_name(&name)))
        } else {
            unknown_provider("provider", &oauth.provider_names())
        });
    };
    let keeps_a_way_in =
        ways_in::remain_without(app.on(&txn), &user, Removing::Account(target.id)).await?;
    if !keeps_a_way_in {
        return Err(AppError::Conflict(format!(
            "{} is your only way to sign in. Set a password or verify your email address first.",
            display_name(&name)
        )));
    }
    account::Entity::delete_by_id(target.id).exec(&txn).await?;
    let event = Event::about(EventType::OauthUnlinked, Some(viewer.session.id)).by_provider(&name);
    security_log::record(app.on(&txn), user.id, event, client).await?;
    txn.commit().await?;
    tracing::info!(user_id = %user.id, provider = %name, "OAuth account unlinked");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_become_valid_usernames() {
        assert_eq!(
            profile_username("  Ada Lovelace ").as_deref(),
            Some("Ada Lovelace")
        );
        let long = "x".repeat(80);
        assert_eq!(profile_username(&long).unwrap().chars().count(), 50);
        assert_eq!(profile_username("Ada\u{7}Bell").as_deref(), Some("AdaBell"));
        assert_eq!(profile_username("   "), None);
    }

    #[test]
    fn provider_names_are_matched_case_insensitively() {
        assert_eq!(provider_key(" GitHub "), "github");
    }
}
