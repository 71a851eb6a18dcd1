//! A user's TOTP authenticator: inactive until confirmed with a code from it.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "totp_factors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// One factor per user.
    #[sea_orm(unique)]
    pub user_id: Uuid,
    /// The shared secret, encrypted (AES-256-GCM under `TODOQL_ENCRYPTION_KEY`).
    pub secret: String,
    /// When a code confirmed it; until then it protects nothing.
    pub confirmed_at: Option<DateTimeUtc>,
    /// The last time step a code was accepted for: no step is accepted twice.
    pub last_used_step: Option<i64>,
    pub created_at: DateTimeUtc,
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
