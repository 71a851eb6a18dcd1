//! Moving an account to a new address: a code and link go to the NEW address only; the
//! address changes when one of them comes back; the OLD address gets a notice.

use crate::auth::client::ClientInfo;
use crate::auth::email_codes::{self, CodeAction, Owner, count_mail_request, validate_code};
use crate::auth::identity::normalize_email;
use crate::auth::reauth::{lock_for_credential_change, reauthenticate};
use crate::auth::session_revocation;
use crate::auth::users;
use crate::auth::viewer::Viewer;
use crate::error::{AppError, AppResult};
use crate::mail::{self, messages, outbox};
use crate::security_log::{self, Event, EventType};
use crate::state::AppState;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use secrecy::SecretString;
use todoql_entity::{email_verification_code, password_reset_token, user};
use uuid::Uuid;

const TAKEN: &str = "An account with this email address already exists.";

/// What confirms a change: the code (signed in as the user who asked) or the link token.
pub enum ChangeProof {
    /// The 6-digit code.
    Code(SecretString),
    /// The link token.
    Token(SecretString),
}

impl std::fmt::Debug for ChangeProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChangeProof::Code(_) => "Code(..)",
            ChangeProof::Token(_) => "Token(..)",
        })
    }
}

impl ChangeProof {
    /// Exactly one of `code` or `token`; BAD_USER_INPUT otherwise.
    pub fn from_input(code: Option<String>, token: Option<String>) -> AppResult<Self> {
        match (code, token) {
            (Some(code), None) => Ok(ChangeProof::Code(SecretString::from(validate_code(&code)?))),
            (None, Some(token)) => Ok(ChangeProof::Token(SecretString::from(token))),
            (Some(_), Some(_)) => Err(AppError::bad_input(
                "token",
                "Give either code or token, not both.",
            )),
            (None, None) => Err(AppError::bad_input(
                "code",
                "Give the code from the mail, or the token from its link.",
            )),
        }
    }
}

async fn taken_by_other<C: ConnectionTrait>(db: &C, email: &str, me: Uuid) -> AppResult<bool> {
    Ok(users::live_by_email(email)
        .filter(user::Column::Id.ne(me))
        .one(db)
        .await?
        .is_some())
}

/// Sends a code and link to `new_email`. Needs the current password when the account has one,
/// else a recent sign-in; CONFLICT when another live user has the address; RATE_LIMITED past
/// the mail limit of the new address or of the client's IP. A new request replaces the user's
/// previous pending change.
pub async fn request_email_change(
    app: &AppState,
    viewer: &Viewer,
    new_email: &str,
    current_password: Option<SecretString>,
    client: &ClientInfo,
) -> AppResult<()> {
    let user = &viewer.user;
    let new_email = normalize_email(new_email, "newEmail")?;
    reauthenticate(app, viewer, current_password, "currentPassword", client).await?;
    if new_email == user.email {
        return Err(AppError::bad_input(
            "newEmail",
            "This is already your address.",
        ));
    }
    if taken_by_other(app.db(), &new_email, user.id).await? {
        return Err(AppError::Conflict(TAKEN.into()));
    }
    count_mail_request(app, client).await?;
    let now = app.now();
    let txn = crate::db::begin_write(app.db()).await?;
    let cx = app.on(&txn);
    lock_for_credential_change(cx, viewer).await?;
    if let Err(retry_after_secs) = outbox::reserve_quota(cx, &new_email).await? {
        txn.rollback().await?;
        return Err(AppError::RateLimited { retry_after_secs });
    }
    let issued = email_codes::issue(
        &txn,
        now,
        &new_email,
        CodeAction::ChangeEmail,
        Some(user.id),
    )
    .await?;
    let content = messages::email_change(
        &app.settings().app_url,
        &new_email,
        issued.code(),
        issued.token(),
        email_codes::CODE_TTL_MINUTES,
    );
    outbox::enqueue(&txn, now, &new_email, content).await?;
    txn.commit().await?;
    mail::wake_sender(app);
    Ok(())
}

/// Applies a pending change: with the code (signed in as the user who asked) or the link token
/// (signed in or not). CONFLICT, leaving the code usable, when another live user took the
/// address meanwhile. Revokes every session of the user except the one confirming, forgets
/// what was sent to the old address (codes, reset links) and sends the old address a notice.
pub async fn confirm_email_change(
    app: &AppState,
    viewer: Option<&Viewer>,
    proof: ChangeProof,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    let row = match &proof {
        ChangeProof::Code(code) => {
            let viewer = viewer.ok_or(AppError::Unauthenticated)?;
            email_codes::check_code(
                app,
                CodeAction::ChangeEmail,
                Owner::User(viewer.user.id),
                &viewer.user.email,
                code,
                client,
            )
            .await?
        }
        ChangeProof::Token(token) => {
            email_codes::check_token(app, CodeAction::ChangeEmail, token).await?
        }
    };
    let invalid = || {
        AppError::InvalidToken(
            "This code or link is invalid, expired or already used. Ask for a new one.".into(),
        )
    };
    let user_id = row.user_id.ok_or_else(invalid)?;
    let now = app.now();
    let txn = crate::db::begin_write(app.db()).await?;
    let user = users::live_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or_else(invalid)?;
    if taken_by_other(&txn, &row.email, user.id).await? {
        return Err(AppError::Conflict(TAKEN.into()));
    }
    email_codes::consume(&txn, &row, now).await?;
    let old_email = user.email.clone();
    let mut active: user::ActiveModel = user.into();
    active.email = Set(row.email.clone());
    active.email_verified = Set(true);
    active.updated_at = Set(now);
    let user = active
        .update(&txn)
        .await
        .map_err(|e| AppError::conflict_on_unique(e, TAKEN))?;
    let keep = viewer
        .filter(|v| v.user.id == user.id)
        .map(|v| v.session.id);
    session_revocation::revoke_all_except(app.on(&txn), user.id, keep, client).await?;
    email_verification_code::Entity::delete_many()
        .filter(email_verification_code::Column::Email.eq(&old_email))
        .filter(email_verification_code::Column::Action.ne(CodeAction::ChangeEmail))
        .exec(&txn)
        .await?;
    password_reset_token::Entity::delete_many()
        .filter(password_reset_token::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    crate::auth::account_mail::on_email_changed(app.on(&txn), &old_email, &user.email).await?;
    let event = Event::about(EventType::EmailChanged, keep);
    security_log::record(app.on(&txn), user.id, event, client).await?;
    txn.commit().await?;
    mail::wake_sender(app);
    tracing::info!(user_id = %user.id, "email address changed; other sessions revoked");
    Ok(user)
}
