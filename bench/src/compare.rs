//! Scenario 7 (issue 19): todoql against its floors in the same run, PostgreSQL only.
//!
//! Three servers on the same seeded database — the axum + sqlx floor, the bare async-graphql
//! floor (see `floor/`) and todoql — each started fresh, in turn, for every round (the order
//! rotates from round to round). Each serves the todo list first at `--connections`
//! connections, then at one connection (the tail: p50 / p99), then its RSS is read after two
//! idle seconds. todoql signs its users in on each start, as a real server would have them do
//! (so its RSS after the load includes what sign-ins left behind). The table gives the
//! median of the rounds for every column; the JSON keeps every round.

use crate::comparison::{Comparison, Contender, Round, Row};
use crate::floor::{self, Kind};
use crate::load::{self, Call, Observed, Timing, bearer, graphql_body};
use crate::seed::Seeded;
use crate::server::{Launch, Server};
use crate::stats::median;
use crate::workloads::{self, Expect};
use serde_json::json;
use std::time::Duration;

/// What the comparison needs from the run.
pub struct Setup<'a> {
    /// How todoql is started (its binary, database, log, environment, cores).
    pub todoql: &'a Launch,
    pub postgres_database: &'a str,
    pub users: &'a [Seeded],
    pub connections: usize,
    pub rounds: usize,
    pub timing: Timing,
    pub page_size: usize,
}

/// Runs the rounds.
pub async fn run(setup: Setup<'_>) -> anyhow::Result<Comparison> {
    let mut rounds: Vec<Vec<Round>> = vec![Vec::new(); Contender::ALL.len()];
    for round in 0..setup.rounds {
        for offset in 0..Contender::ALL.len() {
            let index = (round + offset) % Contender::ALL.len();
            let contender = Contender::ALL[index];
            eprintln!(
                "[7] round {}/{}: {}",
                round + 1,
                setup.rounds,
                contender.label()
            );
            rounds[index].push(one(&setup, contender).await?);
        }
    }
    let rows = Contender::ALL
        .iter()
        .zip(rounds)
        .map(|(&contender, rounds)| Row {
            contender,
            label: contender.label(),
            median: medians(&rounds),
            rounds,
        })
        .collect();
    Ok(Comparison {
        rounds: setup.rounds,
        pinned: setup.todoql.cores,
        rows,
    })
}

/// One server: start, load at N connections, load at 1, RSS, stop.
async fn one(setup: &Setup<'_>, contender: Contender) -> anyhow::Result<Round> {
    let launch = match contender {
        Contender::Todoql => setup.todoql.clone(),
        Contender::Floor(kind) => Launch {
            binary: std::env::current_exe()?,
            args: vec![
                floor::SUBCOMMAND.to_owned(),
                "--kind".to_owned(),
                kind.arg().to_owned(),
            ],
            ..setup.todoql.clone()
        },
    };
    let server = Server::start(&launch).await?;
    let calls = calls(setup, contender, server.addr).await?;
    let observed = Observed {
        server_pid: server.pid(),
        postgres_database: Some(setup.postgres_database),
    };
    let workers = |n: usize| {
        vec![load::Group {
            name: "todos".into(),
            operations: vec!["todos".into()],
            workers: crate::scenarios::fixed(n, calls.clone(), Expect::Graphql),
        }]
    };
    let (many, usage) = load::run(
        server.addr,
        workers(setup.connections),
        setup.timing,
        observed,
    )
    .await?;
    let (single, _) = load::run(server.addr, workers(1), setup.timing, observed).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after_mb = server.pid().and_then(crate::probe::rss_mb);
    server.stop().await?;

    let requests = many[0].total.requests as f64;
    let per_request = |seconds: Option<f64>| {
        seconds
            .filter(|_| requests > 0.0)
            .map(|s| s * 1e6 / requests)
    };
    let round = Round {
        requests_per_second: many[0].total.requests_per_second,
        p50_ms: many[0].total.p50_ms,
        p99_ms: many[0].total.p99_ms,
        single_p50_ms: single[0].total.p50_ms,
        single_p99_ms: single[0].total.p99_ms,
        single_max_ms: single[0].total.max_ms,
        rss_after_mb,
        server_cpu_us: per_request(usage.server_cpu_s),
        postgres_cpu_us: per_request(usage.postgres_cpu_s),
        errors: [&many[0], &single[0]]
            .iter()
            .map(|g| g.total.errors + g.transport_errors)
            .sum(),
        load_average: usage.load_average,
    };
    eprintln!(
        "    {:.0}/s p99 {:.2} ms; 1 connection p50 {:.2} p99 {:.2} ms; RSS after {} MB; server {} µs/req, pg {} µs/req; errors {}",
        round.requests_per_second,
        round.p99_ms,
        round.single_p50_ms,
        round.single_p99_ms,
        round.rss_after_mb.map_or("–".into(), |m| format!("{m:.1}")),
        round
            .server_cpu_us
            .map_or("–".into(), |m| format!("{m:.0}")),
        round
            .postgres_cpu_us
            .map_or("–".into(), |m| format!("{m:.0}")),
        round.errors
    );
    Ok(round)
}

/// The todo list of every user, as this server takes it.
async fn calls(
    setup: &Setup<'_>,
    contender: Contender,
    addr: std::net::SocketAddr,
) -> anyhow::Result<Vec<Call>> {
    let first = setup.page_size;
    Ok(match contender {
        Contender::Floor(Kind::AxumSqlx) => setup
            .users
            .iter()
            .map(|u| Call {
                method: http::Method::POST,
                path: "/todos",
                body: bytes::Bytes::from(json!({ "user": u.id, "first": first }).to_string()),
                token: None,
            })
            .collect(),
        Contender::Floor(Kind::AsyncGraphql) => setup
            .users
            .iter()
            .map(|u| {
                Call::graphql(
                    graphql_body(
                        floor::graphql::TODO_LIST,
                        json!({ "user": u.id, "first": first }),
                    ),
                    None,
                )
            })
            .collect(),
        Contender::Todoql => {
            let emails: Vec<String> = setup.users.iter().map(|u| u.email.clone()).collect();
            let tokens = crate::client::sign_in_all(addr, &emails).await?;
            let body = graphql_body(workloads::TODO_LIST, json!({ "first": first }));
            let bearers: Vec<_> = tokens.iter().map(|t| bearer(t)).collect();
            workloads::per_token(&body, &bearers)
        }
    })
}

fn medians(rounds: &[Round]) -> Round {
    let of = |f: fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    let of_option = |f: fn(&Round) -> Option<f64>| {
        let values: Vec<f64> = rounds.iter().filter_map(f).collect();
        (!values.is_empty()).then(|| median(values))
    };
    Round {
        requests_per_second: of(|r| r.requests_per_second),
        p50_ms: of(|r| r.p50_ms),
        p99_ms: of(|r| r.p99_ms),
        single_p50_ms: of(|r| r.single_p50_ms),
        single_p99_ms: of(|r| r.single_p99_ms),
        single_max_ms: of(|r| r.single_max_ms),
        rss_after_mb: of_option(|r| r.rss_after_mb),
        server_cpu_us: of_option(|r| r.server_cpu_us),
        postgres_cpu_us: of_option(|r| r.postgres_cpu_us),
        errors: rounds.iter().map(|r| r.errors).sum(),
        load_average: of(|r| r.load_average),
    }
}
