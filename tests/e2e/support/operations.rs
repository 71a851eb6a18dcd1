//! Operations and settings whose text no test varies: one copy for every test file. Queries
//! that select different fields per test stay beside their tests.

/// Asks for a sign-in code (always `true`, account or not).
pub const REQUEST_CODE: &str = "mutation($email: String!) { requestSignInCode(email: $email) }";
/// Asks for a password-reset link (always `true`, account or not).
pub const REQUEST_RESET: &str = "mutation($email: String!) { requestPasswordReset(email: $email) }";
/// Sets a new password with a reset token.
pub const RESET: &str = "mutation($input: ResetPasswordInput!) { resetPassword(input: $input) }";
/// Asks to move the caller's account to a new address.
pub const REQUEST_CHANGE: &str =
    "mutation($input: RequestEmailChangeInput!) { requestEmailChange(input: $input) }";

/// The `TODOQL_ENCRYPTION_KEY` of servers with OAuth providers (64 hex digits).
pub const KEY_HEX: &str = "8f2c0d4e6a1b3c5d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f";
/// The redirect URI the OAuth tests allow and use.
pub const CALLBACK: &str = "http://localhost:3000/oauth/callback";
