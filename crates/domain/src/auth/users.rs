//! Users: the one definition of a live user (not deleted), the finders every flow starts
//! from, and the one way a new user is written.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Select, Set,
};
use todoql_entity::user;
use uuid::Uuid;

/// How long a soft-deleted user stays before the purge removes it.
pub const DELETED_RETENTION_DAYS: i64 = 30;

/// Users who can sign in: not deleted. A deleted user's address may belong to a new account.
pub fn live() -> Select<user::Entity> {
    user::Entity::find().filter(user::Column::DeletedAt.is_null())
}

/// The live user with this id.
pub fn live_by_id(id: Uuid) -> Select<user::Entity> {
    live().filter(user::Column::Id.eq(id))
}

/// The live user with this (normalised) address; at most one, by a partial unique index.
pub fn live_by_email(email: &str) -> Select<user::Entity> {
    live().filter(user::Column::Email.eq(email))
}

/// A user about to be created.
#[derive(Debug)]
pub struct NewUser {
    /// The normalised address.
    pub email: String,
    /// The display name.
    pub username: String,
    /// The avatar URL, if any.
    pub avatar: Option<String>,
    /// The Argon2 hash of the password; `None` for an account without password.
    pub password_hash: Option<String>,
    /// Whether the address is proven already (a code sign-in, a provider that vouches for it).
    pub email_verified: bool,
}

impl NewUser {
    /// Writes the user, created and updated `now`. A unique violation (the address taken by a
    /// live user meanwhile) is the caller's to turn into its CONFLICT message.
    pub async fn insert<C: ConnectionTrait>(
        self,
        db: &C,
        now: DateTime<Utc>,
    ) -> Result<user::Model, DbErr> {
        user::ActiveModel {
            id: Set(Uuid::now_v7()),
            email: Set(self.email),
            username: Set(self.username),
            avatar: Set(self.avatar),
            password_hash: Set(self.password_hash),
            email_verified: Set(self.email_verified),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            totp_enabled: Set(false),
        }
        .insert(db)
        .await
    }
}
