//! What operators read: /metrics through a real Prometheus exposition-format parser, the
//! access log, and traces sent over OTLP to a receiver in the test.

use crate::support::*;
use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prometheus_parse::{Sample, Scrape, Value as PromValue};
use prost::Message as _;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const SECRET: (&str, &str) = (
    "TODOQL_JWT_SECRET",
    "a-secret-of-at-least-thirty-two-bytes!",
);

async fn scrape(base_url: &str) -> Scrape {
    let text = reqwest::get(format!("{base_url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus exposition format")
}

fn sample<'a>(scrape: &'a Scrape, name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
}

fn counter(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    match sample(scrape, name, labels).map(|s| &s.value) {
        Some(PromValue::Counter(v)) => *v,
        other => panic!("{name}{labels:?}: not a counter: {other:?}"),
    }
}

async fn post_graphql(base_url: &str, request_id: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base_url}/graphql"))
        .header("x-request-id", request_id)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn metrics_have_help_and_type_process_build_info_and_counters_from_zero() {
    let db = TestDb::create().await;
    let server = ServerProcess::start(&db.url, &[SECRET]).await;

    // Before any GraphQL request: every counter is there at 0, with its known labels.
    let before = scrape(&server.base_url).await;
    for (name, labels) in [
        ("todoql_failed_sign_ins_total", &[][..]),
        ("todoql_rate_limited_total", &[]),
        ("todoql_internal_errors_total", &[]),
        ("todoql_refresh_token_reuse_total", &[]),
        (
            "todoql_graphql_errors_total",
            &[("code", "UNAUTHENTICATED")],
        ),
        (
            "todoql_graphql_errors_total",
            &[("code", "INTERNAL_SERVER_ERROR")],
        ),
        ("todoql_wrong_codes_total", &[("action", "sign_in")]),
        ("todoql_mails_sent_total", &[("kind", "verify_email")]),
        ("todoql_mails_failed_total", &[("kind", "password_reset")]),
        ("todoql_mails_retried_total", &[("kind", "sign_in")]),
    ] {
        assert_eq!(counter(&before, name, labels), 0.0, "{name}{labels:?}");
    }
    let build = sample(
        &before,
        "todoql_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
    )
    .expect("build info");
    assert!(
        matches!(build.value, PromValue::Gauge(v) if v == 1.0),
        "{build:?}"
    );
    assert!(build.labels.get("git_sha").is_some(), "{build:?}");
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(sample(&before, name, &[]).is_some(), "{name} missing");
    }
    let start = sample(&before, "process_start_time_seconds", &[]).unwrap();
    assert!(
        matches!(start.value, PromValue::Gauge(v) if v > 1.7e9),
        "{start:?}"
    );

    // One operation refused as UNAUTHENTICATED: counted under its code, not as "error".
    let answer = post_graphql(
        &server.base_url,
        "metrics-probe",
        json!({ "query": "query MetricsTodos { todos(first: 1) { totalCount } }", "operationName": "MetricsTodos" }),
    )
    .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{answer}"
    );
    let after = scrape(&server.base_url).await;
    assert_eq!(
        counter(
            &after,
            "todoql_graphql_requests_total",
            &[
                ("operation", "MetricsTodos"),
                ("outcome", "UNAUTHENTICATED")
            ]
        ),
        1.0
    );
    assert_eq!(
        counter(
            &after,
            "todoql_graphql_errors_total",
            &[("code", "UNAUTHENTICATED")]
        ),
        1.0
    );
    let http = sample(
        &after,
        "http_server_request_duration_seconds",
        &[("route", "/graphql"), ("method", "POST"), ("status", "200")],
    )
    .expect("request histogram");
    match &http.value {
        PromValue::Histogram(buckets) => {
            let inf = buckets
                .iter()
                .find(|b| b.less_than == f64::INFINITY)
                .unwrap();
            assert_eq!(inf.count, 1.0, "{buckets:?}");
        }
        other => panic!("not a histogram: {other:?}"),
    }

    // Every family has HELP and TYPE (the parser reads a family without TYPE as untyped).
    for scrape in [&before, &after] {
        for sample in &scrape.samples {
            let family = histogram_family(scrape, &sample.metric).unwrap_or(&sample.metric);
            assert!(scrape.docs.contains_key(family), "no HELP for {family}");
            if *family == sample.metric {
                assert!(
                    !matches!(sample.value, PromValue::Untyped(_)),
                    "no TYPE for {family}"
                );
            }
        }
    }
}

/// The histogram a `_sum` or `_count` line belongs to (the parser gives those lines as
/// samples of their own, untyped; the buckets are one typed sample).
fn histogram_family<'a>(scrape: &Scrape, metric: &'a str) -> Option<&'a str> {
    let base = metric
        .strip_suffix("_sum")
        .or_else(|| metric.strip_suffix("_count"))?;
    scrape
        .samples
        .iter()
        .any(|s| s.metric == base && matches!(s.value, PromValue::Histogram(_)))
        .then_some(base)
}

#[tokio::test]
async fn each_request_writes_one_access_log_line_with_numeric_latency() {
    let db = TestDb::create().await;
    let server = ServerProcess::start(&db.url, &[SECRET, ("TODOQL_LOG_FORMAT", "json")]).await;
    post_graphql(
        &server.base_url,
        "access-log-probe",
        json!({ "query": "query AccessProbe { authConfig { passwordSignIn } }", "operationName": "AccessProbe" }),
    )
    .await;

    let log = server
        .log_when(|log| log.contains("access-log-probe"))
        .await;
    let access: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "todoql::access")
        .collect();
    let line = access
        .iter()
        .find(|l| l["request_id"] == "access-log-probe")
        .unwrap_or_else(|| panic!("no access line; log:\n{log}"));
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["method"], "POST", "{line}");
    assert_eq!(line["path"], "/graphql", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["operation"], "AccessProbe", "{line}");
    let latency = line["latency_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("{line}"));
    assert!(latency > 0.0 && latency < 60_000.0, "{line}");
    // One line per request.
    assert_eq!(
        access
            .iter()
            .filter(|l| l["request_id"] == "access-log-probe")
            .count(),
        1
    );
    // The readiness probes of the start are below INFO.
    assert!(access.iter().all(|l| l["path"] != "/readyz"), "{access:?}");
}

/// The log is written by a thread of its own (issue 19's tail stall: a request used to write
/// its access line itself, and waited whenever stderr did). A server whose stderr nobody reads
/// — a stuck log collector — fills its pipe (64 KiB) within ~260 requests; it keeps answering
/// while its queue has room, and no line is lost once the pipe is read again.
#[tokio::test]
async fn a_server_whose_stderr_is_not_read_keeps_answering_and_loses_no_log_line() {
    use std::io::BufRead as _;
    const REQUESTS: usize = 1_000; // ~250 KB of access lines, four pipes' worth
    let db = TestDb::create().await;
    let mut server =
        ServerProcess::start_with_stderr_piped(&db.url, &[SECRET, ("NO_COLOR", "1")]).await;
    let client = reqwest::Client::new();

    for i in 0..REQUESTS {
        let response = client
            .post(format!("{}/graphql", server.base_url))
            .header("x-request-id", format!("unread-stderr-{i}"))
            .json(&json!({ "query": "{ __typename }" }))
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .unwrap_or_else(|err| {
                panic!("request {i} was not answered while stderr was not read: {err}")
            });
        assert_eq!(response.status(), 200, "request {i}");
    }

    // Read the pipe again: every request's line arrives, the last ones after SIGTERM at the
    // latest (the writer drains its queue on the way out).
    let stderr = server.child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    let status = server.terminate();
    let lines = reader.join().unwrap();
    assert!(status.success(), "{status}");
    let logged: std::collections::HashSet<&str> = lines
        .iter()
        .filter_map(|line| line.split("request_id=unread-stderr-").nth(1))
        .collect();
    assert_eq!(
        logged.len(),
        REQUESTS,
        "access lines of the {REQUESTS} requests"
    );
}

/// A span as the receiver got it, with its resource's service names.
type Received = (Vec<String>, Span);

/// A span's attribute as text.
fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            AnyValue::StringValue(s) => s.clone(),
            other => format!("{other:?}"),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_reach_an_otlp_receiver_as_request_resolver_sql() {
    // The receiver: OTLP/HTTP, protobuf bodies on POST /v1/traces.
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let sink = received.clone();
    let receiver = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                for resource in request.resource_spans {
                    let service: Vec<String> = resource
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .filter(|kv| kv.key == "service.name")
                        .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
                            AnyValue::StringValue(s) => Some(s.clone()),
                            _ => None,
                        })
                        .collect();
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            sink.lock().unwrap().push((service.clone(), span));
                        }
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let db = TestDb::create().await;
    let server = ServerProcess::start(
        &db.url,
        &[SECRET, ("TODOQL_OTLP_ENDPOINT", endpoint.as_str())],
    )
    .await;
    let answer = post_graphql(
        &server.base_url,
        "traced-request",
        json!({ "query": SIGN_UP, "variables": { "input": { "email": "traced@example.com", "password": PASSWORD } } }),
    )
    .await;
    assert!(
        answer["data"]["signUp"]["accessToken"].is_string(),
        "{answer}"
    );
    // Stopping flushes the spans still buffered.
    let status = tokio::task::spawn_blocking(move || {
        let mut server = server;
        let status = server.terminate();
        (status, server.log())
    })
    .await
    .unwrap();
    assert_eq!(status.0.code(), Some(0), "{}", status.1);

    let spans = received.lock().unwrap().clone();
    assert!(
        spans
            .iter()
            .all(|(service, _)| service == &["todoql".to_owned()]),
        "service.name"
    );
    let by_id = |id: &[u8]| spans.iter().map(|(_, s)| s).find(|s| s.span_id == id);
    let root = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| attribute(s, "request_id").as_deref() == Some("traced-request"))
        .unwrap_or_else(|| panic!("no request span among {} spans", spans.len()));
    assert!(root.parent_span_id.is_empty(), "the request span is a root");
    assert_eq!(attribute(root, "path").as_deref(), Some("/graphql"));
    // An SQL statement's span, under the signUp resolver's, under the request's.
    let chain_of = |span: &Span| {
        let mut chain = vec![span.name.clone()];
        let mut current = span.clone();
        while !current.parent_span_id.is_empty() {
            current = by_id(&current.parent_span_id)
                .expect("parent exported")
                .clone();
            chain.push(current.name.clone());
        }
        (chain, current)
    };
    let sql = spans
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s.trace_id == root.trace_id && s.name.starts_with("sea_orm."))
        .find(|s| attribute(s, "db.statement").is_some_and(|q| q.contains("INSERT")))
        .unwrap_or_else(|| panic!("no SQL span in the request's trace"));
    let (chain, top) = chain_of(sql);
    assert_eq!(top.span_id, root.span_id, "{chain:?}");
    let resolver = chain
        .iter()
        .position(|n| n == "graphql.resolve")
        .expect("resolver span");
    assert!(
        resolver > 0 && chain.last().unwrap() == "request",
        "{chain:?}"
    );
    let resolve_span = {
        let mut current = sql.clone();
        while current.name != "graphql.resolve" {
            current = by_id(&current.parent_span_id).unwrap().clone();
        }
        current
    };
    assert_eq!(
        attribute(&resolve_span, "graphql.field.path").as_deref(),
        Some("signUp")
    );
    // Nothing of the request's variables (the password) reaches the collector.
    for (_, span) in &spans {
        for kv in &span.attributes {
            assert!(
                !format!("{:?}", kv.value).contains(PASSWORD),
                "{}: {kv:?}",
                span.name
            );
        }
    }
}
