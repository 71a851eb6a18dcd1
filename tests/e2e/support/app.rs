//! The in-process server a test talks to: [`TestApp`] on 127.0.0.1 port 0 over a fresh
//! [`TestDb`], its HTTP verbs, and [`TestUser`]s made through the API.

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use todoql_domain::AppState;
use todoql_domain::clock::ManualClock;
use todoql_server::app::RunningServer;
use todoql_server::config::Config;

use super::database::TestDb;
use super::gql::Gql;

/// A password that passes the strength rules.
pub const PASSWORD: &str = "correct horse battery staple";

/// The code verifier a test "browser" keeps for its OAuth flows, and the S256 challenge it
/// sends to startOAuth (the example of RFC 7636, Appendix B).
pub const BROWSER_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const BROWSER_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The frontend URL mail links point to (the `--app-url` of `spawn_mail_app`).
pub const APP_URL: &str = "https://app.example.com";

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

    /// The security log of `token`'s user, newest first, as (type, method).
    pub async fn security_log(&self, token: &str) -> Vec<(String, Option<String>)> {
        let query = "{ securityEvents(first: 50) { edges { node { type method } } } }";
        let response = self.graphql_as(token, query, json!({})).await;
        response.data()["securityEvents"]["edges"]
            .as_array()
            .expect("securityEvents edges")
            .iter()
            .map(|edge| {
                (
                    edge["node"]["type"].as_str().unwrap().to_owned(),
                    edge["node"]["method"].as_str().map(str::to_owned),
                )
            })
            .collect()
    }

    /// `authenticationMethods` of the session `token` belongs to.
    pub async fn current_session_methods(&self, token: &str) -> Value {
        let query = "{ sessions { current authenticationMethods } }";
        let response = self.graphql_as(token, query, json!({})).await;
        let sessions = response.data()["sessions"]
            .as_array()
            .expect("sessions")
            .clone();
        sessions
            .into_iter()
            .find(|s| s["current"] == true)
            .map(|s| s["authenticationMethods"].clone())
            .expect("the current session is listed")
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
