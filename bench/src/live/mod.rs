//! Scenario 8 (issue 17): idle subscribers and the delay of live changes.
//!
//! Servers of its own on the run's database: instance A holds N idle WebSockets
//! (graphql-transport-ws, `per_user` sockets for each of N / per_user users, each subscribed to
//! `todoChanges(since:)` from its user's current revision). On PostgreSQL a second instance B
//! on the same database signs the users in and makes the changes, so every change crosses
//! instances (NOTIFY, then A's subscribers read the log); on SQLite there is one instance, and
//! a short-lived one signs the users in before A starts.
//!
//! - Memory: A's VmRSS before the first socket and after all are subscribed and idle (2 s
//!   settled), divided by N. A serves nothing before (no sign-in's Argon2 buffers in the
//!   figure); its one-time costs of the first subscription count against the sockets.
//! - Delay: a warm-up round (one createTodo per user, awaited on all its sockets: every
//!   subscription is live), then `changes` changes one at a time (createTodo, then updateTodo of
//!   that todo, users in turn), each awaited on every socket of its user: the time from the
//!   mutation's answer to each socket's arrival, p50/p99 over all deliveries.
//!
//! A change that does not reach every socket of its user within 5 s, a socket that closes, a
//! change on the wrong user's socket, or revisions out of order on a socket count as errors
//! (the run's exit status is then 1).

mod changes;
mod socket;

use crate::client::{graphql, sign_in_all};
use crate::load::Connection;
use crate::probe;
use crate::seed;
use crate::server::{Launch, Server};
use anyhow::Context as _;
use changes::{Changes, Layout};
use futures_util::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;
use serde_json::json;
use socket::Subscriber;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

pub use changes::Outcome;

/// The server's default of TODOQL_WS_MAX_PER_USER; above it the bench raises the limit.
const SERVER_WS_MAX_PER_USER: usize = 20;
/// Sockets opening at once.
const OPENING_AT_ONCE: usize = 32;
/// How long a change may take to reach all its sockets before it counts as missing.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle time before each memory reading.
const SETTLE: Duration = Duration::from_secs(2);

/// What the scenario needs from the run.
pub struct Setup<'a> {
    /// "SQLite" or "PostgreSQL".
    pub database: &'static str,
    /// How the run starts todoql (binary, database, log, environment, cores).
    pub launch: &'a Launch,
    pub database_url: &'a str,
    pub subscribers: usize,
    pub per_user: usize,
    pub changes: usize,
}

/// Scenario 8's figures.
#[derive(Debug, Clone, Serialize)]
pub struct LiveReport {
    pub subscribers: usize,
    pub users: usize,
    pub sockets_per_user: usize,
    /// Whether the changes were made on a second instance (PostgreSQL) or on A itself.
    pub across_instances: bool,
    /// TODOQL_WS_MAX_PER_USER given to the servers, when the bench raised it.
    pub ws_max_per_user: Option<usize>,
    /// Seconds to open, acknowledge and subscribe every socket.
    pub open_s: f64,
    /// A's RSS before the first socket, with all subscribed and idle, and after the changes
    /// (each after 2 idle seconds), MB.
    pub rss_before_mb: Option<f64>,
    pub rss_subscribed_mb: Option<f64>,
    pub rss_after_changes_mb: Option<f64>,
    /// (subscribed − before) / N, KB (1 KB = 1,024 bytes, as /proc counts).
    pub kb_per_socket: Option<f64>,
    /// (after the changes − before) / N, KB.
    pub kb_per_socket_after_changes: Option<f64>,
    /// A's CPU use while the sockets sat idle (2 s), percent of one core.
    pub idle_cpu_percent: Option<f64>,
    pub outcome: Outcome,
}

impl LiveReport {
    pub fn errors(&self) -> u64 {
        self.outcome.errors()
    }
}

/// Runs the scenario.
pub async fn run(setup: Setup<'_>) -> anyhow::Result<LiveReport> {
    let database = setup.database;
    let layout = Layout {
        sockets: setup.subscribers,
        per_user: setup.per_user,
    };
    let users = layout.users();
    let ws_max_per_user = (setup.per_user > SERVER_WS_MAX_PER_USER).then_some(setup.per_user);
    let across_instances = database == "PostgreSQL";
    eprintln!(
        "[8] {} subscribers: {users} users × {} sockets on instance A; changes through {}",
        setup.subscribers,
        setup.per_user,
        if across_instances {
            "instance B"
        } else {
            "A (one instance on SQLite)"
        }
    );

    open_files_for(setup.subscribers)?;
    let db = seed::connect(setup.database_url).await?;
    let seeded = seed::users(&db, "live", users).await?;
    db.close().await.ok();
    let emails: Vec<String> = seeded.iter().map(|u| u.email.clone()).collect();

    // B (or, on SQLite, a short-lived instance) signs the users in and reads their revisions.
    let helper = Server::start(&instance(setup.launch, "b", ws_max_per_user)).await?;
    let tokens = sign_in_all(helper.addr, &emails).await?;
    let revisions = revisions(&helper, &tokens).await?;
    let b = if across_instances {
        Some(helper)
    } else {
        helper.stop().await?;
        None
    };

    let a = Server::start(&instance(setup.launch, "a", ws_max_per_user)).await?;
    let pid = a.pid();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before_mb = pid.and_then(probe::rss_mb);

    let started = Instant::now();
    let subscribers: Vec<Subscriber> = futures_util::stream::iter(0..setup.subscribers)
        .map(|i| {
            let user = layout.user_of(i);
            Subscriber::open(a.addr, i, &tokens[user], revisions[user])
        })
        .buffered(OPENING_AT_ONCE)
        .try_collect()
        .await
        .context("opening the subscribers")?;
    let open_s = started.elapsed().as_secs_f64();
    eprintln!(
        "[8] {} sockets subscribed in {open_s:.1} s",
        subscribers.len()
    );
    let (events_tx, events) = mpsc::unbounded_channel();
    let (stop, stopped) = watch::channel(false);
    let listeners: Vec<_> = subscribers
        .into_iter()
        .map(|s| tokio::spawn(s.listen(events_tx.clone(), stopped.clone())))
        .collect();
    drop(events_tx);

    let cpu_before = pid.and_then(probe::process_cpu);
    tokio::time::sleep(SETTLE).await;
    let idle_cpu_percent = pid
        .and_then(probe::process_cpu)
        .zip(cpu_before)
        .map(|(after, before)| (after - before).as_secs_f64() / SETTLE.as_secs_f64() * 100.0);
    let rss_subscribed_mb = pid.and_then(probe::rss_mb);

    let mutating = b.as_ref().map_or(a.addr, |b| b.addr);
    let mut changes = Changes::new(
        Connection::open(mutating).await?,
        &tokens,
        layout,
        events,
        DELIVERY_TIMEOUT,
    );
    changes.warm_up().await?;
    eprintln!(
        "[8] warm-up: one change per user delivered; {} timed changes",
        setup.changes
    );
    changes.measure(setup.changes).await?;
    let outcome = changes.finish(SETTLE).await;
    let rss_after_changes_mb = pid.and_then(probe::rss_mb);

    let _ = stop.send(true);
    for listener in listeners {
        let _ = tokio::time::timeout(Duration::from_secs(5), listener).await;
    }
    a.stop().await?;
    if let Some(b) = b {
        b.stop().await?;
    }

    let per_socket = |after: Option<f64>| {
        after
            .zip(rss_before_mb)
            .map(|(after, before)| (after - before) * 1024.0 / setup.subscribers as f64)
    };
    let report = LiveReport {
        subscribers: setup.subscribers,
        users,
        sockets_per_user: setup.per_user,
        across_instances,
        ws_max_per_user,
        open_s,
        rss_before_mb,
        rss_subscribed_mb,
        rss_after_changes_mb,
        kb_per_socket: per_socket(rss_subscribed_mb),
        kb_per_socket_after_changes: per_socket(rss_after_changes_mb),
        idle_cpu_percent,
        outcome,
    };
    eprintln!("  {}", summary(database, &report));
    Ok(report)
}

/// The run's launch for instance `name` ("a" or "b"): its own log, and the raised socket
/// limit when the bench needs it (before the command line's --server-env, which wins).
fn instance(launch: &Launch, name: &str, ws_max_per_user: Option<usize>) -> Launch {
    let mut launch = launch.clone();
    let log = launch.log_file.with_extension("");
    launch.log_file = PathBuf::from(format!("{}-live-{name}.log", log.display()));
    if let Some(max) = ws_max_per_user {
        launch
            .extra_env
            .insert(0, ("TODOQL_WS_MAX_PER_USER".to_owned(), max.to_string()));
    }
    launch
}

/// Raises this process's soft limit of open files (inherited by the servers it starts) when
/// `sockets` and some room for everything else would not fit; fails when the hard limit is
/// too low (`ulimit -Hn`).
fn open_files_for(sockets: usize) -> anyhow::Result<()> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let needed = sockets as u64 + 256;
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft >= needed {
        return Ok(());
    }
    anyhow::ensure!(
        hard >= needed,
        "{sockets} sockets need about {needed} open files; the hard limit is {hard} (ulimit -Hn)"
    );
    setrlimit(Resource::RLIMIT_NOFILE, needed, hard)?;
    eprintln!("[8] open files: soft limit raised from {soft} to {needed}");
    Ok(())
}

/// Each user's current change revision (`todos.revision`), to subscribe from.
async fn revisions(server: &Server, tokens: &[String]) -> anyhow::Result<Vec<i64>> {
    let mut conn = Connection::open(server.addr).await?;
    let mut revisions = Vec::with_capacity(tokens.len());
    for token in tokens {
        let data = graphql(
            &mut conn,
            "query Revision { todos(first: 1) { revision } }",
            json!({}),
            Some(token),
        )
        .await?;
        revisions.push(
            data["todos"]["revision"]
                .as_i64()
                .context("todos returned no revision")?,
        );
    }
    Ok(revisions)
}

fn opt(value: Option<f64>, digits: usize) -> String {
    value.map_or("–".into(), |v| format!("{v:.digits$}"))
}

/// The scenario in a few lines (progress and the table's section).
pub fn summary(database: &str, r: &LiveReport) -> String {
    let o = &r.outcome;
    let (d, q, m) = (&o.from_response, &o.from_request, &o.mutation);
    format!(
        "[8] {database}: {} subscribers ({} users × {}) on instance A, changes made {}{}; opened in {:.1} s\n\
         \x20   memory: A's RSS {} MB before, {} MB subscribed and idle: {} KB per socket ({} MB, {} KB per socket after the changes); A's CPU while idle {}%\n\
         \x20   delivery of {} changes ({} of {} deliveries): from the mutation's answer p50 {:.2} p90 {:.2} p99 {:.2} max {:.2} ms ({} before the answer); from its request p50 {:.2} p99 {:.2} ms; the mutation itself p50 {:.2} p99 {:.2} ms\n\
         \x20   errors {} (missing {}, failed sockets {}, unexpected {}, failed mutations {})",
        r.subscribers,
        r.users,
        r.sockets_per_user,
        if r.across_instances {
            "on instance B (same database)"
        } else {
            "on A (one instance)"
        },
        r.ws_max_per_user
            .map_or(String::new(), |n| format!("; TODOQL_WS_MAX_PER_USER={n}")),
        r.open_s,
        opt(r.rss_before_mb, 1),
        opt(r.rss_subscribed_mb, 1),
        opt(r.kb_per_socket, 1),
        opt(r.rss_after_changes_mb, 1),
        opt(r.kb_per_socket_after_changes, 1),
        opt(r.idle_cpu_percent, 1),
        o.changes,
        o.deliveries,
        o.expected_deliveries,
        d.p50_ms,
        d.p90_ms,
        d.p99_ms,
        d.max_ms,
        o.before_response,
        q.p50_ms,
        q.p99_ms,
        m.p50_ms,
        m.p99_ms,
        o.errors(),
        o.missing,
        o.failed_sockets,
        o.unexpected,
        o.mutation_errors,
    )
}
