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
//!    `compare` and `floor`), at N connections and at one;
//! 8. live changes: N idle graphql-transport-ws subscribers on one instance (memory per
//!    socket) and the delay from a change's commit, made on a second instance on PostgreSQL,
//!    to its arrival on every socket of its user (see `live`).
//!
//! `--pin` runs every server under test on one core and the load generator on another, as in
//! the table of issue 19 (PostgreSQL stays free to use both).
//!
//! It prints a table and the budgets, and writes JSON under `bench/results/`. `--smoke` runs
//! everything for about a second on small data (CI): it asserts nothing but that every
//! request succeeded and every change reached its subscribers; the exit status is 1 when any
//! request failed or a change was not delivered.

mod args;
mod client;
mod compare;
mod comparison;
mod floor;
mod live;
mod load;
mod one_database;
mod pin;
mod probe;
mod report;
mod scenarios;
mod seed;
mod server;
mod stats;
mod workloads;

use anyhow::Context as _;
use args::Args;
use clap::Parser;
use one_database::Run;
use report::{Report, Settings};
use server::Launch;
use std::path::{Path, PathBuf};

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

/// Runs every database asked for, prints the table and writes the JSON. `Ok(false)` when a
/// request failed.
async fn run(args: Args) -> anyhow::Result<bool> {
    let settings = args.settings();
    let cores = pin_load_generator(&args)?;
    args::check(&settings)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let started_at = chrono::Utc::now();
    let stamp = started_at.format("%Y%m%dT%H%M%SZ").to_string();

    let mut report = Report::new(&settings, started_at);
    let binary = args.binary()?;
    report.server_bin = binary.as_ref().map(|b| b.display().to_string());
    let databases = args.databases();
    if databases.contains(&"PostgreSQL") {
        report.postgres_version = seed::postgres_version(args.postgres_admin_url()).await.ok();
    }
    for database in databases {
        let launch = |database_url: &str| {
            binary.as_ref().map(|binary| Launch {
                binary: binary.clone(),
                args: vec!["serve".to_owned()],
                cores,
                database_url: database_url.to_owned(),
                log_file: args
                    .out
                    .join(format!("server-{stamp}-{}.log", database.to_lowercase())),
                extra_env: args.server_env.clone(),
            })
        };
        let db_report = on_scratch_database(database, &args, &settings, launch).await?;
        report.databases.push(db_report);
    }
    report.finish();
    write_results(&report, &args.out, &stamp, settings.smoke)?;
    Ok(report.errors() == 0)
}

/// With --pin: the load generator on its core (the servers go on another).
fn pin_load_generator(args: &Args) -> anyhow::Result<Option<pin::Cores>> {
    if !args.pin {
        return Ok(None);
    }
    let cores = pin::Cores::choose()?;
    pin::current_thread_to(cores.load)?;
    eprintln!(
        "pinned: servers on core {}, the load generator on core {}",
        cores.server, cores.load
    );
    Ok(Some(cores))
}

/// Measures `database` on a scratch database of its own (or the one of --url), which is
/// dropped afterwards whatever happened.
async fn on_scratch_database(
    database: &'static str,
    args: &Args,
    settings: &Settings,
    launch: impl Fn(&str) -> Option<Launch>,
) -> anyhow::Result<report::DatabaseReport> {
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
    let launch = launch(&database_url);
    let outcome = Run {
        database,
        settings,
        database_url: &database_url,
        pg_name: pg_name.as_deref(),
        launch: launch.as_ref(),
        args,
    }
    .measure()
    .await;
    let dropped = scratch.drop_now().await;
    let db_report = outcome?;
    dropped?;
    Ok(db_report)
}

/// Prints the table and writes the report as JSON under `out`.
fn write_results(report: &Report, out: &Path, stamp: &str, smoke: bool) -> anyhow::Result<()> {
    let text = report::render(report);
    println!("{text}");
    let file: PathBuf = out.join(format!(
        "{stamp}-{}.json",
        if smoke { "smoke" } else { "full" }
    ));
    std::fs::write(&file, serde_json::to_string_pretty(report)?)
        .with_context(|| format!("writing {}", file.display()))?;
    eprintln!("results written to {}", file.display());
    Ok(())
}
