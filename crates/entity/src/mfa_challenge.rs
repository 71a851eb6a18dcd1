//! A sign-in whose first factor was accepted, waiting for its second (`verifyMfa`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_challenges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// SHA-256 (hex) of the mfaToken the client holds.
    #[sea_orm(unique)]
    pub token_hash: String,
    pub user_id: Uuid,
    /// How the first factor was given (`PASSWORD`, `EMAIL_CODE`, `OAUTH`).
    pub first_factor: String,
    /// The OAuth provider of an OAuth first factor.
    pub provider: Option<String>,
    /// Answers given so far (counted before they are checked).
    pub attempts: i32,
    pub expires_at: DateTimeUtc,
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
