//! Password reset by emailed link: 32 random bytes stored as SHA-256, 30 minutes, single use;
//! success sets the password and revokes every session of the user.

use crate::auth::address_proof::{Prover, address_proven};
use crate::auth::email_codes::count_mail_request;
use crate::auth::identity::normalize_email;
use crate::auth::new_password::{hash_new_password, store_new_password};
use crate::auth::sessions::ClientInfo;
use crate::auth::users;
use crate::error::{AppError, AppResult};
use crate::mail::transport::OutgoingMail;
use crate::mail::{self, messages, outbox};
use crate::secrets::{constant_time_eq, random_token, sha256_hex};
use crate::security_log::{self, Event, EventType};
use crate::state::{AppState, Ctx};
use chrono::Duration;
use futures_util::future::BoxFuture;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use secrecy::{ExposeSecret, SecretString};
use todoql_entity::email_outbox::MailKind;
use todoql_entity::email_verification_code::CodeAction;
use todoql_entity::{email_outbox, email_verification_code, password_reset_token, user};
use uuid::Uuid;

/// How long a reset link works.
pub const RESET_TTL_MINUTES: i64 = 30;

/// Answers a reset request for any well-formed address with the SAME work whether or not it
/// has an account: one outbox row, a "job" that names the address and carries no secret. The
/// sender resolves it ([`prepare_reset_mail`]): a live account gets its link, anything else
/// nothing. So neither the answer nor its time tells whether the address exists, and no
/// request waits for SMTP. Past the per-IP limit of mail requests it is RATE_LIMITED, for any
/// address alike.
pub async fn request_password_reset(
    app: &AppState,
    email: &str,
    client: &ClientInfo,
) -> AppResult<()> {
    let email = normalize_email(email, "email")?;
    count_mail_request(app, client).await?;
    let now = app.now();
    let txn = crate::db::begin_write(app.db()).await?;
    outbox::enqueue_job(&txn, now, &email, MailKind::PasswordResetRequest).await?;
    txn.commit().await?;
    mail::wake_sender(app);
    Ok(())
}

/// [`prepare_reset_mail`] as the outbox's job of kind `PasswordResetRequest`.
pub fn prepare_reset_job<'a>(
    cx: Ctx<'a, DatabaseConnection>,
    job: &'a OutgoingMail,
) -> BoxFuture<'a, AppResult<Option<OutgoingMail>>> {
    Box::pin(prepare_reset_mail(cx, job))
}

/// Turns a claimed reset-request job into the reset mail, in one transaction that also stores
/// the token (a new link replaces the previous one). `None`, and the job is deleted, when the
/// address has no live account or has had its share of mails this hour.
pub async fn prepare_reset_mail(
    cx: Ctx<'_, DatabaseConnection>,
    job: &OutgoingMail,
) -> AppResult<Option<OutgoingMail>> {
    let now = cx.now();
    let txn = crate::db::begin_write(cx.db()).await?;
    let user = users::live_by_email(&job.to).one(&txn).await?;
    let Some(user) = user else {
        email_outbox::Entity::delete_by_id(job.id)
            .exec(&txn)
            .await?;
        txn.commit().await?;
        return Ok(None);
    };
    if outbox::reserve_quota(cx.on(&txn), &job.to).await?.is_err() {
        email_outbox::Entity::delete_by_id(job.id)
            .exec(&txn)
            .await?;
        txn.commit().await?;
        return Ok(None);
    }
    password_reset_token::Entity::delete_many()
        .filter(password_reset_token::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    let token = SecretString::from(random_token());
    password_reset_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        token: Set(sha256_hex(token.expose_secret())),
        expires_at: Set(now + Duration::minutes(RESET_TTL_MINUTES)),
        used_at: Set(None),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let content = messages::password_reset(
        &cx.settings().app_url,
        token.expose_secret(),
        RESET_TTL_MINUTES,
    );
    let mail = outbox::fill_job(&txn, job, content).await?;
    txn.commit().await?;
    Ok(Some(mail))
}

fn invalid_reset_token() -> AppError {
    AppError::InvalidToken(
        "This reset link is invalid, expired or already used. Ask for a new one.".into(),
    )
}

/// Sets a new password with a reset token. The token is checked first, then the password
/// rules: an invalid password leaves the token usable. Success uses the token up, revokes
/// every session, marks the address verified (the link proved it; as a first proof it also
/// drops the provider links set before it, see `address_proof`) and sends a notice.
pub async fn reset_password(
    app: &AppState,
    token: &SecretString,
    new_password: SecretString,
    client: &ClientInfo,
) -> AppResult<()> {
    let now = app.now();
    let presented = sha256_hex(token.expose_secret());
    let (reset, user) = password_reset_token::Entity::find()
        .filter(password_reset_token::Column::Token.eq(&presented))
        .find_also_related(user::Entity)
        .one(app.db())
        .await?
        .and_then(|(reset, user)| Some((reset, user?)))
        .filter(|(reset, user)| {
            reset.used_at.is_none()
                && reset.expires_at > now
                && user.deleted_at.is_none()
                && constant_time_eq(&reset.token, &presented)
        })
        .ok_or_else(invalid_reset_token)?;
    let hash = hash_new_password(app, &user, new_password, "newPassword").await?;

    let now = app.now();
    let txn = crate::db::begin_write(app.db()).await?;
    let used = password_reset_token::Entity::update_many()
        .col_expr(password_reset_token::Column::UsedAt, Expr::value(now))
        .filter(password_reset_token::Column::Id.eq(reset.id))
        .filter(password_reset_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        return Err(invalid_reset_token());
    }
    let cx = app.on(&txn);
    let user = address_proven(cx, user, Prover::Elsewhere, client).await?;
    let user = store_new_password(cx, user, hash, None, client).await?;
    // A pending sign-in code is as good as a password: it goes with the old one.
    email_verification_code::Entity::delete_many()
        .filter(email_verification_code::Column::Email.eq(&user.email))
        .filter(email_verification_code::Column::Action.eq(CodeAction::SignIn))
        .exec(&txn)
        .await?;
    security_log::record(
        cx,
        user.id,
        Event::about(EventType::PasswordReset, None),
        client,
    )
    .await?;
    txn.commit().await?;
    mail::wake_sender(app);
    tracing::info!(user_id = %user.id, "password reset; every session revoked");
    Ok(())
}
