//! GraphQL faces of users, sessions and sign-in results. Separate from the entity models so
//! that nothing secret (password hash, token hashes, provider tokens) can leak by derive.

use crate::error::Result;
use crate::request::state;
use crate::schema::passkey_types::Passkey;
use crate::schema::scalars::DateTime;
use async_graphql::{Context, ID, Object, SimpleObject};
use todoql_domain::auth::mfa::recovery_codes;
use todoql_domain::auth::sessions::{SignedIn, authentication_methods};
use todoql_domain::auth::{oauth, passkeys};
use todoql_entity::{session, user};

/// A person with an account.
pub struct User(pub user::Model);

#[Object(name = "User")]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn username(&self) -> &str {
        &self.0.username
    }
    async fn avatar(&self) -> Option<&str> {
        self.0.avatar.as_deref()
    }
    async fn email_verified(&self) -> bool {
        self.0.email_verified
    }
    async fn has_password(&self) -> bool {
        self.0.password_hash.is_some()
    }
    /// Whether sign-ins need a second factor (a confirmed TOTP authenticator).
    async fn totp_enabled(&self) -> bool {
        self.0.totp_enabled
    }
    /// Unused recovery codes left (0 without TOTP).
    async fn recovery_codes_left(&self, ctx: &Context<'_>) -> Result<i32> {
        if !self.0.totp_enabled {
            return Ok(0);
        }
        let left = recovery_codes::left(state(ctx).db(), self.0.id).await?;
        Ok(i32::try_from(left).unwrap_or(i32::MAX))
    }
    /// The user's passkeys, oldest first.
    async fn passkeys(&self, ctx: &Context<'_>) -> Result<Vec<Passkey>> {
        let rows = passkeys::manage::of_user(state(ctx).db(), self.0.id).await?;
        Ok(rows.into_iter().map(Passkey).collect())
    }
    /// OAuth provider accounts linked to this user (never their tokens).
    async fn linked_accounts(&self, ctx: &Context<'_>) -> Result<Vec<LinkedAccount>> {
        let accounts = oauth::linked_accounts(state(ctx), self.0.id).await?;
        Ok(accounts
            .into_iter()
            .map(|a| LinkedAccount {
                provider: a.provider_id,
                account_id: a.account_id,
                created_at: a.created_at.into(),
            })
            .collect())
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

/// An OAuth provider account linked to a user.
#[derive(SimpleObject)]
pub struct LinkedAccount {
    /// The provider's name, e.g. `github`.
    pub provider: String,
    /// The user's id at the provider.
    pub account_id: String,
    /// When it was linked.
    pub created_at: DateTime,
}

/// One sign-in of a user, on one device.
pub struct Session {
    /// The stored session.
    pub model: session::Model,
    /// Whether it is the session of the request.
    pub current: bool,
}

#[Object(name = "Session")]
impl Session {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }
    /// True for the session that made this request.
    async fn current(&self) -> bool {
        self.current
    }
    async fn ip_address(&self) -> Option<&str> {
        self.model.ip_address.as_deref()
    }
    async fn user_agent(&self) -> Option<&str> {
        self.model.user_agent.as_deref()
    }
    /// How this session signed in: PASSWORD, EMAIL_CODE, OAUTH, PASSKEY; plus TOTP or RECOVERY_CODE when a second factor was given.
    async fn authentication_methods(&self) -> Vec<String> {
        authentication_methods(&self.model)
    }
    async fn created_at(&self) -> DateTime {
        self.model.created_at.into()
    }
    async fn expires_at(&self) -> DateTime {
        self.model.expires_at.into()
    }
    /// When the session last refreshed its tokens (or was created).
    async fn last_used_at(&self) -> DateTime {
        self.model.last_used_at.into()
    }
}

/// Tokens and the session of a sign-in.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Short-lived JWT for the `Authorization: Bearer` header.
    pub access_token: String,
    /// When the access token expires.
    pub access_token_expires_at: DateTime,
    /// Long-lived opaque token for refreshSession; shown once, stored only as a hash.
    pub refresh_token: String,
    /// The session these tokens belong to.
    pub session: Session,
    /// The signed-in user.
    pub user: User,
}

impl From<SignedIn> for AuthPayload {
    fn from(signed_in: SignedIn) -> Self {
        AuthPayload {
            access_token: signed_in.access_token,
            access_token_expires_at: signed_in.access_token_expires_at.into(),
            refresh_token: signed_in.refresh_token,
            session: Session {
                model: signed_in.session,
                current: true,
            },
            user: User(signed_in.user),
        }
    }
}

/// What sign-in methods this server offers.
#[derive(SimpleObject)]
pub struct AuthConfig {
    /// Sign-up and sign-in with email and password.
    pub password_sign_in: bool,
    /// Passwordless sign-in with an emailed code or link.
    pub email_code_sign_in: bool,
    /// Names of the configured OAuth providers, for startOAuth.
    pub oauth_providers: Vec<String>,
    /// Whether todo operations need a verified email.
    pub require_verified_email: bool,
    /// Whether passkeys can be registered and used to sign in.
    pub passkeys: bool,
    /// Whether TOTP second factors can be enrolled (needs TODOQL_ENCRYPTION_KEY on the server).
    pub totp: bool,
}
