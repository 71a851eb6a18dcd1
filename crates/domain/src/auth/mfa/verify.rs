//! verifyMfa: the second step of a sign-in that answered MFA_REQUIRED.

use super::challenge;
use super::proof::{self, Answer};
use crate::auth::client::{AuthMethod, ClientInfo, Factors};
use crate::auth::sessions::{self, SignedIn};
use crate::auth::users;
use crate::error::{AppError, AppResult};
use crate::security_log::{self, Event, EventType};
use crate::state::AppState;

/// Finishes the pending sign-in of `mfa_token` with `answer`: the session, whose methods are
/// both factors (e.g. `PASSWORD,TOTP`), and SIGNED_IN naming the second.
///
/// Count, then check: the answer is counted against the token (5 at most) and against the
/// user's guesses before it is checked. Then, in one transaction, the code is used up, the
/// pending sign-in consumed and the session written; of two concurrent answers with the same
/// token or the same code, one signs in.
pub async fn verify_mfa(
    app: &AppState,
    mfa_token: &str,
    answer: Answer,
    client: &ClientInfo,
) -> AppResult<SignedIn> {
    let pending = challenge::count_answer(app, mfa_token).await?;
    let user_id = pending.user_id;
    let taken = proof::count_guess(app, user_id).await?;
    let txn = crate::db::begin_write(app.db()).await?;
    let cx = app.on(&txn);
    if !proof::check_and_use(cx, user_id, &answer).await? {
        txn.rollback().await?;
        return Err(proof::refused(app, taken, user_id, &answer, client).await);
    }
    let user = users::live_by_id(user_id).one(&txn).await?;
    let (true, Some(user)) = (challenge::consume(&txn, pending.id).await?, user) else {
        // Another answer finished this sign-in first (or the account is gone).
        txn.rollback().await?;
        taken.give_back(app.db()).await?;
        return Err(AppError::InvalidToken(
            "This sign-in was finished or ended. Sign in again.".into(),
        ));
    };
    let first = AuthMethod::parse(&pending.first_factor).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "unknown first factor {:?}",
            pending.first_factor
        ))
    })?;
    let factors = Factors {
        first,
        second: Some(answer.method()),
    };
    let provider = pending.provider.as_deref();
    let signed_in = sessions::start_session_via(cx, user, client, factors, provider).await?;
    if answer.method() == AuthMethod::RecoveryCode {
        let event = Event::about(EventType::RecoveryCodeUsed, Some(signed_in.session.id));
        security_log::record(cx, user_id, event, client).await?;
    }
    txn.commit().await?;
    taken.give_back(app.db()).await?;
    Ok(signed_in)
}
