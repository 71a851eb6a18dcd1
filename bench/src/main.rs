//! todoql-bench: the load benchmark of the release `todoql` server.
//!
//! For each database (SQLite, PostgreSQL or both) it creates a scratch database, starts the
//! server binary as a subprocess (so its memory and CPU time can be read from /proc), seeds
//! users and todos in bulk straight through the database, signs the users in over the API,
//! measures cold starts, then runs each scenario at a fixed number of keep-alive connections
//! for a bounded time after a warm-up:
//!
//! 1. layer cost: `GET /healthz`, `{ __typename }`, authenticated `{ me { id } }`;
//! 2. the todo list: `todos(first: 20) { totalCount nodes { … } }`, spread over the users;
//! 3. writes: createTodo → updateTodo → setTodoCompleted → deleteTodo → restoreTodo;
//! 4. isolation: the todo list alone, then while other connections loop on signIn;
//! 5. depth: page 1 vs page 500 (by cursor) of a user with 100,000 todos;
//! 6. memory and start: idle RSS, peak RSS per scenario, cold start to /readyz;
//! 7. (PostgreSQL) todoql against two floors in the same run, in rounds: a tiny axum + sqlx
//!    server and a bare async-graphql one over the same SQL, neither authenticating (see
//!    `compare` and `floor`), at N connections and at one.
//!
//! `--pin` runs every server under test on one core and the load generator on another, as in
//! the table of issue 19 (PostgreSQL stays free to use both).
//!
//! It prints a table and the budgets, and writes JSON under `bench/results/`. `--smoke` runs
//! everything for about a second on small data (CI): it asserts nothing but that every
//! request succeeded; the exit status is 1 when any request failed.

mod compare;
mod floor;
mod load;
mod pin;
mod probe;
mod report;
mod seed;
mod server;
mod workloads;

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use load::{Call, Group, Observed, Timing, Worker, bearer, graphql_body};
use report::{DatabaseReport, Phase, Report, Settings};
use serde_json::{Value, json};
use server::{Launch, Server};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use workloads::{Cycle, Expect, Writes};

/// Load benchmark of the todoql server (see the README, "Benchmarks").
#[derive(Debug, Parser)]
#[command(name = "todoql-bench")]
struct Args {
    /// Which database(s) to run on.
    #[arg(long, value_enum, default_value = "both")]
    db: Which,
    /// PostgreSQL admin URL: a scratch database `todoql_bench_<random>` is created there and
    /// dropped at the end.
    #[arg(
        long,
        env = "TODOQL_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// The server binary to start (default: target/release/todoql, built first when run by
    /// cargo).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Benchmark a server that is already running at this URL (e.g. http://127.0.0.1:8000)
    /// instead of starting one; needs --database-url (to seed) and, for memory and CPU
    /// figures, --server-pid. Its rate limits must be set high.
    #[arg(long, requires = "database_url")]
    url: Option<url::Url>,
    /// With --url: the server's database, for seeding.
    #[arg(long)]
    database_url: Option<String>,
    /// With --url: the server's process id, for memory and CPU figures.
    #[arg(long)]
    server_pid: Option<u32>,
    /// About a second per scenario on small data; checks that everything runs without errors.
    #[arg(long)]
    smoke: bool,
    /// Scenarios to run (1 layer, 2 list, 3 writes, 4 isolation, 5 depth, 7 todoql against
    /// its floors, PostgreSQL only; 6 memory is read during the others).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5,7")]
    scenarios: Vec<u8>,
    /// Server under test on one core, load generator on another (needs two cores).
    #[arg(long)]
    pin: bool,
    /// Rounds of scenario 7 (the table gives their medians; default 3, 1 with --smoke).
    #[arg(long)]
    rounds: Option<usize>,
    /// Measured seconds per scenario run (default 10; 1 with --smoke).
    #[arg(long)]
    duration: Option<f64>,
    /// Warm-up seconds before each measured run (default 3; 0.3 with --smoke).
    #[arg(long)]
    warmup: Option<f64>,
    /// Keep-alive connections of the measured load.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Connections looping on signIn in scenario 4.
    #[arg(long, default_value_t = 50)]
    flood: usize,
    /// Users with a list of todos (default 100; 10 with --smoke).
    #[arg(long)]
    users: Option<usize>,
    /// Todos of each of those users (default 1,000; 50 with --smoke).
    #[arg(long)]
    todos_per_user: Option<usize>,
    /// Todos of the user of scenario 5 (default 100,000; 1,000 with --smoke).
    #[arg(long)]
    depth_todos: Option<usize>,
    /// The far page of scenario 5 (default 500; 25 with --smoke).
    #[arg(long)]
    page: Option<usize>,
    /// Server starts timed on the migrated database (default 5; 1 with --smoke).
    #[arg(long)]
    cold_starts: Option<usize>,
    /// Extra server environment, e.g. `--server-env TODOQL_DB_MAX_CONNECTIONS=8` (repeatable).
    #[arg(long, value_parser = parse_env)]
    server_env: Vec<(String, String)>,
    /// Where the JSON results go.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    Sqlite,
    Postgres,
    Both,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    Ok((key.to_owned(), value.to_owned()))
}

/// Page size of every list request.
const PAGE_SIZE: usize = 20;

fn main() -> std::process::ExitCode {
    let mut argv = std::env::args_os();
    let program = argv.next().unwrap_or_default();
    let mut rest = argv.peekable();
    if rest.peek().is_some_and(|a| a == floor::SUBCOMMAND) {
        rest.next();
        return floor::main(std::iter::once(program).chain(rest));
    }
    let args = Args::parse();
    // One thread: the load generator takes at most one core, and its CPU time shows whether
    // it kept up.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("todoql-bench: some requests failed (see the errors column)");
            std::process::ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("todoql-bench: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let settings = Settings {
        smoke: args.smoke,
        connections: args.connections,
        flood: args.flood,
        warmup_s: args.warmup.unwrap_or(if args.smoke { 0.3 } else { 3.0 }),
        duration_s: args.duration.unwrap_or(if args.smoke { 1.0 } else { 10.0 }),
        users: args.users.unwrap_or(if args.smoke { 10 } else { 100 }),
        todos_per_user: args
            .todos_per_user
            .unwrap_or(if args.smoke { 50 } else { 1000 }),
        depth_todos: args
            .depth_todos
            .unwrap_or(if args.smoke { 1000 } else { 100_000 }),
        page: args.page.unwrap_or(if args.smoke { 25 } else { 500 }),
        cold_starts: args
            .cold_starts
            .unwrap_or(if args.smoke { 1 } else { 5 })
            .max(1),
        server_env: args
            .server_env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        rounds: args.rounds.unwrap_or(if args.smoke { 1 } else { 3 }).max(1),
        pin: args.pin,
    };
    let cores = if args.pin {
        let cores = pin::Cores::choose()?;
        pin::current_thread_to(cores.load)?;
        eprintln!(
            "pinned: servers on core {}, the load generator on core {}",
            cores.server, cores.load
        );
        Some(cores)
    } else {
        None
    };
    if settings.users == 0 || settings.connections == 0 {
        bail!("--users and --connections must be positive");
    }
    if settings.page == 0 || settings.depth_todos < settings.page * PAGE_SIZE {
        bail!(
            "--depth-todos {} is too few for page {} of {PAGE_SIZE}",
            settings.depth_todos,
            settings.page
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let started_at = chrono::Utc::now();
    let stamp = started_at.format("%Y%m%dT%H%M%SZ").to_string();

    let mut report = Report::new(&settings, started_at);
    let binary = match (&args.url, &args.server_bin) {
        (Some(_), _) => None,
        (None, Some(path)) => Some(path.clone()),
        (None, None) => Some(server::default_binary()?),
    };
    report.server_bin = binary.as_ref().map(|b| b.display().to_string());

    let mut targets = Vec::new();
    if args.url.is_some() {
        let database_url = args.database_url.clone().unwrap_or_default();
        let database = if database_url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        };
        targets.push(database);
    } else {
        if matches!(args.db, Which::Sqlite | Which::Both) {
            targets.push("SQLite");
        }
        if matches!(args.db, Which::Postgres | Which::Both) {
            targets.push("PostgreSQL");
        }
    }
    if targets.contains(&"PostgreSQL") {
        let admin = if args.url.is_some() {
            args.database_url.as_deref().unwrap_or_default()
        } else {
            &args.postgres_url
        };
        report.postgres_version = seed::postgres_version(admin).await.ok();
    }

    for database in targets {
        eprintln!("\n[{database}] preparing");
        let (scratch, database_url, pg_name) = match (&args.url, database) {
            (Some(_), _) => {
                let url = args.database_url.clone().unwrap_or_default();
                let name = url::Url::parse(&url)
                    .ok()
                    .map(|u| u.path().trim_start_matches('/').to_owned());
                (
                    seed::Scratch::External,
                    url,
                    name.filter(|_| database == "PostgreSQL"),
                )
            }
            (None, "SQLite") => {
                let (scratch, url) = seed::Scratch::sqlite()?;
                (scratch, url, None)
            }
            (None, _) => {
                let (scratch, url, name) = seed::Scratch::postgres(&args.postgres_url).await?;
                (scratch, url, Some(name))
            }
        };
        let launch = binary.as_ref().map(|binary| Launch {
            binary: binary.clone(),
            args: vec!["serve".to_owned()],
            cores,
            database_url: database_url.clone(),
            log_file: args
                .out
                .join(format!("server-{stamp}-{}.log", database.to_lowercase())),
            extra_env: args.server_env.clone(),
        });
        let outcome = run_database(
            database,
            &settings,
            &database_url,
            pg_name.as_deref(),
            launch.as_ref(),
            &args,
        )
        .await;
        let dropped = scratch.drop_now().await;
        let db_report = outcome?;
        dropped?;
        report.databases.push(db_report);
    }

    report.finish();
    let text = report::render(&report);
    println!("{text}");
    let file = args.out.join(format!(
        "{stamp}-{}.json",
        if settings.smoke { "smoke" } else { "full" }
    ));
    std::fs::write(&file, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", file.display()))?;
    eprintln!("results written to {}", file.display());
    Ok(report.errors() == 0)
}

/// The server for one database: one we started, or one at --url.
struct Target {
    addr: SocketAddr,
    pid: Option<u32>,
    server: Option<Server>,
}

async fn run_database(
    database: &'static str,
    settings: &Settings,
    database_url: &str,
    pg_name: Option<&str>,
    launch: Option<&Launch>,
    args: &Args,
) -> anyhow::Result<DatabaseReport> {
    let mut out = DatabaseReport::new(database);

    // First start: applies the migrations.
    let mut target = match launch {
        Some(launch) => {
            let server = Server::start(launch).await?;
            out.first_start_ms = Some(ms(server.ready_after));
            Target {
                addr: server.addr,
                pid: server.pid(),
                server: Some(server),
            }
        }
        None => {
            let url = args.url.as_ref().context("--url")?;
            let addr = url
                .socket_addrs(|| Some(80))?
                .into_iter()
                .next()
                .context("--url has no address")?;
            Target {
                addr,
                pid: args.server_pid,
                server: None,
            }
        }
    };

    eprintln!(
        "[{database}] seeding {} users × {} todos and one user with {} todos",
        settings.users, settings.todos_per_user, settings.depth_todos
    );
    let started = Instant::now();
    let db = seed::connect(database_url).await?;
    let users = seed::users(&db, "user", settings.users).await?;
    seed::todos(&db, &users, settings.todos_per_user).await?;
    let deep = seed::users(&db, "deep", 1).await?;
    seed::todos(&db, &deep, settings.depth_todos).await?;
    seed::analyze(&db).await?;
    db.close().await.ok();
    out.seed_s = started.elapsed().as_secs_f64();
    eprintln!("[{database}] seeded in {:.1} s", out.seed_s);

    // Cold starts on the migrated database; the last server stays up.
    if let (Some(launch), Some(server)) = (launch, target.server.take()) {
        server.stop().await?;
        let mut last = None;
        for _ in 0..settings.cold_starts {
            if let Some(server) = last.take() {
                Server::stop(server).await?;
            }
            let server = Server::start(launch).await?;
            out.cold_start_ms.push(ms(server.ready_after));
            last = Some(server);
        }
        let server = last.context("no server")?;
        target = Target {
            addr: server.addr,
            pid: server.pid(),
            server: Some(server),
        };
        eprintln!(
            "[{database}] cold starts to /readyz: {:?} ms",
            out.cold_start_ms
        );
    }
    if let Some(pid) = target.pid {
        tokio::time::sleep(Duration::from_secs(1)).await;
        out.idle_rss_mb = probe::rss_mb(pid);
    }

    eprintln!("[{database}] signing {} users in", settings.users + 1);
    let mut emails: Vec<String> = users.iter().map(|u| u.email.clone()).collect();
    let tokens = sign_in_all(target.addr, &emails).await?;
    let deep_token = sign_in_all(target.addr, &[deep[0].email.clone()])
        .await?
        .remove(0);
    emails.truncate(settings.users);
    let bearers: Vec<_> = tokens.iter().map(|t| bearer(t)).collect();

    let timing = Timing {
        warmup: Duration::from_secs_f64(settings.warmup_s),
        duration: Duration::from_secs_f64(settings.duration_s),
    };
    let observed = Observed {
        server_pid: target.pid,
        postgres_database: pg_name,
    };
    let conns = settings.connections;
    let runs = |scenario: u8| args.scenarios.contains(&scenario);
    let list_body = graphql_body(workloads::TODO_LIST, json!({ "first": PAGE_SIZE }));

    if runs(1) {
        let healthz = fixed(conns, vec![Call::get("/healthz")], Expect::Healthz);
        out.push(
            phase(
                1,
                "GET /healthz",
                target.addr,
                vec![group("healthz", healthz)],
                timing,
                observed,
            )
            .await?,
        );
        let typename = fixed(
            conns,
            vec![Call::graphql(
                graphql_body(workloads::TYPENAME, json!({})),
                None,
            )],
            Expect::Graphql,
        );
        out.push(
            phase(
                1,
                "{ __typename }",
                target.addr,
                vec![group("__typename", typename)],
                timing,
                observed,
            )
            .await?,
        );
        let me = fixed(
            conns,
            workloads::per_token(&graphql_body(workloads::ME, json!({})), &bearers),
            Expect::Graphql,
        );
        out.push(
            phase(
                1,
                "{ me { id } }",
                target.addr,
                vec![group("me", me)],
                timing,
                observed,
            )
            .await?,
        );
    }

    let list_calls = workloads::per_token(&list_body, &bearers);
    if runs(2) || runs(4) {
        let list = fixed(conns, list_calls.clone(), Expect::Graphql);
        out.push(
            phase(
                2,
                "todos(first: 20) + totalCount",
                target.addr,
                vec![group("todos", list)],
                timing,
                observed,
            )
            .await?,
        );
    }
    if runs(4) {
        let list = fixed(conns, list_calls.clone(), Expect::Graphql);
        let flood = fixed(
            settings.flood,
            workloads::sign_ins(&emails, seed::PASSWORD),
            Expect::Graphql,
        );
        out.push(
            phase(
                4,
                "todos under a signIn flood",
                target.addr,
                vec![group("todos", list), group("signIn", flood)],
                timing,
                observed,
            )
            .await?,
        );
    }

    if runs(5) {
        eprintln!(
            "[{database}] walking to page {} for its cursor",
            settings.page
        );
        let after = cursor_of_page(target.addr, &deep_token, settings.page).await?;
        let deep_bearer = vec![bearer(&deep_token)];
        for (query, label) in [
            (workloads::TODO_PAGE, "nodes"),
            (workloads::TODO_LIST, "nodes + totalCount"),
        ] {
            for (page, cursor) in [(1, Value::Null), (settings.page, after.clone())] {
                let body = graphql_body(query, json!({ "first": PAGE_SIZE, "after": cursor }));
                let workers = fixed(
                    conns,
                    workloads::per_token(&body, &deep_bearer),
                    Expect::Graphql,
                );
                out.push(
                    phase(
                        5,
                        &format!("page {page}: {label}"),
                        target.addr,
                        vec![group(&format!("page {page}"), workers)],
                        timing,
                        observed,
                    )
                    .await?,
                );
            }
        }
    }

    if runs(3) {
        let due = (chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339();
        let workers: Vec<Box<dyn Worker>> = (0..conns)
            .map(|w| {
                Box::new(Writes::new(w, &tokens[w % tokens.len()], due.clone())) as Box<dyn Worker>
            })
            .collect();
        out.push(
            phase(
                3,
                "writes: create, update, complete, delete, restore",
                target.addr,
                vec![Group {
                    name: "writes".into(),
                    operations: workloads::WRITE_OPERATIONS
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect(),
                    workers,
                }],
                timing,
                observed,
            )
            .await?,
        );
    }

    if let Some(pid) = target.pid {
        tokio::time::sleep(Duration::from_secs(2)).await;
        out.idle_rss_after_mb = probe::rss_mb(pid);
    }
    if let Some(server) = target.server {
        server.stop().await?;
    }

    if runs(7) {
        match (database, launch, pg_name) {
            ("PostgreSQL", Some(launch), Some(pg_name)) => {
                out.comparison = Some(
                    compare::run(compare::Setup {
                        todoql: launch,
                        postgres_database: pg_name,
                        users: &users,
                        connections: conns,
                        rounds: settings.rounds,
                        timing,
                        page_size: PAGE_SIZE,
                    })
                    .await?,
                );
            }
            ("PostgreSQL", _, _) => {
                eprintln!("[7] skipped: it starts its own servers (not with --url)")
            }
            _ => {}
        }
    }
    Ok(out)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `n` connections cycling through `calls`, each starting at its own offset.
pub(crate) fn fixed(n: usize, calls: Vec<Call>, expect: Expect) -> Vec<Box<dyn Worker>> {
    (0..n)
        .map(|i| Box::new(Cycle::new(calls.clone(), i, expect)) as Box<dyn Worker>)
        .collect()
}

fn group(name: &str, workers: Vec<Box<dyn Worker>>) -> Group {
    Group {
        name: name.to_owned(),
        operations: vec![name.to_owned()],
        workers,
    }
}

async fn phase(
    scenario: u8,
    name: &str,
    addr: SocketAddr,
    groups: Vec<Group>,
    timing: Timing,
    observed: Observed<'_>,
) -> anyhow::Result<Phase> {
    let (groups, usage) = load::run(addr, groups, timing, observed).await?;
    let phase = Phase {
        scenario,
        name: name.to_owned(),
        groups,
        usage,
    };
    eprintln!("  {}", report::progress_line(&phase));
    Ok(phase)
}

/// Signs every address in (four at a time) and returns the access tokens in order.
pub(crate) async fn sign_in_all(
    addr: SocketAddr,
    emails: &[String],
) -> anyhow::Result<Vec<String>> {
    let mut tokens = vec![String::new(); emails.len()];
    for (chunk_index, chunk) in emails.chunks(4).enumerate() {
        let mut handles = Vec::new();
        for email in chunk {
            let email = email.clone();
            handles.push(tokio::spawn(async move {
                let mut conn = load::Connection::open(addr).await?;
                let data = graphql(
                    &mut conn,
                    workloads::SIGN_IN,
                    json!({ "input": { "email": email, "password": seed::PASSWORD } }),
                    None,
                )
                .await?;
                data["signIn"]["accessToken"]
                    .as_str()
                    .map(str::to_owned)
                    .context("signIn returned no token")
            }));
        }
        for (i, handle) in handles.into_iter().enumerate() {
            tokens[chunk_index * 4 + i] = handle.await??;
        }
    }
    Ok(tokens)
}

/// The `data` of a GraphQL answer; an error when it has errors.
async fn graphql(
    conn: &mut load::Connection,
    query: &str,
    variables: Value,
    token: Option<&str>,
) -> anyhow::Result<Value> {
    let (status, body) = conn
        .send(Call::graphql(
            graphql_body(query, variables),
            token.map(bearer),
        ))
        .await?;
    let body: Value = serde_json::from_slice(&body)
        .with_context(|| format!("status {status}: the answer is not JSON"))?;
    if let Some(errors) = body.get("errors") {
        bail!("GraphQL errors: {errors}");
    }
    Ok(body["data"].clone())
}

/// The `after` cursor that yields page `page` (the end cursor of page `page - 1`).
async fn cursor_of_page(addr: SocketAddr, token: &str, page: usize) -> anyhow::Result<Value> {
    let mut conn = load::Connection::open(addr).await?;
    let mut after = Value::Null;
    for _ in 1..page {
        let data = graphql(
            &mut conn,
            workloads::TODO_PAGE,
            json!({ "first": PAGE_SIZE, "after": after }),
            Some(token),
        )
        .await?;
        after = data["todos"]["pageInfo"]["endCursor"].clone();
        if after.is_null() {
            bail!("the list ended before page {page}");
        }
    }
    Ok(after)
}
