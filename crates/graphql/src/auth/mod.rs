//! Accounts, passwords, tokens and sessions.

pub mod access_token;
pub mod accounts;
pub mod identity;
pub mod oauth;
pub mod password;
pub mod sessions;
