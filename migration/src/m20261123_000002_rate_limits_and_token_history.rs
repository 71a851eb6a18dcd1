//! Rate-limit counters, shared by all instances, and the history of rotated refresh tokens.

use sea_orm_migration::{prelude::*, schema::*};

/// Creates rate_limit_counters and refresh_token_history.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RateLimitCounters::Table)
                    .col(string(RateLimitCounters::Key).primary_key())
                    .col(timestamp_with_time_zone(RateLimitCounters::WindowStart))
                    .col(integer(RateLimitCounters::Count))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokenHistory::Table)
                    .col(string(RefreshTokenHistory::TokenHash).primary_key())
                    .col(uuid(RefreshTokenHistory::SessionId))
                    .col(timestamp_with_time_zone(RefreshTokenHistory::RotatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_token_history_session_id")
                            .from(RefreshTokenHistory::Table, RefreshTokenHistory::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_token_history_session_id")
                    .table(RefreshTokenHistory::Table)
                    .col(RefreshTokenHistory::SessionId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_refresh_token_history_session_id")
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(RefreshTokenHistory::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(RateLimitCounters::Table)
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
enum RateLimitCounters {
    Table,
    Key,
    WindowStart,
    Count,
}

#[derive(DeriveIden)]
enum RefreshTokenHistory {
    Table,
    TokenHash,
    SessionId,
    RotatedAt,
}

/// The table created by the initial schema, referenced here.
#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
}
