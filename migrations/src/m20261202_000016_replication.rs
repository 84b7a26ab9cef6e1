//! Replication: remote registries (credentials sealed), replication policies, and their
//! executions and tasks. A task is one artifact (or one deletion) of one execution; it keeps
//! its attempts, bytes and the resumable state of the blob it was copying, so a restart picks
//! it up where it stopped.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Registries {
    Table,
    Id,
    Name,
    Description,
    Kind,
    Url,
    CredentialType,
    AccessKey,
    AccessSecret,
    Insecure,
    CaCertificate,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReplicationPolicies {
    Table,
    Id,
    Name,
    Description,
    SrcRegistryId,
    DestRegistryId,
    DestNamespace,
    DestNamespaceReplaceCount,
    Filters,
    TriggerType,
    TriggerCron,
    ReplicateDeletion,
    Override,
    Enabled,
    Speed,
    CopyByChunk,
    Platforms,
    Security,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReplicationExecutions {
    Table,
    Id,
    PolicyId,
    Trigger,
    Status,
    StatusText,
    StopRequested,
    Owner,
    LeaseUntil,
    StartTime,
    EndTime,
}

#[derive(DeriveIden)]
enum ReplicationTasks {
    Table,
    Id,
    ExecutionId,
    ResourceType,
    Operation,
    SrcResource,
    DstResource,
    Digest,
    Status,
    StatusText,
    Attempts,
    BytesDone,
    BytesTotal,
    NextRetryAt,
    UploadState,
    Log,
    StartTime,
    EndTime,
}

fn id<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn time<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Registries::Table)
                .col(id(Registries::Id))
                .col(
                    ColumnDef::new(Registries::Name)
                        .string()
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Registries::Description).text().not_null())
                // `harbor` or `docker-registry`.
                .col(ColumnDef::new(Registries::Kind).string().not_null())
                .col(ColumnDef::new(Registries::Url).string().not_null())
                // `basic` or `secret`.
                .col(
                    ColumnDef::new(Registries::CredentialType)
                        .string()
                        .not_null(),
                )
                .col(ColumnDef::new(Registries::AccessKey).string())
                // Sealed (AES-GCM) with the keys directory's secrets key.
                .col(ColumnDef::new(Registries::AccessSecret).text())
                .col(ColumnDef::new(Registries::Insecure).boolean().not_null())
                .col(ColumnDef::new(Registries::CaCertificate).text())
                .col(ColumnDef::new(Registries::Status).string().not_null())
                .col(time(Registries::CreatedAt))
                .col(time(Registries::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ReplicationPolicies::Table)
                .col(id(ReplicationPolicies::Id))
                .col(
                    ColumnDef::new(ReplicationPolicies::Name)
                        .string()
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(ReplicationPolicies::Description)
                        .text()
                        .not_null(),
                )
                // NULL: this registry.
                .col(ColumnDef::new(ReplicationPolicies::SrcRegistryId).big_integer())
                .col(ColumnDef::new(ReplicationPolicies::DestRegistryId).big_integer())
                .col(
                    ColumnDef::new(ReplicationPolicies::DestNamespace)
                        .string()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReplicationPolicies::DestNamespaceReplaceCount)
                        .integer()
                        .not_null(),
                )
                // JSON: `[{type, value, decoration}]`.
                .col(
                    ColumnDef::new(ReplicationPolicies::Filters)
                        .text()
                        .not_null(),
                )
                // `manual`, `scheduled` or `event_based`.
                .col(
                    ColumnDef::new(ReplicationPolicies::TriggerType)
                        .string()
                        .not_null(),
                )
                .col(ColumnDef::new(ReplicationPolicies::TriggerCron).string())
                .col(
                    ColumnDef::new(ReplicationPolicies::ReplicateDeletion)
                        .boolean()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReplicationPolicies::Override)
                        .boolean()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReplicationPolicies::Enabled)
                        .boolean()
                        .not_null(),
                )
                // KiB/s for the whole policy; -1 or 0 unlimited.
                .col(
                    ColumnDef::new(ReplicationPolicies::Speed)
                        .integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReplicationPolicies::CopyByChunk)
                        .boolean()
                        .not_null(),
                )
                // JSON: `["linux/amd64", …]`; empty copies every platform.
                .col(
                    ColumnDef::new(ReplicationPolicies::Platforms)
                        .text()
                        .not_null(),
                )
                // JSON: `{require_scan, max_severity, require_signature}`.
                .col(
                    ColumnDef::new(ReplicationPolicies::Security)
                        .text()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReplicationPolicies::CreatedBy)
                        .string()
                        .not_null(),
                )
                .col(time(ReplicationPolicies::CreatedAt))
                .col(time(ReplicationPolicies::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ReplicationExecutions::Table)
                .col(id(ReplicationExecutions::Id))
                .col(
                    ColumnDef::new(ReplicationExecutions::PolicyId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReplicationExecutions::Trigger)
                        .string()
                        .not_null(),
                )
                // `Pending`, `InProgress`, `Succeed`, `Failed`, `Stopped`.
                .col(
                    ColumnDef::new(ReplicationExecutions::Status)
                        .string()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReplicationExecutions::StatusText)
                        .text()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReplicationExecutions::StopRequested)
                        .boolean()
                        .not_null(),
                )
                // The replica working on it and until when its claim holds.
                .col(ColumnDef::new(ReplicationExecutions::Owner).string())
                .col(ColumnDef::new(ReplicationExecutions::LeaseUntil).timestamp_with_time_zone())
                .col(time(ReplicationExecutions::StartTime))
                .col(ColumnDef::new(ReplicationExecutions::EndTime).timestamp_with_time_zone())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_replication_executions_policy")
                .table(ReplicationExecutions::Table)
                .col(ReplicationExecutions::PolicyId)
                .col(ReplicationExecutions::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_replication_executions_status")
                .table(ReplicationExecutions::Table)
                .col(ReplicationExecutions::Status)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ReplicationTasks::Table)
                .col(id(ReplicationTasks::Id))
                .col(
                    ColumnDef::new(ReplicationTasks::ExecutionId)
                        .big_integer()
                        .not_null(),
                )
                // `artifact`.
                .col(
                    ColumnDef::new(ReplicationTasks::ResourceType)
                        .string()
                        .not_null(),
                )
                // `copy` or `deletion`.
                .col(
                    ColumnDef::new(ReplicationTasks::Operation)
                        .string()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReplicationTasks::SrcResource)
                        .string()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReplicationTasks::DstResource)
                        .string()
                        .not_null(),
                )
                .col(ColumnDef::new(ReplicationTasks::Digest).string())
                // `Pending`, `InProgress`, `Succeed`, `Failed`, `Stopped`, `Skipped`.
                .col(ColumnDef::new(ReplicationTasks::Status).string().not_null())
                .col(
                    ColumnDef::new(ReplicationTasks::StatusText)
                        .text()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReplicationTasks::Attempts)
                        .integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReplicationTasks::BytesDone)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReplicationTasks::BytesTotal)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(ReplicationTasks::NextRetryAt).timestamp_with_time_zone())
                // JSON: the blob being uploaded, its upload location and acknowledged offset.
                .col(ColumnDef::new(ReplicationTasks::UploadState).text())
                .col(ColumnDef::new(ReplicationTasks::Log).text().not_null())
                .col(ColumnDef::new(ReplicationTasks::StartTime).timestamp_with_time_zone())
                .col(ColumnDef::new(ReplicationTasks::EndTime).timestamp_with_time_zone())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_replication_tasks_execution")
                .table(ReplicationTasks::Table)
                .col(ReplicationTasks::ExecutionId)
                .col(ReplicationTasks::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            ReplicationTasks::Table.into_iden(),
            ReplicationExecutions::Table.into_iden(),
            ReplicationPolicies::Table.into_iden(),
            Registries::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
