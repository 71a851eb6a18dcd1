//! Sessions record how and when the user last proved who they are, for the recent-sign-in
//! rule: `authenticated_at` (the sign-in; kept across refreshes) and `authentication_methods`
//! (e.g. `PASSWORD`, `EMAIL_CODE`, `OAUTH`).
//!
//! Existing sessions were authenticated when they were created; how is unknown (empty). The
//! column default (the epoch) is never used by the server, which always sets the value; a row
//! written without it would only ever count as an old sign-in, never as a recent one.

use sea_orm_migration::{prelude::*, schema::*};

/// Adds sessions.authenticated_at and sessions.authentication_methods.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(
                        timestamp_with_time_zone(Sessions::AuthenticatedAt)
                            .default("1970-01-01T00:00:00+00:00"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(string(Sessions::AuthenticationMethods).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Sessions::Table)
                    .value(Sessions::AuthenticatedAt, Expr::col(Sessions::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .drop_column(Sessions::AuthenticationMethods)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .drop_column(Sessions::AuthenticatedAt)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    CreatedAt,
    AuthenticatedAt,
    AuthenticationMethods,
}
