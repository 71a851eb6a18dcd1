//! Every metric family todoql records, with its HELP text, and the series that exist from the
//! start: Prometheus's rate() and increase() need a sample before the first event, so each
//! counter, and each of its label combinations that is known in advance (bounded: mail kinds,
//! code actions, error codes, OAuth providers), is registered at 0.

use async_graphql::resolver_utils::EnumType as _;
use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use sea_orm::{ActiveEnum as _, Iterable as _};
use todoql_entity::email_outbox::MailKind;
use todoql_entity::email_verification_code::CodeAction;
use todoql_graphql::ErrorCode;

/// The HTTP request histogram. OpenTelemetry's semantic conventions name it
/// `http.server.request.duration` (seconds); this is the name their Prometheus translation gives.
pub const HTTP_REQUEST_DURATION: &str = "http_server_request_duration_seconds";

/// GraphQL operations by name and outcome (`ok` or the first error's code).
pub const GRAPHQL_REQUESTS: &str = "todoql_graphql_requests_total";
/// GraphQL errors by code.
pub const GRAPHQL_ERRORS: &str = "todoql_graphql_errors_total";
/// GraphQL operation latency by name.
pub const GRAPHQL_DURATION: &str = "todoql_graphql_request_duration_seconds";

/// Open subscription sockets on this instance.
pub const SUBSCRIPTION_SOCKETS: &str = "todoql_subscription_sockets";
/// Subscription sockets closed by the server, by reason.
pub const SUBSCRIPTION_CLOSES: &str = "todoql_subscription_closes_total";
/// The reasons of [`SUBSCRIPTION_CLOSES`] (bounded: one per close code the server sends).
pub const SUBSCRIPTION_CLOSE_REASONS: [&str; 7] = [
    "forbidden",
    "too_many",
    "too_slow",
    "no_answer",
    "shutdown",
    "protocol",
    "internal",
];
/// Reconnections of the PostgreSQL change listener.
pub const CHANGE_LISTENER_RECONNECTS: &str = "todoql_change_listener_reconnects_total";

/// Gives every family its HELP text (and unit). Once per recorder.
pub fn describe() {
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "HTTP requests by matched route, method and status code: time from the request's arrival to its response"
    );
    describe_counter!(
        GRAPHQL_REQUESTS,
        "GraphQL operations by operation name and outcome: ok, or the extensions.code of the operation's first error"
    );
    describe_counter!(
        GRAPHQL_ERRORS,
        "GraphQL errors answered, by extensions.code"
    );
    describe_histogram!(
        GRAPHQL_DURATION,
        Unit::Seconds,
        "GraphQL operation latency by operation name (the operations of a batch share the batch's)"
    );
    describe_gauge!(
        "todoql_db_pool_connections",
        "Connections open in the request pool, sampled at each scrape"
    );
    describe_gauge!(
        "todoql_db_pool_idle_connections",
        "Idle connections in the request pool, sampled at each scrape"
    );
    describe_counter!(
        "todoql_internal_errors_total",
        "Errors answered as INTERNAL_SERVER_ERROR (their cause is logged)"
    );
    describe_counter!(
        "todoql_failed_sign_ins_total",
        "Password sign-ins refused for a wrong email/password pair"
    );
    describe_counter!(
        "todoql_rate_limited_total",
        "Attempts refused with RATE_LIMITED"
    );
    describe_counter!(
        "todoql_refresh_token_reuse_total",
        "Refresh tokens presented again after rotation (the session is revoked)"
    );
    describe_counter!(
        "todoql_wrong_codes_total",
        "Wrong email codes entered, by the code's action"
    );
    describe_counter!(
        "todoql_oauth_completed_total",
        "OAuth sign-ins completed, by provider and outcome (signed_in, created, linked, linked_by_email)"
    );
    describe_counter!("todoql_mails_sent_total", "Mails delivered, by kind");
    describe_counter!(
        "todoql_mails_retried_total",
        "Mail deliveries that failed and will be tried again, by kind"
    );
    describe_counter!(
        "todoql_mails_failed_total",
        "Mails given up on (deleted after a permanent error or the last attempt), by kind"
    );
    describe_gauge!(
        SUBSCRIPTION_SOCKETS,
        "Subscription sockets open on this instance (authenticated, after connection_init)"
    );
    describe_counter!(
        SUBSCRIPTION_CLOSES,
        "Subscription sockets closed by the server, by reason: forbidden (4403: bad token, expired token, session ended), too_many (4429), too_slow (1008), no_answer (1001), shutdown (1012), protocol (4400, 4401, 4406, 4408), internal (1011)"
    );
    describe_counter!(
        CHANGE_LISTENER_RECONNECTS,
        "Times the PostgreSQL change listener lost its connection and listened again (subscribers then catch up from the log)"
    );
    describe_gauge!(
        "todoql_build_info",
        "Always 1; the labels say which build runs (version, git_sha)"
    );
}

/// Registers every counter at 0, with each bounded label combination, and sets the build
/// info. `oauth_providers` are the configured providers' names.
pub fn register_known_series(oauth_providers: &[String]) {
    for name in [
        "todoql_internal_errors_total",
        "todoql_failed_sign_ins_total",
        "todoql_rate_limited_total",
        "todoql_refresh_token_reuse_total",
        CHANGE_LISTENER_RECONNECTS,
    ] {
        metrics::counter!(name).increment(0);
    }
    for reason in SUBSCRIPTION_CLOSE_REASONS {
        metrics::counter!(SUBSCRIPTION_CLOSES, "reason" => reason).increment(0);
    }
    metrics::gauge!(SUBSCRIPTION_SOCKETS).set(0.0);
    for code in ErrorCode::items() {
        metrics::counter!(GRAPHQL_ERRORS, "code" => code.name).increment(0);
    }
    for action in CodeAction::iter() {
        metrics::counter!("todoql_wrong_codes_total", "action" => action.to_value()).increment(0);
    }
    for kind in MailKind::iter() {
        for name in [
            "todoql_mails_sent_total",
            "todoql_mails_retried_total",
            "todoql_mails_failed_total",
        ] {
            metrics::counter!(name, "kind" => kind.to_value()).increment(0);
        }
    }
    for provider in oauth_providers {
        for outcome in ["signed_in", "created", "linked", "linked_by_email"] {
            metrics::counter!("todoql_oauth_completed_total", "provider" => provider.clone(), "outcome" => outcome)
                .increment(0);
        }
    }
    metrics::gauge!(
        "todoql_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        // Set TODOQL_GIT_SHA when building (CI does) to name the commit.
        "git_sha" => option_env!("TODOQL_GIT_SHA").unwrap_or("unknown")
    )
    .set(1.0);
}
