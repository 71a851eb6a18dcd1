//! The users' security log: one row per sign-in, failure, credential or session change.
//!
//! `session_id` names the session an event concerns, with no foreign key: expired sessions are
//! purged long before their events (kept `TODOQL_AUDIT_RETENTION_DAYS`). The user's events go
//! with the user: the foreign key cascades on the hard delete, and account deletion removes
//! them at once.

use sea_orm_migration::{prelude::*, schema::*};

/// Creates security_events with its indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SecurityEvents::Table)
                    .col(pk_uuid(SecurityEvents::Id))
                    .col(uuid(SecurityEvents::UserId))
                    .col(string(SecurityEvents::Type))
                    .col(string_null(SecurityEvents::Method))
                    .col(string_null(SecurityEvents::Provider))
                    .col(uuid_null(SecurityEvents::SessionId))
                    .col(string_null(SecurityEvents::IpAddress))
                    .col(text_null(SecurityEvents::UserAgent))
                    .col(timestamp_with_time_zone(SecurityEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_security_events_user_id")
                            .from(SecurityEvents::Table, SecurityEvents::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The user's log, newest first, one index range per page (the type filter reads
        // along it).
        manager
            .create_index(
                Index::create()
                    .name("ix_security_events_user_id_created_at_id")
                    .table(SecurityEvents::Table)
                    .col(SecurityEvents::UserId)
                    .col(SecurityEvents::CreatedAt)
                    .col(SecurityEvents::Id)
                    .to_owned(),
            )
            .await?;
        // The retention purge.
        manager
            .create_index(
                Index::create()
                    .name("ix_security_events_created_at")
                    .table(SecurityEvents::Table)
                    .col(SecurityEvents::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SecurityEvents::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum SecurityEvents {
    Table,
    Id,
    UserId,
    Type,
    Method,
    Provider,
    SessionId,
    IpAddress,
    UserAgent,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
