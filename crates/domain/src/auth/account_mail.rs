//! The mails the account flows queue in their own transactions: the verification mail at
//! sign-up and the security notices after a password or address change.

use crate::auth::email_codes::{self, CodeAction};
use crate::error::AppResult;
use crate::mail::{messages, outbox};
use crate::state::Ctx;
use sea_orm::ConnectionTrait;
use todoql_entity::user;

/// Called in the sign-up transaction: queues the verification mail. Over the per-address mail
/// limit the account is still created, without a mail (sendVerificationEmail can ask later).
pub async fn on_sign_up<C: ConnectionTrait>(cx: Ctx<'_, C>, user: &user::Model) -> AppResult<()> {
    if outbox::reserve_quota(cx, &user.email).await?.is_err() {
        tracing::info!(user_id = %user.id, "mail limit reached: no verification mail at sign-up");
        return Ok(());
    }
    let issued = email_codes::issue(
        cx.db(),
        cx.now(),
        &user.email,
        CodeAction::VerifyEmail,
        Some(user.id),
    )
    .await?;
    let content = messages::verify_email(
        &cx.settings().app_url,
        issued.code(),
        issued.token(),
        email_codes::CODE_TTL_MINUTES,
    );
    outbox::enqueue(cx.db(), cx.now(), &user.email, content).await
}

/// Called in the password-change (and reset) transaction: queues the security notice to the
/// account's address. Notices are not held back by the per-address mail limit.
pub async fn on_password_changed<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user: &user::Model,
) -> AppResult<()> {
    outbox::enqueue(
        cx.db(),
        cx.now(),
        &user.email,
        messages::password_changed(cx.now()),
    )
    .await
}

/// Called in the email-change transaction: queues the security notice to the OLD address.
pub async fn on_email_changed<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    old_email: &str,
    new_email: &str,
) -> AppResult<()> {
    outbox::enqueue(
        cx.db(),
        cx.now(),
        old_email,
        messages::email_changed(old_email, new_email, cx.now()),
    )
    .await
}
