//! The clean-up pass: old trash, old change-log entries, expired sessions, codes, tokens, OAuth states, pending second-factor sign-ins, rate-limit
//! windows, security events past their retention, and users soft-deleted long ago. Every step is an idempotent DELETE by a time
//! cutoff, so several instances may run it at once.

use crate::error::AppResult;
use crate::state::AppState;
use chrono::Duration;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use todoql_entity::{
    email_verification_code, mfa_challenge, oauth_state, password_reset_token, security_event,
    session, todo_change, user, webauthn_ceremony,
};

/// What one pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PurgeReport {
    /// Trash entries older than 30 days (each recorded as PURGED in its user's change log).
    pub deleted_todos: u64,
    /// Change-log entries older than the configured retention (30 days by default).
    pub todo_changes: u64,
    /// Expired or long-revoked sessions.
    pub sessions: u64,
    /// Expired email codes.
    pub email_codes: u64,
    /// Expired reset tokens.
    pub reset_tokens: u64,
    /// Expired OAuth states.
    pub oauth_states: u64,
    /// Expired pending sign-ins (MFA_REQUIRED never answered).
    pub mfa_challenges: u64,
    /// Expired passkey ceremonies (started, never finished).
    pub webauthn_ceremonies: u64,
    /// Finished rate-limit windows.
    pub rate_limit_counters: u64,
    /// Security events older than the configured retention (90 days by default).
    pub security_events: u64,
    /// Users soft-deleted more than 30 days ago.
    pub users: u64,
}

/// Runs one clean-up pass.
pub async fn purge(app: &AppState) -> AppResult<PurgeReport> {
    let db = app.db();
    let now = app.now();
    let report = PurgeReport {
        deleted_todos: crate::todos::trash_purge::purge(app).await?,
        todo_changes: todo_change::Entity::delete_many()
            .filter(todo_change::Column::OccurredAt.lt(now - app.settings().changes_retention))
            .exec(db)
            .await?
            .rows_affected,
        sessions: session::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(session::Column::ExpiresAt.lt(now))
                    .add(session::Column::RevokedAt.lt(now - Duration::days(1))),
            )
            .exec(db)
            .await?
            .rows_affected,
        email_codes: email_verification_code::Entity::delete_many()
            .filter(email_verification_code::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?
            .rows_affected,
        reset_tokens: password_reset_token::Entity::delete_many()
            .filter(password_reset_token::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?
            .rows_affected,
        oauth_states: oauth_state::Entity::delete_many()
            .filter(oauth_state::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?
            .rows_affected,
        mfa_challenges: mfa_challenge::Entity::delete_many()
            .filter(mfa_challenge::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?
            .rows_affected,
        webauthn_ceremonies: webauthn_ceremony::Entity::delete_many()
            .filter(webauthn_ceremony::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?
            .rows_affected,
        rate_limit_counters: crate::rate_limit::purge(db, now - Duration::days(1)).await?,
        security_events: security_event::Entity::delete_many()
            .filter(security_event::Column::CreatedAt.lt(now - app.settings().audit_retention))
            .exec(db)
            .await?
            .rows_affected,
        users: user::Entity::delete_many()
            .filter(
                user::Column::DeletedAt
                    .lt(now - Duration::days(crate::auth::users::DELETED_RETENTION_DAYS)),
            )
            .exec(db)
            .await?
            .rows_affected,
    };
    Ok(report)
}
