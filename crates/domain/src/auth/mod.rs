//! Accounts, passwords, tokens and sessions.

pub mod access_token;
pub mod accounts;
pub mod address_proof;
pub mod email_change;
pub mod email_codes;
pub mod identity;
pub mod oauth;
pub mod password;
pub mod password_attempts;
pub mod password_reset;
pub mod reauth;
pub mod sessions;
pub mod viewer;
