//! The measured scenarios against one running server (1 layer cost, 2 the todo list,
//! 3 writes, 4 isolation, 5 depth), each a function returning its phases, and the helpers
//! that build their connections.

use crate::client::graphql;
use crate::load::{self, Call, Group, Observed, Timing, Worker, bearer, graphql_body};
use crate::report::{self, Phase};
use crate::workloads::{self, Cycle, Expect, Writes};
use crate::{seed, workloads::WRITE_OPERATIONS};
use anyhow::bail;
use http::HeaderValue;
use serde_json::{Value, json};
use std::net::SocketAddr;

/// Page size of every list request.
pub const PAGE_SIZE: usize = 20;

/// What every measured phase against one server shares.
#[derive(Debug, Clone, Copy)]
pub struct Stage<'a> {
    /// The server.
    pub addr: SocketAddr,
    /// Warm-up and measured time of each phase.
    pub timing: Timing,
    /// What is read besides latencies (the server's process, its PostgreSQL database).
    pub observed: Observed<'a>,
    /// Keep-alive connections of the measured load.
    pub connections: usize,
}

impl Stage<'_> {
    /// Runs one phase: `groups` of connections for the stage's time, with progress on stderr.
    async fn phase(&self, scenario: u8, name: &str, groups: Vec<Group>) -> anyhow::Result<Phase> {
        let (groups, usage) = load::run(self.addr, groups, self.timing, self.observed).await?;
        let phase = Phase {
            scenario,
            name: name.to_owned(),
            groups,
            usage,
        };
        eprintln!("  {}", report::progress_line(&phase));
        Ok(phase)
    }
}

/// Scenario 1, what the layers cost: `GET /healthz`, `{ __typename }`, and an authenticated
/// `{ me { id } }`.
pub async fn layer_cost(stage: &Stage<'_>, bearers: &[HeaderValue]) -> anyhow::Result<Vec<Phase>> {
    let conns = stage.connections;
    let healthz = fixed(conns, vec![Call::get("/healthz")], Expect::Healthz);
    let typename = fixed(
        conns,
        vec![Call::graphql(
            graphql_body(workloads::TYPENAME, json!({})),
            None,
        )],
        Expect::Graphql,
    );
    let me = fixed(
        conns,
        workloads::per_token(&graphql_body(workloads::ME, json!({})), bearers),
        Expect::Graphql,
    );
    Ok(vec![
        stage
            .phase(1, "GET /healthz", vec![group("healthz", healthz)])
            .await?,
        stage
            .phase(1, "{ __typename }", vec![group("__typename", typename)])
            .await?,
        stage
            .phase(1, "{ me { id } }", vec![group("me", me)])
            .await?,
    ])
}

/// The todo-list request of each user, one call per user.
pub fn todo_list_calls(bearers: &[HeaderValue]) -> Vec<Call> {
    let list_body = graphql_body(workloads::TODO_LIST, json!({ "first": PAGE_SIZE }));
    workloads::per_token(&list_body, bearers)
}

/// Scenario 2, the todo list: `todos(first: 20) { totalCount nodes { … } }`, spread over the users.
pub async fn todo_list(stage: &Stage<'_>, list_calls: &[Call]) -> anyhow::Result<Phase> {
    let list = fixed(stage.connections, list_calls.to_vec(), Expect::Graphql);
    stage
        .phase(
            2,
            "todos(first: 20) + totalCount",
            vec![group("todos", list)],
        )
        .await
}

/// Scenario 4, isolation: the todo list while `flood` other connections loop on signIn.
pub async fn isolation(
    stage: &Stage<'_>,
    list_calls: &[Call],
    flood: usize,
    emails: &[String],
) -> anyhow::Result<Phase> {
    let list = fixed(stage.connections, list_calls.to_vec(), Expect::Graphql);
    let flood = fixed(
        flood,
        workloads::sign_ins(emails, seed::PASSWORD),
        Expect::Graphql,
    );
    stage
        .phase(
            4,
            "todos under a signIn flood",
            vec![group("todos", list), group("signIn", flood)],
        )
        .await
}

/// Scenario 5, depth: page 1 against page `page` (reached by cursor) of one user's long list, with
/// and without the total count.
pub async fn depth(
    stage: &Stage<'_>,
    database: &str,
    deep_token: &str,
    page: usize,
) -> anyhow::Result<Vec<Phase>> {
    eprintln!("[{database}] walking to page {page} for its cursor");
    let after = cursor_of_page(stage.addr, deep_token, page).await?;
    let deep_bearer = vec![bearer(deep_token)];
    let mut phases = Vec::new();
    for (query, label) in [
        (workloads::TODO_PAGE, "nodes"),
        (workloads::TODO_LIST, "nodes + totalCount"),
    ] {
        for (page, cursor) in [(1, Value::Null), (page, after.clone())] {
            let body = graphql_body(query, json!({ "first": PAGE_SIZE, "after": cursor }));
            let workers = fixed(
                stage.connections,
                workloads::per_token(&body, &deep_bearer),
                Expect::Graphql,
            );
            phases.push(
                stage
                    .phase(
                        5,
                        &format!("page {page}: {label}"),
                        vec![group(&format!("page {page}"), workers)],
                    )
                    .await?,
            );
        }
    }
    Ok(phases)
}

/// Scenario 3, writes: each connection creates, updates, completes, deletes and restores todos of
/// one user.
pub async fn writes(stage: &Stage<'_>, tokens: &[String]) -> anyhow::Result<Phase> {
    let due = (chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339();
    let workers: Vec<Box<dyn Worker>> = (0..stage.connections)
        .map(|w| {
            Box::new(Writes::new(w, &tokens[w % tokens.len()], due.clone())) as Box<dyn Worker>
        })
        .collect();
    stage
        .phase(
            3,
            "writes: create, update, complete, delete, restore",
            vec![Group {
                name: "writes".into(),
                operations: WRITE_OPERATIONS.iter().map(|s| (*s).to_owned()).collect(),
                workers,
            }],
        )
        .await
}

/// `n` connections cycling through `calls`, each starting at its own offset.
pub fn fixed(n: usize, calls: Vec<Call>, expect: Expect) -> Vec<Box<dyn Worker>> {
    (0..n)
        .map(|i| Box::new(Cycle::new(calls.clone(), i, expect)) as Box<dyn Worker>)
        .collect()
}

/// A group of connections measured as one operation, `name`.
fn group(name: &str, workers: Vec<Box<dyn Worker>>) -> Group {
    Group {
        name: name.to_owned(),
        operations: vec![name.to_owned()],
        workers,
    }
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
