//! Binds a pending OAuth flow to the browser that started it (RFC 6749 §10.12, RFC 7636 S256):
//! `oauth_states.browser_challenge` holds base64url(SHA-256(verifier)) of a verifier only that
//! browser knows; completeOAuth must present the verifier.
//!
//! Nullable: a flow started before this migration has no challenge and cannot be completed
//! (its user starts again; states live 10 minutes).

use sea_orm_migration::prelude::*;

/// Adds oauth_states.browser_challenge.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OauthStates::Table)
                    .add_column(
                        ColumnDef::new(OauthStates::BrowserChallenge)
                            .string_len(64)
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OauthStates::Table)
                    .drop_column(OauthStates::BrowserChallenge)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum OauthStates {
    Table,
    BrowserChallenge,
}
