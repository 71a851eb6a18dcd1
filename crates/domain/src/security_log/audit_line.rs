//! The log line every event also becomes (target `todoql::audit`), so that a log pipeline
//! has the security log without reading the database.

use crate::auth::client::ClientInfo;
use sea_orm::ActiveEnum;
use todoql_entity::security_event;

/// Logs `event` as one structured line.
pub(super) fn log(event: &security_event::Model) {
    tracing::info!(
        target: "todoql::audit",
        event_id = %event.id,
        user_id = %event.user_id,
        event_type = %event.event_type.to_value(),
        method = event.method.as_deref(),
        provider = event.provider.as_deref(),
        session_id = event.session_id.map(tracing::field::display),
        ip_address = event.ip_address.as_deref(),
        user_agent = event.user_agent.as_deref(),
        created_at = %event.created_at.to_rfc3339(),
        "security event"
    );
}

/// The line of a failed attempt on an address with no account: no row is written (the log
/// must not tell which addresses have accounts), but operators see the attempt.
pub(super) fn log_unknown_address(
    email: &str,
    kind: security_event::SecurityEventType,
    method: &str,
    client: &ClientInfo,
) {
    tracing::info!(
        target: "todoql::audit",
        event_type = %kind.to_value(),
        email,
        method,
        ip_address = client.ip.as_deref(),
        user_agent = client.user_agent.as_deref(),
        known_account = false,
        "security event"
    );
}
