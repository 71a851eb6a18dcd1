//! Accounts, passwords, tokens and sessions.

pub mod access_token;
pub mod accounts;
pub mod email_change;
pub mod email_codes;
pub mod identity;
pub mod oauth;
pub mod password;
pub mod password_reset;
pub mod sessions;
