//! One linked account per provider per user: `unlinkAccount(provider)` names an account by
//! its provider, and linking must hold that rule under concurrent requests.

use sea_orm_migration::prelude::*;

/// Adds the unique index ux_accounts_user_id_provider_id.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ux_accounts_user_id_provider_id")
                    .table(Accounts::Table)
                    .col(Accounts::UserId)
                    .col(Accounts::ProviderId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_accounts_user_id_provider_id")
                    .if_exists()
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    UserId,
    ProviderId,
}
