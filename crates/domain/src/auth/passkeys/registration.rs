//! Adding a passkey: a signed-in user with a recent sign-in starts a registration (existing
//! passkeys excluded, user verification required, a discoverable credential preferred) and
//! finishes it with the browser's answer.

use super::{Ceremony, ceremony, credential_id, options_json, stored};
use crate::auth::client::ClientInfo;
use crate::auth::reauth::{lock_for_credential_change, require_recent_sign_in};
use crate::auth::viewer::Viewer;
use crate::error::{AppError, AppResult};
use crate::security_log::{self, Event, EventType};
use crate::state::AppState;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use todoql_entity::passkey;
use todoql_entity::webauthn_ceremony::CeremonyKind;
use uuid::Uuid;
use webauthn_rs::prelude::{PasskeyRegistration, RegisterPublicKeyCredential};

/// Longest passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Options for `navigator.credentials.create()` to add a passkey to the viewer.
pub async fn start(app: &AppState, viewer: &Viewer) -> AppResult<Ceremony> {
    let webauthn = app.services().passkeys().webauthn()?;
    require_recent_sign_in(app, viewer)?;
    let user = &viewer.user;
    let existing = passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user.id))
        .all(app.db())
        .await?;
    let exclude = existing
        .iter()
        .map(|row| stored(row).map(|key| key.cred_id().clone()))
        .collect::<AppResult<Vec<_>>>()?;
    let (options, state) = webauthn
        .start_passkey_registration(user.id, &user.email, &user.username, Some(exclude))
        .map_err(|e| AppError::internal(anyhow::anyhow!("start passkey registration: {e}")))?;
    let mut options = options_json(&options.public_key)?;
    // Discoverable credentials let the user sign in without typing an address (conditional
    // UI); preferred, not required, so authenticators without them still work. (webauthn-rs's
    // passkey flow asks for none; the state it keeps does not depend on it.)
    if let Some(selection) = options
        .get_mut("authenticatorSelection")
        .and_then(|s| s.as_object_mut())
    {
        selection.insert("residentKey".into(), "preferred".into());
    }
    let id = ceremony::store(
        app.on(app.db()),
        Some(user.id),
        CeremonyKind::Registration,
        &state,
    )
    .await?;
    Ok(Ceremony { id, options })
}

/// Finishes the viewer's registration `ceremony_id` with the browser's `credential`
/// (`PublicKeyCredential.toJSON()`): stores the passkey (named `name`, or "Passkey N") and
/// records PASSKEY_ADDED.
pub async fn finish(
    app: &AppState,
    viewer: &Viewer,
    ceremony_id: &str,
    credential: serde_json::Value,
    name: Option<&str>,
    client: &ClientInfo,
) -> AppResult<passkey::Model> {
    let webauthn = app.services().passkeys().webauthn()?;
    let name = name.map(validate_name).transpose()?;
    let row = ceremony::take(app.on(app.db()), ceremony_id).await?;
    if row.kind != CeremonyKind::Registration || row.user_id != Some(viewer.user.id) {
        return Err(AppError::InvalidToken(
            "This passkey ceremony belongs to another sign-in. Start again.".into(),
        ));
    }
    let state: PasskeyRegistration = ceremony::state_of(&row)?;
    let credential: RegisterPublicKeyCredential =
        serde_json::from_value(credential).map_err(|e| {
            AppError::bad_input(
                "credential",
                format!("Expected the PublicKeyCredential's toJSON() of a registration: {e}"),
            )
        })?;
    let key = webauthn
        .finish_passkey_registration(&credential, &state)
        .map_err(|e| {
            tracing::info!(user_id = %viewer.user.id, error = %e, "passkey registration refused");
            AppError::bad_input(
                "credential",
                format!("The authenticator's answer was refused: {e}."),
            )
        })?;

    let txn = crate::db::begin_write(app.db()).await?;
    let cx = app.on(&txn);
    let user = lock_for_credential_change(cx, viewer).await?;
    let name = match name {
        Some(name) => name,
        None => {
            let count = passkey::Entity::find()
                .filter(passkey::Column::UserId.eq(user.id))
                .count(&txn)
                .await?;
            format!("Passkey {}", count + 1)
        }
    };
    let now = cx.now();
    let added = passkey::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        credential_id: Set(credential_id(key.cred_id().as_ref())),
        credential: Set(serde_json::to_string(&key).map_err(AppError::internal)?),
        name: Set(name),
        created_at: Set(now),
        last_used_at: Set(None),
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::conflict_on_unique(e, "This passkey is registered already."))?;
    let event = Event::about(EventType::PasskeyAdded, Some(viewer.session.id));
    security_log::record(cx, user.id, event, client).await?;
    txn.commit().await?;
    Ok(added)
}

/// A passkey's name: trimmed, 1 to 64 characters.
pub(crate) fn validate_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(AppError::bad_input(
            "name",
            format!("A passkey's name has 1 to {MAX_NAME_CHARS} characters."),
        ));
    }
    Ok(name.to_owned())
}
