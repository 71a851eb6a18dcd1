//! An emailed 6-digit code and its link token, both stored as hashes.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_verification_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The address the code was sent to (lowercased).
    pub email: String,
    /// SHA-256 (hex) of the 6-digit code.
    pub code: String,
    /// SHA-256 (hex) of the link token.
    #[sea_orm(unique)]
    pub token: String,
    /// What the code is for.
    pub action: CodeAction,
    /// The user asking to change their email (change_email only).
    pub user_id: Option<Uuid>,
    pub attempts: i32,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

/// What a code is for, stored as its string value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum CodeAction {
    /// Proving the address of an account.
    #[sea_orm(string_value = "verify_email")]
    VerifyEmail,
    /// Passwordless sign-in (or sign-up).
    #[sea_orm(string_value = "sign_in")]
    SignIn,
    /// Moving an account to a new address.
    #[sea_orm(string_value = "change_email")]
    ChangeEmail,
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
