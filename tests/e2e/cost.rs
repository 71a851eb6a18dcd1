//! What a document may cost (issue 12, findings 1–4): every document is costed before
//! async-graphql parses, validates or runs it, with fragments expanded, `__typename` counted,
//! lists counted by their page size and introspection counted against the schema; refusals
//! take milliseconds whatever the document's shape, and leave the runtime free for others.

use crate::support::{TestApp, spawn_app};
use serde_json::json;
use std::time::{Duration, Instant};

/// `query { ...F0 } fragment F0 on Query { ...F1 ...F1 } … fragment Fn on Query { __typename }`:
/// a few hundred bytes whose expansion doubles with each level.
fn fan_out(levels: usize) -> String {
    let mut query = String::from("query { ...F0 }");
    for i in 0..levels {
        query.push_str(&format!(
            " fragment F{i} on Query {{ ...F{next} ...F{next} }}",
            next = i + 1
        ));
    }
    query.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    query
}

fn aliases(count: usize, field: &str) -> String {
    let fields: String = (0..count).map(|i| format!("a{i}: {field} ")).collect();
    format!("{{ {fields} }}")
}

fn assert_too_complex(answer: &crate::support::Gql) {
    assert!(answer.body["data"].is_null(), "{}", answer.body);
    answer.assert_error("BAD_USER_INPUT", None);
    assert!(
        answer.message().starts_with("Query is too complex"),
        "{}",
        answer.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragment_fan_out_of_thirty_levels_is_refused_in_under_100_ms() {
    let app = spawn_app().await;
    // The connection is open and the server warm: what is timed is the refusal.
    app.graphql("{ __typename }", json!({})).await.data();

    for levels in [30, 60] {
        let query = fan_out(levels);
        // Refusals and a trivial query, interleaved: on two cores shared with the rest of the
        // suite, a request's wall time is mostly waiting for a core. What must stay under
        // 100 ms is what the fan-out adds to that (before the fix: 1.5 s at 22 levels,
        // doubling with each level).
        let (mut refusals, mut trivial) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let started = Instant::now();
            let answer = app.graphql(&query, json!({})).await;
            refusals.push(started.elapsed());
            assert_too_complex(&answer);
            let started = Instant::now();
            app.graphql("{ __typename }", json!({})).await.data();
            trivial.push(started.elapsed());
        }
        let (refusal, trivial) = (median(refusals), median(trivial));

        eprintln!(
            "fan-out of {levels} levels ({} bytes) refused in {refusal:?} (median of 5; \
             {{ __typename }} meanwhile: {trivial:?})",
            query.len()
        );
        assert!(
            refusal < trivial + Duration::from_millis(100),
            "{levels} levels: {refusal:?}, a trivial query {trivial:?}"
        );
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_sent_over_get_is_refused_too() {
    let app = spawn_app().await;

    let answer = app.get_graphql(&[("query", &fan_out(30))]).await;

    assert_too_complex(&answer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_stays_under_100_ms_while_fan_outs_arrive_in_parallel() {
    let app = spawn_app().await;
    let senders = 4;
    let baseline = probe_healthz(&app, Instant::now() + Duration::from_secs(1)).await;
    let attack = Duration::from_secs(3);
    let query = fan_out(40);

    // The senders are other machines: plain threads writing raw HTTP, so that what competes
    // with the probe is the server's work, not the test's own client.
    let until = Instant::now() + attack;
    let body = json!({ "query": query }).to_string();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let addr = app.base_url.trim_start_matches("http://").to_owned();
    let mut senders_done = Vec::new();
    for _ in 0..senders {
        let (addr, request) = (addr.clone(), request.clone());
        senders_done.push(std::thread::spawn(move || {
            use std::io::{Read as _, Write as _};
            let mut refused = 0u32;
            while Instant::now() < until {
                let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
                stream.write_all(request.as_bytes()).expect("send");
                let mut answer = String::new();
                stream.read_to_string(&mut answer).expect("answer");
                assert!(answer.contains("Query is too complex"), "{answer}");
                refused += 1;
            }
            refused
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let probes = probe_healthz(&app, until).await;
    let mut refused = 0;
    for sender in senders_done {
        refused += tokio::task::spawn_blocking(move || sender.join().expect("sender"))
            .await
            .expect("join");
    }

    eprintln!(
        "{senders} senders, {refused} fan-outs (40 levels) refused in {attack:?}; /healthz \
         before the attack: {baseline}; during: {probes}"
    );
    assert!(refused as usize >= senders, "the attack ran: {refused}");
    // Under 100 ms more than before the attack: the whole suite runs beside this test on two
    // shared cores, where /healthz alone can wait 100 ms and more for a core; the worst probe
    // gets more slack still. Before the fix, one fan-out held /healthz for seconds, and a
    // 24-level one ran out of memory.
    assert!(
        probes.median < baseline.median + Duration::from_millis(100),
        "/healthz before: {baseline}; during: {probes}"
    );
    assert!(
        probes.worst < baseline.worst + Duration::from_millis(500),
        "/healthz before: {baseline}; during: {probes}"
    );
}

/// Latencies of GET /healthz, probed every 20 ms until a deadline.
struct Probes {
    median: Duration,
    worst: Duration,
    count: usize,
}

impl std::fmt::Display for Probes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} probes, median {:?}, worst {:?}",
            self.count, self.median, self.worst
        )
    }
}

async fn probe_healthz(app: &TestApp, until: Instant) -> Probes {
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let started = Instant::now();
        let status = app
            .client
            .get(format!("{}/healthz", app.base_url))
            .send()
            .await
            .expect("probe")
            .status();
        latencies.push(started.elapsed());
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies.sort();
    Probes {
        median: latencies[latencies.len() / 2],
        worst: *latencies.last().expect("probes ran"),
        count: latencies.len(),
    }
}

#[tokio::test]
async fn ten_thousand_aliased_typenames_are_refused() {
    let app = spawn_app().await;

    let answer = app.graphql(&aliases(10_000, "__typename"), json!({})).await;

    assert!(answer.body["data"].is_null(), "{}", answer.body);
    answer.assert_error("BAD_USER_INPUT", None);
    assert!(
        answer.message().contains("more than 5000 tokens"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn typename_counts_toward_the_complexity_limit() {
    // Tokens out of the way: this is about the cost of __typename itself.
    let app = TestApp::spawn_with(&["--max-tokens", "100000"]).await;

    let at_the_limit = app.graphql(&aliases(2000, "__typename"), json!({})).await;
    let over = app.graphql(&aliases(2001, "__typename"), json!({})).await;

    assert_eq!(at_the_limit.data()["a1999"], "Query");
    assert_too_complex(&over);
}

#[tokio::test]
async fn a_hundred_and_fifty_pages_of_a_hundred_todos_are_refused_before_any_sql() {
    let app = spawn_app().await;
    let user = app.verified_user("pages@example.com").await;
    let page = "todos(first: 100) { totalCount nodes { id title dueDate } }";
    app.take_statement_count();

    let answer = app
        .graphql_as(&user.access_token, &aliases(150, page), json!({}))
        .await;

    assert_too_complex(&answer);
    assert_eq!(
        app.take_statement_count(),
        0,
        "no SQL ran for a refused document"
    );
}

#[tokio::test]
async fn aliases_of_one_row_pages_cannot_multiply_statements() {
    // Each `todos(first: 1) { totalCount }` runs a page and a count: it costs 1 + 20 + 1.
    let app = spawn_app().await;
    let user = app.verified_user("statements@example.com").await;
    let page = "todos(first: 1) { totalCount }";
    app.take_statement_count();

    let allowed = app
        .graphql_as(&user.access_token, &aliases(90, page), json!({}))
        .await;
    let statements = app.take_statement_count();
    let refused = app
        .graphql_as(&user.access_token, &aliases(91, page), json!({}))
        .await;

    assert_eq!(allowed.data()["a89"]["totalCount"], 0);
    eprintln!("90 aliases of {page}: {statements} statements");
    assert!(statements <= 2 * 90 + 2, "{statements} statements");
    assert_too_complex(&refused);
    assert_eq!(
        app.take_statement_count(),
        0,
        "no SQL ran for a refused document"
    );
}

#[tokio::test]
async fn first_from_a_variable_is_counted_with_its_value() {
    let app = spawn_app().await;
    let user = app.verified_user("variables@example.com").await;
    // 1 + 20 (statements) + totalCount 1 + first × (edges 1 + cursor 1 + node 1 + 8, nodes 1 + 8):
    // 1,022 for 50 rows, 2,022 for 100.
    let query = "query Page($first: Int) { todos(first: $first) { totalCount \
                 edges { cursor node { ...T } } nodes { ...T } } } fragment T on Todo \
                 { id title description dueDate isCompleted completedAt createdAt updatedAt }";

    let small = app
        .graphql_as(&user.access_token, query, json!({ "first": 50 }))
        .await;
    let large = app
        .graphql_as(&user.access_token, query, json!({ "first": 100 }))
        .await;
    let small_again = app
        .graphql_as(&user.access_token, query, json!({ "first": 50 }))
        .await;

    assert_eq!(small.data()["todos"]["totalCount"], 0);
    assert_too_complex(&large);
    assert_eq!(small_again.data()["todos"]["totalCount"], 0);
}

#[tokio::test]
async fn introspection_that_multiplies_the_schema_is_refused() {
    let app = spawn_app().await;
    let leaves: String = (0..900).map(|i| format!("a{i}: name ")).collect();

    let answer = app
        .graphql(
            &format!("{{ __schema {{ types {{ fields {{ {leaves} }} }} }} }}"),
            json!({}),
        )
        .await;

    assert!(answer.body["data"].is_null(), "{}", answer.body);
    answer.assert_error("BAD_USER_INPUT", None);
    assert!(
        answer.message().starts_with("Introspection is too large"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn deeply_nested_values_are_refused_before_the_parser_sees_them() {
    // 20,000 nested lists overflow the parser's stack and abort the process.
    let app = spawn_app().await;

    for depth in [20_000, 100_000] {
        let nested = format!(
            "{{ todos(filter: {}1{}) {{ totalCount }} }}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let started = Instant::now();
        let answer = app.graphql(&nested, json!({})).await;

        assert!(started.elapsed() < Duration::from_millis(500));
        answer.assert_error("BAD_USER_INPUT", None);
        assert!(
            answer.message().contains("nests brackets"),
            "{}",
            answer.body
        );
    }
    assert_eq!(
        app.client
            .get(format!("{}/healthz", app.base_url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn no_suggestions_while_introspection_is_off() {
    let app = TestApp::spawn_with(&["--introspection", "false"]).await;
    let documents = [
        "{ sessio }",
        "{ todos(frist: 1) { totalCount } }",
        "{ me @skip(iff: true) { id } }",
        "{ todos(orderBy: { field: CREATD_AT }) { totalCount } }",
        "{ ...F } fragment F on Quer { __typename }",
    ];

    for document in documents {
        let answer = app.graphql(document, json!({})).await;

        let errors = answer.body["errors"].as_array().expect("errors");
        assert!(!errors.is_empty(), "{document}: {}", answer.body);
        for error in errors {
            let message = error["message"].as_str().unwrap_or_default();
            assert!(!message.contains("Did you mean"), "{document}: {message}");
            assert_eq!(
                error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
                "{document}"
            );
        }
    }
}

#[tokio::test]
async fn suggestions_still_help_while_introspection_is_on() {
    let app = spawn_app().await;

    let answer = app.graphql("{ sessio }", json!({})).await;

    assert!(
        answer.message().contains("Did you mean \"sessions\"?"),
        "{}",
        answer.body
    );
}

/// The operations of the TypeScript client, each with the fragments it spreads (as the
/// client's generated documents carry them).
fn client_operations() -> Vec<(String, String)> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../clients/typescript/src/operations"
    );
    let mut blocks = Vec::new();
    for entry in std::fs::read_dir(dir).expect("operations folder") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("operation file");
        let mut current = String::new();
        for line in text.lines() {
            let starts_block = ["query ", "mutation ", "subscription ", "fragment "]
                .iter()
                .any(|keyword| line.starts_with(keyword));
            if starts_block && !current.trim().is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
            if !line.trim_start().starts_with('#') {
                current.push_str(line);
                current.push('\n');
            }
        }
        if !current.trim().is_empty() {
            blocks.push(current);
        }
    }
    let name_of = |block: &str| {
        block
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    let fragments: Vec<(String, String)> = blocks
        .iter()
        .filter(|b| b.starts_with("fragment "))
        .map(|b| (name_of(b), b.clone()))
        .collect();
    blocks
        .iter()
        .filter(|b| !b.starts_with("fragment "))
        .map(|operation| {
            let mut document = operation.clone();
            let mut added = Vec::new();
            loop {
                let missing: Vec<&(String, String)> = fragments
                    .iter()
                    .filter(|(name, _)| {
                        !added.contains(name) && document.contains(&format!("...{name}"))
                    })
                    .collect();
                if missing.is_empty() {
                    break;
                }
                for (name, text) in missing {
                    added.push(name.clone());
                    document.push_str(text);
                }
            }
            (name_of(operation), document)
        })
        .collect()
}

#[tokio::test]
async fn the_typescript_clients_documents_and_graphiqls_introspection_pass_the_default_limits() {
    let app = spawn_app().await;
    let operations = client_operations();
    assert!(operations.len() >= 20, "{}", operations.len());

    for (name, document) in &operations {
        // The example app's page size; variables of the wrong shape fail validation, not cost.
        let answer = app
            .graphql(document, json!({ "first": 20, "after": null }))
            .await;

        let errors = answer.body["errors"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for error in errors {
            let message = error["message"].as_str().unwrap_or_default();
            for refusal in [
                "too complex",
                "too large",
                "tokens",
                "nests brackets",
                "nested too deep",
                "fragments; at most",
                "arguments; at most",
            ] {
                assert!(!message.contains(refusal), "{name}: {message}");
            }
        }
    }

    let introspection = include_str!("fixtures/introspection.graphql");
    let answer = app.graphql(introspection, json!({})).await;
    assert!(answer.data()["__schema"]["types"].as_array().unwrap().len() > 20);
}
