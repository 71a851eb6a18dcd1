//! The value of a secret option: a key, a password, a URL that may carry one.

use secrecy::{ExposeSecret, SecretString};

/// A secret option's value. Its `Debug` shows nothing of it, so a configuration that is
/// logged or printed cannot leak it; the code that needs the text asks for it by name
/// ([`Secret::expose`]).
///
/// Giving an option this type is what makes it secret: see `secret_args` for what follows.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// The secret text, for the one place that uses it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The value as the domain holds secrets.
    pub fn into_secret_string(self) -> SecretString {
        self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value.into())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_nothing_of_the_value() {
        let secret = Secret::from("hunter2".to_owned());
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
        assert_eq!(
            format!("{:?}", Some(secret.clone())),
            "Some(Secret([redacted]))"
        );
        assert_eq!(secret.expose(), "hunter2");
    }
}
