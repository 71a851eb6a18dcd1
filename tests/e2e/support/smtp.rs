//! Mail: a real SMTP server (a sink) on 127.0.0.1, started by the test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::task::JoinHandle;

use super::app::{APP_URL, TestApp};
use super::mime::{ReceivedMail, parse_mail};
use super::wait::MAIL_TIMEOUT;

/// A server whose mail goes to a fresh SMTP sink (`--smtp-url smtp://127.0.0.1:PORT?tls=none`),
/// with links to [`APP_URL`].
pub async fn spawn_mail_app(args: &[&str]) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let mut all = vec!["--smtp-url", url.as_str(), "--app-url", APP_URL];
    all.extend_from_slice(args);
    let app = TestApp::spawn_with(&all).await;
    (app, sink)
}

#[derive(Default)]
struct Inbox {
    mails: Vec<ReceivedMail>,
    /// Per recipient, how many mails `next_mail_to` has handed out.
    taken: HashMap<String, usize>,
    /// The verb of every command received, in order (EHLO, MAIL, AUTH, ...).
    commands: Vec<String>,
}

/// A small SMTP server that stores what it receives: greeting, EHLO/HELO (no STARTTLS), MAIL,
/// RCPT, DATA (with dot-unstuffing), RSET, NOOP, QUIT. It can be stopped and started again on
/// the same port, keeping its inbox.
pub struct SmtpSink {
    ip: std::net::IpAddr,
    port: u16,
    inbox: Arc<Mutex<Inbox>>,
    accept: Option<JoinHandle<()>>,
    sessions: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl SmtpSink {
    /// A sink on a free port of 127.0.0.1.
    pub async fn start() -> SmtpSink {
        Self::start_on(std::net::Ipv4Addr::LOCALHOST.into()).await
    }

    /// A sink on a free port of `ip` (an address of this machine).
    pub async fn start_on(ip: std::net::IpAddr) -> SmtpSink {
        let mut sink = SmtpSink {
            ip,
            port: 0,
            inbox: Arc::default(),
            accept: None,
            sessions: Arc::default(),
        };
        sink.listen().await;
        sink
    }

    async fn listen(&mut self) {
        let socket = match self.ip {
            std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket
            .bind(std::net::SocketAddr::new(self.ip, self.port))
            .expect("bind the SMTP sink");
        let listener = socket.listen(64).expect("listen");
        self.port = listener.local_addr().expect("addr").port();
        let inbox = self.inbox.clone();
        let sessions = self.sessions.clone();
        self.accept = Some(tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let session = tokio::spawn(smtp_session(stream, inbox.clone()));
                sessions.lock().unwrap().push(session);
            }
        }));
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL for `--smtp-url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Stops listening and drops every open connection (the inbox stays).
    pub async fn stop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = accept.await;
        }
        let sessions: Vec<_> = self.sessions.lock().unwrap().drain(..).collect();
        for session in sessions {
            session.abort();
            let _ = session.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.listen().await;
    }

    /// The verb of every SMTP command received so far, in order.
    pub fn commands(&self) -> Vec<String> {
        self.inbox.lock().unwrap().commands.clone()
    }

    /// Every mail received so far.
    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.inbox.lock().unwrap().mails.clone()
    }

    /// Every mail received so far for `to`.
    pub fn mails_to(&self, to: &str) -> Vec<ReceivedMail> {
        self.mails()
            .into_iter()
            .filter(|m| m.envelope_to.iter().any(|r| r.eq_ignore_ascii_case(to)))
            .collect()
    }

    /// The next mail for `to` that this method has not returned yet, waiting for it (polling,
    /// up to [`MAIL_TIMEOUT`]).
    pub async fn next_mail_to(&self, to: &str) -> ReceivedMail {
        let deadline = tokio::time::Instant::now() + MAIL_TIMEOUT;
        loop {
            {
                let mut inbox = self.inbox.lock().unwrap();
                let taken = inbox.taken.get(to).copied().unwrap_or(0);
                let found = inbox
                    .mails
                    .iter()
                    .filter(|m| m.envelope_to.iter().any(|r| r.eq_ignore_ascii_case(to)))
                    .nth(taken)
                    .cloned();
                if let Some(mail) = found {
                    inbox.taken.insert(to.to_owned(), taken + 1);
                    return mail;
                }
            }
            if tokio::time::Instant::now() > deadline {
                let seen: Vec<_> = self
                    .mails()
                    .iter()
                    .map(|m| format!("{:?}: {}", m.envelope_to, m.subject()))
                    .collect();
                panic!("no new mail to {to} within {MAIL_TIMEOUT:?}; received: {seen:#?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many mails to `to` have arrived that `next_mail_to` has not handed out.
    pub fn unread_count(&self, to: &str) -> usize {
        let taken = self
            .inbox
            .lock()
            .unwrap()
            .taken
            .get(to)
            .copied()
            .unwrap_or(0);
        self.mails_to(to).len() - taken
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        for session in self.sessions.lock().unwrap().drain(..) {
            session.abort();
        }
    }
}

async fn smtp_session(stream: tokio::net::TcpStream, inbox: Arc<Mutex<Inbox>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write
        .write_all(b"220 sink.test ESMTP ready\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        inbox.lock().unwrap().commands.push(verb.clone());
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test greets you\r\n250 8BITMIME\r\n",
            "HELO" => b"250 sink.test\r\n",
            "MAIL" => {
                from = angle_address(&command);
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(angle_address(&command));
                b"250 OK\r\n"
            }
            "DATA" => {
                if write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let mut raw = String::new();
                loop {
                    line.clear();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let content = line.trim_end_matches(['\r', '\n']);
                    if content == "." {
                        break;
                    }
                    // Dot-unstuffing: the client doubled every leading dot.
                    raw.push_str(content.strip_prefix('.').unwrap_or(content));
                    raw.push('\n');
                }
                let mail = parse_mail(from.clone(), to.clone(), raw);
                inbox.lock().unwrap().mails.push(mail);
                b"250 OK: queued\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                let _ = write.write_all(b"221 Bye\r\n").await;
                return;
            }
            _ => b"502 Command not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

fn angle_address(command: &str) -> String {
    match (command.find('<'), command.find('>')) {
        (Some(start), Some(end)) if start < end => command[start + 1..end].to_owned(),
        _ => command.split(':').nth(1).unwrap_or("").trim().to_owned(),
    }
}
