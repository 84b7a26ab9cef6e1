//! Background jobs: the record of garbage collection runs (with progress), schedules for tag
//! retention, and the claims that let exactly one replica run each scheduled occurrence.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GcRuns {
    Table,
    Id,
    Trigger,
    Actor,
    DryRun,
    DeleteUntagged,
    Status,
    Phase,
    Done,
    Total,
    StartedAt,
    FinishedAt,
    Result,
}

#[derive(DeriveIden)]
enum ScheduleClaims {
    Table,
    Job,
    FireTime,
    ClaimedAt,
}

#[derive(DeriveIden)]
enum RetentionPolicies {
    Table,
    Schedule,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(GcRuns::Table)
                .col(
                    ColumnDef::new(GcRuns::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(GcRuns::Trigger).string_len(16).not_null())
                .col(ColumnDef::new(GcRuns::Actor).string_len(255).not_null())
                .col(ColumnDef::new(GcRuns::DryRun).boolean().not_null())
                .col(ColumnDef::new(GcRuns::DeleteUntagged).boolean().not_null())
                .col(ColumnDef::new(GcRuns::Status).string_len(16).not_null())
                .col(ColumnDef::new(GcRuns::Phase).string_len(32).not_null())
                .col(ColumnDef::new(GcRuns::Done).big_integer().not_null())
                .col(ColumnDef::new(GcRuns::Total).big_integer().not_null())
                .col(
                    ColumnDef::new(GcRuns::StartedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(GcRuns::FinishedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(ColumnDef::new(GcRuns::Result).text().not_null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ScheduleClaims::Table)
                .col(
                    ColumnDef::new(ScheduleClaims::Job)
                        .string_len(128)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ScheduleClaims::FireTime)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ScheduleClaims::ClaimedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(ScheduleClaims::Job)
                        .col(ScheduleClaims::FireTime),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(RetentionPolicies::Table)
                .add_column(
                    ColumnDef::new(RetentionPolicies::Schedule)
                        .string_len(64)
                        .null(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(RetentionPolicies::Table)
                .drop_column(RetentionPolicies::Schedule)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(ScheduleClaims::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(GcRuns::Table).to_owned())
            .await
    }
}
