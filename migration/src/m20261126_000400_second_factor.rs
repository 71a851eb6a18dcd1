//! The second factor: TOTP factors, recovery codes, and the sign-ins waiting for their second
//! step (`mfa_challenges`).
//!
//! `users.totp_enabled` says on the user's row whether a confirmed factor exists. Every sign-in
//! reads that row anyway, and a session is only written while the row still says what the
//! sign-in saw (see `sessions::insert_if_still_allowed`), so a sign-in racing with the
//! confirmation of a factor cannot slip a session past it. It is set and cleared in the
//! transactions that confirm and remove the factor.

use sea_orm_migration::{prelude::*, schema::*};

/// Creates totp_factors, recovery_codes and mfa_challenges; adds users.totp_enabled.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(boolean(Users::TotpEnabled).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TotpFactors::Table)
                    .col(pk_uuid(TotpFactors::Id))
                    .col(uuid_uniq(TotpFactors::UserId))
                    .col(text(TotpFactors::Secret))
                    .col(timestamp_with_time_zone_null(TotpFactors::ConfirmedAt))
                    .col(big_integer_null(TotpFactors::LastUsedStep))
                    .col(timestamp_with_time_zone(TotpFactors::CreatedAt))
                    .foreign_key(&mut user_key("fk_totp_factors_user_id", TotpFactors::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(pk_uuid(RecoveryCodes::Id))
                    .col(uuid(RecoveryCodes::UserId))
                    .col(string(RecoveryCodes::CodeHash))
                    .col(timestamp_with_time_zone_null(RecoveryCodes::UsedAt))
                    .col(timestamp_with_time_zone(RecoveryCodes::CreatedAt))
                    .foreign_key(&mut user_key(
                        "fk_recovery_codes_user_id",
                        RecoveryCodes::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        // A code is looked up by (user, hash) when used.
        manager
            .create_index(
                Index::create()
                    .name("ux_recovery_codes_user_id_code_hash")
                    .table(RecoveryCodes::Table)
                    .col(RecoveryCodes::UserId)
                    .col(RecoveryCodes::CodeHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MfaChallenges::Table)
                    .col(pk_uuid(MfaChallenges::Id))
                    .col(string_uniq(MfaChallenges::TokenHash))
                    .col(uuid(MfaChallenges::UserId))
                    .col(string(MfaChallenges::FirstFactor))
                    .col(string_null(MfaChallenges::Provider))
                    .col(integer(MfaChallenges::Attempts).default(0))
                    .col(timestamp_with_time_zone(MfaChallenges::ExpiresAt))
                    .col(timestamp_with_time_zone(MfaChallenges::CreatedAt))
                    .foreign_key(&mut user_key(
                        "fk_mfa_challenges_user_id",
                        MfaChallenges::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        // Ending a user's pending sign-ins (every session revoked), and the purge.
        manager
            .create_index(
                Index::create()
                    .name("ix_mfa_challenges_user_id")
                    .table(MfaChallenges::Table)
                    .col(MfaChallenges::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_mfa_challenges_expires_at")
                    .table(MfaChallenges::Table)
                    .col(MfaChallenges::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MfaChallenges::Table.into_iden(),
            RecoveryCodes::Table.into_iden(),
            TotpFactors::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::TotpEnabled)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// The foreign key from `table`'s user_id to users, cascading on the hard delete.
fn user_key(name: &str, table: impl IntoIden) -> ForeignKeyCreateStatement {
    let table = table.into_iden();
    ForeignKey::create()
        .name(name)
        .from(table, Alias::new("user_id"))
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    TotpEnabled,
}

#[derive(DeriveIden)]
enum TotpFactors {
    Table,
    Id,
    UserId,
    Secret,
    ConfirmedAt,
    LastUsedStep,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MfaChallenges {
    Table,
    Id,
    TokenHash,
    UserId,
    FirstFactor,
    Provider,
    Attempts,
    ExpiresAt,
    CreatedAt,
}
