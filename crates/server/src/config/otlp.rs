//! Options of the traces exported over OpenTelemetry's protocol (OTLP).

use super::parse;
use clap::Args;

/// Where traces go (nowhere by default).
#[derive(Debug, Clone, Args)]
pub struct OtlpConfig {
    /// Export traces over OTLP/HTTP (protobuf) to this collector, e.g. http://127.0.0.1:4318
    /// (spans are POSTed to its /v1/traces). Unset: no traces. OTEL_SERVICE_NAME and
    /// OTEL_RESOURCE_ATTRIBUTES are honoured (service name default: todoql).
    #[arg(long, env = "TODOQL_OTLP_ENDPOINT", value_parser = parse::app_url, display_order = 16)]
    pub otlp_endpoint: Option<String>,
}

impl OtlpConfig {
    /// The URL spans are POSTed to, when traces are on (OTEL_EXPORTER_OTLP_ENDPOINT's rule:
    /// the signal's path is appended to the base URL).
    pub fn traces_url(&self) -> Option<String> {
        self.otlp_endpoint
            .as_deref()
            .map(|base| format!("{base}/v1/traces"))
    }
}
