//! Fingerprints of the keys every replica must share (token signing, sealing): the first
//! replica to start records them, and a replica holding other keys refuses to start instead of
//! issuing tokens the others reject or sealing secrets they cannot open.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KeyFingerprints {
    Table,
    Name,
    Fingerprint,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(KeyFingerprints::Table)
                .col(
                    ColumnDef::new(KeyFingerprints::Name)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(KeyFingerprints::Fingerprint)
                        .string()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(KeyFingerprints::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(KeyFingerprints::Table).to_owned())
            .await
    }
}
