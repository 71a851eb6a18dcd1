//! How a mail leaves the server: the `log` transport (the default, for development) or SMTP
//! through lettre. The outbox sender is the only caller; requests never wait for a transport.

use futures_util::future::BoxFuture;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sea_orm::ActiveEnum;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use todoql_entity::email_outbox::MailKind;

/// One mail handed to a transport, as it was read from the outbox.
#[derive(Clone)]
pub struct OutgoingMail {
    /// The outbox row, for log lines.
    pub id: uuid::Uuid,
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part (holds the code and link: never logged, except by [`LogTransport`]).
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// What the mail is for (`verify_email`, `sign_in`, ...), for logs and metrics.
    pub kind: MailKind,
}

impl std::fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bodies carry live codes and links.
        f.debug_struct("OutgoingMail")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Why a transport did not deliver a mail. The message never holds the mail's content.
#[derive(Debug, Clone)]
pub struct SendError {
    /// Retrying cannot help (e.g. the recipient is not a valid mailbox).
    pub permanent: bool,
    /// The server did not offer the encryption the URL requires (no STARTTLS): a relay set up
    /// without TLS, or an attacker on the path stripping it. Nothing was sent; the mail is
    /// retried like after any failure, but an operator must look, so it is logged as an error.
    pub unencrypted: bool,
    /// What went wrong, for `last_error` and the log.
    pub message: String,
}

impl SendError {
    fn temporary(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            unencrypted: false,
            message: message.into(),
        }
    }
    fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            unencrypted: false,
            message: message.into(),
        }
    }
    fn unencrypted(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            unencrypted: true,
            message: message.into(),
        }
    }
}

/// Something that delivers mail.
pub trait Transport: Send + Sync + 'static {
    /// Delivers one mail.
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> BoxFuture<'a, Result<(), SendError>>;
    /// One line for the start-up log (never a password).
    fn describe(&self) -> String;
}

/// A shared transport.
pub type Mailer = Arc<dyn Transport>;

/// Prints every mail, code and link included, to the log at INFO. Meant for development: it
/// is the one deliberate exception to "no secret in the logs", and the start-up line says so.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogTransport;

impl LogTransport {
    /// The text the log line carries.
    pub fn render(mail: &OutgoingMail) -> String {
        format!(
            "To: {}\nSubject: {}\n\n{}",
            mail.to,
            mail.subject,
            mail.text.trim_end()
        )
    }
}

impl Transport for LogTransport {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            tracing::info!(
                target: "todoql::mail",
                outbox_id = %mail.id,
                kind = %mail.kind.to_value(),
                "mail (log transport)\n{}",
                Self::render(mail)
            );
            Ok(())
        })
    }

    fn describe(&self) -> String {
        "mail transport: log. Every mail, WITH ITS CODE AND LINK, is printed to this log at INFO \
         (the one deliberate exception to \"no secrets in logs\", for development). Set \
         TODOQL_SMTP_URL to send real mail."
            .into()
    }
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (`smtps://`, port 465 by default).
    Implicit,
    /// STARTTLS when the server offers it, plain otherwise: `smtp://` to a loopback host, or
    /// any host with `?tls=opportunistic`. An attacker on the path can strip the offer.
    Opportunistic,
    /// STARTTLS or fail: `smtp://` to any other host, or any host with `?tls=required`.
    Required,
    /// Never encrypt (`smtp://...?tls=none`, for a local relay).
    None,
}

/// Whether `host`, as written in the URL, is this machine's loopback: `localhost`, an IPv4
/// address in 127.0.0.0/8 or `::1`. Mail to it never crosses a network, so plain `smtp://`
/// may fall back to plaintext there; every other host needs STARTTLS unless the URL says
/// otherwise.
///
/// Decided from the text alone, never through DNS: a name that resolves to a loopback
/// address today (the machine's own hostname, say) is still a network name that DNS can
/// change or an attacker can spoof, so it counts as remote.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_canonical().is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// A parsed `TODOQL_SMTP_URL`.
#[derive(Clone)]
pub struct SmtpUrl {
    /// Server host name or address.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Transport security.
    pub security: SmtpSecurity,
    /// User name, when the server wants authentication.
    pub username: Option<String>,
    /// Password (percent-decoded).
    pub password: Option<SecretString>,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl SmtpUrl {
    /// Parses `smtp://[user[:pass]@]host[:port][?tls=opportunistic|required|none]` or
    /// `smtps://[user[:pass]@]host[:port]`. Without `tls=`, `smtp://` requires STARTTLS unless
    /// the host is loopback ([`is_loopback_host`]). The error never repeats the URL (it may
    /// hold a password).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
        let mut tls: Option<String> = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "tls" => tls = Some(value.into_owned()),
                other => return Err(format!("unknown parameter {other:?} (only tls=...)")),
            }
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtps", None) => SmtpSecurity::Implicit,
            ("smtps", Some(_)) => {
                return Err("smtps:// is always TLS; drop the tls parameter".into());
            }
            ("smtp", None) if is_loopback_host(&host) => SmtpSecurity::Opportunistic,
            ("smtp", None) => SmtpSecurity::Required,
            ("smtp", Some("opportunistic")) => SmtpSecurity::Opportunistic,
            ("smtp", Some("required")) => SmtpSecurity::Required,
            ("smtp", Some("none")) => SmtpSecurity::None,
            ("smtp", Some(other)) => {
                return Err(format!(
                    "tls={other:?} is not one of opportunistic, required, none"
                ));
            }
            (scheme, _) => return Err(format!("scheme {scheme:?} is not smtp or smtps")),
        };
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::Implicit => 465,
            SmtpSecurity::None => 25,
            SmtpSecurity::Opportunistic | SmtpSecurity::Required => 587,
        });
        let decode = |s: &str| -> Result<String, String> {
            percent_decode(s).ok_or_else(|| "user or password is not valid percent-encoding".into())
        };
        let username = match url.username() {
            "" => None,
            user => Some(decode(user)?),
        };
        let password = match url.password() {
            None => None,
            Some(pass) => Some(SecretString::from(decode(pass)?)),
        };
        if password.is_some() && username.is_none() {
            return Err("a password needs a user name".into());
        }
        Ok(Self {
            host,
            port,
            security,
            username,
            password,
        })
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses the sender (`Name <address>` or a bare address).
pub fn parse_mailbox(raw: &str) -> Result<Mailbox, String> {
    raw.parse::<Mailbox>()
        .map_err(|e| format!("not a mail address ({e})"))
}

/// Delivers through an SMTP server with lettre. One connection per mail (transactional mail is
/// rare; this keeps a restarted server from holding a dead pooled connection).
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    description: String,
}

/// Longest an SMTP exchange may take before the attempt counts as failed.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

impl SmtpTransport {
    /// A transport for `url`, sending as `from`.
    pub fn new(url: &SmtpUrl, from: Mailbox) -> Result<Self, String> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host)
            .port(url.port)
            .timeout(Some(SMTP_TIMEOUT));
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned()).map_err(|e| format!("TLS set-up failed: {e}"))
        };
        builder = builder.tls(match url.security {
            SmtpSecurity::Implicit => Tls::Wrapper(tls(&url.host)?),
            SmtpSecurity::Opportunistic => Tls::Opportunistic(tls(&url.host)?),
            SmtpSecurity::Required => Tls::Required(tls(&url.host)?),
            SmtpSecurity::None => Tls::None,
        });
        if let Some(user) = &url.username {
            let password = url
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let security = match url.security {
            SmtpSecurity::Implicit => "implicit TLS",
            SmtpSecurity::Opportunistic => "STARTTLS when offered, plaintext otherwise",
            SmtpSecurity::Required => "STARTTLS required",
            SmtpSecurity::None => "no TLS",
        };
        let description = format!(
            "mail transport: SMTP to {}:{} ({security}{}), from {}",
            url.host,
            url.port,
            if url.username.is_some() {
                ", with authentication"
            } else {
                ""
            },
            from
        );
        Ok(Self {
            inner: builder.build(),
            from,
            description,
        })
    }

    fn message(&self, mail: &OutgoingMail) -> Result<lettre::Message, SendError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| SendError::permanent(format!("recipient is not a mailbox: {e}")))?;
        lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))
    }
}

impl Transport for SmtpTransport {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let message = self.message(mail)?;
            self.inner
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| classify(&e))
        })
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// A failed SMTP exchange as a [`SendError`]. lettre refuses to go on when `Tls::Required`
/// meets a server without STARTTLS with a client error that says so (before MAIL FROM or
/// AUTH: nothing of the mail or the credentials went out).
fn classify(err: &lettre::transport::smtp::Error) -> SendError {
    if err.is_client() && err.to_string().contains("STARTTLS") {
        SendError::unencrypted(format!(
            "SMTP: the server did not offer STARTTLS, and TODOQL_SMTP_URL requires it: nothing \
             was sent ({err}). Fix the relay, or, only if the path to it is trusted, add \
             ?tls=opportunistic to the URL"
        ))
    } else {
        SendError::temporary(format!("SMTP: {err}"))
    }
}

/// The transport the configuration asks for: SMTP when `smtp_url` is set, the log otherwise.
pub fn from_config(smtp_url: Option<&str>, from: &str) -> Result<Mailer, String> {
    let from = parse_mailbox(from)?;
    match smtp_url {
        None => Ok(Arc::new(LogTransport)),
        Some(raw) => Ok(Arc::new(SmtpTransport::new(&SmtpUrl::parse(raw)?, from)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_to_a_remote_host_requires_starttls_on_port_587() {
        let url = SmtpUrl::parse("smtp://mailer:s%40cret@mail.example.com").unwrap();
        assert_eq!(url.host, "mail.example.com");
        assert_eq!(url.port, 587);
        assert_eq!(url.security, SmtpSecurity::Required);
        assert_eq!(url.username.as_deref(), Some("mailer"));
        assert_eq!(url.password.unwrap().expose_secret(), "s@cret");
        for remote in [
            "smtp://10.0.0.5:25",
            "smtp://[fe80::1]:25",
            "smtp://[::ffff:10.0.0.5]:25",
            "smtp://localhost.example.com",
            "smtp://mail.localhost",
            "smtp://0.0.0.0",
        ] {
            assert_eq!(
                SmtpUrl::parse(remote).unwrap().security,
                SmtpSecurity::Required,
                "{remote}"
            );
        }
    }

    #[test]
    fn smtp_to_a_loopback_host_uses_starttls_when_offered() {
        for local in [
            "smtp://localhost:2525",
            "smtp://LocalHost",
            "smtp://127.0.0.1:2525",
            "smtp://127.0.0.2",
            "smtp://[::1]:2525",
            "smtp://[::ffff:127.0.0.1]",
        ] {
            assert_eq!(
                SmtpUrl::parse(local).unwrap().security,
                SmtpSecurity::Opportunistic,
                "{local}"
            );
        }
    }

    #[test]
    fn the_url_can_relax_or_tighten_the_default() {
        let security = |url: &str| SmtpUrl::parse(url).unwrap().security;
        assert_eq!(
            security("smtp://mail.example.com?tls=opportunistic"),
            SmtpSecurity::Opportunistic
        );
        assert_eq!(
            security("smtp://mail.example.com?tls=none"),
            SmtpSecurity::None
        );
        assert_eq!(
            security("smtp://127.0.0.1?tls=required"),
            SmtpSecurity::Required
        );
    }

    #[test]
    fn smtps_is_implicit_tls_on_port_465() {
        let url = SmtpUrl::parse("smtps://u:p@mail.example.com").unwrap();
        assert_eq!((url.port, url.security), (465, SmtpSecurity::Implicit));
        assert!(SmtpUrl::parse("smtps://mail.example.com?tls=none").is_err());
    }

    #[test]
    fn tls_parameter_selects_required_or_none() {
        let url = SmtpUrl::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((url.port, url.security), (2525, SmtpSecurity::None));
        assert!(url.username.is_none());
        let url = SmtpUrl::parse("smtp://relay.local?tls=required").unwrap();
        assert_eq!((url.port, url.security), (587, SmtpSecurity::Required));
        assert_eq!(
            SmtpUrl::parse("smtp://relay.local?tls=none").unwrap().port,
            25
        );
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_the_password() {
        for bad in [
            "http://u:hunter2@host",
            "smtp://u:hunter2@host?tls=maybe",
            "smtp://u:hunter2@host?verify=no",
            "smtp://:hunter2@host",
            "not a url hunter2",
        ] {
            let err = SmtpUrl::parse(bad).unwrap_err();
            assert!(!err.contains("hunter2"), "{bad}: {err}");
        }
    }

    #[test]
    fn debug_of_an_smtp_url_hides_the_password() {
        let url = SmtpUrl::parse("smtp://u:hunter2@host").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn the_sender_must_be_a_mailbox() {
        assert!(parse_mailbox("todoql <no-reply@todoql.localhost>").is_ok());
        assert!(parse_mailbox("nobody").is_err());
    }

    #[test]
    fn the_log_transport_prints_recipient_subject_and_text() {
        let mail = OutgoingMail {
            id: uuid::Uuid::nil(),
            to: "ada@example.com".into(),
            subject: "Hi".into(),
            text: "line one\n123456\n".into(),
            html: "<p>x</p>".into(),
            kind: MailKind::SignIn,
        };
        assert_eq!(
            LogTransport::render(&mail),
            "To: ada@example.com\nSubject: Hi\n\nline one\n123456"
        );
        assert!(!format!("{mail:?}").contains("123456"));
    }
}
