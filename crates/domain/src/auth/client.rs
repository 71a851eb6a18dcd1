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
    /// A code from the user's TOTP authenticator (second factor, verifyMfa).
    Totp,
    /// One of the user's single-use recovery codes (second factor, verifyMfa).
    RecoveryCode,
    /// A passkey with user verification (finishPasskeySignIn): complete on its own.
    Passkey,
}

impl AuthMethod {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "PASSWORD",
            AuthMethod::EmailCode => "EMAIL_CODE",
            AuthMethod::OAuth => "OAUTH",
            AuthMethod::Totp => "TOTP",
            AuthMethod::RecoveryCode => "RECOVERY_CODE",
            AuthMethod::Passkey => "PASSKEY",
        }
    }

    /// Whether this factor alone is enough whatever second factor the account has: a passkey
    /// proves possession and, by user verification, the person.
    pub fn complete_alone(self) -> bool {
        self == AuthMethod::Passkey
    }

    /// The method of a stored name ([`AuthMethod::as_str`]).
    pub fn parse(name: &str) -> Option<Self> {
        [
            AuthMethod::Password,
            AuthMethod::EmailCode,
            AuthMethod::OAuth,
            AuthMethod::Totp,
            AuthMethod::RecoveryCode,
            AuthMethod::Passkey,
        ]
        .into_iter()
        .find(|method| method.as_str() == name)
    }
}

/// The factors a sign-in was given: the first, and the second when the account has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Factors {
    /// Password, emailed code or OAuth.
    pub first: AuthMethod,
    /// TOTP or a recovery code, after MFA_REQUIRED.
    pub second: Option<AuthMethod>,
}

impl Factors {
    /// The factors stored on a session (`PASSWORD,TOTP`); `None` for a session from before
    /// they were recorded.
    pub fn of_stored(stored: &str) -> Option<Self> {
        let mut methods = stored.split(',').map(AuthMethod::parse);
        let first = methods.next().flatten()?;
        let second = methods.next().flatten();
        Some(Factors { first, second })
    }

    /// As stored on the session (`sessions.authentication_methods`): `PASSWORD` or
    /// `PASSWORD,TOTP`.
    pub fn stored(&self) -> String {
        match self.second {
            Some(second) => format!("{},{}", self.first.as_str(), second.as_str()),
            None => self.first.as_str().to_owned(),
        }
    }

    /// The method a SIGNED_IN event names: the one that completed the sign-in.
    pub fn completing(&self) -> AuthMethod {
        self.second.unwrap_or(self.first)
    }
}

impl From<AuthMethod> for Factors {
    fn from(first: AuthMethod) -> Self {
        Factors {
            first,
            second: None,
        }
    }
}
