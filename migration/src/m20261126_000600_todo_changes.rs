//! The todo change log: `users.change_revision` (the user's last revision) and `todo_changes`
//! (one row per change, written in the change's transaction; see `domain/todos/changes.rs`).

use sea_orm_migration::{prelude::*, schema::*};

/// Adds users.change_revision and creates todo_changes with its indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(big_integer(Users::ChangeRevision).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TodoChanges::Table)
                    .col(pk_uuid(TodoChanges::Id))
                    .col(uuid(TodoChanges::UserId))
                    .col(big_integer(TodoChanges::Revision))
                    .col(string(TodoChanges::Kind))
                    .col(uuid(TodoChanges::TodoId))
                    .col(uuid_null(TodoChanges::OriginSessionId))
                    .col(timestamp_with_time_zone(TodoChanges::OccurredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_todo_changes_user_id")
                            .from(TodoChanges::Table, TodoChanges::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One revision per user, and the log after a revision is one index range.
        manager
            .create_index(
                Index::create()
                    .name("ux_todo_changes_user_id_revision")
                    .table(TodoChanges::Table)
                    .col(TodoChanges::UserId)
                    .col(TodoChanges::Revision)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The retention purge.
        manager
            .create_index(
                Index::create()
                    .name("ix_todo_changes_occurred_at")
                    .table(TodoChanges::Table)
                    .col(TodoChanges::OccurredAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TodoChanges::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::ChangeRevision)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum TodoChanges {
    Table,
    Id,
    UserId,
    Revision,
    Kind,
    TodoId,
    OriginSessionId,
    OccurredAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    ChangeRevision,
}
