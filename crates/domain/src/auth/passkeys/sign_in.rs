//! Signing in with a passkey: for the passkeys of a known address, or for any discoverable
//! passkey of the site (no address typed, conditional UI). Complete on its own: never
//! MFA_REQUIRED.
//!
//! An address without passkeys (or without an account) gets options of the same shape — a
//! challenge and one credential id derived from the address with a server key, the same on
//! every request — so the answer does not tell whether the address has an account.

use super::{Ceremony, ceremony, credential_id, options_json, stored};
use crate::auth::client::{AuthMethod, ClientInfo};
use crate::auth::identity::normalize_email;
use crate::auth::sessions::{self, SignedIn};
use crate::auth::users;
use crate::error::{AppError, AppResult};
use crate::rate_limit::{self, Key};
use crate::security_log::{self, EventType};
use crate::state::AppState;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use todoql_entity::passkey;
use todoql_entity::webauthn_ceremony::CeremonyKind;
use uuid::Uuid;
use webauthn_rs::fake::{FakePasskeyDistribution, WebauthnFakeCredentialGenerator};
use webauthn_rs::prelude::{
    CredentialID, DiscoverableAuthentication, DiscoverableKey, PasskeyAuthentication,
    PublicKeyCredential, WebauthnError,
};

/// Options for `navigator.credentials.get()`: for `email`'s passkeys, or without an address
/// for any discoverable passkey of this site. Each start stores a ceremony, so starts are
/// limited per client IP (RATE_LIMITED), counted before anything else.
pub async fn start(
    app: &AppState,
    email: Option<&str>,
    client: &ClientInfo,
) -> AppResult<Ceremony> {
    let webauthn = app.services().passkeys().webauthn()?;
    if let Some(ip) = &client.ip {
        let keys = [Key::PasskeyStartIp(ip)];
        rate_limit::take(app.db(), &app.settings().rate_limits, &keys, app.now())
            .await?
            .keep();
    }
    let cx = app.on(app.db());
    let Some(email) = email.filter(|e| !e.trim().is_empty()) else {
        let (options, state) = webauthn
            .start_discoverable_authentication()
            .map_err(internal)?;
        let id = ceremony::store(cx, None, CeremonyKind::Discoverable, &state).await?;
        return Ok(Ceremony {
            id,
            options: options_json(&options.public_key)?,
        });
    };
    let email = normalize_email(email, "email")?;
    let user = users::live_by_email(&email).one(app.db()).await?;
    let rows = match &user {
        Some(user) => super::manage::of_user(app.db(), user.id).await?,
        None => Vec::new(),
    };
    let (Some(user), false) = (user, rows.is_empty()) else {
        return decoy(app, &email).await;
    };
    let keys = rows.iter().map(stored).collect::<AppResult<Vec<_>>>()?;
    let (options, state) = webauthn
        .start_passkey_authentication(&keys)
        .map_err(internal)?;
    let id = ceremony::store(cx, Some(user.id), CeremonyKind::SignIn, &state).await?;
    Ok(Ceremony {
        id,
        options: options_json(&options.public_key)?,
    })
}

/// Options for an address with no passkey: a real challenge (from a discoverable ceremony
/// nobody can finish) with the allow-list a passkey user's options have.
async fn decoy(app: &AppState, email: &str) -> AppResult<Ceremony> {
    let webauthn = app.services().passkeys().webauthn()?;
    let (options, state) = webauthn
        .start_discoverable_authentication()
        .map_err(internal)?;
    let mut options = options_json(&options.public_key)?;
    let fake_ids = decoy_ids(app.refresh_key(), email)?;
    let allow: Vec<serde_json::Value> = fake_ids
        .iter()
        .map(|id| json!({ "type": "public-key", "id": credential_id(id.as_ref()) }))
        .collect();
    if let Some(object) = options.as_object_mut() {
        object.insert("allowCredentials".into(), allow.into());
        // The discoverable ceremony asks for the uvm extension; an address's ceremony does not.
        object.remove("extensions");
    }
    let id = ceremony::store(app.on(app.db()), None, CeremonyKind::Decoy, &state).await?;
    Ok(Ceremony { id, options })
}

/// The credential ids an address without passkeys is shown: webauthn-rs's generator gives
/// believable ones (lengths as real passkeys have them), the same for an address on every
/// request and every instance (keyed by a server key). Its distribution sometimes draws no
/// credential at all, but a user with passkeys always has one, so an empty draw would give the
/// address away: then the next draw (of the address with a counter, still deterministic) is
/// taken.
fn decoy_ids(key: &[u8], email: &str) -> AppResult<Vec<CredentialID>> {
    let generator =
        WebauthnFakeCredentialGenerator::<FakePasskeyDistribution>::new(key).map_err(internal)?;
    for attempt in 0u8..32 {
        let seed = match attempt {
            0 => email.to_owned(),
            n => format!("{email}\u{0}{n}"),
        };
        let ids = generator.generate(seed.as_bytes()).map_err(internal)?;
        if !ids.is_empty() {
            return Ok(ids);
        }
    }
    Err(AppError::internal(anyhow::anyhow!(
        "the fake credential generator drew no credential 32 times"
    )))
}

/// Finishes the sign-in `ceremony_id` with the browser's `credential`
/// (`PublicKeyCredential.toJSON()`): checks the signature, user verification and the
/// signature counter, stores the counter, and starts a session (method PASSKEY).
pub async fn finish(
    app: &AppState,
    ceremony_id: &str,
    credential: serde_json::Value,
    client: &ClientInfo,
) -> AppResult<SignedIn> {
    let webauthn = app.services().passkeys().webauthn()?;
    let row = ceremony::take(app.on(app.db()), ceremony_id).await?;
    let credential: PublicKeyCredential = serde_json::from_value(credential).map_err(|e| {
        AppError::bad_input(
            "credential",
            format!("Expected the PublicKeyCredential's toJSON() of a sign-in: {e}"),
        )
    })?;
    let (user_id, result) = match row.kind {
        CeremonyKind::SignIn => {
            let user_id = row.user_id.ok_or_else(refused)?;
            let key_row = key_of(app, user_id, credential.get_credential_id()).await?;
            let state: PasskeyAuthentication = ceremony::state_of(&row)?;
            let checked = webauthn.finish_passkey_authentication(&credential, &state);
            (user_id, checked.map(|result| (key_row, result)))
        }
        CeremonyKind::Discoverable => {
            let (user_id, used) = webauthn
                .identify_discoverable_authentication(&credential)
                .map_err(|_| refused())?;
            let key_row = key_of(app, user_id, used).await?;
            let key: DiscoverableKey = (&stored(&key_row)?).into();
            let state: DiscoverableAuthentication = ceremony::state_of(&row)?;
            let checked = webauthn.finish_discoverable_authentication(&credential, state, &[key]);
            (user_id, checked.map(|result| (key_row, result)))
        }
        CeremonyKind::Decoy | CeremonyKind::Registration => return Err(refused()),
    };
    let (key_row, result) = match result {
        Ok(done) => done,
        Err(err) => {
            if matches!(err, WebauthnError::CredentialPossibleCompromise) {
                // The authenticator's counter did not move forward: a cloned key may be in use.
                tracing::warn!(%user_id, "passkey signature counter went backwards; sign-in refused");
                metrics::counter!("todoql_passkey_counter_regressions_total").increment(1);
            } else {
                tracing::info!(%user_id, error = %err, "passkey sign-in refused");
            }
            let failed = EventType::SignInFailed;
            security_log::record_failure(
                app,
                Some(user_id),
                "",
                failed,
                AuthMethod::Passkey,
                client,
            );
            return Err(refused());
        }
    };
    let mut key = stored(&key_row)?;
    key.update_credential(&result);
    let user = users::live_by_id(user_id)
        .one(app.db())
        .await?
        .ok_or_else(refused)?;

    let txn = crate::db::begin_write(app.db()).await?;
    // Compare-and-set on the stored credential: of two sign-ins with one passkey at the same
    // moment, the second finds the counter moved and is refused.
    let saved = passkey::Entity::update_many()
        .col_expr(
            passkey::Column::Credential,
            Expr::value(serde_json::to_string(&key).map_err(AppError::internal)?),
        )
        .col_expr(passkey::Column::LastUsedAt, Expr::value(app.now()))
        .filter(passkey::Column::Id.eq(key_row.id))
        .filter(passkey::Column::Credential.eq(key_row.credential.as_str()))
        .exec(&txn)
        .await?;
    if saved.rows_affected != 1 {
        txn.rollback().await?;
        return Err(refused());
    }
    let signed_in =
        sessions::start_session(app.on(&txn), user, client, AuthMethod::Passkey).await?;
    txn.commit().await?;
    Ok(signed_in)
}

/// `user_id`'s passkey with the credential id `used`.
async fn key_of(app: &AppState, user_id: Uuid, used: &[u8]) -> AppResult<passkey::Model> {
    passkey::Entity::find()
        .filter(passkey::Column::CredentialId.eq(credential_id(used)))
        .filter(passkey::Column::UserId.eq(user_id))
        .one(app.db())
        .await?
        .ok_or_else(refused)
}

fn refused() -> AppError {
    AppError::InvalidToken(
        "This passkey could not be verified for this sign-in. Try again, or sign in another way."
            .into(),
    )
}

fn internal(err: WebauthnError) -> AppError {
    AppError::internal(anyhow::anyhow!("passkey ceremony: {err}"))
}
