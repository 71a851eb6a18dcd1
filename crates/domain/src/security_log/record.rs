//! Writing events: in the transaction of what they record, or, for failed attempts, on their
//! own and off the answer's path.

use super::audit_line;
use crate::auth::client::{AuthMethod, ClientInfo};
use crate::auth::users;
use crate::error::AppResult;
use crate::state::{AppState, Ctx};
use sea_orm::sea_query::{
    Alias, Asterisk, CommonTableExpression, Expr, InsertStatement, Query, WithClause,
};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ConnectionTrait, DatabaseBackend, EntityTrait, IntoActiveModel,
    Iterable, Statement,
};
use todoql_entity::security_event::{self, SecurityEventType};
use uuid::Uuid;

/// One event of a user's log.
#[derive(Debug, Clone)]
pub struct Event {
    /// What happened.
    pub kind: SecurityEventType,
    /// How the user signed in (or tried to), for sign-in events.
    pub method: Option<AuthMethod>,
    /// The session the event concerns.
    pub session_id: Option<Uuid>,
    /// The OAuth provider involved.
    pub provider: Option<String>,
}

impl Event {
    /// An event of `kind` about `session_id`, with no method.
    pub fn about(kind: SecurityEventType, session_id: Option<Uuid>) -> Self {
        Self {
            kind,
            method: None,
            session_id,
            provider: None,
        }
    }

    /// A sign-in event of `kind` by `method`.
    pub fn sign_in(kind: SecurityEventType, method: AuthMethod, session_id: Option<Uuid>) -> Self {
        Self {
            kind,
            method: Some(method),
            session_id,
            provider: None,
        }
    }

    /// The same event, naming the OAuth provider involved.
    pub fn by_provider(mut self, provider: &str) -> Self {
        self.provider = Some(provider.to_owned());
        self
    }
}

/// The row of `event` of `user_id`, caused by `client`, now; not yet written.
pub(crate) fn event_row<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
    event: Event,
    client: &ClientInfo,
) -> security_event::Model {
    security_event::Model {
        id: Uuid::now_v7(),
        user_id,
        event_type: event.kind,
        method: event.method.map(|m| m.as_str().to_owned()),
        provider: event.provider,
        session_id: event.session_id,
        ip_address: client.ip.clone(),
        user_agent: client.user_agent_within(cx.settings().max_user_agent_len),
        created_at: cx.now(),
    }
}

/// Every column of `model` to be written.
fn active(model: security_event::Model) -> security_event::ActiveModel {
    model.into_active_model().reset_all()
}

/// Records `event` of `user_id`, caused by `client`, in `cx`'s transaction.
///
/// The log line is written once the row is; callers record just before they commit, so a
/// line without its row needs the commit itself to fail.
pub async fn record<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
    event: Event,
    client: &ClientInfo,
) -> AppResult<()> {
    let model = event_row(cx, user_id, event, client);
    insert_row(cx, &model).await?;
    logged(&model);
    Ok(())
}

/// Writes a prepared event row in `cx`'s transaction (no log line: see [`logged`]).
pub(crate) async fn insert_row<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    model: &security_event::Model,
) -> AppResult<()> {
    security_event::Entity::insert(active(model.clone()))
        .exec_without_returning(cx.db())
        .await?;
    Ok(())
}

/// The log line of an event whose row was written.
pub(crate) fn logged(model: &security_event::Model) {
    audit_line::log(model);
}

/// `WITH written AS (<insert … RETURNING *>), event AS (INSERT INTO security_events … SELECT
/// … FROM written) SELECT * FROM written`: the event is written exactly when `insert` writes
/// its row, in the same statement (PostgreSQL; SQLite allows no writes inside WITH).
pub(crate) fn with_event(
    insert: InsertStatement,
    model: &security_event::Model,
    backend: DatabaseBackend,
) -> Statement {
    let written = Alias::new("written");
    let values: Vec<Expr> = [
        model.id.into(),
        model.user_id.into(),
        model.event_type.to_value().into(),
        model.method.clone().into(),
        model.provider.clone().into(),
        model.session_id.into(),
        model.ip_address.clone().into(),
        model.user_agent.clone().into(),
        model.created_at.into(),
    ]
    .into_iter()
    .map(|value: sea_orm::Value| Expr::val(value))
    .collect();
    let mut event = Query::insert();
    event
        .into_table(security_event::Entity)
        .columns(security_event::Column::iter())
        .select_from(
            Query::select()
                .exprs(values)
                .from(written.clone())
                .to_owned(),
        )
        .expect("as many values as columns");
    let mut then = Query::select();
    then.column(Asterisk).from(written.clone());
    let with = WithClause::new()
        .cte(
            CommonTableExpression::new()
                .query(insert)
                .table_name(written)
                .to_owned(),
        )
        .cte(
            CommonTableExpression::new()
                .query(event)
                .table_name(Alias::new("event"))
                .to_owned(),
        )
        .to_owned()
        .query(then);
    backend.build(&with)
}

/// Records one event of `kind` per session in `session_ids` (each revoked session, say), in
/// one statement of `cx`'s transaction.
pub async fn record_each<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
    kind: SecurityEventType,
    session_ids: &[Uuid],
    client: &ClientInfo,
) -> AppResult<()> {
    if session_ids.is_empty() {
        return Ok(());
    }
    let models: Vec<_> = session_ids
        .iter()
        .map(|id| event_row(cx, user_id, Event::about(kind, Some(*id)), client))
        .collect();
    security_event::Entity::insert_many(models.iter().cloned().map(active))
        .exec_without_returning(cx.db())
        .await?;
    models.iter().for_each(audit_line::log);
    Ok(())
}

/// Records a failed attempt (`SIGN_IN_FAILED` or `MFA_FAILED`) by `method` on `email`
/// (whose account is `known`, when the caller has read it): a row when a live account has the
/// address, a log line only when none has.
///
/// The lookup and the row are the work of a task of their own: the failed attempt's answer
/// waits for neither, so it comes back alike, in the same time, for a known and an unknown
/// address. A row that cannot be written (the database gone for a moment) leaves a warning;
/// the attempt was refused either way.
pub fn record_failure(
    app: &AppState,
    known: Option<Uuid>,
    email: &str,
    kind: SecurityEventType,
    method: AuthMethod,
    client: &ClientInfo,
) {
    let app = app.clone();
    let client = client.clone();
    let email = email.to_owned();
    tokio::spawn(async move {
        let recorded = async {
            let user_id = match known {
                Some(id) => Some(id),
                None => users::live_by_email(&email)
                    .one(app.db())
                    .await?
                    .map(|user| user.id),
            };
            match user_id {
                Some(user_id) => {
                    let event = Event::sign_in(kind, method, None);
                    record(app.on(app.db()), user_id, event, &client).await
                }
                None => {
                    audit_line::log_unknown_address(&email, kind, method.as_str(), &client);
                    Ok(())
                }
            }
        };
        if let Err(err) = recorded.await {
            tracing::warn!(error = %err.message(), "could not record a failed attempt");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::IdenStatic;

    /// `with_event` lists the event's values in `Column::iter()` order by hand: a column added,
    /// removed or moved must show here first.
    #[test]
    fn with_event_writes_the_values_in_the_columns_order() {
        let columns: Vec<&str> = security_event::Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(
            columns,
            [
                "id",
                "user_id",
                "type",
                "method",
                "provider",
                "session_id",
                "ip_address",
                "user_agent",
                "created_at"
            ]
        );
    }
}
