//! Mutations of the emailed flows: verification, passwordless sign-in, password reset and
//! change of address.

use crate::error::Result;
use crate::request::client_info;
use crate::request::state;
use crate::request::{self, optional_viewer, require_viewer};
use crate::schema::account_types::{AuthPayload, User};
use async_graphql::{Context, InputObject, Object};
use secrecy::SecretString;
use todoql_domain::auth::email_change::{self, ChangeProof};
use todoql_domain::auth::email_codes::Proof;
use todoql_domain::auth::password_reset;
use todoql_domain::auth::{code_sign_in, email_verification};

/// Either email + code, or token.
#[derive(InputObject)]
pub struct VerifyEmailInput {
    /// The address the code was sent to (with `code`).
    email: Option<String>,
    /// The 6-digit code from the mail (with `email`).
    code: Option<String>,
    /// The token from the mail's link (alone).
    token: Option<String>,
}

/// Either email + code, or token.
#[derive(InputObject)]
pub struct SignInWithCodeInput {
    /// The address the code was sent to (with `code`).
    email: Option<String>,
    /// The 6-digit code from the mail (with `email`).
    code: Option<String>,
    /// The token from the mail's link (alone).
    token: Option<String>,
}

/// Input of resetPassword.
#[derive(InputObject)]
pub struct ResetPasswordInput {
    /// The token from the reset mail's link.
    token: String,
    /// 8 to 128 characters.
    new_password: String,
}

/// Input of requestEmailChange.
#[derive(InputObject)]
pub struct RequestEmailChangeInput {
    /// The address to move the account to; the code and link go there.
    new_email: String,
    /// Required when the account has a password; otherwise the session must have signed in
    /// recently (REAUTHENTICATION_REQUIRED).
    current_password: Option<String>,
}

/// Either code (signed in) or token.
#[derive(InputObject)]
pub struct ConfirmEmailChangeInput {
    /// The 6-digit code from the mail (signed in as the user who asked).
    code: Option<String>,
    /// The token from the mail's link (signed in or not).
    token: Option<String>,
}

/// Email verification, passwordless sign-in, password reset and change of address.
#[derive(Default)]
pub struct EmailMutation;

#[Object]
impl EmailMutation {
    /// Send (again) a verification email with a 6-digit code and a link token to the caller's address.
    /// False when the address is already verified (nothing is sent); RATE_LIMITED past the
    /// per-address mail limit.
    async fn send_verification_email(&self, ctx: &Context<'_>) -> Result<bool> {
        let viewer = require_viewer(ctx).await?;
        Ok(
            email_verification::send_verification_email(state(ctx), viewer, &client_info(ctx))
                .await?,
        )
    }

    /// Verify with {email, code} or with {token} from the link. Works signed out as well.
    /// The first verification of an account keeps a password or provider link set before it
    /// only when sent from a signed-in session of that account; signed out (or from another
    /// account) it removes them and ends every session: sign in again by emailed code or reset.
    /// An expired access token is UNAUTHENTICATED (refresh and retry), never taken as signed out.
    async fn verify_email(&self, ctx: &Context<'_>, input: VerifyEmailInput) -> Result<User> {
        let proof = Proof::from_input(input.email, input.code, input.token)?;
        let viewer = optional_viewer(ctx).await?;
        Ok(User(
            email_verification::verify_email(state(ctx), proof, viewer, &client_info(ctx)).await?,
        ))
    }

    /// Always true, whether or not the address has an account (no enumeration). Creates the account on first use.
    /// BAD_USER_INPUT for a malformed address; RATE_LIMITED past the mail requests allowed per client IP.
    async fn request_sign_in_code(&self, ctx: &Context<'_>, email: String) -> Result<bool> {
        code_sign_in::request_sign_in_code(state(ctx), &email, &client_info(ctx)).await?;
        Ok(true)
    }

    /// Sign in with {email, code} or with {token}. Marks the email verified. As the first proof
    /// of an existing account's address it removes the password, provider links and sessions
    /// set before it.
    async fn sign_in_with_code(
        &self,
        ctx: &Context<'_>,
        input: SignInWithCodeInput,
    ) -> Result<AuthPayload> {
        let proof = Proof::from_input(input.email, input.code, input.token)?;
        let signed_in =
            code_sign_in::sign_in_with_code(state(ctx), proof, &client_info(ctx)).await?;
        Ok(signed_in.into())
    }

    /// Always true, whether or not the address has an account (no enumeration).
    /// BAD_USER_INPUT for a malformed address; RATE_LIMITED past the mail requests allowed per client IP.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> Result<bool> {
        password_reset::request_password_reset(state(ctx), &email, &client_info(ctx)).await?;
        Ok(true)
    }

    /// Single-use token from the email. Sets the password and revokes every session of the user.
    async fn reset_password(&self, ctx: &Context<'_>, input: ResetPasswordInput) -> Result<bool> {
        password_reset::reset_password(
            state(ctx),
            &SecretString::from(input.token),
            SecretString::from(input.new_password),
            &client_info(ctx),
        )
        .await?;
        Ok(true)
    }

    /// Sends a code and link to the NEW address; the address changes only when confirmed.
    async fn request_email_change(
        &self,
        ctx: &Context<'_>,
        input: RequestEmailChangeInput,
    ) -> Result<bool> {
        let viewer = require_viewer(ctx).await?;
        email_change::request_email_change(
            state(ctx),
            viewer,
            &input.new_email,
            input.current_password.map(SecretString::from),
            &client_info(ctx),
        )
        .await?;
        Ok(true)
    }

    /// Confirm with {code} (signed in) or {token}. Revokes all other sessions.
    async fn confirm_email_change(
        &self,
        ctx: &Context<'_>,
        input: ConfirmEmailChangeInput,
    ) -> Result<User> {
        let proof = ChangeProof::from_input(input.code, input.token)?;
        let viewer = request::viewer(ctx).await?;
        Ok(User(
            email_change::confirm_email_change(state(ctx), viewer, proof, &client_info(ctx))
                .await?,
        ))
    }
}
