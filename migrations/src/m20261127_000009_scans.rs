//! Vulnerability scans: one row per (artifact, scanner) that is both the job (status, attempts,
//! next attempt) and its latest report; registered external scanners and the one each project
//! uses; CVE allowlists (project 0 is the system's); scans run for other registries through the
//! pluggable-scanner adapter; and small system settings such as the scan-all schedule.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Scans {
    Table,
    Id,
    ArtifactId,
    Scanner,
    Status,
    Trigger,
    Attempts,
    Error,
    QueuedAt,
    NextAttemptAt,
    StartedAt,
    FinishedAt,
    Report,
    Severity,
    Summary,
}

#[derive(DeriveIden)]
enum Artifacts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Scanners {
    Table,
    Id,
    Uuid,
    Name,
    Description,
    Url,
    Auth,
    Credential,
    SkipCertVerify,
    IsDefault,
    Disabled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProjectScanners {
    Table,
    ProjectId,
    ScannerUuid,
}

#[derive(DeriveIden)]
enum CveAllowlists {
    Table,
    ProjectId,
    Items,
    ExpiresAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AdapterScans {
    Table,
    Id,
    Repository,
    Digest,
    Status,
    Error,
    Report,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum SystemSettings {
    Table,
    Key,
    Value,
}

fn id_col<T: Iden + 'static>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Scans::Table)
                .col(id_col(Scans::Id))
                .col(ColumnDef::new(Scans::ArtifactId).big_integer().not_null())
                .col(ColumnDef::new(Scans::Scanner).string_len(64).not_null())
                .col(ColumnDef::new(Scans::Status).string_len(16).not_null())
                .col(ColumnDef::new(Scans::Trigger).string_len(16).not_null())
                .col(ColumnDef::new(Scans::Attempts).integer().not_null())
                .col(ColumnDef::new(Scans::Error).text().null())
                .col(
                    ColumnDef::new(Scans::QueuedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Scans::NextAttemptAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Scans::StartedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(Scans::FinishedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(ColumnDef::new(Scans::Report).text().null())
                .col(ColumnDef::new(Scans::Severity).string_len(16).null())
                .col(ColumnDef::new(Scans::Summary).text().null())
                .foreign_key(
                    ForeignKey::create()
                        .from(Scans::Table, Scans::ArtifactId)
                        .to(Artifacts::Table, Artifacts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("scans_artifact_scanner")
                .table(Scans::Table)
                .col(Scans::ArtifactId)
                .col(Scans::Scanner)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("scans_queue")
                .table(Scans::Table)
                .col(Scans::Status)
                .col(Scans::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Scanners::Table)
                .col(id_col(Scanners::Id))
                .col(
                    ColumnDef::new(Scanners::Uuid)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(Scanners::Name)
                        .string_len(255)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Scanners::Description).text().not_null())
                .col(ColumnDef::new(Scanners::Url).text().not_null())
                .col(ColumnDef::new(Scanners::Auth).string_len(32).not_null())
                .col(ColumnDef::new(Scanners::Credential).text().null())
                .col(
                    ColumnDef::new(Scanners::SkipCertVerify)
                        .boolean()
                        .not_null(),
                )
                .col(ColumnDef::new(Scanners::IsDefault).boolean().not_null())
                .col(ColumnDef::new(Scanners::Disabled).boolean().not_null())
                .col(
                    ColumnDef::new(Scanners::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ProjectScanners::Table)
                .col(
                    ColumnDef::new(ProjectScanners::ProjectId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(ProjectScanners::ScannerUuid)
                        .string_len(64)
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ProjectScanners::Table, ProjectScanners::ProjectId)
                        .to(Projects::Table, Projects::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CveAllowlists::Table)
                .col(
                    ColumnDef::new(CveAllowlists::ProjectId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(CveAllowlists::Items).text().not_null())
                .col(
                    ColumnDef::new(CveAllowlists::ExpiresAt)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(CveAllowlists::UpdatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AdapterScans::Table)
                .col(
                    ColumnDef::new(AdapterScans::Id)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(AdapterScans::Repository).text().not_null())
                .col(
                    ColumnDef::new(AdapterScans::Digest)
                        .string_len(255)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AdapterScans::Status)
                        .string_len(16)
                        .not_null(),
                )
                .col(ColumnDef::new(AdapterScans::Error).text().null())
                .col(ColumnDef::new(AdapterScans::Report).text().null())
                .col(
                    ColumnDef::new(AdapterScans::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AdapterScans::FinishedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SystemSettings::Table)
                .col(
                    ColumnDef::new(SystemSettings::Key)
                        .string_len(128)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(SystemSettings::Value).text().not_null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SystemSettings::Table.into_iden(),
            AdapterScans::Table.into_iden(),
            CveAllowlists::Table.into_iden(),
            ProjectScanners::Table.into_iden(),
            Scanners::Table.into_iden(),
            Scans::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
