//! Immutable tag rules: per project, or (without a project) from the configuration file for
//! every project.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImmutableRules {
    Table,
    Id,
    ProjectId,
    RepoPattern,
    RepoDecoration,
    TagPattern,
    TagDecoration,
    Disabled,
    Source,
    CreatedAt,
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
                .table(ImmutableRules::Table)
                .col(
                    ColumnDef::new(ImmutableRules::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(ImmutableRules::ProjectId)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(ImmutableRules::RepoPattern)
                        .string_len(255)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ImmutableRules::RepoDecoration)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ImmutableRules::TagPattern)
                        .string_len(255)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ImmutableRules::TagDecoration)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ImmutableRules::Disabled)
                        .boolean()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ImmutableRules::Source)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ImmutableRules::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ImmutableRules::Table, ImmutableRules::ProjectId)
                        .to(Projects::Table, Projects::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("immutable_rules_project")
                .table(ImmutableRules::Table)
                .col(ImmutableRules::ProjectId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ImmutableRules::Table).to_owned())
            .await
    }
}
