//! Labels (Harbor's): global ones (`scope` `g`, no project) that system administrators
//! manage, and project ones (`p`) that project administrators manage; attached to artifacts.
//! A label's name is unique within its scope and project.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Labels {
    Table,
    Id,
    Name,
    Description,
    Color,
    Scope,
    ProjectId,
    /// `project_id`, or 0 for global labels: one unique index covers both scopes.
    ScopeKey,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ArtifactLabels {
    Table,
    ArtifactId,
    LabelId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Artifacts {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Labels::Table)
                .col(
                    ColumnDef::new(Labels::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(Labels::Name).string_len(128).not_null())
                .col(ColumnDef::new(Labels::Description).text().not_null())
                .col(ColumnDef::new(Labels::Color).string_len(16).not_null())
                .col(ColumnDef::new(Labels::Scope).string_len(1).not_null())
                .col(ColumnDef::new(Labels::ProjectId).big_integer().null())
                .col(ColumnDef::new(Labels::ScopeKey).big_integer().not_null())
                .col(
                    ColumnDef::new(Labels::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Labels::UpdatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Labels::Table, Labels::ProjectId)
                        .to(Projects::Table, Projects::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("labels_unique_name")
                .table(Labels::Table)
                .col(Labels::Scope)
                .col(Labels::ScopeKey)
                .col(Labels::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ArtifactLabels::Table)
                .col(
                    ColumnDef::new(ArtifactLabels::ArtifactId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ArtifactLabels::LabelId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ArtifactLabels::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(ArtifactLabels::ArtifactId)
                        .col(ArtifactLabels::LabelId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ArtifactLabels::Table, ArtifactLabels::ArtifactId)
                        .to(Artifacts::Table, Artifacts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ArtifactLabels::Table, ArtifactLabels::LabelId)
                        .to(Labels::Table, Labels::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("artifact_labels_label")
                .table(ArtifactLabels::Table)
                .col(ArtifactLabels::LabelId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ArtifactLabels::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Labels::Table).to_owned())
            .await
    }
}
