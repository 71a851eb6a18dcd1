//! Sessions: creation at sign-in, the per-request check, refresh-token rotation with reuse
//! detection, listing and revocation.
//!
//! A refresh token's successor is `HMAC(server key, token)`. Only hashes are stored, yet a
//! retried rotation (two tabs racing, a lost response) can answer with the *same* successor
//! during the grace window. Every replaced token's hash is kept in `refresh_token_history`
//! until the session ends, so presenting any ancestor is recognised as theft and revokes the
//! whole session.

use crate::auth::access_token::Claims;
use crate::auth::viewer::Viewer;
use crate::error::{AppError, AppResult};
use crate::paging::page::Gate;
use crate::secrets::{constant_time_eq, hmac_token, random_token, sha256_hex};
use crate::security_log::{self, Event, EventType};
use crate::state::{AppState, Ctx, Services};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, Query, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DbErr, EntityName,
    EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryFilter, QueryOrder, QueryResult, Set,
    Statement,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::OnceLock;
use todoql_entity::{refresh_token_history, session, user};
use uuid::Uuid;

pub use crate::auth::client::{AuthMethod, ClientInfo, Factors};

/// The methods stored on a session, in order (an empty column, from before they were
/// recorded, gives none).
pub fn authentication_methods(session: &session::Model) -> Vec<String> {
    session
        .authentication_methods
        .split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The outcome of every sign-in and refresh: tokens, the session and its user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// JWT for the `Authorization: Bearer` header.
    pub access_token: String,
    /// When the access token expires.
    pub access_token_expires_at: DateTime<Utc>,
    /// The refresh token; shown once, stored only as a hash.
    pub refresh_token: String,
    /// The session.
    pub session: session::Model,
    /// The signed-in user.
    pub user: user::Model,
}

/// The session `session_id` of `user_id` with its user, when both are live. One query.
///
/// Every authenticated request runs it, so its SQL is written once per backend and its row is
/// read by position (building the statement and reading columns by name cost more than the
/// rest of a `me { id }` request).
pub async fn load_live_session(
    app: &AppState,
    user_id: Uuid,
    session_id: Uuid,
) -> AppResult<Option<Viewer>> {
    let backend = app.db().get_database_backend();
    let statement = Statement::from_sql_and_values(
        backend,
        live_session_sql(backend),
        live_session_values(user_id, session_id, app.now()),
    );
    let Some(row) = app.db().query_one_raw(statement).await? else {
        return Ok(None);
    };
    Ok(Some(viewer_from_row(&row, 0)?))
}

/// The session check as a gate to read another statement behind (the todo list reads its page
/// behind it, in one statement: `todos::list_for_token`): the same text as the session check
/// above ([`live_session_text`]) and its values. One row of the session `session_id` of
/// `user_id` and its user, both live, or none; [`viewer_from_row`] reads it.
pub(crate) fn live_viewer_gate(user_id: Uuid, session_id: Uuid, now: DateTime<Utc>) -> Gate {
    Gate {
        columns: VIEWER_COLUMNS,
        text: live_session_text,
        values: live_session_values(user_id, session_id, now),
    }
}

/// How many columns the session check has: the session's, then the user's.
pub(crate) const VIEWER_COLUMNS: usize = SESSION_COLUMNS + USER_COLUMNS;
const SESSION_COLUMNS: usize = 13;
const USER_COLUMNS: usize = 10;

/// The viewer in `row` from column `at` on: the columns of the session check.
pub(crate) fn viewer_from_row(row: &QueryResult, at: usize) -> Result<Viewer, DbErr> {
    Ok(Viewer {
        session: session_from_row(row, at)?,
        user: user_from_row(row, at + SESSION_COLUMNS)?,
    })
}

/// The claims of a valid, unexpired access token (no database involved yet).
pub(crate) fn access_claims(app: &AppState, token: Option<&SecretString>) -> Option<Claims> {
    app.access_tokens()
        .verify(token?.expose_secret(), app.now())
}

/// The values of the session check's placeholders, in their order: session, user, time.
fn live_session_values(user_id: Uuid, session_id: Uuid, now: DateTime<Utc>) -> Vec<Value> {
    vec![session_id.into(), user_id.into(), now.into()]
}

/// [`live_session_text`] with its placeholders from `$1`, written once per backend.
fn live_session_sql(backend: DatabaseBackend) -> &'static str {
    static POSTGRES: OnceLock<String> = OnceLock::new();
    static OTHER: OnceLock<String> = OnceLock::new();
    let cell = match backend {
        DatabaseBackend::Postgres => &POSTGRES,
        _ => &OTHER,
    };
    cell.get_or_init(|| live_session_text(backend, 1))
}

/// The session check, written out (building it with sea-query cost more than the rest of a
/// `me { id }` request): `SELECT <session columns>, <user columns> … WHERE id, user_id` and the
/// session [`live`] and its user not deleted. Its placeholders are numbered from `first` on
/// PostgreSQL (`$first`, …) and `?` elsewhere, bound by [`live_session_values`]. Each column
/// is aliased after its table (`session_id`, …, `user_id`, …), so that the two `id` columns
/// stay apart when the text is a common table expression.
pub(crate) fn live_session_text(backend: DatabaseBackend, first: usize) -> String {
    static HEAD: OnceLock<String> = OnceLock::new();
    let head = HEAD.get_or_init(|| {
        let columns: Vec<String> = session::Column::iter()
            .map(|c| format!("s.\"{0}\" AS \"session_{0}\"", c.as_str()))
            .chain(user::Column::iter().map(|c| format!("u.\"{0}\" AS \"user_{0}\"", c.as_str())))
            .collect();
        format!(
            "SELECT {} FROM \"{}\" AS s JOIN \"{}\" AS u ON u.\"id\" = s.\"user_id\"",
            columns.join(", "),
            session::Entity.table_name(),
            user::Entity.table_name(),
        )
    });
    let placeholder = |offset: usize| match backend {
        DatabaseBackend::Postgres => format!("${}", first + offset),
        _ => "?".to_owned(),
    };
    format!(
        "{head} WHERE s.\"id\" = {} AND s.\"user_id\" = {} \
         AND s.\"revoked_at\" IS NULL AND s.\"expires_at\" > {} AND u.\"deleted_at\" IS NULL",
        placeholder(0),
        placeholder(1),
        placeholder(2),
    )
}

/// A session from `row`, its columns in `session::Column::iter()` order from `at`.
fn session_from_row(row: &QueryResult, at: usize) -> Result<session::Model, DbErr> {
    Ok(session::Model {
        id: row.try_get_by_index(at)?,
        user_id: row.try_get_by_index(at + 1)?,
        session_token: row.try_get_by_index(at + 2)?,
        previous_token_hash: row.try_get_by_index(at + 3)?,
        rotated_at: row.try_get_by_index(at + 4)?,
        ip_address: row.try_get_by_index(at + 5)?,
        user_agent: row.try_get_by_index(at + 6)?,
        expires_at: row.try_get_by_index(at + 7)?,
        created_at: row.try_get_by_index(at + 8)?,
        last_used_at: row.try_get_by_index(at + 9)?,
        revoked_at: row.try_get_by_index(at + 10)?,
        authenticated_at: row.try_get_by_index(at + 11)?,
        authentication_methods: row.try_get_by_index(at + 12)?,
    })
}

/// A user from `row`, its columns in `user::Column::iter()` order from `at`.
fn user_from_row(row: &QueryResult, at: usize) -> Result<user::Model, DbErr> {
    Ok(user::Model {
        id: row.try_get_by_index(at)?,
        email: row.try_get_by_index(at + 1)?,
        username: row.try_get_by_index(at + 2)?,
        avatar: row.try_get_by_index(at + 3)?,
        password_hash: row.try_get_by_index(at + 4)?,
        email_verified: row.try_get_by_index(at + 5)?,
        created_at: row.try_get_by_index(at + 6)?,
        updated_at: row.try_get_by_index(at + 7)?,
        deleted_at: row.try_get_by_index(at + 8)?,
        totp_enabled: row.try_get_by_index(at + 9)?,
    })
}

/// Starts a new session for `user`, signed in by `method` just now, and issues its tokens.
///
/// The session is written only if what let the user in still holds when it is written: the
/// user is live and, for a password sign-in, still has the password hash that was checked.
/// The check and the insert are one statement that share-locks the user's row (PostgreSQL;
/// SQLite runs writes one at a time). A password sign-in that was hashing while a reset, a
/// password change or the first proof of the address (see `address_proof`) took the password
/// away therefore gets INVALID_CREDENTIALS, rather than a session that change never saw.
pub async fn start_session<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user: user::Model,
    client: &ClientInfo,
    method: AuthMethod,
) -> AppResult<SignedIn> {
    start_session_via(cx, user, client, method.into(), None).await
}

/// [`start_session`] with the `factors` given (both, after a second factor), through the
/// OAuth `provider` when there is one (recorded on the event).
pub async fn start_session_via<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user: user::Model,
    client: &ClientInfo,
    factors: Factors,
    provider: Option<&str>,
) -> AppResult<SignedIn> {
    let now = cx.now();
    let refresh_token = random_token();
    let user_agent = client.user_agent_within(cx.settings().max_user_agent_len);
    let session_id = Uuid::now_v7();
    let values = [
        (session::Column::Id, session_id.into()),
        (session::Column::UserId, user.id.into()),
        (
            session::Column::SessionToken,
            sha256_hex(&refresh_token).into(),
        ),
        (session::Column::IpAddress, client.ip.clone().into()),
        (session::Column::UserAgent, user_agent.into()),
        (
            session::Column::ExpiresAt,
            (now + cx.settings().session_ttl).into(),
        ),
        (session::Column::CreatedAt, now.into()),
        (session::Column::LastUsedAt, now.into()),
        (session::Column::AuthenticatedAt, now.into()),
        (
            session::Column::AuthenticationMethods,
            factors.stored().into(),
        ),
    ];
    let insert = insert_if_still_allowed(&values, &user, factors)?;
    let mut event = Event::sign_in(EventType::SignedIn, factors.completing(), Some(session_id));
    event.provider = provider.map(str::to_owned);
    let event = security_log::event_row(cx, user.id, event, client);
    let inserted = match cx.db().get_database_backend() {
        // One statement writes the session and its SIGNED_IN event: no round trip more than
        // the session alone, and atomic even outside a transaction.
        DatabaseBackend::Postgres => {
            let statement = security_log::with_event(insert, &event, DatabaseBackend::Postgres);
            cx.db().query_one_raw(statement).await?
        }
        // SQLite cannot write inside a WITH; the caller's transaction holds both statements.
        _ => match cx.db().query_one(&insert).await? {
            Some(row) => {
                security_log::insert_row(cx, &event).await?;
                Some(row)
            }
            None => None,
        },
    };
    let Some(inserted) = inserted else {
        return Err(match factors.first {
            AuthMethod::Password => AppError::InvalidCredentials,
            _ => AppError::InvalidToken("Your account changed meanwhile. Sign in again.".into()),
        });
    };
    security_log::logged(&event);
    let session = session::Model::from_query_result(&inserted, "")?;
    signed_in(cx.services(), user, session, refresh_token, now)
}

/// [`start_session`] for a sign-in with no transaction of its own (password sign-in): on
/// PostgreSQL its one statement needs none; SQLite writes the session and its event in one.
pub async fn start_session_alone(
    app: &AppState,
    user: user::Model,
    client: &ClientInfo,
    method: AuthMethod,
) -> AppResult<SignedIn> {
    if app.db().get_database_backend() == DatabaseBackend::Postgres {
        return start_session(app.on(app.db()), user, client, method).await;
    }
    let txn = crate::db::begin_write(app.db()).await?;
    let signed_in = start_session(app.on(&txn), user, client, method).await?;
    txn.commit().await?;
    Ok(signed_in)
}

/// `INSERT INTO sessions (…) SELECT <values> WHERE EXISTS (SELECT 1 FROM users WHERE <user
/// live [with the checked password hash] [without a second factor]> FOR SHARE) RETURNING *`.
///
/// A sign-in with one factor needs the row to say `totp_enabled = false` still: a
/// confirmation of TOTP that commits while the sign-in runs either comes first (the sign-in
/// fails) or revokes the new session with the others.
fn insert_if_still_allowed(
    values: &[(session::Column, sea_orm::Value)],
    user: &user::Model,
    factors: Factors,
) -> AppResult<InsertStatement> {
    let mut still_allowed = Query::select();
    still_allowed
        .expr(Expr::val(1))
        .from(user::Entity)
        .and_where(Expr::col((user::Entity, user::Column::Id)).eq(user.id))
        .and_where(Expr::col((user::Entity, user::Column::DeletedAt)).is_null())
        .lock_shared();
    if factors.first == AuthMethod::Password {
        still_allowed.and_where(
            Expr::col((user::Entity, user::Column::PasswordHash)).eq(user.password_hash.clone()),
        );
    }
    if factors.second.is_none() && !factors.first.complete_alone() {
        still_allowed.and_where(Expr::col((user::Entity, user::Column::TotpEnabled)).eq(false));
    }
    let mut row = Query::select();
    row.exprs(values.iter().map(|(_, value)| Expr::val(value.clone())))
        .and_where(Expr::exists(still_allowed));
    let mut insert = Query::insert();
    insert
        .into_table(session::Entity)
        .columns(values.iter().map(|(column, _)| *column))
        .select_from(row)
        .map_err(AppError::internal)?
        .returning_all();
    Ok(insert)
}

fn signed_in(
    services: &Services,
    user: user::Model,
    session: session::Model,
    refresh_token: String,
    now: DateTime<Utc>,
) -> AppResult<SignedIn> {
    let (access_token, access_token_expires_at) =
        services.access_tokens().issue(user.id, session.id, now)?;
    Ok(SignedIn {
        access_token,
        access_token_expires_at,
        refresh_token,
        session,
        user,
    })
}

/// Exchanges a refresh token for new tokens (rotation), with reuse detection.
pub async fn refresh(app: &AppState, presented: &str, client: &ClientInfo) -> AppResult<SignedIn> {
    let presented_hash = sha256_hex(presented);
    let now = app.now();

    if let Some((session, Some(user))) = session::Entity::find()
        .filter(session::Column::SessionToken.eq(&presented_hash))
        .find_also_related(user::Entity)
        .one(app.db())
        .await?
        && constant_time_eq(&session.session_token, &presented_hash)
    {
        if !is_live(&session, &user, now) {
            return Err(invalid_refresh_token());
        }
        if let Some(rotated) = rotate(app, &session, presented, client, now).await? {
            return signed_in(app.services(), user, rotated.0, rotated.1, now);
        }
        // A concurrent refresh of the same token won the race: answer like a retry below.
    }

    if let Some((session, Some(user))) = session::Entity::find()
        .filter(session::Column::PreviousTokenHash.eq(&presented_hash))
        .find_also_related(user::Entity)
        .one(app.db())
        .await?
    {
        let successor = hmac_token(app.refresh_key(), presented);
        let within_grace = session
            .rotated_at
            .is_some_and(|at| now < at + app.settings().refresh_grace);
        let successor_is_current =
            constant_time_eq(&sha256_hex(&successor), &session.session_token);
        if within_grace && successor_is_current && is_live(&session, &user, now) {
            return signed_in(app.services(), user, session, successor, now);
        }
        revoke_for_reuse(app, session.id, client).await?;
        return Err(invalid_refresh_token());
    }

    if let Some(ancestor) = refresh_token_history::Entity::find_by_id(presented_hash)
        .one(app.db())
        .await?
    {
        revoke_for_reuse(app, ancestor.session_id, client).await?;
    }
    Err(invalid_refresh_token())
}

/// Revokes a session whose refresh token was presented again (stolen, or a client that kept
/// an old one): REFRESH_TOKEN_REUSED and SESSION_REVOKED, once, by whoever revokes it first.
async fn revoke_for_reuse(app: &AppState, session_id: Uuid, client: &ClientInfo) -> AppResult<()> {
    let now = app.now();
    let txn = crate::db::begin_write(app.db()).await?;
    let revoked = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec_with_returning(&txn)
        .await?;
    let Some(session) = revoked.into_iter().next() else {
        return Ok(());
    };
    let cx = app.on(&txn);
    let about = Some(session.id);
    security_log::record(
        cx,
        session.user_id,
        Event::about(EventType::RefreshTokenReused, about),
        client,
    )
    .await?;
    security_log::record(
        cx,
        session.user_id,
        Event::about(EventType::SessionRevoked, about),
        client,
    )
    .await?;
    txn.commit().await?;
    tracing::warn!(%session_id, "refresh token reuse detected; session revoked");
    metrics::counter!("todoql_refresh_token_reuse_total").increment(1);
    Ok(())
}

fn invalid_refresh_token() -> AppError {
    AppError::InvalidToken("This refresh token is invalid, expired or revoked.".into())
}

/// A live session: not revoked and not yet expired at `now`. This is the one definition; the
/// in-memory check below and the session check's SQL ([`live_session_text`], written out for
/// speed and held to these conditions by a test; the todo list's gate too) say the same.
pub fn live(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(session::Column::RevokedAt.is_null())
        .add(session::Column::ExpiresAt.gt(now))
}

/// [`live`] for a session in memory, with its user live too.
fn is_live(session: &session::Model, user: &user::Model, now: DateTime<Utc>) -> bool {
    session.revoked_at.is_none() && session.expires_at > now && user.deleted_at.is_none()
}

/// Replaces the session's refresh token by its successor in one transaction. `None` when
/// another request rotated the same token first.
async fn rotate(
    app: &AppState,
    session: &session::Model,
    presented: &str,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> AppResult<Option<(session::Model, String)>> {
    let successor = hmac_token(app.refresh_key(), presented);
    let txn = crate::db::begin_write(app.db()).await?;
    let mut update = session::Entity::update_many()
        .col_expr(
            session::Column::SessionToken,
            Expr::value(sha256_hex(&successor)),
        )
        .col_expr(
            session::Column::PreviousTokenHash,
            Expr::value(session.session_token.clone()),
        )
        .col_expr(session::Column::RotatedAt, Expr::value(now))
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .col_expr(
            session::Column::ExpiresAt,
            Expr::value(now + app.settings().session_ttl),
        );
    if let Some(ip) = &client.ip {
        update = update.col_expr(session::Column::IpAddress, Expr::value(ip.clone()));
    }
    let updated = update
        .filter(session::Column::Id.eq(session.id))
        .filter(session::Column::SessionToken.eq(&session.session_token))
        .filter(session::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        txn.rollback().await?;
        return Ok(None);
    }
    refresh_token_history::ActiveModel {
        token_hash: Set(session.session_token.clone()),
        session_id: Set(session.id),
        rotated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let rotated = session::Entity::find_by_id(session.id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("rotated session vanished")))?;
    txn.commit().await?;
    Ok(Some((rotated, successor)))
}

/// Gives the current session a fresh refresh token (after a password change, in its
/// transaction). The old token
/// simply stops working; it is not kept as an ancestor, so a tab still holding it is signed
/// out of this session without revoking it for everyone.
pub async fn replace_current_token<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    viewer: &Viewer,
    user: user::Model,
    client: &ClientInfo,
) -> AppResult<SignedIn> {
    let now = cx.now();
    let fresh = random_token();
    session::Entity::update_many()
        .col_expr(
            session::Column::SessionToken,
            Expr::value(sha256_hex(&fresh)),
        )
        .col_expr(
            session::Column::PreviousTokenHash,
            Expr::value(Option::<String>::None),
        )
        .col_expr(session::Column::RotatedAt, Expr::value(now))
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .col_expr(
            session::Column::ExpiresAt,
            Expr::value(now + cx.settings().session_ttl),
        )
        .col_expr(session::Column::IpAddress, Expr::value(client.ip.clone()))
        .filter(session::Column::Id.eq(viewer.session.id))
        .exec(cx.db())
        .await?;
    let session = session::Entity::find_by_id(viewer.session.id)
        .one(cx.db())
        .await?
        .ok_or(AppError::Unauthenticated)?;
    signed_in(cx.services(), user, session, fresh, now)
}

/// The user's active sessions, newest first.
pub async fn list_active(app: &AppState, user_id: Uuid) -> AppResult<Vec<session::Model>> {
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(live(app.now()))
        .order_by_desc(session::Column::CreatedAt)
        .order_by_desc(session::Column::Id)
        .all(app.db())
        .await?)
}

/// The viewer of an access token: `None` without a token, or when the token is invalid or
/// expired, or its session or user is gone (token, then session and user in one query).
pub async fn viewer_of_access_token(
    app: &AppState,
    token: Option<&SecretString>,
) -> AppResult<Option<Viewer>> {
    let Some(claims) = access_claims(app, token) else {
        return Ok(None);
    };
    load_live_session(app, claims.sub, claims.sid).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::PostgresQueryBuilder;

    #[test]
    fn the_session_check_reads_the_columns_in_their_order() {
        let sessions: Vec<&str> = session::Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(
            sessions,
            [
                "id",
                "user_id",
                "session_token",
                "previous_token_hash",
                "rotated_at",
                "ip_address",
                "user_agent",
                "expires_at",
                "created_at",
                "last_used_at",
                "revoked_at",
                "authenticated_at",
                "authentication_methods"
            ]
        );
        let users: Vec<&str> = user::Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(
            users,
            [
                "id",
                "email",
                "username",
                "avatar",
                "password_hash",
                "email_verified",
                "created_at",
                "updated_at",
                "deleted_at",
                "totp_enabled"
            ]
        );
        assert_eq!(
            (sessions.len(), users.len()),
            (SESSION_COLUMNS, USER_COLUMNS)
        );
    }

    #[test]
    fn a_session_is_written_only_under_a_share_lock_of_its_still_allowed_user() {
        let user = user::Model {
            id: Uuid::nil(),
            email: "ada@example.com".into(),
            username: "ada".into(),
            avatar: None,
            password_hash: Some("$argon2id$hash".into()),
            email_verified: false,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deleted_at: None,
            totp_enabled: false,
        };
        let values = [(session::Column::Id, Uuid::nil().into())];
        let sql = insert_if_still_allowed(&values, &user, AuthMethod::Password.into())
            .unwrap()
            .to_string(PostgresQueryBuilder);
        assert!(sql.contains("WHERE EXISTS"), "{sql}");
        assert!(sql.contains("FOR SHARE"), "{sql}");
        assert!(
            sql.contains(r#""password_hash" = '$argon2id$hash'"#),
            "{sql}"
        );
        assert!(sql.contains(r#""deleted_at" IS NULL"#), "{sql}");
        assert!(sql.contains(r#""totp_enabled" = FALSE"#), "{sql}");
        let by_code = insert_if_still_allowed(&values, &user, AuthMethod::EmailCode.into())
            .unwrap()
            .to_string(PostgresQueryBuilder);
        assert!(!by_code.contains("password_hash"), "{by_code}");
        let second = Factors {
            first: AuthMethod::EmailCode,
            second: Some(AuthMethod::Totp),
        };
        let with_totp = insert_if_still_allowed(&values, &user, second)
            .unwrap()
            .to_string(PostgresQueryBuilder);
        assert!(!with_totp.contains("totp_enabled"), "{with_totp}");
    }

    #[test]
    fn the_session_check_binds_session_user_and_time_in_that_order() {
        let postgres = live_session_sql(DatabaseBackend::Postgres);
        assert!(
            postgres.contains(r#"s."id" = $1 AND s."user_id" = $2"#)
                && postgres.contains(r#"s."expires_at" > $3"#)
                && postgres.contains(r#"s."revoked_at" IS NULL"#)
                && postgres.contains(r#"u."deleted_at" IS NULL"#),
            "{postgres}"
        );
        let sqlite = live_session_sql(DatabaseBackend::Sqlite);
        assert_eq!(sqlite.matches('?').count(), 3, "{sqlite}");
    }

    /// The written session check says what [`live`] says (not revoked, not expired), with
    /// the session and user bound and the user not deleted; as the todo list's gate, its
    /// placeholders follow the page's and its columns keep apart.
    #[test]
    fn the_written_session_check_says_what_live_says() {
        let rule = Query::select()
            .column(session::Column::Id)
            .from(session::Entity)
            .cond_where(live(Utc::now()))
            .to_string(PostgresQueryBuilder);
        assert!(
            rule.contains(r#"."revoked_at" IS NULL AND "sessions"."expires_at" > '"#),
            "{rule}"
        );
        let gate = live_session_text(DatabaseBackend::Postgres, 7);
        for condition in [
            r#"s."id" = $7"#,
            r#"s."user_id" = $8"#,
            r#"s."revoked_at" IS NULL"#,
            r#"s."expires_at" > $9"#,
            r#"u."deleted_at" IS NULL"#,
            r#"JOIN "users" AS u ON u."id" = s."user_id""#,
        ] {
            assert!(gate.contains(condition), "{condition} in {gate}");
        }
        assert_eq!(gate.matches(" AND ").count(), 4, "{gate}");
        let aliases: std::collections::HashSet<&str> = gate
            .split(" AS \"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert_eq!(aliases.len(), VIEWER_COLUMNS, "{gate}");
        assert_eq!(
            live_session_sql(DatabaseBackend::Postgres),
            live_session_text(DatabaseBackend::Postgres, 1)
        );
    }
}
