//! A pending OAuth authorization: state, PKCE verifier, nonce and the browser's challenge;
//! 10 minutes, single use.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// SHA-256 (hex) of the state sent to the provider.
    #[sea_orm(unique)]
    pub state: String,
    pub provider: String,
    pub pkce_verifier: String,
    pub nonce: Option<String>,
    pub redirect_uri: String,
    /// base64url(SHA-256(verifier)) of the verifier the browser that started the flow keeps
    /// (RFC 7636 S256); `None` only for flows started before it existed, which cannot complete.
    pub browser_challenge: Option<String>,
    /// Set when a signed-in user links a provider.
    pub user_id: Option<Uuid>,
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
