//! Who is asking and how they proved it: the client of a request (recorded on sessions and
//! security events) and the ways to sign in.

/// Where a sign-in comes from, recorded on its session.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Client IP address.
    pub ip: Option<String>,
    /// User agent (truncated before storage).
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The user agent as it is stored (on sessions and security events): at most `max`
    /// characters.
    pub fn user_agent_within(&self, max: usize) -> Option<String> {
        self.user_agent
            .as_ref()
            .map(|ua| ua.chars().take(max).collect())
    }
}

/// How a session signed in: recorded on it at sign-in (`sessions.authentication_methods`) and
/// shown as `Session.authenticationMethods`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// Email and password (signUp, signIn).
    Password,
    /// An emailed code or link (signInWithCode).
    EmailCode,
    /// An OAuth / OpenID Connect provider (completeOAuth).
    OAuth,
}

impl AuthMethod {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "PASSWORD",
            AuthMethod::EmailCode => "EMAIL_CODE",
            AuthMethod::OAuth => "OAUTH",
        }
    }
}
