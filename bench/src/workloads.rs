//! What the connections of each scenario send.

use crate::load::{Call, Worker, bearer, graphql_body, graphql_ok};
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};

/// The list every todo-list client shows: the 20 newest todos and the count.
pub const TODO_LIST: &str = "query TodoList($first: Int, $after: String) { todos(first: $first, after: $after) { totalCount nodes { id title description dueDate isCompleted completedAt createdAt updatedAt } } }";

/// The same page without the count (pagination depth without the count's constant cost).
pub const TODO_PAGE: &str = "query TodoPage($first: Int, $after: String) { todos(first: $first, after: $after) { nodes { id title description dueDate isCompleted completedAt createdAt updatedAt } pageInfo { hasNextPage endCursor } } }";

pub const TYPENAME: &str = "{ __typename }";
pub const ME: &str = "query Me { me { id } }";
pub const SIGN_IN: &str =
    "mutation SignIn($input: SignInInput!) { signIn(input: $input) { accessToken } }";

const CREATE: &str = "mutation CreateTodo($input: CreateTodoInput!) { createTodo(input: $input) { id title updatedAt } }";
const UPDATE: &str = "mutation UpdateTodo($id: ID!, $input: UpdateTodoInput!) { updateTodo(id: $id, input: $input) { id title description dueDate updatedAt } }";
const COMPLETE: &str = "mutation SetTodoCompleted($id: ID!) { setTodoCompleted(id: $id, completed: true) { id isCompleted completedAt } }";
const DELETE: &str = "mutation DeleteTodo($id: ID!) { deleteTodo(id: $id) { id deletedAt } }";
const RESTORE: &str = "mutation RestoreTodo($id: ID!) { restoreTodo(id: $id) { id isCompleted } }";

/// The operations of [`Writes`], in the order it runs them.
pub const WRITE_OPERATIONS: [&str; 5] = [
    "createTodo",
    "updateTodo",
    "setTodoCompleted",
    "deleteTodo",
    "restoreTodo",
];

/// How a fixed request's answer is judged.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// 200 and the body `ok` (GET /healthz).
    Healthz,
    /// 200 and no GraphQL errors.
    Graphql,
}

/// Sends the same requests in turn (e.g. one per user token), starting at `offset` so that
/// connections spread over them.
pub struct Cycle {
    calls: Vec<Call>,
    next: usize,
    expect: Expect,
}

impl Cycle {
    pub fn new(calls: Vec<Call>, offset: usize, expect: Expect) -> Self {
        let next = offset % calls.len().max(1);
        Self {
            calls,
            next,
            expect,
        }
    }
}

impl Worker for Cycle {
    fn next(&mut self) -> (usize, Call) {
        let call = self.calls[self.next].clone();
        self.next = (self.next + 1) % self.calls.len();
        (0, call)
    }

    fn answer(&mut self, _op: usize, status: StatusCode, body: &[u8]) -> bool {
        match self.expect {
            Expect::Healthz => status == StatusCode::OK && body == b"ok",
            Expect::Graphql => graphql_ok(status, body),
        }
    }
}

/// One call per token: the same body as each user.
pub fn per_token(body: &Bytes, tokens: &[HeaderValue]) -> Vec<Call> {
    tokens
        .iter()
        .map(|token| Call::graphql(body.clone(), Some(token.clone())))
        .collect()
}

/// signIn as each user in turn.
pub fn sign_ins(emails: &[String], password: &str) -> Vec<Call> {
    emails
        .iter()
        .map(|email| {
            Call::graphql(
                graphql_body(
                    SIGN_IN,
                    json!({ "input": { "email": email, "password": password } }),
                ),
                None,
            )
        })
        .collect()
}

/// One user's todo through its life: create, update, complete, delete, restore, then again
/// with a new todo. Titles are unique per worker, so workers sharing a user never conflict.
pub struct Writes {
    worker: usize,
    token: HeaderValue,
    due_date: String,
    round: u64,
    step: usize,
    todo: Option<String>,
}

impl Writes {
    pub fn new(worker: usize, token: &str, due_date: String) -> Self {
        Self {
            worker,
            token: bearer(token),
            due_date,
            round: 0,
            step: 0,
            todo: None,
        }
    }

    fn call(&self, query: &str, variables: Value) -> Call {
        Call::graphql(graphql_body(query, variables), Some(self.token.clone()))
    }
}

impl Worker for Writes {
    fn next(&mut self) -> (usize, Call) {
        let id = self.todo.clone().unwrap_or_default();
        let call = match self.step {
            0 => self.call(
                CREATE,
                json!({ "input": { "title": format!("bench write {} #{}", self.worker, self.round) } }),
            ),
            1 => self.call(
                UPDATE,
                json!({ "id": id, "input": {
                    "title": format!("bench write {} #{} (edited)", self.worker, self.round),
                    "description": "changed by the benchmark",
                    "dueDate": self.due_date,
                } }),
            ),
            2 => self.call(COMPLETE, json!({ "id": id })),
            3 => self.call(DELETE, json!({ "id": id })),
            _ => self.call(RESTORE, json!({ "id": id })),
        };
        (self.step, call)
    }

    fn answer(&mut self, op: usize, status: StatusCode, body: &[u8]) -> bool {
        if !graphql_ok(status, body) {
            // Start over with a new todo rather than repeat a failing step.
            self.step = 0;
            self.round += 1;
            return false;
        }
        if op == 0 {
            let id = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v["data"]["createTodo"]["id"].as_str().map(str::to_owned));
            match id {
                Some(id) => self.todo = Some(id),
                None => {
                    self.round += 1;
                    return false;
                }
            }
        }
        self.step = (self.step + 1) % WRITE_OPERATIONS.len();
        if self.step == 0 {
            self.round += 1;
        }
        true
    }
}
