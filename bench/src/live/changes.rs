//! The changes of scenario 8: made one at a time through the mutating instance (createTodo,
//! then updateTodo of that todo, in turns per user), each awaited on every socket of its user,
//! with the delay from the mutation's answer (its commit) to each socket's arrival.

use super::socket::Event;
use crate::load::{self, Call, bearer, graphql_body};
use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::{Value, json};
use std::ops::Range;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const CREATE: &str =
    "mutation CreateTodo($input: CreateTodoInput!) { createTodo(input: $input) { id } }";
const UPDATE: &str = "mutation UpdateTodo($id: ID!, $input: UpdateTodoInput!) { updateTodo(id: $id, input: $input) { id } }";

/// How many failure reasons the report keeps (all are counted).
const KEPT_REASONS: usize = 10;

/// Which sockets belong to which user: `per_user` consecutive sockets each.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub sockets: usize,
    pub per_user: usize,
}

impl Layout {
    pub fn users(&self) -> usize {
        self.sockets.div_ceil(self.per_user)
    }

    pub fn user_of(&self, socket: usize) -> usize {
        socket / self.per_user
    }

    fn sockets_of(&self, user: usize) -> Range<usize> {
        user * self.per_user..((user + 1) * self.per_user).min(self.sockets)
    }
}

/// Delays in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Delays {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Delays {
    fn of(histogram: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            count: histogram.len(),
            p50_ms: ms(histogram.value_at_quantile(0.5)),
            p90_ms: ms(histogram.value_at_quantile(0.9)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            max_ms: ms(histogram.max()),
        }
    }
}

/// What the changes showed.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Changes made (measured ones; the warm-up round is not counted here).
    pub changes: u64,
    /// Deliveries expected (changes × their user's sockets) and received.
    pub expected_deliveries: u64,
    pub deliveries: u64,
    /// From the mutation's answer to the change's arrival on each socket of its user.
    pub from_response: Delays,
    /// Deliveries that arrived before the mutation's answer (counted as 0 in `from_response`).
    pub before_response: u64,
    /// From sending the mutation to the arrival (an upper bound: includes the mutation's work).
    pub from_request: Delays,
    /// The mutations' own round trips.
    pub mutation: Delays,
    /// Deliveries that did not arrive in time (or to a failed socket), over every change,
    /// warm-up included.
    pub missing: u64,
    /// Sockets that failed (closed, errors, revision out of order).
    pub failed_sockets: u64,
    /// Changes that arrived where none was expected (another user's change, a stray).
    pub unexpected: u64,
    /// Mutations that failed.
    pub mutation_errors: u64,
    /// The first few reasons.
    pub reasons: Vec<String>,
}

impl Outcome {
    pub fn errors(&self) -> u64 {
        self.missing + self.failed_sockets + self.unexpected + self.mutation_errors
    }
}

/// Makes the changes and matches what the sockets report.
pub struct Changes<'a> {
    pub connection: load::Connection,
    pub tokens: &'a [String],
    pub layout: Layout,
    pub events: mpsc::UnboundedReceiver<Event>,
    /// How long a change may take to reach all its sockets.
    pub timeout: Duration,
    /// The todo each user's changes work on (created in even rounds, updated in odd ones).
    todos: Vec<Option<String>>,
    /// Mutations sent, warm-up included: numbers the titles, so that no update leaves its
    /// todo as it was (the server logs no change for an update that changes nothing).
    sent: u64,
    dead: Vec<bool>,
    from_response: Histogram<u64>,
    from_request: Histogram<u64>,
    mutation: Histogram<u64>,
    outcome: Outcome,
}

/// One change to await.
struct Expected {
    user: usize,
    todo_id: String,
    kind: &'static str,
    sent: Instant,
    answered: Instant,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

impl<'a> Changes<'a> {
    pub fn new(
        connection: load::Connection,
        tokens: &'a [String],
        layout: Layout,
        events: mpsc::UnboundedReceiver<Event>,
        timeout: Duration,
    ) -> Self {
        Self {
            connection,
            tokens,
            layout,
            events,
            timeout,
            todos: vec![None; layout.users()],
            sent: 0,
            dead: vec![false; layout.sockets],
            from_response: histogram(),
            from_request: histogram(),
            mutation: histogram(),
            outcome: Outcome {
                changes: 0,
                expected_deliveries: 0,
                deliveries: 0,
                from_response: Delays::of(&histogram()),
                before_response: 0,
                from_request: Delays::of(&histogram()),
                mutation: Delays::of(&histogram()),
                missing: 0,
                failed_sockets: 0,
                unexpected: 0,
                mutation_errors: 0,
                reasons: Vec::new(),
            },
        }
    }

    /// The warm-up round: one createTodo per user, awaited on all its sockets but not timed.
    /// Every subscription has received a change after it: all of them are live.
    pub async fn warm_up(&mut self) -> anyhow::Result<()> {
        for user in 0..self.layout.users() {
            self.change(user, false).await?;
        }
        Ok(())
    }

    /// `count` timed changes, spread over the users in turn.
    pub async fn measure(&mut self, count: usize) -> anyhow::Result<()> {
        for k in 0..count {
            self.change(k % self.layout.users(), true).await?;
        }
        Ok(())
    }

    /// Waits `quiet` for anything left (a late or stray change) and returns the figures.
    pub async fn finish(mut self, quiet: Duration) -> Outcome {
        let until = Instant::now() + quiet;
        while let Ok(Some(event)) = tokio::time::timeout_at(until.into(), self.events.recv()).await
        {
            self.stray(event);
        }
        let mut outcome = self.outcome;
        outcome.from_response = Delays::of(&self.from_response);
        outcome.from_request = Delays::of(&self.from_request);
        outcome.mutation = Delays::of(&self.mutation);
        outcome
    }

    /// One change of `user`, through the mutating instance, then its deliveries.
    async fn change(&mut self, user: usize, timed: bool) -> anyhow::Result<()> {
        let token = bearer(&self.tokens[user]);
        self.sent += 1;
        let title = format!("live bench change {}", self.sent);
        let (query, variables, kind) = match self.todos[user].take() {
            None => (CREATE, json!({ "input": { "title": title } }), "CREATED"),
            Some(id) => (
                UPDATE,
                json!({ "id": id, "input": { "title": title } }),
                "UPDATED",
            ),
        };
        let sent = Instant::now();
        let (status, body) = self
            .connection
            .send(Call::graphql(graphql_body(query, variables), Some(token)))
            .await?;
        let answered = Instant::now();
        let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let field = if kind == "CREATED" {
            "createTodo"
        } else {
            "updateTodo"
        };
        let Some(todo_id) = answer["data"][field]["id"].as_str().map(str::to_owned) else {
            self.outcome.mutation_errors += 1;
            self.reason(format!("{field} answered {status}: {answer}"));
            return Ok(());
        };
        // A created todo is updated next time; an updated one is done with.
        if kind == "CREATED" {
            self.todos[user] = Some(todo_id.clone());
        }
        if timed {
            self.outcome.changes += 1;
            record(&mut self.mutation, answered - sent);
        }
        let expected = Expected {
            user,
            todo_id,
            kind,
            sent,
            answered,
        };
        self.await_deliveries(&expected, timed).await;
        Ok(())
    }

    /// Waits until every live socket of the change's user has it, or the timeout.
    async fn await_deliveries(&mut self, expected: &Expected, timed: bool) {
        let sockets = self.layout.sockets_of(expected.user);
        if timed {
            self.outcome.expected_deliveries += sockets.len() as u64;
        }
        let mut pending: Vec<usize> = sockets.filter(|&s| !self.dead[s]).collect();
        self.outcome.missing +=
            (self.layout.sockets_of(expected.user).len() - pending.len()) as u64;
        let deadline = expected.answered + self.timeout;
        while !pending.is_empty() {
            let event = match tokio::time::timeout_at(deadline.into(), self.events.recv()).await {
                Ok(Some(event)) => event,
                // Every socket's task has ended (they only end by failing or by `stop`).
                Ok(None) | Err(_) => break,
            };
            match event {
                Event::Delivered(d)
                    if d.todo_id == expected.todo_id
                        && d.kind == expected.kind
                        && pending.contains(&d.socket) =>
                {
                    pending.retain(|&s| s != d.socket);
                    if timed {
                        self.outcome.deliveries += 1;
                        if d.at < expected.answered {
                            self.outcome.before_response += 1;
                        }
                        record(
                            &mut self.from_response,
                            d.at.saturating_duration_since(expected.answered),
                        );
                        record(
                            &mut self.from_request,
                            d.at.saturating_duration_since(expected.sent),
                        );
                    }
                }
                Event::Failed { socket, .. } if pending.contains(&socket) => {
                    pending.retain(|&s| s != socket);
                    self.stray(event);
                    self.outcome.missing += 1;
                }
                other => self.stray(other),
            }
        }
        if !pending.is_empty() {
            self.outcome.missing += pending.len() as u64;
            self.reason(format!(
                "{} {} of user {}: not delivered to {} of its sockets within {:?}",
                expected.kind,
                expected.todo_id,
                expected.user,
                pending.len(),
                self.timeout
            ));
        }
    }

    /// An event that no change awaits: a socket failing, or a change where none was expected.
    fn stray(&mut self, event: Event) {
        match event {
            Event::Failed { socket, reason } => {
                self.dead[socket] = true;
                self.outcome.failed_sockets += 1;
                self.reason(format!("socket {socket}: {reason}"));
            }
            Event::Delivered(d) => {
                self.outcome.unexpected += 1;
                self.reason(format!(
                    "socket {} (user {}) received an unexpected change: {} {} revision {}",
                    d.socket,
                    self.layout.user_of(d.socket),
                    d.kind,
                    d.todo_id,
                    d.revision
                ));
            }
        }
    }

    fn reason(&mut self, reason: String) {
        if self.outcome.reasons.len() < KEPT_REASONS {
            eprintln!("  [8] {reason}");
            self.outcome.reasons.push(reason);
        }
    }
}

fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    histogram.saturating_record((elapsed.as_micros() as u64).max(1));
}
