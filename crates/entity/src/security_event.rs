//! One entry of a user's security log: a sign-in, a failed attempt, a credential or session
//! change. Written in the transaction of what it records.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "security_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    #[sea_orm(column_name = "type")]
    pub event_type: SecurityEventType,
    /// How the user signed in or tried to (`PASSWORD`, `EMAIL_CODE`, `OAUTH`, …).
    pub method: Option<String>,
    /// The OAuth provider of a sign-in, a link or an unlink (`github`, …).
    pub provider: Option<String>,
    /// The session the event concerns: the new one of a sign-in, the revoked one of a
    /// revocation. No foreign key: sessions are purged before their events.
    pub session_id: Option<Uuid>,
    /// The client that caused the event (as the sessions list shows it).
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTimeUtc,
}

/// What happened, stored as the name the API shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum SecurityEventType {
    #[sea_orm(string_value = "SIGNED_UP")]
    SignedUp,
    #[sea_orm(string_value = "SIGNED_IN")]
    SignedIn,
    #[sea_orm(string_value = "SIGN_IN_FAILED")]
    SignInFailed,
    #[sea_orm(string_value = "MFA_FAILED")]
    MfaFailed,
    #[sea_orm(string_value = "SIGNED_OUT")]
    SignedOut,
    #[sea_orm(string_value = "SESSION_REVOKED")]
    SessionRevoked,
    #[sea_orm(string_value = "REFRESH_TOKEN_REUSED")]
    RefreshTokenReused,
    #[sea_orm(string_value = "PASSWORD_CHANGED")]
    PasswordChanged,
    #[sea_orm(string_value = "PASSWORD_RESET")]
    PasswordReset,
    #[sea_orm(string_value = "EMAIL_VERIFIED")]
    EmailVerified,
    #[sea_orm(string_value = "EMAIL_CHANGED")]
    EmailChanged,
    #[sea_orm(string_value = "OAUTH_LINKED")]
    OauthLinked,
    #[sea_orm(string_value = "OAUTH_UNLINKED")]
    OauthUnlinked,
    #[sea_orm(string_value = "TOTP_ENABLED")]
    TotpEnabled,
    #[sea_orm(string_value = "TOTP_DISABLED")]
    TotpDisabled,
    #[sea_orm(string_value = "RECOVERY_CODES_REGENERATED")]
    RecoveryCodesRegenerated,
    #[sea_orm(string_value = "RECOVERY_CODE_USED")]
    RecoveryCodeUsed,
    #[sea_orm(string_value = "PASSKEY_ADDED")]
    PasskeyAdded,
    #[sea_orm(string_value = "PASSKEY_REMOVED")]
    PasskeyRemoved,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
