//! A mail waiting to be sent. Deleted once sent, since its text holds a live code or link.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_name = "to")]
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub kind: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// Set while a sender holds the row, so two instances never send one mail twice.
    pub locked_until: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
