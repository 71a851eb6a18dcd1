//! The initial schema: users and everything that hangs off them.
//!
//! Every key is a UUID, every timestamp is UTC (`timestamp with time zone`), and every foreign
//! key to `users` cascades on delete so that the purge of a user removes all their rows.
//! Foreign keys are declared inside `CREATE TABLE`, since SQLite cannot add them afterwards.

use sea_orm_migration::{prelude::*, schema::*};

/// Creates users, accounts, sessions, email_verification_codes, password_reset_tokens,
/// oauth_states, todos and deleted_todo_logs with their indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every index of this migration, by name, for `down`.
const INDEXES: &[&str] = &[
    "ux_users_email",
    "ix_users_deleted_at",
    "ux_accounts_provider_id_account_id",
    "ix_accounts_user_id",
    "ux_sessions_session_token",
    "ix_sessions_previous_token_hash",
    "ix_sessions_user_id_created_at",
    "ix_sessions_expires_at",
    "ux_email_verification_codes_token",
    "ix_email_verification_codes_email_action",
    "ix_email_verification_codes_expires_at",
    "ux_password_reset_tokens_token",
    "ix_password_reset_tokens_user_id",
    "ix_password_reset_tokens_expires_at",
    "ux_oauth_states_state",
    "ix_oauth_states_expires_at",
    "ux_todos_user_id_title",
    "ix_todos_user_id_created_at_id",
    "ix_todos_user_id_updated_at_id",
    "ix_todos_user_id_due_date_id",
    "ix_todos_user_id_title_id",
    "ux_deleted_todo_logs_original_todo_id",
    "ix_deleted_todo_logs_user_id_deleted_at_id",
    "ix_deleted_todo_logs_deleted_at",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_users(manager).await?;
        create_accounts(manager).await?;
        create_sessions(manager).await?;
        create_email_verification_codes(manager).await?;
        create_password_reset_tokens(manager).await?;
        create_oauth_states(manager).await?;
        create_todos(manager).await?;
        create_deleted_todo_logs(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in INDEXES.iter().rev() {
            manager
                .drop_index(Index::drop().name(*name).if_exists().to_owned())
                .await?;
        }
        // Children before `users`, the table they all reference.
        for table in [
            DeletedTodoLogs::Table.into_iden(),
            Todos::Table.into_iden(),
            OauthStates::Table.into_iden(),
            PasswordResetTokens::Table.into_iden(),
            EmailVerificationCodes::Table.into_iden(),
            Sessions::Table.into_iden(),
            Accounts::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        // SQLite has transactional DDL too: a failed migration leaves nothing half-created.
        Some(true)
    }
}

/// A foreign key from `table.user_id` to `users.id`, deleted with the user.
fn user_fk(name: &str, table: impl IntoTableRef) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, "user_id")
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

async fn create_users(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Users::Table)
                .col(pk_uuid(Users::Id))
                .col(string(Users::Email))
                .col(string(Users::Username))
                .col(string_null(Users::Avatar))
                .col(string_null(Users::PasswordHash))
                .col(boolean(Users::EmailVerified))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .col(timestamp_with_time_zone_null(Users::DeletedAt))
                .to_owned(),
        )
        .await?;
    // Unique among live users only: a soft-deleted user's address can sign up again.
    manager
        .create_index(
            Index::create()
                .name("ux_users_email")
                .table(Users::Table)
                .col(Users::Email)
                .unique()
                .and_where(Expr::col(Users::DeletedAt).is_null())
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_users_deleted_at")
                .table(Users::Table)
                .col(Users::DeletedAt)
                .to_owned(),
        )
        .await
}

async fn create_accounts(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Accounts::Table)
                .col(pk_uuid(Accounts::Id))
                .col(uuid(Accounts::UserId))
                .col(string(Accounts::ProviderId))
                .col(string(Accounts::AccountId))
                .col(text_null(Accounts::AccessToken))
                .col(timestamp_with_time_zone_null(
                    Accounts::AccessTokenExpiresAt,
                ))
                .col(text_null(Accounts::RefreshToken))
                .col(timestamp_with_time_zone_null(
                    Accounts::RefreshTokenExpiresAt,
                ))
                .col(string_null(Accounts::Scope))
                .col(text_null(Accounts::IdToken))
                .col(text_null(Accounts::Raw))
                .col(timestamp_with_time_zone(Accounts::CreatedAt))
                .col(timestamp_with_time_zone(Accounts::UpdatedAt))
                .foreign_key(&mut user_fk("fk_accounts_user_id", Accounts::Table))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ux_accounts_provider_id_account_id")
                .table(Accounts::Table)
                .col(Accounts::ProviderId)
                .col(Accounts::AccountId)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_accounts_user_id")
                .table(Accounts::Table)
                .col(Accounts::UserId)
                .to_owned(),
        )
        .await
}

async fn create_sessions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Sessions::Table)
                .col(pk_uuid(Sessions::Id))
                .col(uuid(Sessions::UserId))
                .col(string(Sessions::SessionToken))
                .col(string_null(Sessions::PreviousTokenHash))
                .col(timestamp_with_time_zone_null(Sessions::RotatedAt))
                .col(string_null(Sessions::IpAddress))
                .col(text_null(Sessions::UserAgent))
                .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                .col(timestamp_with_time_zone(Sessions::CreatedAt))
                .col(timestamp_with_time_zone(Sessions::LastUsedAt))
                .col(timestamp_with_time_zone_null(Sessions::RevokedAt))
                .foreign_key(&mut user_fk("fk_sessions_user_id", Sessions::Table))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ux_sessions_session_token")
                .table(Sessions::Table)
                .col(Sessions::SessionToken)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_sessions_previous_token_hash")
                .table(Sessions::Table)
                .col(Sessions::PreviousTokenHash)
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_sessions_user_id_created_at")
                .table(Sessions::Table)
                .col(Sessions::UserId)
                .col(Sessions::CreatedAt)
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_sessions_expires_at")
                .table(Sessions::Table)
                .col(Sessions::ExpiresAt)
                .to_owned(),
        )
        .await
}

async fn create_email_verification_codes(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(EmailVerificationCodes::Table)
                .col(pk_uuid(EmailVerificationCodes::Id))
                .col(string(EmailVerificationCodes::Email))
                .col(string(EmailVerificationCodes::Code))
                .col(string(EmailVerificationCodes::Token))
                .col(string(EmailVerificationCodes::Action))
                .col(uuid_null(EmailVerificationCodes::UserId))
                .col(integer(EmailVerificationCodes::Attempts))
                .col(timestamp_with_time_zone(EmailVerificationCodes::ExpiresAt))
                .col(timestamp_with_time_zone(EmailVerificationCodes::CreatedAt))
                .col(timestamp_with_time_zone_null(
                    EmailVerificationCodes::UsedAt,
                ))
                .foreign_key(&mut user_fk(
                    "fk_email_verification_codes_user_id",
                    EmailVerificationCodes::Table,
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ux_email_verification_codes_token")
                .table(EmailVerificationCodes::Table)
                .col(EmailVerificationCodes::Token)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_email_verification_codes_email_action")
                .table(EmailVerificationCodes::Table)
                .col(EmailVerificationCodes::Email)
                .col(EmailVerificationCodes::Action)
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_email_verification_codes_expires_at")
                .table(EmailVerificationCodes::Table)
                .col(EmailVerificationCodes::ExpiresAt)
                .to_owned(),
        )
        .await
}

async fn create_password_reset_tokens(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(PasswordResetTokens::Table)
                .col(pk_uuid(PasswordResetTokens::Id))
                .col(uuid(PasswordResetTokens::UserId))
                .col(string(PasswordResetTokens::Token))
                .col(timestamp_with_time_zone(PasswordResetTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(PasswordResetTokens::UsedAt))
                .col(timestamp_with_time_zone(PasswordResetTokens::CreatedAt))
                .foreign_key(&mut user_fk(
                    "fk_password_reset_tokens_user_id",
                    PasswordResetTokens::Table,
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ux_password_reset_tokens_token")
                .table(PasswordResetTokens::Table)
                .col(PasswordResetTokens::Token)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_password_reset_tokens_user_id")
                .table(PasswordResetTokens::Table)
                .col(PasswordResetTokens::UserId)
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_password_reset_tokens_expires_at")
                .table(PasswordResetTokens::Table)
                .col(PasswordResetTokens::ExpiresAt)
                .to_owned(),
        )
        .await
}

async fn create_oauth_states(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(OauthStates::Table)
                .col(pk_uuid(OauthStates::Id))
                .col(string(OauthStates::State))
                .col(string(OauthStates::Provider))
                .col(string(OauthStates::PkceVerifier))
                .col(string_null(OauthStates::Nonce))
                .col(string(OauthStates::RedirectUri))
                .col(uuid_null(OauthStates::UserId))
                .col(timestamp_with_time_zone(OauthStates::ExpiresAt))
                .col(timestamp_with_time_zone(OauthStates::CreatedAt))
                .foreign_key(&mut user_fk("fk_oauth_states_user_id", OauthStates::Table))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ux_oauth_states_state")
                .table(OauthStates::Table)
                .col(OauthStates::State)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_oauth_states_expires_at")
                .table(OauthStates::Table)
                .col(OauthStates::ExpiresAt)
                .to_owned(),
        )
        .await
}

async fn create_todos(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Todos::Table)
                .col(pk_uuid(Todos::Id))
                .col(uuid(Todos::UserId))
                .col(string(Todos::Title))
                .col(text_null(Todos::Description))
                .col(timestamp_with_time_zone_null(Todos::DueDate))
                .col(boolean(Todos::IsCompleted))
                .col(timestamp_with_time_zone_null(Todos::CompletedAt))
                .col(timestamp_with_time_zone(Todos::CreatedAt))
                .col(timestamp_with_time_zone(Todos::UpdatedAt))
                .foreign_key(&mut user_fk("fk_todos_user_id", Todos::Table))
                .to_owned(),
        )
        .await?;
    // A title is unique among one user's incomplete todos only.
    manager
        .create_index(
            Index::create()
                .name("ux_todos_user_id_title")
                .table(Todos::Table)
                .col(Todos::UserId)
                .col(Todos::Title)
                .unique()
                .and_where(Expr::col(Todos::IsCompleted).not())
                .to_owned(),
        )
        .await?;
    // One index per sort key of the todo list's keyset pagination: (user_id, key, id).
    for (name, key) in [
        ("ix_todos_user_id_created_at_id", Todos::CreatedAt),
        ("ix_todos_user_id_updated_at_id", Todos::UpdatedAt),
        ("ix_todos_user_id_due_date_id", Todos::DueDate),
        ("ix_todos_user_id_title_id", Todos::Title),
    ] {
        manager
            .create_index(
                Index::create()
                    .name(name)
                    .table(Todos::Table)
                    .col(Todos::UserId)
                    .col(key)
                    .col(Todos::Id)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

async fn create_deleted_todo_logs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(DeletedTodoLogs::Table)
                .col(pk_uuid(DeletedTodoLogs::Id))
                .col(uuid(DeletedTodoLogs::UserId))
                .col(uuid(DeletedTodoLogs::OriginalTodoId))
                .col(string(DeletedTodoLogs::Title))
                .col(text_null(DeletedTodoLogs::Description))
                .col(timestamp_with_time_zone_null(DeletedTodoLogs::DueDate))
                .col(boolean(DeletedTodoLogs::IsCompleted))
                .col(timestamp_with_time_zone_null(DeletedTodoLogs::CompletedAt))
                .col(timestamp_with_time_zone(DeletedTodoLogs::CreatedAt))
                .col(timestamp_with_time_zone(DeletedTodoLogs::UpdatedAt))
                .col(timestamp_with_time_zone(DeletedTodoLogs::DeletedAt))
                .foreign_key(&mut user_fk(
                    "fk_deleted_todo_logs_user_id",
                    DeletedTodoLogs::Table,
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ux_deleted_todo_logs_original_todo_id")
                .table(DeletedTodoLogs::Table)
                .col(DeletedTodoLogs::OriginalTodoId)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_deleted_todo_logs_user_id_deleted_at_id")
                .table(DeletedTodoLogs::Table)
                .col(DeletedTodoLogs::UserId)
                .col(DeletedTodoLogs::DeletedAt)
                .col(DeletedTodoLogs::Id)
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_deleted_todo_logs_deleted_at")
                .table(DeletedTodoLogs::Table)
                .col(DeletedTodoLogs::DeletedAt)
                .to_owned(),
        )
        .await
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Username,
    Avatar,
    PasswordHash,
    EmailVerified,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    UserId,
    ProviderId,
    AccountId,
    AccessToken,
    AccessTokenExpiresAt,
    RefreshToken,
    RefreshTokenExpiresAt,
    Scope,
    IdToken,
    Raw,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    SessionToken,
    PreviousTokenHash,
    RotatedAt,
    IpAddress,
    UserAgent,
    ExpiresAt,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum EmailVerificationCodes {
    Table,
    Id,
    Email,
    Code,
    Token,
    Action,
    UserId,
    Attempts,
    ExpiresAt,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum PasswordResetTokens {
    Table,
    Id,
    UserId,
    Token,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OauthStates {
    Table,
    Id,
    State,
    Provider,
    PkceVerifier,
    Nonce,
    RedirectUri,
    UserId,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Todos {
    Table,
    Id,
    UserId,
    Title,
    Description,
    DueDate,
    IsCompleted,
    CompletedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeletedTodoLogs {
    Table,
    Id,
    UserId,
    OriginalTodoId,
    Title,
    Description,
    DueDate,
    IsCompleted,
    CompletedAt,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}
