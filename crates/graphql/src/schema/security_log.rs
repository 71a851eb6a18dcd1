//! The caller's security log: `securityEvents`, its event type and its connection.

use crate::error::Result;
use crate::request::{require_viewer, state};
use crate::schema::connection::{Connection, ConnectionNode, ListCount, counted};
use crate::schema::scalars::DateTime;
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use futures_util::future::BoxFuture;
use todoql_domain::paging::page::PageRequest;
use todoql_domain::security_log::list::{self, EventFilter, LOG_ORDERING};
use todoql_entity::security_event;
use uuid::Uuid;

/// Page size when `first` is absent or null.
const DEFAULT_PAGE_SIZE: i32 = 20;

/// What happened to the account.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "todoql_entity::security_event::SecurityEventType")]
pub enum SecurityEventType {
    /// The account was created.
    SignedUp,
    /// A session started (`method` says how).
    SignedIn,
    /// A sign-in to this account was refused (wrong password or code).
    SignInFailed,
    /// A second-factor answer was refused.
    MfaFailed,
    /// A session was ended by signing out.
    SignedOut,
    /// A session was ended by the user, by another change (a new password, a proven address)
    /// or because its refresh token was stolen.
    SessionRevoked,
    /// A refresh token was presented after it had been replaced: its session was revoked.
    RefreshTokenReused,
    /// The password was changed (or a first one set) while signed in.
    PasswordChanged,
    /// The password was set with a reset link.
    PasswordReset,
    /// The address was proven for the first time.
    EmailVerified,
    /// The account moved to a new address.
    EmailChanged,
    /// A provider account was linked (`provider` names it).
    OauthLinked,
    /// A provider account was unlinked (`provider` names it).
    OauthUnlinked,
    /// Two-factor authentication was turned on.
    TotpEnabled,
    /// Two-factor authentication was turned off.
    TotpDisabled,
    /// New recovery codes replaced the old ones.
    RecoveryCodesRegenerated,
    /// A recovery code was used to sign in.
    RecoveryCodeUsed,
    /// A passkey was registered.
    PasskeyAdded,
    /// A passkey was removed.
    PasskeyRemoved,
}

/// One entry of the caller's security log.
pub struct SecurityEvent(security_event::Model);

#[Object]
impl SecurityEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    #[graphql(name = "type")]
    async fn event_type(&self) -> SecurityEventType {
        self.0.event_type.into()
    }
    /// For SIGNED_IN and SIGN_IN_FAILED: PASSWORD, EMAIL_CODE, OAUTH, PASSKEY, TOTP, RECOVERY_CODE.
    async fn method(&self) -> Option<&str> {
        self.0.method.as_deref()
    }
    /// The OAuth provider of an OAuth sign-in, sign-up, link or unlink (e.g. `github`).
    async fn provider(&self) -> Option<&str> {
        self.0.provider.as_deref()
    }
    /// The session the event concerns (the new one for SIGNED_IN, the revoked one for SESSION_REVOKED).
    async fn session_id(&self) -> Option<ID> {
        self.0.session_id.map(|id| ID(id.to_string()))
    }
    /// The client's IP address, as the sessions list shows it.
    async fn ip_address(&self) -> Option<&str> {
        self.0.ip_address.as_deref()
    }
    /// The client's user agent.
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

impl ConnectionNode for SecurityEvent {
    const CONNECTION_NAME: &'static str = "SecurityEventConnection";
    type Row = security_event::Model;
    type Edge = SecurityEventEdge;
    type Count = SecurityLogFields;

    fn from_row(row: security_event::Model) -> Self {
        SecurityEvent(row)
    }
    fn edge(cursor: String, node: Self) -> SecurityEventEdge {
        SecurityEventEdge { cursor, node }
    }
}

/// A security event and its cursor.
#[derive(SimpleObject)]
pub struct SecurityEventEdge {
    /// Opaque; pass it as `after` to continue after this event.
    pub cursor: String,
    /// The event.
    pub node: SecurityEvent,
}

/// What the security log adds to its connection.
pub struct SecurityLogFields {
    owner: Uuid,
    filter: EventFilter,
}

impl ListCount for SecurityLogFields {
    const DESCRIPTION: &'static str = "How many events match the filter, across all pages.";

    fn total_count<'a>(&'a self, ctx: &'a Context<'_>) -> BoxFuture<'a, Result<i32>> {
        Box::pin(counted(list::count(state(ctx), self.owner, &self.filter)))
    }
}

/// The security-log query.
#[derive(Default)]
pub struct SecurityLogQuery;

#[Object]
impl SecurityLogQuery {
    /// The caller's security events (sign-ins, failures, credential and session changes), newest first.
    async fn security_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        types: Option<Vec<SecurityEventType>>,
    ) -> Result<Connection<SecurityEvent>> {
        let viewer = require_viewer(ctx).await?;
        let request = PageRequest::new(
            first.unwrap_or(DEFAULT_PAGE_SIZE),
            after.as_deref(),
            LOG_ORDERING,
        )?;
        let filter = EventFilter {
            types: types.map(|types| types.into_iter().map(Into::into).collect()),
        };
        let with_count = ctx.look_ahead().field("totalCount").exists();
        let page = list::page(state(ctx), viewer.user.id, &filter, &request, with_count).await?;
        let fields = SecurityLogFields {
            owner: viewer.user.id,
            filter,
        };
        Ok(Connection::new(page, fields))
    }
}
