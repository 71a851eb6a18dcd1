//! A person with an account. Soft-deleted rows keep `deleted_at` until the purge.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Lowercased and trimmed; unique among live users.
    pub email: String,
    pub username: String,
    pub avatar: Option<String>,
    /// Argon2id PHC string; `None` for users who sign in by code or OAuth only.
    pub password_hash: Option<String>,
    pub email_verified: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    /// Whether a confirmed TOTP factor exists: every first factor then needs a second.
    pub totp_enabled: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::account::Entity")]
    Account,
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
    #[sea_orm(has_many = "super::todo::Entity")]
    Todo,
    #[sea_orm(has_many = "super::deleted_todo_log::Entity")]
    DeletedTodoLog,
    #[sea_orm(has_many = "super::password_reset_token::Entity")]
    PasswordResetToken,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}
impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}
impl Related<super::todo::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Todo.def()
    }
}
impl Related<super::deleted_todo_log::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::DeletedTodoLog.def()
    }
}
impl Related<super::password_reset_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PasswordResetToken.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
