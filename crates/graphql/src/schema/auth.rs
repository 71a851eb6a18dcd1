//! Queries and mutations of password accounts and sessions.

use crate::error::Result;
use crate::request::client_info;
use crate::request::state;
use crate::request::{self, require_viewer};
use crate::schema::account_types::{AuthConfig, AuthPayload, Session, User};
use crate::schema::args::{parse_id, patch};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use secrecy::SecretString;
use todoql_domain::auth::accounts::{self, SignUp};
use todoql_domain::auth::{mfa, session_revocation, sessions};

/// Account and session queries.
#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The signed-in user; null when the request carries no valid access token.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(request::viewer(ctx)
            .await?
            .map(|viewer| User(viewer.user.clone())))
    }

    /// What sign-in methods this server offers (for building a sign-in page).
    async fn auth_config(&self, ctx: &Context<'_>) -> AuthConfig {
        let settings = state(ctx).settings();
        AuthConfig {
            password_sign_in: true,
            email_code_sign_in: true,
            oauth_providers: state(ctx).oauth().provider_names(),
            require_verified_email: settings.require_verified_email,
            passkeys: state(ctx).services().passkeys().is_available(),
            totp: mfa::totp_available(state(ctx).services()),
        }
    }

    /// The caller's active (not expired, not revoked) sessions, newest first.
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<Session>> {
        let viewer = require_viewer(ctx).await?;
        let current = viewer.session.id;
        Ok(sessions::list_active(state(ctx), viewer.user.id)
            .await?
            .into_iter()
            .map(|model| Session {
                current: model.id == current,
                model,
            })
            .collect())
    }
}

/// Input of signUp.
#[derive(InputObject)]
pub struct SignUpInput {
    email: String,
    /// 8 to 128 characters.
    password: String,
    /// Display name, 1 to 50 characters; defaults to the part of the email before @.
    username: Option<String>,
}

/// Input of signIn.
#[derive(InputObject)]
pub struct SignInInput {
    email: String,
    password: String,
}

/// Input of changePassword.
#[derive(InputObject)]
pub struct ChangePasswordInput {
    /// Required when the account has a password; without one (setting a first password) the
    /// session must have signed in recently (REAUTHENTICATION_REQUIRED).
    current_password: Option<String>,
    new_password: String,
}

/// Input of updateProfile.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    username: MaybeUndefined<String>,
    /// An https URL, at most 2048 characters; null clears it.
    avatar: MaybeUndefined<String>,
}

/// Input of deleteAccount.
#[derive(InputObject)]
pub struct DeleteAccountInput {
    /// Required when the account has a password; otherwise the session must have signed in
    /// less than TODOQL_REAUTH_MAX_AGE (600) seconds ago (REAUTHENTICATION_REQUIRED).
    password: Option<String>,
}

/// Account and session mutations.
#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Create an account and sign in. Sends a verification email. CONFLICT if the email is taken
    /// (its owner gets in with an emailed code or a password reset, which prove the address).
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> Result<AuthPayload> {
        let signed_in = accounts::sign_up(
            state(ctx),
            SignUp {
                email: input.email,
                password: SecretString::from(input.password),
                username: input.username,
            },
            &client_info(ctx),
        )
        .await?;
        Ok(signed_in.into())
    }

    /// INVALID_CREDENTIALS for unknown email and wrong password alike, in the same time.
    async fn sign_in(&self, ctx: &Context<'_>, input: SignInInput) -> Result<AuthPayload> {
        let signed_in = accounts::sign_in(
            state(ctx),
            &input.email,
            SecretString::from(input.password),
            &client_info(ctx),
        )
        .await?;
        Ok(signed_in.into())
    }

    /// Exchange a refresh token for a new access token and a NEW refresh token (rotation); the old one stops working.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> Result<AuthPayload> {
        Ok(
            sessions::refresh(state(ctx), &refresh_token, &client_info(ctx))
                .await?
                .into(),
        )
    }

    /// Revoke the current session.
    async fn sign_out(&self, ctx: &Context<'_>) -> Result<bool> {
        let viewer = require_viewer(ctx).await?;
        session_revocation::sign_out(state(ctx), viewer, &client_info(ctx)).await?;
        Ok(true)
    }

    /// Revoke one of the caller's sessions by id.
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let viewer = require_viewer(ctx).await?;
        let session_id = parse_id(&id, "id")?;
        session_revocation::revoke(state(ctx), viewer, session_id, &client_info(ctx)).await?;
        Ok(true)
    }

    /// Revoke every session of the caller except the current one; returns how many were revoked.
    async fn revoke_other_sessions(&self, ctx: &Context<'_>) -> Result<i32> {
        let viewer = require_viewer(ctx).await?;
        let revoked =
            session_revocation::revoke_others(state(ctx), viewer, &client_info(ctx)).await?;
        Ok(i32::try_from(revoked).unwrap_or(i32::MAX))
    }

    /// Needs the current password (when the account has one); revokes all other sessions.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> Result<AuthPayload> {
        let viewer = require_viewer(ctx).await?;
        let signed_in = accounts::change_password(
            state(ctx),
            viewer,
            input.current_password.map(SecretString::from),
            SecretString::from(input.new_password),
            &client_info(ctx),
        )
        .await?;
        Ok(signed_in.into())
    }

    /// Change the username and/or avatar. Absent fields stay; a null avatar clears it.
    async fn update_profile(&self, ctx: &Context<'_>, input: UpdateProfileInput) -> Result<User> {
        let viewer = require_viewer(ctx).await?;
        let user = accounts::update_profile(
            state(ctx),
            viewer,
            patch(input.username),
            patch(input.avatar),
        )
        .await?;
        Ok(User(user))
    }

    /// Soft-deletes the account; its todos, deleted-todo log and sessions are purged at once.
    async fn delete_account(&self, ctx: &Context<'_>, input: DeleteAccountInput) -> Result<bool> {
        let viewer = require_viewer(ctx).await?;
        accounts::delete_account(
            state(ctx),
            viewer,
            input.password.map(SecretString::from),
            &client_info(ctx),
        )
        .await?;
        Ok(true)
    }
}
