//! A started WebAuthn ceremony (registration or sign-in): its server-side state, 5 minutes,
//! consumed once by whichever instance gets the finish.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webauthn_ceremonies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user registering, or signing in by email; none for a discoverable sign-in.
    pub user_id: Option<Uuid>,
    pub kind: CeremonyKind,
    /// The ceremony state as webauthn-rs serialises it (holds the challenge).
    pub state: String,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum CeremonyKind {
    /// Adding a passkey to a signed-in user.
    #[sea_orm(string_value = "registration")]
    Registration,
    /// Signing in with one of a known user's passkeys (email given).
    #[sea_orm(string_value = "sign_in")]
    SignIn,
    /// Signing in with any discoverable passkey of the site (no email).
    #[sea_orm(string_value = "discoverable")]
    Discoverable,
    /// An email with no passkey behind it: options of the same shape, which nothing can finish.
    #[sea_orm(string_value = "decoy")]
    Decoy,
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
