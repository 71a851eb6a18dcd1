//! Options of mail: the links' base URL, the transport, the sender, retries.

use super::parse;
use super::secret::Secret;
use clap::Args;
use std::time::Duration;
use todoql_domain::mail::outbox::RetryPolicy;
use todoql_domain::mail::transport::{self, Mailer};

/// How mails are written, sent and retried.
#[derive(Debug, Clone, Args)]
pub struct MailConfig {
    /// Base URL of the frontend; mails link to {app-url}/verify-email etc.
    #[arg(long, env = "TODOQL_APP_URL", default_value = "http://localhost:3000", value_parser = parse::app_url, display_order = 5)]
    pub app_url: String,

    /// SMTP server: smtp://user:pass@host:587 (STARTTLS required; for localhost, 127.0.0.0/8
    /// and ::1 only when offered), smtps://user:pass@host (implicit TLS, port 465),
    /// ?tls=required, ?tls=opportunistic (STARTTLS when offered, plaintext otherwise) or
    /// ?tls=none (plaintext, for a local relay). Unset: mails are printed to the log.
    #[arg(long, env = "TODOQL_SMTP_URL", value_parser = parse::smtp_url, display_order = 6)]
    pub smtp_url: Option<Secret>,

    /// Sender of mails.
    #[arg(
        long,
        env = "TODOQL_MAIL_FROM",
        default_value = "todoql <no-reply@todoql.localhost>",
        value_parser = parse::mail_from,
        display_order = 7
    )]
    pub mail_from: String,

    /// Seconds before the first retry of a mail the transport refused; doubled after each
    /// further failure (at most one hour apart).
    #[arg(long, env = "TODOQL_MAIL_RETRY_BASE", default_value = "10", value_parser = parse::seconds, display_order = 8)]
    pub mail_retry_base: Duration,

    /// Attempts to deliver one mail before giving up on it (it is then deleted, with an error log).
    #[arg(long, env = "TODOQL_MAIL_MAX_ATTEMPTS", default_value_t = RetryPolicy::DEFAULT.max_attempts, value_parser = parse::positive, display_order = 9)]
    pub mail_max_attempts: u32,
}

impl MailConfig {
    /// The transport: SMTP when TODOQL_SMTP_URL is set, else the log (which it says, as a
    /// warning: no mail leaves the machine).
    pub fn mailer(&self) -> anyhow::Result<Mailer> {
        let smtp_url = self.smtp_url.as_ref().map(Secret::expose);
        let mailer = transport::from_config(smtp_url, &self.mail_from)
            .map_err(|e| anyhow::anyhow!("TODOQL_SMTP_URL / TODOQL_MAIL_FROM: {e}"))?;
        if smtp_url.is_some() {
            tracing::info!("{}", mailer.describe());
        } else {
            tracing::warn!("{}", mailer.describe());
        }
        Ok(mailer)
    }

    /// When a refused mail is tried again, and how often.
    pub fn retry_policy(&self) -> RetryPolicy {
        let default = RetryPolicy::DEFAULT;
        RetryPolicy {
            base: chrono::Duration::from_std(self.mail_retry_base).unwrap_or(default.base),
            max_attempts: self.mail_max_attempts,
            ..default
        }
    }
}
