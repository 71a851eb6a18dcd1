//! One entry of a user's todo change log: which todo changed how, at which of the user's
//! revisions. Written in the transaction of the change (`domain/todos/changes.rs`); the user's
//! last revision is `users.change_revision`, which only that module reads and writes (it is
//! not on the user model, so that no other user statement carries it).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "todo_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// 1 for the user's first change, then +1 per change, no gaps (UNIQUE with user_id).
    pub revision: i64,
    pub kind: TodoChangeKind,
    /// The todo's id (also the original id of its trash entry).
    pub todo_id: Uuid,
    /// The session that made the change; `None` for the purge. No foreign key: sessions are
    /// purged before the log.
    pub origin_session_id: Option<Uuid>,
    pub occurred_at: DateTimeUtc,
}

/// What happened to the todo, stored as the name the API shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum TodoChangeKind {
    #[sea_orm(string_value = "CREATED")]
    Created,
    #[sea_orm(string_value = "UPDATED")]
    Updated,
    #[sea_orm(string_value = "DELETED")]
    Deleted,
    #[sea_orm(string_value = "RESTORED")]
    Restored,
    #[sea_orm(string_value = "PURGED")]
    Purged,
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
