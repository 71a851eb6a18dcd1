//! The test harness: each test gets a real server on 127.0.0.1 port 0 and a fresh database —
//! a temp SQLite file, or a new PostgreSQL database when TODOQL_TEST_DATABASE_URL is set
//! (dropped afterwards). A real HTTP client speaks GraphQL to it.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use todoql_graphql::AppState;
use todoql_graphql::clock::ManualClock;
use todoql_server::app::RunningServer;
use todoql_server::config::Config;

/// A password that passes the strength rules.
pub const PASSWORD: &str = "correct horse battery staple";

/// A fresh database for one test.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
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
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                TestDb {
                    url,
                    postgres: None,
                    _dir: Some(dir),
                }
            }
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("TODOQL_TEST_DATABASE_URL is a URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

impl Drop for TestDb {
    fn drop(&mut self) {
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
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                for (admin_url, name) in receiver {
                    runtime.block_on(drop_database(&admin_url, &name));
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
        let db = TestDb::create().await;
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
        let mut connection = todoql_server::db::connect(&config).await.expect("connect");
        todoql_server::db::migrate_up(&connection)
            .await
            .expect("migrate");
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        connection.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        todoql_server::metrics::handle();
        let clock = Arc::new(ManualClock::new());
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
