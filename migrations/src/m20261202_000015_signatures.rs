//! Image signing: trust anchors (cosign keys, Notation CA certificates) per project or for the
//! whole instance, and each artifact's stored signature verdict. A verdict is valid while its
//! epoch equals the project's plus the system's trust epoch; anything that can change a verdict
//! (an anchor added or removed, a signature pushed or deleted) bumps an epoch in the same
//! transaction.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TrustAnchors {
    Table,
    Id,
    ProjectId,
    Name,
    Kind,
    Pem,
    Fingerprint,
    Algorithm,
    Subject,
    NotAfter,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum SignatureEpochs {
    Table,
    ProjectId,
    Epoch,
}

#[derive(DeriveIden)]
enum SignatureVerdicts {
    Table,
    ArtifactId,
    Epoch,
    Status,
    Detail,
    ComputedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(TrustAnchors::Table)
                .col(
                    ColumnDef::new(TrustAnchors::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                // NULL: a system-wide anchor.
                .col(ColumnDef::new(TrustAnchors::ProjectId).big_integer())
                .col(ColumnDef::new(TrustAnchors::Name).string().not_null())
                .col(ColumnDef::new(TrustAnchors::Kind).string().not_null())
                .col(ColumnDef::new(TrustAnchors::Pem).text().not_null())
                .col(
                    ColumnDef::new(TrustAnchors::Fingerprint)
                        .string()
                        .not_null(),
                )
                .col(ColumnDef::new(TrustAnchors::Algorithm).string().not_null())
                .col(ColumnDef::new(TrustAnchors::Subject).text())
                .col(ColumnDef::new(TrustAnchors::NotAfter).timestamp_with_time_zone())
                .col(
                    ColumnDef::new(TrustAnchors::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(ColumnDef::new(TrustAnchors::CreatedBy).string().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_trust_anchors_project")
                .table(TrustAnchors::Table)
                .col(TrustAnchors::ProjectId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SignatureEpochs::Table)
                // 0: the system's epoch (system-wide anchors).
                .col(
                    ColumnDef::new(SignatureEpochs::ProjectId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(SignatureEpochs::Epoch)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SignatureVerdicts::Table)
                .col(
                    ColumnDef::new(SignatureVerdicts::ArtifactId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(SignatureVerdicts::Epoch)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(SignatureVerdicts::Status)
                        .string()
                        .not_null(),
                )
                .col(ColumnDef::new(SignatureVerdicts::Detail).text().not_null())
                .col(
                    ColumnDef::new(SignatureVerdicts::ComputedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            SignatureVerdicts::Table.into_iden(),
            SignatureEpochs::Table.into_iden(),
            TrustAnchors::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
