//! Tag retention: a policy per project (rules as JSON) and the record of every run.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RetentionPolicies {
    Table,
    ProjectId,
    Rules,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RetentionExecutions {
    Table,
    Id,
    ProjectId,
    DryRun,
    Trigger,
    Status,
    StartedAt,
    FinishedAt,
    Result,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RetentionPolicies::Table)
                .col(
                    ColumnDef::new(RetentionPolicies::ProjectId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(RetentionPolicies::Rules).text().not_null())
                .col(
                    ColumnDef::new(RetentionPolicies::UpdatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(RetentionPolicies::Table, RetentionPolicies::ProjectId)
                        .to(Projects::Table, Projects::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RetentionExecutions::Table)
                .col(
                    ColumnDef::new(RetentionExecutions::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(RetentionExecutions::ProjectId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RetentionExecutions::DryRun)
                        .boolean()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RetentionExecutions::Trigger)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RetentionExecutions::Status)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RetentionExecutions::StartedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RetentionExecutions::FinishedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(RetentionExecutions::Result)
                        .text()
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(RetentionExecutions::Table, RetentionExecutions::ProjectId)
                        .to(Projects::Table, Projects::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("retention_executions_project")
                .table(RetentionExecutions::Table)
                .col(RetentionExecutions::ProjectId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(RetentionExecutions::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(RetentionPolicies::Table).to_owned())
            .await
    }
}
