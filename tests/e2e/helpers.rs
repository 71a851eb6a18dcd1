//! The test harness: each test gets a real server on 127.0.0.1 port 0 and a fresh database —
//! a temp SQLite file, or a new PostgreSQL database when TODOQL_TEST_DATABASE_URL is set
//! (dropped afterwards). A real HTTP client speaks GraphQL to it.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use todoql_domain::AppState;
use todoql_domain::clock::ManualClock;
use todoql_server::app::RunningServer;
use todoql_server::config::Config;

/// A password that passes the strength rules.
pub const PASSWORD: &str = "correct horse battery staple";

/// The code verifier a test "browser" keeps for its OAuth flows, and the S256 challenge it
/// sends to startOAuth (the example of RFC 7636, Appendix B).
pub const BROWSER_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const BROWSER_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A fresh database for one test.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
    /// False for a second handle on another test's database (it drops nothing).
    owned: bool,
}

impl TestDb {
    /// A new, empty database.
    pub async fn create() -> Self {
        match std::env::var("TODOQL_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                janitor::sweep_once(&admin_url);
                let name = format!(
                    "todoql_test_{}_{}",
                    std::process::id(),
                    uuid::Uuid::new_v4().simple()
                );
                let admin = sea_orm::Database::connect(&admin_url)
                    .await
                    .expect("TODOQL_TEST_DATABASE_URL is set but PostgreSQL is unreachable");
                use sea_orm::ConnectionTrait;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let url = replace_db_name(&admin_url, &name);
                TestDb {
                    url,
                    postgres: Some((admin_url, name)),
                    _dir: None,
                    owned: true,
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                TestDb {
                    url,
                    postgres: None,
                    _dir: Some(dir),
                    owned: true,
                }
            }
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }

    /// Another handle on the same database, for a second server; the first handle drops it.
    pub fn share(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            postgres: self.postgres.clone(),
            _dir: None,
            owned: false,
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("TODOQL_TEST_DATABASE_URL is a URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        if let Some((admin_url, name)) = self.postgres.take() {
            janitor::drop_later(admin_url, name);
        }
    }
}

/// Dropping a PostgreSQL database forces a checkpoint (over a second here), so tests hand
/// their databases to one background thread instead of waiting. Databases a finished test
/// process could not drop (it exited first) are swept by the next process: their names carry
/// the pid of a process that no longer runs.
mod janitor {
    use std::sync::mpsc::{Sender, channel};
    use std::sync::{Mutex, Once, OnceLock};

    fn queue() -> &'static Mutex<Sender<(String, String)>> {
        static QUEUE: OnceLock<Mutex<Sender<(String, String)>>> = OnceLock::new();
        QUEUE.get_or_init(|| {
            let (sender, receiver) = channel::<(String, String)>();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                // Up to 8 drops at once: concurrent drops share their checkpoints.
                let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
                for (admin_url, name) in receiver {
                    let permit = runtime.block_on(permits.clone().acquire_owned()).unwrap();
                    runtime.spawn(async move {
                        drop_database(&admin_url, &name).await;
                        drop(permit);
                    });
                }
            });
            Mutex::new(sender)
        })
    }

    async fn drop_database(admin_url: &str, name: &str) {
        use sea_orm::ConnectionTrait;
        if let Ok(admin) = sea_orm::Database::connect(admin_url).await {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            let _ = admin.close().await;
        }
    }

    /// Queues `name` for dropping.
    pub fn drop_later(admin_url: String, name: String) {
        let _ = queue()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send((admin_url, name));
    }

    /// Once per process: queue the test databases of processes that are gone.
    pub fn sweep_once(admin_url: &str) {
        static SWEPT: Once = Once::new();
        SWEPT.call_once(|| {
            let admin_url = admin_url.to_owned();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let names: Vec<String> = runtime.block_on(async {
                    use sea_orm::{ConnectionTrait, Statement};
                    let Ok(admin) = sea_orm::Database::connect(&admin_url).await else { return Vec::new() };
                    let rows = admin
                        .query_all_raw(Statement::from_string(
                            admin.get_database_backend(),
                            "SELECT datname FROM pg_database WHERE datname LIKE 'todoql\\_test\\_%'",
                        ))
                        .await
                        .unwrap_or_default();
                    let _ = admin.close().await;
                    rows.iter().filter_map(|r| r.try_get::<String>("", "datname").ok()).collect()
                });
                for name in names {
                    let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
                    // Only names of this scheme, whose process is gone.
                    let orphaned = pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
                    if orphaned {
                        drop_later(admin_url.clone(), name);
                    }
                }
            });
        });
    }
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    /// e.g. http://127.0.0.1:41234
    pub base_url: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The server's clock; tests move it instead of sleeping.
    pub clock: Arc<ManualClock>,
    /// The domain state (database access for assertions).
    pub state: AppState,
    /// SQL statements run so far (all connections).
    pub statements: Arc<AtomicUsize>,
    server: Option<RunningServer>,
    /// The database (dropped after the server).
    pub db: TestDb,
}

/// Options a test passes as if on the command line, e.g. `["--require-verified-email", "false"]`.
pub async fn spawn_app() -> TestApp {
    TestApp::spawn_with(&[]).await
}

impl TestApp {
    /// A server with the given configuration flags over the defaults.
    pub async fn spawn_with(args: &[&str]) -> TestApp {
        Self::spawn_with_db(TestDb::create().await, args).await
    }

    async fn spawn_with_db(db: TestDb, args: &[&str]) -> TestApp {
        let mut all = vec![
            "--database-url",
            &db.url,
            "--jwt-secret",
            "test-secret-test-secret-test-secret!!",
            "--purge-interval",
            "0",
        ];
        all.extend_from_slice(args);
        let config = Config::from_args(all).expect("valid test configuration");
        Self::spawn_on(db, config).await
    }

    /// A server on `db` with `config`.
    pub async fn spawn_on(db: TestDb, config: Config) -> TestApp {
        Self::spawn_with_clock(db, config, Arc::new(ManualClock::new())).await
    }

    /// A second server on this test's database and clock, with `args` over the defaults (as
    /// spawn_with): two instances behind one load balancer.
    pub async fn spawn_beside(&self, args: &[&str]) -> TestApp {
        let mut all = vec![
            "--database-url",
            &self.db.url,
            "--jwt-secret",
            "test-secret-test-secret-test-secret!!",
            "--purge-interval",
            "0",
        ];
        all.extend_from_slice(args);
        let config = Config::from_args(all).expect("valid test configuration");
        Self::spawn_with_clock(self.db.share(), config, self.clock.clone()).await
    }

    /// A server whose requests use `connection` (a pool opened with `todoql_server::db::connect`,
    /// perhaps to another address than `config`'s, such as a proxy); background tasks use
    /// `config.database_url`.
    pub async fn spawn_on_connection(
        db: TestDb,
        config: Config,
        connection: sea_orm::DatabaseConnection,
    ) -> TestApp {
        todoql_server::db::migrate_up(&connection)
            .await
            .expect("migrate");
        Self::serve(db, config, connection, Arc::new(ManualClock::new())).await
    }

    async fn spawn_with_clock(db: TestDb, config: Config, clock: Arc<ManualClock>) -> TestApp {
        let connection = todoql_server::db::connect_migrated(&config)
            .await
            .expect("migrate and connect");
        Self::serve(db, config, connection, clock).await
    }

    async fn serve(
        db: TestDb,
        config: Config,
        mut connection: sea_orm::DatabaseConnection,
        clock: Arc<ManualClock>,
    ) -> TestApp {
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        connection.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        todoql_server::metrics::handle();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let server = todoql_server::app::start(config, connection, clock.clone(), listener)
            .await
            .expect("start server");
        TestApp {
            base_url: format!("http://{}", server.addr),
            client: reqwest::Client::builder().build().expect("client"),
            clock,
            state: server.state.clone(),
            statements,
            server: Some(server),
            db,
        }
    }

    /// Stops the server gracefully.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("clean shutdown");
        }
    }

    /// POSTs a GraphQL operation without credentials.
    pub async fn graphql(&self, query: &str, variables: Value) -> Gql {
        self.graphql_with(None, query, variables).await
    }

    /// POSTs a GraphQL operation with `Authorization: Bearer {token}`.
    pub async fn graphql_as(&self, token: &str, query: &str, variables: Value) -> Gql {
        self.graphql_with(Some(token), query, variables).await
    }

    async fn graphql_with(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        Gql::from(response).await
    }

    /// Signs up a user and returns their tokens.
    pub async fn sign_up(&self, email: &str) -> TestUser {
        let response = self
            .graphql(
                SIGN_UP,
                json!({ "input": { "email": email, "password": PASSWORD } }),
            )
            .await;
        TestUser::from_payload(&response.data()["signUp"], email)
    }

    /// Signs up a user and marks their email verified directly in the database.
    pub async fn verified_user(&self, email: &str) -> TestUser {
        let user = self.sign_up(email).await;
        self.mark_verified(&user.id).await;
        user
    }

    /// Sets email_verified on a user, as the email flow would.
    pub async fn mark_verified(&self, user_id: &str) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        todoql_entity::user::Entity::update_many()
            .col_expr(
                todoql_entity::user::Column::EmailVerified,
                Expr::value(true),
            )
            .filter(todoql_entity::user::Column::Id.eq(uuid::Uuid::parse_str(user_id).unwrap()))
            .exec(self.state.db())
            .await
            .expect("mark verified");
    }

    /// Statements run since the last call.
    pub fn take_statement_count(&self) -> usize {
        self.statements.swap(0, Ordering::SeqCst)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Shut the server down before the database is dropped; aborting is enough here.
        if let Some(server) = self.server.take() {
            drop(server);
        }
    }
}

/// The signUp mutation with every field tests look at.
pub const SIGN_UP: &str = "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken accessTokenExpiresAt refreshToken session { id current } user { id email username emailVerified hasPassword } } }";

/// A signed-up user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
    pub session_id: String,
}

impl TestUser {
    /// From an AuthPayload in a response.
    pub fn from_payload(payload: &Value, email: &str) -> TestUser {
        TestUser {
            id: payload["user"]["id"].as_str().expect("user id").to_owned(),
            email: email.to_owned(),
            access_token: payload["accessToken"]
                .as_str()
                .expect("access token")
                .to_owned(),
            refresh_token: payload["refreshToken"]
                .as_str()
                .expect("refresh token")
                .to_owned(),
            session_id: payload["session"]["id"]
                .as_str()
                .expect("session id")
                .to_owned(),
        }
    }
}

/// A GraphQL response.
#[derive(Debug)]
pub struct Gql {
    /// HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

impl Gql {
    async fn from(response: reqwest::Response) -> Gql {
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
        Gql { status, body }
    }

    /// `data`, asserting there were no errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }

    /// The first error's `extensions.code`.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {}", self.body))
    }

    /// The first error's `extensions.field`.
    pub fn field(&self) -> &str {
        self.body["errors"][0]["extensions"]["field"]
            .as_str()
            .unwrap_or("")
    }

    /// The first error's message.
    pub fn message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or("")
    }

    /// Asserts the first error has `code` (and, when given, `field`).
    pub fn assert_error(&self, code: &str, field: Option<&str>) {
        assert_eq!(self.code(), code, "body: {}", self.body);
        if let Some(field) = field {
            assert_eq!(self.field(), field, "body: {}", self.body);
        }
    }
}

/// The `todoql` binary built for this test run.
pub fn todoql_bin() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_todoql"));
    // A clean environment: only what the test sets (plus PATH) reaches the binary.
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `todoql serve` process with its output captured, stopped (SIGTERM) on drop.
pub struct ServerProcess {
    /// The child process.
    pub child: std::process::Child,
    /// http://127.0.0.1:PORT
    pub base_url: String,
    stderr_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts the binary with `envs` and waits until /readyz answers 200.
    pub async fn start(database_url: &str, envs: &[(&str, &str)]) -> ServerProcess {
        let dir = tempfile::tempdir().unwrap();
        let stderr_path = dir.path().join("stderr.log");
        let port = free_port();
        let mut command = todoql_bin();
        command
            .env("TODOQL_LISTEN", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap());
        for (key, value) in envs {
            command.env(key, value);
        }
        let child = command.spawn().expect("start todoql");
        let process = ServerProcess {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            stderr_path,
            _dir: dir,
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(response) = client
                .get(format!("{}/readyz", process.base_url))
                .send()
                .await
                && response.status() == 200
            {
                return process;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("server did not become ready; log:\n{}", process.log());
    }

    /// Everything the process wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..400 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let _ = self.child.kill();
        panic!("server did not stop within 10 s after SIGTERM");
    }

    /// POSTs a GraphQL operation.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut request = reqwest::Client::new()
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Gql::from(request.send().await.expect("request")).await
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl TestApp {
    /// POSTs raw bytes to /graphql with a content type.
    pub async fn post_raw(&self, content_type: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(format!("{}/graphql", self.base_url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request")
    }

    /// GET {path}.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .expect("request")
    }

    /// How many live users exist.
    pub async fn user_count(&self) -> u64 {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        todoql_entity::user::Entity::find()
            .filter(todoql_entity::user::Column::DeletedAt.is_null())
            .count(self.state.db())
            .await
            .unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// Mail: a real SMTP server (a sink) on 127.0.0.1, started by the test.
// ---------------------------------------------------------------------------------------------

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration as StdDuration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::task::JoinHandle;

/// How long a test waits for a mail (or any condition) before failing.
pub const MAIL_TIMEOUT: StdDuration = StdDuration::from_secs(20);

/// A server whose mail goes to a fresh SMTP sink (`--smtp-url smtp://127.0.0.1:PORT?tls=none`),
/// with links to https://app.example.com.
pub async fn spawn_mail_app(args: &[&str]) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let mut all = vec!["--smtp-url", url.as_str(), "--app-url", APP_URL];
    all.extend_from_slice(args);
    let app = TestApp::spawn_with(&all).await;
    (app, sink)
}

/// The frontend URL mail links point to in [`spawn_mail_app`].
pub const APP_URL: &str = "https://app.example.com";

/// A mail as the sink received it, with its MIME parts decoded.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender (MAIL FROM).
    pub envelope_from: String,
    /// The envelope recipients (RCPT TO).
    pub envelope_to: Vec<String>,
    /// Header fields, unfolded, in order.
    pub headers: Vec<(String, String)>,
    /// The decoded text/plain part.
    pub text: String,
    /// The decoded text/html part.
    pub html: String,
    /// The message as received (after dot-unstuffing).
    pub raw: String,
}

impl ReceivedMail {
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The Subject header.
    pub fn subject(&self) -> &str {
        self.header("Subject").unwrap_or("")
    }

    /// The 6-digit code: the text line made of exactly six digits (None when there is none).
    pub fn code(&self) -> Option<String> {
        self.text
            .lines()
            .map(str::trim_end)
            .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned)
    }

    /// The full link to `{APP_URL}/{page}?token=...` on a line of its own, if present.
    pub fn link(&self, page: &str) -> Option<String> {
        let prefix = format!("{APP_URL}/{page}?token=");
        self.text
            .lines()
            .map(str::trim_end)
            .find(|l| l.starts_with(&prefix))
            .map(str::to_owned)
    }

    /// The token of the link to `page` (panics when the mail has no such link).
    pub fn token(&self, page: &str) -> String {
        let link = self
            .link(page)
            .unwrap_or_else(|| panic!("no {page} link in mail:\n{}", self.text));
        link.split_once("?token=").unwrap().1.to_owned()
    }
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
            tokio::time::sleep(StdDuration::from_millis(20)).await;
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

fn split_head(raw: &str) -> (Vec<(String, String)>, String) {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    (headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn decode_part(headers: &[(String, String)], body: &str) -> String {
    let encoding = header(headers, "Content-Transfer-Encoding").to_ascii_lowercase();
    match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => {
            use base64::Engine as _;
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("base64 part");
            String::from_utf8(bytes)
                .expect("utf-8 part")
                .replace("\r\n", "\n")
        }
        _ => body.to_owned(),
    }
}

fn decode_quoted_printable(body: &str) -> String {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2, // soft line break
            b'=' if i + 3 <= bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .expect("utf-8 quoted-printable")
        .replace("\r\n", "\n")
}

fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').find_map(|param| {
        let (name, value) = param.trim().split_once('=')?;
        name.eq_ignore_ascii_case("boundary")
            .then(|| value.trim_matches('"').to_owned())
    })
}

fn parse_mail(envelope_from: String, envelope_to: Vec<String>, raw: String) -> ReceivedMail {
    let (headers, body) = split_head(&raw);
    let mut text = String::new();
    let mut html = String::new();
    let content_type = header(&headers, "Content-Type").to_owned();
    let mut parts: Vec<(Vec<(String, String)>, String)> = Vec::new();
    if let Some(boundary) = boundary(&content_type) {
        let delimiter = format!("--{boundary}");
        for chunk in body.split(&delimiter).skip(1) {
            if chunk.starts_with("--") {
                break;
            }
            let chunk = chunk.strip_prefix('\n').unwrap_or(chunk);
            let (part_headers, part_body) = split_head(chunk);
            let part_body = part_body
                .strip_suffix('\n')
                .unwrap_or(&part_body)
                .to_owned();
            parts.push((part_headers, part_body));
        }
    } else {
        parts.push((headers.clone(), body.clone()));
    }
    for (part_headers, part_body) in parts {
        let kind = header(&part_headers, "Content-Type").to_ascii_lowercase();
        let decoded = decode_part(&part_headers, &part_body);
        if kind.starts_with("text/html") {
            html = decoded;
        } else if kind.starts_with("text/plain") || kind.is_empty() {
            text = decoded;
        }
    }
    ReceivedMail {
        envelope_from,
        envelope_to,
        headers,
        text,
        html,
        raw,
    }
}

/// Polls `check` until it is true, failing the test after [`MAIL_TIMEOUT`].
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + MAIL_TIMEOUT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

impl TestApp {
    /// The outbox rows waiting for `to`.
    pub async fn outbox_to(&self, to: &str) -> Vec<todoql_entity::email_outbox::Model> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        todoql_entity::email_outbox::Entity::find()
            .filter(todoql_entity::email_outbox::Column::To.eq(to))
            .all(self.state.db())
            .await
            .expect("read the outbox")
    }

    /// GET /metrics as text.
    pub async fn metrics_text(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.base_url))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics body")
    }
}

/// The value of the metric line that starts with `series` (e.g. `name{kind="x"}`), or 0.
pub fn metric_value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

impl TestApp {
    /// POSTs any JSON body to /graphql (e.g. with `extensions`), as `token` when given.
    pub async fn post_graphql_body(&self, body: Value, token: Option<&str>) -> Gql {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base_url))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Gql::from(request.send().await.expect("request")).await
    }

    /// GET /graphql with these query-string parameters.
    pub async fn get_graphql(&self, params: &[(&str, &str)]) -> Gql {
        let request = self
            .client
            .get(format!("{}/graphql", self.base_url))
            .query(params);
        Gql::from(request.send().await.expect("request")).await
    }
}

/// The SHA-256 of `text` in lowercase hex (the hash of an Automatic Persisted Query).
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
