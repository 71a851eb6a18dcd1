//! Logging and tracing with `tracing`: the log as text or JSON lines on stderr, filtered by
//! TODOQL_LOG; and, when TODOQL_OTLP_ENDPOINT is set, spans exported over OTLP/HTTP
//! (request → GraphQL resolver → SQL statement).
//!
//! The log reaches stderr through a thread of its own (`tracing-appender`'s non-blocking
//! writer). Every request logs a line, and a `write` to stderr can block for as long as its
//! reader lets it: a log file while the kernel writes back dirty pages, a pipe whose collector
//! is slow. Written on the request's worker thread, that wait stalled every request queued
//! behind it (issue 19's tail stall; bench/RESULTS.md). Now a line waits in a bounded queue
//! instead; only when [`LOG_QUEUE_LINES`] lines are waiting does a request wait for the
//! writer. Lines are never dropped: the access log and `todoql::audit` must be complete.

use crate::config::{LogConfig, LogFormat, OtlpConfig};
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Metadata;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, LevelFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer, Registry};

/// The service name of the spans when OTEL_SERVICE_NAME does not give one.
const SERVICE_NAME: &str = "todoql";

/// Log lines that may wait for the writer thread before a request waits for it: about 2 MB
/// of lines at their usual ~250 bytes, enough to ride out seconds of a stalled disk or
/// collector at a few thousand requests a second.
pub const LOG_QUEUE_LINES: usize = 8192;

/// What must outlive the program's work: the span exporter and the log's writer thread, both
/// flushed when this is dropped.
#[derive(Debug)]
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
    /// Dropped after the exporter (fields drop after `drop`), so that its errors are written.
    _log_writer: Option<WorkerGuard>,
}

impl Drop for Telemetry {
    /// Sends the spans still buffered (the exporter's batch) before the process ends; then
    /// the log writer's guard writes the lines still queued.
    fn drop(&mut self) {
        if let Some(provider) = self.tracer_provider.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("todoql: flushing traces: {err}");
        }
    }
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber. Call once, at start, before the async runtime exists (the
/// exporter's HTTP client runs on a thread of its own and must not be built inside it).
pub fn init(log: &LogConfig, otlp: &OtlpConfig) -> Telemetry {
    let (log_lines, log_writer) = log_layer(log);
    let mut layers: Vec<BoxedLayer> = vec![log_lines];
    let mut telemetry = Telemetry {
        tracer_provider: None,
        _log_writer: Some(log_writer),
    };
    let mut otlp_error = None;
    if let Some(url) = otlp.traces_url() {
        match tracer_provider(&url) {
            Ok(provider) => {
                layers.push(
                    tracing_opentelemetry::layer()
                        .with_tracer(provider.tracer(SERVICE_NAME))
                        .with_filter(LevelFilter::INFO)
                        .boxed(),
                );
                telemetry.tracer_provider = Some(provider);
            }
            Err(err) => otlp_error = Some(err),
        }
    }
    tracing_subscriber::registry().with(layers).init();
    if let Some(err) = otlp_error {
        tracing::error!(error = %err, "cannot export traces (TODOQL_OTLP_ENDPOINT); running without");
    }
    telemetry
}

/// The log: text or JSON lines on stderr, filtered by TODOQL_LOG, written by a thread of its
/// own (the module's comment says why); the guard drains the queue when dropped.
fn log_layer(config: &LogConfig) -> (BoxedLayer, WorkerGuard) {
    let filter = EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .and(filter_fn(|metadata| !is_trace_only_span(metadata)));
    let (stderr, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .thread_name("todoql-log")
        .finish(std::io::stderr());
    let layer = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(stderr)
            .with_target(false)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(stderr)
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
    };
    (layer, guard)
}

/// The spans made for traces only (one per SQL statement, per GraphQL resolver): the log
/// never shows them, so that its lines stay as they were and, without an exporter, nothing
/// subscribes to them and they cost a disabled callsite.
fn is_trace_only_span(metadata: &Metadata<'_>) -> bool {
    metadata.is_span()
        && (metadata.target().starts_with("sea_orm")
            || metadata.target().starts_with("async_graphql"))
}

/// The OTLP/HTTP (protobuf) exporter and its batching provider, with the service's resource.
fn tracer_provider(url: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .build()?;
    // The default detectors read OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(SERVICE_NAME);
    }
    let resource = resource
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build())
}

/// Whether spans are exported (the GraphQL schema then gets a span per resolver).
pub fn traces_enabled(otlp: &OtlpConfig) -> bool {
    otlp.otlp_endpoint.is_some()
}
