//! The first proof of an account's address, and what it takes away (PRODUCT.md "Account
//! pre-hijacking").
//!
//! Until an address is proven, anyone may have created the account with it: someone who signs
//! up with the victim's address and a password of their own (or arrives through a provider
//! that does not vouch for the address) waits for the victim to verify, then reads everything
//! the victim writes. So when an unverified account's address is first proven — verifyEmail,
//! signInWithCode (code or link), a reset link — what was set before the proof does not survive
//! it unless the proof came from the session that holds it:
//!
//! - **Proof from a signed-in session of this same user** (verifyEmail sent with that session's
//!   access token): the holder of that session reads the mailbox. Before the proof, the only
//!   ways into the account were the credentials set on it (a password, provider links), so
//!   that session was opened with them, by whoever set them or was given them. Its credentials
//!   stay; every *other* session is revoked.
//! - **Any other proof** (verifyEmail signed out or as someone else, signInWithCode, a reset
//!   link): the prover never held the account. The password, every provider link, every
//!   passkey, every session, pending email changes (an attacker's pending change would move the account to
//!   their address after the victim verified it) and pending linking flows are dropped. The
//!   prover gets in by what they proved: a new session (signInWithCode), a new password
//!   (resetPassword), or, after verifyEmail, by an emailed code or a reset link.
//!
//! We do not record which session set each credential: before the proof they all come from
//! one chain of sessions that began with the account's first credential, so "the session that
//! set them" and "a session of this user" are the same people. What remains possible is the
//! victim knowingly signing in with a password someone else chose and then verifying in that
//! session; the password then stays, as the victim accepted it.

use crate::auth::client::ClientInfo;
use crate::auth::session_revocation;
use crate::error::{AppError, AppResult};
use crate::security_log::{self, Event, EventType};
use crate::state::Ctx;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use todoql_entity::email_verification_code::CodeAction;
use todoql_entity::{account, email_verification_code, oauth_state, passkey, user};
use uuid::Uuid;

/// Where a proof of the address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prover {
    /// A live session of the account's own user (its id).
    OwnSession(Uuid),
    /// Anywhere else: signed out, another user's session, or a session the proof creates.
    Elsewhere,
}

/// Records, inside the transaction of a proof, that `user`'s address is proven (EMAIL_VERIFIED,
/// caused by `client`). The first proof drops what was set before it (see the module docs);
/// later proofs change nothing. Returns the user as it is now.
pub(crate) async fn address_proven<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user: user::Model,
    prover: Prover,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    let (db, now) = (cx.db(), cx.now());
    if user.email_verified {
        return Ok(user);
    }
    let keep = match prover {
        Prover::OwnSession(session_id) => Some(session_id),
        Prover::Elsewhere => None,
    };
    let mut first_proof = user::Entity::update_many()
        .col_expr(user::Column::EmailVerified, Expr::value(true))
        .col_expr(user::Column::UpdatedAt, Expr::value(now));
    if keep.is_none() {
        first_proof = first_proof.col_expr(
            user::Column::PasswordHash,
            Expr::value(Option::<String>::None),
        );
    }
    // Conditional on still being unverified: of two proofs at once, one drops, once.
    let changed = first_proof
        .filter(user::Column::Id.eq(user.id))
        .filter(user::Column::EmailVerified.eq(false))
        .exec(db)
        .await?
        .rows_affected;
    if changed == 1 {
        // Credentials first, sessions last: a sign-in through one of them that is committing
        // right now holds its row (the user's, or the provider link's), so the statements
        // below wait for it, and the revocation then sees its session.
        if keep.is_none() {
            drop_what_the_prover_never_held(db, user.id).await?;
        }
        session_revocation::revoke_all_except(cx, user.id, keep, client).await?;
        let event = Event::about(EventType::EmailVerified, keep);
        security_log::record(cx, user.id, event, client).await?;
        tracing::info!(
            user_id = %user.id,
            credentials_kept = keep.is_some(),
            "address proven for the first time"
        );
    }
    user::Entity::find_by_id(user.id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("proven user vanished")))
}

async fn drop_what_the_prover_never_held<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
) -> AppResult<()> {
    account::Entity::delete_many()
        .filter(account::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    email_verification_code::Entity::delete_many()
        .filter(email_verification_code::Column::UserId.eq(user_id))
        .filter(email_verification_code::Column::Action.eq(CodeAction::ChangeEmail))
        .exec(db)
        .await?;
    oauth_state::Entity::delete_many()
        .filter(oauth_state::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    passkey::Entity::delete_many()
        .filter(passkey::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}
