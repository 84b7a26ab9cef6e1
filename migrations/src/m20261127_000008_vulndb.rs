//! The vulnerability database: OSV records as imported, and an index of the packages each
//! names, for lookups by (ecosystem, package).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum VulnRecords {
    Table,
    Id,
    Modified,
    Record,
    ImportedAt,
}

#[derive(DeriveIden)]
enum VulnAffected {
    Table,
    RecordId,
    Ecosystem,
    Name,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(VulnRecords::Table)
                .col(
                    ColumnDef::new(VulnRecords::Id)
                        .string_len(255)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(VulnRecords::Modified)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(VulnRecords::Record).text().not_null())
                .col(
                    ColumnDef::new(VulnRecords::ImportedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(VulnAffected::Table)
                .col(
                    ColumnDef::new(VulnAffected::RecordId)
                        .string_len(255)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(VulnAffected::Ecosystem)
                        .string_len(128)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(VulnAffected::Name)
                        .string_len(512)
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(VulnAffected::RecordId)
                        .col(VulnAffected::Ecosystem)
                        .col(VulnAffected::Name),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(VulnAffected::Table, VulnAffected::RecordId)
                        .to(VulnRecords::Table, VulnRecords::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("vuln_affected_package")
                .table(VulnAffected::Table)
                .col(VulnAffected::Ecosystem)
                .col(VulnAffected::Name)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(VulnAffected::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(VulnRecords::Table).to_owned())
            .await
    }
}
