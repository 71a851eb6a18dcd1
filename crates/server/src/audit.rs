//! `todoql audit`: an account's security events as JSON lines on stdout, for operators.

use crate::config::AuditArgs;
use anyhow::Context as _;
use sea_orm::ActiveEnum;
use std::io::Write;
use std::sync::Arc;
use todoql_domain::clock::SystemClock;
use todoql_domain::security_log::list::{self, EventFilter};
use todoql_entity::security_event;

/// Prints the events `args` selects, oldest first, one JSON object per line.
pub async fn print(args: AuditArgs) -> anyhow::Result<()> {
    let db = crate::db::connect(&args.database)
        .await
        .context("connecting to the database")?;
    let pending = crate::db::pending_migrations(&db).await?;
    if !pending.is_empty() {
        anyhow::bail!(
            "the database is missing {} migration(s) ({}); run `todoql migrate up` first",
            pending.len(),
            pending.join(", ")
        );
    }
    let state =
        todoql_domain::AppState::new(db, crate::config::offline_settings(), Arc::new(SystemClock));
    let filter = EventFilter { types: args.types };
    let events = list::of_account(&state, &args.email, args.since, &filter)
        .await
        .map_err(|err| anyhow::anyhow!("{}", err.message()))?;
    let mut out = std::io::stdout().lock();
    for event in &events {
        serde_json::to_writer(&mut out, &json_line(&args.email, event))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    state.db().clone().close().await.ok();
    Ok(())
}

/// One event as the operator reads it: the API's names, RFC 3339 times.
fn json_line(email: &str, event: &security_event::Model) -> serde_json::Value {
    serde_json::json!({
        "id": event.id,
        "user_id": event.user_id,
        "email": email.trim().to_lowercase(),
        "type": event.event_type.to_value(),
        "method": event.method,
        "provider": event.provider,
        "session_id": event.session_id,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "created_at": event.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
}
