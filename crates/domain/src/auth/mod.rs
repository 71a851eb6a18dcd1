//! Accounts, passwords, tokens and sessions.

pub mod access_token;
pub mod account_mail;
pub mod accounts;
pub mod address_proof;
pub mod client;
pub mod code_sign_in;
pub mod email_change;
pub mod email_codes;
pub mod email_verification;
pub mod identity;
pub mod mfa;
pub mod new_password;
pub mod oauth;
pub mod passkeys;
pub mod password;
pub mod password_attempts;
pub mod password_reset;
pub mod reauth;
pub mod session_revocation;
pub mod sessions;
pub mod socket_sessions;
pub mod users;
pub mod viewer;
pub mod ways_in;

use crate::mail::jobs::MailJobs;
use todoql_entity::email_outbox::MailKind;

/// The outbox jobs of the account flows, for the mail sender.
pub fn mail_jobs() -> MailJobs {
    MailJobs::default().register(
        MailKind::PasswordResetRequest,
        password_reset::prepare_reset_job,
    )
}
