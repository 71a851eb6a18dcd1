//! Password accounts: sign-up, sign-in, password change, profile, deletion.

use crate::auth::email_codes::count_mail_request;
use crate::auth::identity::{
    normalize_email, username_from_email, validate_avatar, validate_username,
};
use crate::auth::mfa;
use crate::auth::new_password::{hash_new_password, store_new_password};
use crate::auth::password::validate_new_password;
use crate::auth::password_attempts;
use crate::auth::reauth::{lock_for_credential_change, reauthenticate};
use crate::auth::sessions::{self, AuthMethod, ClientInfo, SignedIn};
use crate::auth::users::{self, NewUser};
use crate::auth::viewer::Viewer;
use crate::error::{AppError, AppResult};
use crate::patch::Patch;
use crate::security_log::{self, Event, EventType};
use crate::state::AppState;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use secrecy::{ExposeSecret, SecretString};
use todoql_entity::{
    account, deleted_todo_log, email_verification_code, mfa_challenge, oauth_state, passkey,
    password_reset_token, recovery_code, security_event, session, todo, totp_factor, user,
    webauthn_ceremony,
};

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

/// signUp's answer when the address is taken. The owner of the address may find it taken by
/// someone who never proved it; both ways named here prove it, and the first proof drops what
/// that someone set (see `address_proof`).
pub const SIGN_UP_TAKEN: &str = "An account with this email address already exists. If the \
     address is yours, sign in with a code sent to it (requestSignInCode) or reset the \
     password (requestPasswordReset): either proves the address is yours.";

/// Creates an account with a password and signs it in. CONFLICT when the address is taken
/// by a live user (enforced by the unique index, so it holds under concurrency). Sign-up
/// mails a verification code, so it counts against the mail requests of the client's IP
/// (checked before the password is hashed).
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
    count_mail_request(app, client).await?;
    let password_hash = app.passwords().hash(input.password).await?;

    let now = app.now();
    let txn = crate::db::begin_write(app.db()).await?;
    let cx = app.on(&txn);
    let user = NewUser {
        email,
        username,
        avatar: None,
        password_hash: Some(password_hash),
        email_verified: false,
    }
    .insert(&txn, now)
    .await
    .map_err(|e| AppError::conflict_on_unique(e, SIGN_UP_TAKEN))?;
    crate::auth::account_mail::on_sign_up(cx, &user).await?;
    let event = Event::sign_in(EventType::SignedUp, AuthMethod::Password, None);
    security_log::record(cx, user.id, event, client).await?;
    let signed_in = sessions::start_session(cx, user, client, AuthMethod::Password).await?;
    txn.commit().await?;
    crate::mail::wake_sender(app);
    Ok(signed_in)
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
    let user = users::live_by_email(&email).one(app.db()).await?;
    let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let checked = password_attempts::check(app, &email, stored_hash, password, client).await;
    if let Err(AppError::InvalidCredentials) = checked {
        let (known, failed) = (user.as_ref().map(|u| u.id), EventType::SignInFailed);
        security_log::record_failure(app, known, &email, failed, AuthMethod::Password, client);
    }
    checked?;
    let user = user.ok_or(AppError::InvalidCredentials)?;
    mfa::first_factor::finish_alone(app, user, client, AuthMethod::Password).await
}

/// Sets a new password. Needs the current one when the account has one, else (setting a first
/// password) a recent sign-in; keeps the current session (with fresh tokens) and revokes every
/// other.
pub async fn change_password(
    app: &AppState,
    viewer: &Viewer,
    current_password: Option<SecretString>,
    new_password: SecretString,
    client: &ClientInfo,
) -> AppResult<SignedIn> {
    let user = &viewer.user;
    reauthenticate(app, viewer, current_password, "currentPassword", client).await?;
    let hash = hash_new_password(app, user, new_password, "newPassword").await?;

    let txn = crate::db::begin_write(app.db()).await?;
    let cx = app.on(&txn);
    let user = lock_for_credential_change(cx, viewer).await?;
    let updated = store_new_password(cx, user, hash, Some(viewer.session.id), client).await?;
    let event = Event::about(EventType::PasswordChanged, Some(viewer.session.id));
    security_log::record(cx, updated.id, event, client).await?;
    let signed_in = sessions::replace_current_token(cx, viewer, updated, client).await?;
    txn.commit().await?;
    crate::mail::wake_sender(app);
    Ok(signed_in)
}

/// Changes username and/or avatar. An absent field stays; a null avatar clears it; a null
/// username is refused (every user has one).
pub async fn update_profile(
    app: &AppState,
    viewer: &Viewer,
    username: Patch<String>,
    avatar: Patch<String>,
) -> AppResult<user::Model> {
    let mut active: user::ActiveModel = viewer.user.clone().into();
    match username {
        Patch::Keep => {}
        Patch::Clear => {
            return Err(AppError::bad_input(
                "username",
                "Username cannot be cleared.",
            ));
        }
        Patch::Set(name) => active.username = Set(validate_username(&name)?),
    }
    match avatar {
        Patch::Keep => {}
        Patch::Clear => active.avatar = Set(None),
        Patch::Set(url) => active.avatar = Set(Some(validate_avatar(&url)?)),
    }
    active.updated_at = Set(app.now());
    Ok(active.update(app.db()).await?)
}

/// Soft-deletes the account and removes at once everything that hangs off it. Needs the
/// password when the account has one, else a recent sign-in. The address can sign up again
/// immediately (uniqueness applies to live users only).
pub async fn delete_account(
    app: &AppState,
    viewer: &Viewer,
    password: Option<SecretString>,
    client: &ClientInfo,
) -> AppResult<()> {
    let user = &viewer.user;
    reauthenticate(app, viewer, password, "password", client).await?;
    let now = app.now();

    let txn = crate::db::begin_write(app.db()).await?;
    purge_todos(app.on(&txn), user.id).await?;
    purge_user_data(&txn, user).await?;
    user::Entity::update_many()
        .col_expr(user::Column::DeletedAt, Expr::value(now))
        .col_expr(
            user::Column::PasswordHash,
            Expr::value(Option::<String>::None),
        )
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .col_expr(user::Column::TotpEnabled, Expr::value(false))
        .filter(user::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    crate::todos::changes::announce(app, user.id);
    tracing::info!(user_id = %user.id, "account deleted");
    Ok(())
}

/// The user's todos and trash go at once, each recorded as PURGED (left for good), so a
/// device that syncs up to the deletion sees them go. The user's row lock comes first (the
/// change log's lock order).
async fn purge_todos<C: ConnectionTrait>(
    cx: crate::state::Ctx<'_, C>,
    user_id: uuid::Uuid,
) -> AppResult<()> {
    use crate::todos::changes;
    changes::lock_log(cx, user_id).await?;
    let mut gone: Vec<uuid::Uuid> = todo::Entity::delete_many()
        .filter(todo::Column::UserId.eq(user_id))
        .exec_with_returning(cx.db())
        .await?
        .into_iter()
        .map(|todo| todo.id)
        .collect();
    gone.extend(
        deleted_todo_log::Entity::delete_many()
            .filter(deleted_todo_log::Column::UserId.eq(user_id))
            .exec_with_returning(cx.db())
            .await?
            .into_iter()
            .map(|entry| entry.original_todo_id),
    );
    gone.sort_unstable();
    changes::record_purged(cx, user_id, &gone).await
}

/// Everything of a user that goes at once when the account is deleted. (The row stays,
/// soft-deleted; the purge removes it later, and its foreign keys cascade then.)
async fn purge_user_data<C: ConnectionTrait>(db: &C, user: &user::Model) -> AppResult<()> {
    let id = user.id;
    // Todos and trash: `purge_todos`, which records them.
    delete_owned::<session::Entity, _>(db, session::Column::UserId, id).await?;
    email_verification_code::Entity::delete_many()
        .filter(
            Condition::any()
                .add(email_verification_code::Column::UserId.eq(id))
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
    delete_owned::<password_reset_token::Entity, _>(db, password_reset_token::Column::UserId, id)
        .await?;
    delete_owned::<account::Entity, _>(db, account::Column::UserId, id).await?;
    delete_owned::<oauth_state::Entity, _>(db, oauth_state::Column::UserId, id).await?;
    delete_owned::<totp_factor::Entity, _>(db, totp_factor::Column::UserId, id).await?;
    delete_owned::<recovery_code::Entity, _>(db, recovery_code::Column::UserId, id).await?;
    delete_owned::<mfa_challenge::Entity, _>(db, mfa_challenge::Column::UserId, id).await?;
    delete_owned::<passkey::Entity, _>(db, passkey::Column::UserId, id).await?;
    delete_owned::<webauthn_ceremony::Entity, _>(db, webauthn_ceremony::Column::UserId, id).await?;
    // The user's security log goes with the account.
    delete_owned::<security_event::Entity, _>(db, security_event::Column::UserId, id).await?;
    Ok(())
}

/// Deletes the rows of `E` whose `owner` column is `user_id`.
async fn delete_owned<E: EntityTrait, C: ConnectionTrait>(
    db: &C,
    owner: E::Column,
    user_id: uuid::Uuid,
) -> AppResult<()> {
    E::delete_many().filter(owner.eq(user_id)).exec(db).await?;
    Ok(())
}
