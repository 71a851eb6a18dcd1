//! Password accounts: sign-up, sign-in, password change, profile, deletion.

use crate::auth::identity::{
    normalize_email, username_from_email, validate_avatar, validate_username,
};
use crate::auth::password::{MAX_PASSWORD_CHARS, validate_new_password};
use crate::auth::sessions::{self, ClientInfo, SignedIn};
use crate::error::{AppError, AppResult};
use crate::rate_limit;
use crate::request::Viewer;
use crate::state::AppState;
use async_graphql::MaybeUndefined;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use secrecy::{ExposeSecret, SecretString};
use todoql_entity::{
    account, deleted_todo_log, email_verification_code, oauth_state, password_reset_token, session,
    todo, user,
};
use uuid::Uuid;

/// What sign-up needs.
#[derive(Debug)]
pub struct SignUp {
    /// The address (normalised here).
    pub email: String,
    /// The new password.
    pub password: SecretString,
    /// Display name; defaults to the part of the address before `@`.
    pub username: Option<String>,
}

/// Creates an account with a password and signs it in. CONFLICT when the address is taken
/// by a live user (enforced by the unique index, so it holds under concurrency).
pub async fn sign_up(app: &AppState, input: SignUp, client: &ClientInfo) -> AppResult<SignedIn> {
    let email = normalize_email(&input.email, "email")?;
    let username = match input.username.as_deref() {
        Some(name) => validate_username(name)?,
        None => username_from_email(&email),
    };
    validate_new_password(
        input.password.expose_secret(),
        "password",
        &[&email, &username],
    )?;
    let password_hash = app.passwords().hash(input.password).await?;

    let now = app.now();
    let txn = crate::db::begin_write(app.db()).await?;
    let user = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        username: Set(username),
        avatar: Set(None),
        password_hash: Set(Some(password_hash)),
        email_verified: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        AppError::conflict_on_unique(e, "An account with this email address already exists.")
    })?;
    crate::mail::on_sign_up(&txn, app, &user).await?;
    let signed_in = sessions::start_session(&txn, app, user, client).await?;
    txn.commit().await?;
    crate::mail::wake_sender(app);
    Ok(signed_in)
}

fn rate_limit_keys(
    app: &AppState,
    email: &str,
    client: &ClientInfo,
) -> Vec<(String, crate::settings::Limit)> {
    let limits = &app.settings().rate_limits;
    let mut keys = vec![(
        format!("signin-email:{email}"),
        limits.failed_sign_ins_per_email,
    )];
    if let Some(ip) = &client.ip {
        keys.push((format!("signin-ip:{ip}"), limits.failed_sign_ins_per_ip));
    }
    keys
}

async fn ensure_sign_in_allowed(app: &AppState, email: &str, client: &ClientInfo) -> AppResult<()> {
    let keys = rate_limit_keys(app, email, client);
    let keys: Vec<(&str, _)> = keys.iter().map(|(k, l)| (k.as_str(), *l)).collect();
    rate_limit::ensure_allowed(app.db(), &keys, app.now()).await
}

async fn record_failed_sign_in(app: &AppState, email: &str, client: &ClientInfo) -> AppResult<()> {
    let now = app.now();
    for (key, limit) in rate_limit_keys(app, email, client) {
        rate_limit::record(app.db(), &key, limit, now).await?;
    }
    metrics::counter!("todoql_failed_sign_ins_total").increment(1);
    Ok(())
}

/// Checks `password` against the user's hash (or a dummy one), counting failures against the
/// sign-in rate limits. INVALID_CREDENTIALS on mismatch.
async fn check_password(
    app: &AppState,
    email: &str,
    stored_hash: Option<String>,
    password: SecretString,
    client: &ClientInfo,
) -> AppResult<()> {
    // No valid password is longer; skip hashing megabytes of input, answer like a mismatch.
    let plausible = password.expose_secret().chars().count() <= MAX_PASSWORD_CHARS;
    let matches = plausible && app.passwords().verify(password, stored_hash).await?;
    if matches {
        return Ok(());
    }
    record_failed_sign_in(app, email, client).await?;
    Err(AppError::InvalidCredentials)
}

/// Re-authentication before a sensitive change: when the account has a password, `password`
/// must be given (BAD_USER_INPUT on `field`) and right (INVALID_CREDENTIALS, counted against
/// the sign-in rate limits). An account without a password passes.
pub(crate) async fn confirm_password_if_set(
    app: &AppState,
    user: &user::Model,
    password: Option<SecretString>,
    field: &str,
    client: &ClientInfo,
) -> AppResult<()> {
    if user.password_hash.is_none() {
        return Ok(());
    }
    let password =
        password.ok_or_else(|| AppError::bad_input(field, "Enter your current password."))?;
    ensure_sign_in_allowed(app, &user.email, client).await?;
    check_password(
        app,
        &user.email,
        user.password_hash.clone(),
        password,
        client,
    )
    .await
}

/// Signs in with email and password. Unknown email and wrong password are the same
/// INVALID_CREDENTIALS, in the same time (a dummy hash is verified).
pub async fn sign_in(
    app: &AppState,
    email: &str,
    password: SecretString,
    client: &ClientInfo,
) -> AppResult<SignedIn> {
    let email = normalize_email(email, "email")?;
    ensure_sign_in_allowed(app, &email, client).await?;
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .filter(user::Column::DeletedAt.is_null())
        .one(app.db())
        .await?;
    let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
    check_password(app, &email, stored_hash, password, client).await?;
    let user = user.ok_or(AppError::InvalidCredentials)?;
    sessions::start_session(app.db(), app, user, client).await
}

/// Sets a new password. Needs the current one when the account has one; keeps the current
/// session (with fresh tokens) and revokes every other.
pub async fn change_password(
    app: &AppState,
    viewer: &Viewer,
    current_password: Option<SecretString>,
    new_password: SecretString,
    client: &ClientInfo,
) -> AppResult<SignedIn> {
    let user = &viewer.user;
    confirm_password_if_set(app, user, current_password, "currentPassword", client).await?;
    validate_new_password(
        new_password.expose_secret(),
        "newPassword",
        &[&user.email, &user.username],
    )?;
    let hash = app.passwords().hash(new_password).await?;

    let now = app.now();
    let txn = crate::db::begin_write(app.db()).await?;
    let mut active: user::ActiveModel = user.clone().into();
    active.password_hash = Set(Some(hash));
    active.updated_at = Set(now);
    let updated = active.update(&txn).await?;
    sessions::revoke_all_except(&txn, user.id, Some(viewer.session.id), now).await?;
    crate::mail::on_password_changed(&txn, app, &updated).await?;
    txn.commit().await?;
    crate::mail::wake_sender(app);
    sessions::replace_current_token(app, viewer, updated, client).await
}

/// Changes username and/or avatar. An absent field stays; a null avatar clears it; a null
/// username is refused (every user has one).
pub async fn update_profile(
    app: &AppState,
    viewer: &Viewer,
    username: MaybeUndefined<String>,
    avatar: MaybeUndefined<String>,
) -> AppResult<user::Model> {
    let mut active: user::ActiveModel = viewer.user.clone().into();
    match username {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => {
            return Err(AppError::bad_input(
                "username",
                "Username cannot be cleared.",
            ));
        }
        MaybeUndefined::Value(name) => active.username = Set(validate_username(&name)?),
    }
    match avatar {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => active.avatar = Set(None),
        MaybeUndefined::Value(url) => active.avatar = Set(Some(validate_avatar(&url)?)),
    }
    active.updated_at = Set(app.now());
    Ok(active.update(app.db()).await?)
}

/// How recent a sign-in must be to delete an account that has no password.
pub const RECENT_SIGN_IN_MINUTES: i64 = 15;

/// Soft-deletes the account and removes at once everything that hangs off it. The address can
/// sign up again immediately (uniqueness applies to live users only).
pub async fn delete_account(
    app: &AppState,
    viewer: &Viewer,
    password: Option<SecretString>,
    client: &ClientInfo,
) -> AppResult<()> {
    let user = &viewer.user;
    let now = app.now();
    if user.password_hash.is_some() {
        confirm_password_if_set(app, user, password, "password", client).await?;
    } else if viewer.session.created_at < now - chrono::Duration::minutes(RECENT_SIGN_IN_MINUTES) {
        return Err(AppError::Forbidden(format!(
            "Sign in again (less than {RECENT_SIGN_IN_MINUTES} minutes ago) to delete your account."
        )));
    }

    let txn = crate::db::begin_write(app.db()).await?;
    purge_user_data(&txn, user).await?;
    user::Entity::update_many()
        .col_expr(user::Column::DeletedAt, Expr::value(now))
        .col_expr(
            user::Column::PasswordHash,
            Expr::value(Option::<String>::None),
        )
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    tracing::info!(user_id = %user.id, "account deleted");
    Ok(())
}

/// Everything of a user that goes at once when the account is deleted.
async fn purge_user_data<C: ConnectionTrait>(db: &C, user: &user::Model) -> AppResult<()> {
    todo::Entity::delete_many()
        .filter(todo::Column::UserId.eq(user.id))
        .exec(db)
        .await?;
    deleted_todo_log::Entity::delete_many()
        .filter(deleted_todo_log::Column::UserId.eq(user.id))
        .exec(db)
        .await?;
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user.id))
        .exec(db)
        .await?;
    email_verification_code::Entity::delete_many()
        .filter(
            Condition::any()
                .add(email_verification_code::Column::UserId.eq(user.id))
                // Codes sent to this address for no user (verification, sign-in), but not
                // another user's pending change to this address.
                .add(
                    Condition::all()
                        .add(email_verification_code::Column::Email.eq(&user.email))
                        .add(email_verification_code::Column::UserId.is_null()),
                ),
        )
        .exec(db)
        .await?;
    password_reset_token::Entity::delete_many()
        .filter(password_reset_token::Column::UserId.eq(user.id))
        .exec(db)
        .await?;
    account::Entity::delete_many()
        .filter(account::Column::UserId.eq(user.id))
        .exec(db)
        .await?;
    oauth_state::Entity::delete_many()
        .filter(oauth_state::Column::UserId.eq(user.id))
        .exec(db)
        .await?;
    Ok(())
}
