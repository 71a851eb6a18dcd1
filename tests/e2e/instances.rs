//! Several instances on one database: real `todoql` processes starting at the same instant
//! (migrations run once, all come up), `todoql migrate up` run concurrently,
//! TODOQL_NO_MIGRATE, and in-process servers sharing a database and clock, across which rate
//! limits, refresh-token rotation and revocation hold. Each test runs on the suite's database
//! (SQLite, or PostgreSQL with TODOQL_TEST_DATABASE_URL).

use crate::support::*;
use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use std::time::{Duration, Instant};
use todoql_migration::{Migrator, MigratorTrait};

const SECRET: (&str, &str) = (
    "TODOQL_JWT_SECRET",
    "a-secret-of-at-least-thirty-two-bytes!",
);
const SIGN_IN: &str = "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) { accessToken refreshToken session { id } user { id } } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";
const SESSIONS: &str = "{ sessions { id } }";

/// Every migration of this build, in order.
fn all_migrations() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect()
}

/// Versions recorded in `seaql_migrations` (one row per application), in order.
async fn recorded_migrations(url: &str) -> Vec<String> {
    let db = sea_orm::Database::connect(url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations ORDER BY version",
        ))
        .await
        .unwrap();
    db.close().await.ok();
    rows.iter()
        .map(|row| row.try_get::<String>("", "version").unwrap())
        .collect()
}

/// Tables of the database, the migration table included.
async fn table_count(url: &str) -> i64 {
    let db = sea_orm::Database::connect(url).await.unwrap();
    let sql = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'"
        }
        _ => "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public'",
    };
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    db.close().await.ok();
    row.try_get::<i64>("", "n").unwrap()
}

/// Runs `todoql` with `args` and `envs` to its end (at most 60 s) and returns its status
/// and stderr; a process still running then is killed and the test fails.
async fn run_to_end(args: &[&str], envs: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let dir = tempfile::tempdir().unwrap();
    let stderr_path = dir.path().join("stderr.log");
    let mut command = todoql_bin();
    command
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    for (key, value) in envs {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("start todoql");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, std::fs::read_to_string(&stderr_path).unwrap());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "todoql {args:?} still runs after 60 s; log:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap()
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// --- starting together ------------------------------------------------------------------------

#[tokio::test]
async fn four_servers_started_at_once_on_an_empty_database_migrate_it_once_and_all_come_up() {
    let db = TestDb::create().await;

    // join_all polls every start once before any waits: the four processes are spawned
    // within the same instant, then each waits for its /readyz.
    let servers = join_all((0..4).map(|_| ServerProcess::start(&db.url, &[SECRET]))).await;

    assert_eq!(recorded_migrations(&db.url).await, all_migrations());
    let first = &all_migrations()[0];
    let applied_by: Vec<usize> = servers
        .iter()
        .enumerate()
        .filter(|(_, server)| {
            server
                .log()
                .contains(&format!("Migration '{first}' has been applied"))
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        applied_by.len(),
        1,
        "one instance migrates, not {applied_by:?}"
    );
    // Every instance serves, and they share the database: an account made on one signs in
    // on each of the others.
    let signed_up = servers[0]
        .graphql(
            None,
            SIGN_UP,
            json!({ "input": { "email": "ada@example.com", "password": PASSWORD } }),
        )
        .await;
    signed_up.data();
    for server in &servers[1..] {
        let signed_in = server
            .graphql(
                None,
                SIGN_IN,
                json!({ "e": "ada@example.com", "p": PASSWORD }),
            )
            .await;
        assert!(signed_in.data()["signIn"]["accessToken"].is_string());
    }
}

#[tokio::test]
async fn migrate_up_run_by_several_processes_at_once_applies_each_migration_once() {
    let db = TestDb::create().await;
    let url = db.url.as_str();

    let envs = [("DATABASE_URL", url), ("TODOQL_LOG", "info")];

    let runs = join_all((0..4).map(|_| run_to_end(&["migrate", "up"], &envs))).await;

    for (status, log) in &runs {
        assert!(status.success(), "{status}; log:\n{log}");
    }
    assert_eq!(recorded_migrations(url).await, all_migrations());
}

// --- TODOQL_NO_MIGRATE ------------------------------------------------------------------------

#[tokio::test]
async fn no_migrate_on_an_empty_database_refuses_to_start_naming_the_pending_migrations() {
    let db = TestDb::create().await;
    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");

    // No subcommand: the default command must honour the variable too.
    let (status, log) = run_to_end(
        &[],
        &[
            ("DATABASE_URL", &db.url),
            ("TODOQL_LISTEN", &listen),
            ("TODOQL_NO_MIGRATE", "true"),
            SECRET,
        ],
    )
    .await;

    assert!(!status.success(), "it must not start; log:\n{log}");
    assert!(log.contains("TODOQL_NO_MIGRATE"), "{log}");
    assert!(log.contains("todoql migrate up"), "{log}");
    for name in all_migrations() {
        assert!(log.contains(&name), "names {name}: {log}");
    }
    assert!(!log.contains("panicked"), "{log}");
    assert_eq!(table_count(&db.url).await, 0, "nothing was created");
}

#[tokio::test]
async fn no_migrate_serves_a_migrated_database_and_refuses_one_with_a_rolled_back_migration() {
    let db = TestDb::create().await;
    let envs = [("DATABASE_URL", db.url.as_str()), ("TODOQL_LOG", "info")];
    let (status, log) = run_to_end(&["migrate", "up"], &envs).await;
    assert!(status.success(), "{log}");

    let server = ServerProcess::start(&db.url, &[SECRET, ("TODOQL_NO_MIGRATE", "1")]).await;
    assert!(
        server.log().contains("TODOQL_NO_MIGRATE"),
        "{}",
        server.log()
    );
    drop(server);

    let (status, log) = run_to_end(&["migrate", "down"], &envs).await;
    assert!(status.success(), "{log}");
    let last = all_migrations().pop().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let (status, log) = run_to_end(
        &["serve"],
        &[
            ("DATABASE_URL", &db.url),
            ("TODOQL_LISTEN", &listen),
            ("TODOQL_NO_MIGRATE", "true"),
            SECRET,
        ],
    )
    .await;
    assert!(!status.success(), "{log}");
    assert!(
        log.contains(&format!("1 migration(s) are pending: {last}")),
        "{log}"
    );
    assert!(
        !recorded_migrations(&db.url).await.contains(&last),
        "not applied"
    );
}

// --- in-process instances sharing one database and clock ---------------------------------------

async fn sign_in(app: &TestApp, email: &str, password: &str) -> Gql {
    app.graphql(SIGN_IN, json!({ "e": email, "p": password }))
        .await
}

#[tokio::test]
async fn failed_sign_ins_spread_over_two_instances_hit_the_per_address_limit_at_the_same_count() {
    let limit = ["--signin-failures-per-email", "4"];
    let a = TestApp::spawn_with(&limit).await;
    let b = a.spawn_beside(&limit).await;
    a.sign_up("ada@example.com").await;

    for (i, instance) in [&a, &b, &a, &b].into_iter().enumerate() {
        sign_in(instance, "ada@example.com", &format!("wrong guess {i}"))
            .await
            .assert_error("INVALID_CREDENTIALS", None);
    }

    // The fifth attempt, right password or not, is limited on both instances.
    sign_in(&b, "ada@example.com", PASSWORD)
        .await
        .assert_error("RATE_LIMITED", None);
    sign_in(&a, "ada@example.com", PASSWORD)
        .await
        .assert_error("RATE_LIMITED", None);
}

#[tokio::test]
async fn failed_sign_ins_per_ip_are_counted_across_instances() {
    let limit = ["--signin-failures-per-ip", "3"];
    let a = TestApp::spawn_with(&limit).await;
    let b = a.spawn_beside(&limit).await;
    a.sign_up("ada@example.com").await;

    for (i, instance) in [&a, &b, &b].into_iter().enumerate() {
        sign_in(instance, &format!("nobody{i}@example.com"), "wrong guess")
            .await
            .assert_error("INVALID_CREDENTIALS", None);
    }

    sign_in(&a, "ada@example.com", PASSWORD)
        .await
        .assert_error("RATE_LIMITED", None);
}

#[tokio::test]
async fn a_refresh_token_replayed_on_another_instance_after_the_grace_revokes_the_session_on_both()
{
    let a = spawn_app().await;
    let b = a.spawn_beside(&[]).await;
    let user = a.sign_up("ada@example.com").await;

    let rotated = a.graphql(REFRESH, json!({ "t": user.refresh_token })).await;
    let successor: AuthPayload = rotated.root_as("refreshSession");
    // Within the grace window another instance answers a retry with the same successor.
    let retried: AuthPayload = b
        .graphql(REFRESH, json!({ "t": user.refresh_token }))
        .await
        .root_as("refreshSession");
    assert_eq!(retried.refresh_token(), successor.refresh_token());

    a.clock.advance(chrono::Duration::seconds(11)); // past TODOQL_REFRESH_GRACE (10 s)
    b.graphql(REFRESH, json!({ "t": user.refresh_token }))
        .await
        .assert_error("INVALID_TOKEN", None);

    // Theft detected on B revoked the session everywhere.
    for instance in [&a, &b] {
        instance
            .graphql_as(&successor.access_token, SESSIONS, json!({}))
            .await
            .assert_error("UNAUTHENTICATED", None);
        instance
            .graphql(REFRESH, json!({ "t": successor.refresh_token() }))
            .await
            .assert_error("INVALID_TOKEN", None);
    }
}

#[tokio::test]
async fn a_session_revoked_on_one_instance_is_refused_by_another_on_its_next_request() {
    let a = spawn_app().await;
    let b = a.spawn_beside(&[]).await;
    let phone = a.sign_up("ada@example.com").await;
    let laptop = TestUser::from_payload(
        &sign_in(&b, "ada@example.com", PASSWORD).await.data()["signIn"],
        "ada@example.com",
    );
    // Both sessions work on both instances.
    for instance in [&a, &b] {
        for user in [&phone, &laptop] {
            instance
                .graphql_as(&user.access_token, SESSIONS, json!({}))
                .await
                .data();
        }
    }

    let revoked = a
        .graphql_as(
            &laptop.access_token,
            "mutation($id: ID!) { revokeSession(id: $id) }",
            json!({ "id": phone.session_id }),
        )
        .await;
    assert_eq!(revoked.data()["revokeSession"], true);
    b.graphql_as(&phone.access_token, SESSIONS, json!({}))
        .await
        .assert_error("UNAUTHENTICATED", None);

    let signed_out = b
        .graphql_as(&laptop.access_token, "mutation { signOut }", json!({}))
        .await;
    assert_eq!(signed_out.data()["signOut"], true);
    a.graphql_as(&laptop.access_token, SESSIONS, json!({}))
        .await
        .assert_error("UNAUTHENTICATED", None);
}
