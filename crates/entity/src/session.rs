//! One sign-in. Holds only hashes of refresh tokens.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// SHA-256 (hex) of the current refresh token.
    #[sea_orm(unique)]
    pub session_token: String,
    /// SHA-256 (hex) of the refresh token the last rotation replaced (retry grace window).
    pub previous_token_hash: Option<String>,
    pub rotated_at: Option<DateTimeUtc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub last_used_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    /// When the user last proved who they are in this session (the sign-in); kept across
    /// refreshes. Changes that take no password need it to be recent.
    pub authenticated_at: DateTimeUtc,
    /// How the session signed in, comma-separated (e.g. `PASSWORD`, `EMAIL_CODE`, `OAUTH`).
    pub authentication_methods: String,
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
