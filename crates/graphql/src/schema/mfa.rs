//! The second factor's mutations: TOTP enrollment and removal, recovery codes, and verifyMfa.

use crate::error::Result;
use crate::request::{client_info, require_viewer, state};
use crate::schema::account_types::AuthPayload;
use async_graphql::{Context, InputObject, Object, SimpleObject};
use todoql_domain::auth::mfa::proof::Answer;
use todoql_domain::auth::mfa::{enrollment, verify};

/// A new TOTP secret, inactive until confirmTotpEnrollment.
#[derive(SimpleObject)]
pub struct TotpEnrollment {
    /// Base32, for manual entry.
    secret: String,
    /// otpauth://totp/... for a QR code (SHA1, 6 digits, 30 s).
    otpauth_uri: String,
}

/// Single-use recovery codes, shown only in this answer.
#[derive(SimpleObject)]
pub struct RecoveryCodes {
    codes: Vec<String>,
}

/// mfaToken from the MFA_REQUIRED error, and exactly one of totpCode and recoveryCode.
#[derive(InputObject)]
pub struct VerifyMfaInput {
    mfa_token: String,
    totp_code: Option<String>,
    recovery_code: Option<String>,
}

/// Second-factor mutations.
#[derive(Default)]
pub struct MfaMutation;

#[Object]
impl MfaMutation {
    /// A new TOTP secret for the caller, inactive until confirmed. Needs a recent sign-in.
    async fn start_totp_enrollment(&self, ctx: &Context<'_>) -> Result<TotpEnrollment> {
        let viewer = require_viewer(ctx).await?;
        let enrollment = enrollment::start(state(ctx), viewer).await?;
        Ok(TotpEnrollment {
            secret: enrollment.secret,
            otpauth_uri: enrollment.otpauth_uri,
        })
    }

    /// Activate TOTP with a current code; returns 10 single-use recovery codes, shown only here. Revokes other sessions.
    async fn confirm_totp_enrollment(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> Result<RecoveryCodes> {
        let viewer = require_viewer(ctx).await?;
        let codes = enrollment::confirm(state(ctx), viewer, &code, &client_info(ctx)).await?;
        Ok(RecoveryCodes { codes })
    }

    /// Turn TOTP off with a current TOTP code or a recovery code; recovery codes are deleted.
    async fn disable_totp(&self, ctx: &Context<'_>, code: String) -> Result<bool> {
        let viewer = require_viewer(ctx).await?;
        enrollment::disable(state(ctx), viewer, &code, &client_info(ctx)).await?;
        Ok(true)
    }

    /// Replace the recovery codes (the old ones stop working) with a current TOTP code.
    async fn regenerate_recovery_codes(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> Result<RecoveryCodes> {
        let viewer = require_viewer(ctx).await?;
        let codes =
            enrollment::regenerate_recovery_codes(state(ctx), viewer, &code, &client_info(ctx))
                .await?;
        Ok(RecoveryCodes { codes })
    }

    /// Second step of a sign-in that answered MFA_REQUIRED: exactly one of totpCode and recoveryCode.
    async fn verify_mfa(&self, ctx: &Context<'_>, input: VerifyMfaInput) -> Result<AuthPayload> {
        let answer = Answer::one_of(input.totp_code, input.recovery_code)?;
        let signed_in =
            verify::verify_mfa(state(ctx), &input.mfa_token, answer, &client_info(ctx)).await?;
        Ok(signed_in.into())
    }
}
