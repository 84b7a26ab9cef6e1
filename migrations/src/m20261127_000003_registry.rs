//! The registry's metadata: blobs and their links to repositories, upload sessions, artifacts
//! (manifests) with their references and subjects, and tags.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Repositories {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Blobs {
    Table,
    Digest,
    Size,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RepositoryBlobs {
    Table,
    RepositoryId,
    Digest,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Uploads {
    Table,
    Id,
    RepositoryId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Artifacts {
    Table,
    Id,
    RepositoryId,
    Digest,
    MediaType,
    ArtifactType,
    ManifestSize,
    Size,
    SubjectDigest,
    Annotations,
    PushTime,
    PullTime,
    PullCount,
    PushedBy,
}

#[derive(DeriveIden)]
enum ArtifactRefs {
    Table,
    ArtifactId,
    Digest,
    Kind,
    Size,
}

#[derive(DeriveIden)]
enum Tags {
    Table,
    Id,
    RepositoryId,
    Name,
    ArtifactId,
    PushTime,
}

fn fk_repo(
    table: impl IntoIden + 'static,
    col: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Repositories::Table, Repositories::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Blobs::Table)
                .col(
                    ColumnDef::new(Blobs::Digest)
                        .string_len(150)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Blobs::Size).big_integer().not_null())
                .col(
                    ColumnDef::new(Blobs::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RepositoryBlobs::Table)
                .col(
                    ColumnDef::new(RepositoryBlobs::RepositoryId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RepositoryBlobs::Digest)
                        .string_len(150)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RepositoryBlobs::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(RepositoryBlobs::RepositoryId)
                        .col(RepositoryBlobs::Digest),
                )
                .foreign_key(&mut fk_repo(
                    RepositoryBlobs::Table,
                    RepositoryBlobs::RepositoryId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_repository_blobs_digest")
                .table(RepositoryBlobs::Table)
                .col(RepositoryBlobs::Digest)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Uploads::Table)
                .col(
                    ColumnDef::new(Uploads::Id)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Uploads::RepositoryId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Uploads::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Uploads::UpdatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(&mut fk_repo(Uploads::Table, Uploads::RepositoryId))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Artifacts::Table)
                .col(
                    ColumnDef::new(Artifacts::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Artifacts::RepositoryId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(Artifacts::Digest).string_len(150).not_null())
                .col(
                    ColumnDef::new(Artifacts::MediaType)
                        .string_len(255)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Artifacts::ArtifactType)
                        .string_len(255)
                        .null(),
                )
                .col(
                    ColumnDef::new(Artifacts::ManifestSize)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(Artifacts::Size).big_integer().not_null())
                .col(
                    ColumnDef::new(Artifacts::SubjectDigest)
                        .string_len(150)
                        .null(),
                )
                .col(
                    ColumnDef::new(Artifacts::Annotations)
                        .text()
                        .not_null()
                        .default("{}"),
                )
                .col(
                    ColumnDef::new(Artifacts::PushTime)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Artifacts::PullTime)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(Artifacts::PullCount)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new(Artifacts::PushedBy)
                        .string_len(255)
                        .not_null(),
                )
                .foreign_key(&mut fk_repo(Artifacts::Table, Artifacts::RepositoryId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_artifacts_repository_digest")
                .table(Artifacts::Table)
                .col(Artifacts::RepositoryId)
                .col(Artifacts::Digest)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_artifacts_subject")
                .table(Artifacts::Table)
                .col(Artifacts::RepositoryId)
                .col(Artifacts::SubjectDigest)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ArtifactRefs::Table)
                .col(
                    ColumnDef::new(ArtifactRefs::ArtifactId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ArtifactRefs::Digest)
                        .string_len(150)
                        .not_null(),
                )
                .col(ColumnDef::new(ArtifactRefs::Kind).string_len(16).not_null())
                .col(ColumnDef::new(ArtifactRefs::Size).big_integer().not_null())
                .primary_key(
                    Index::create()
                        .col(ArtifactRefs::ArtifactId)
                        .col(ArtifactRefs::Digest),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ArtifactRefs::Table, ArtifactRefs::ArtifactId)
                        .to(Artifacts::Table, Artifacts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_artifact_refs_digest")
                .table(ArtifactRefs::Table)
                .col(ArtifactRefs::Digest)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Tags::Table)
                .col(
                    ColumnDef::new(Tags::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(Tags::RepositoryId).big_integer().not_null())
                .col(ColumnDef::new(Tags::Name).string_len(128).not_null())
                .col(ColumnDef::new(Tags::ArtifactId).big_integer().not_null())
                .col(
                    ColumnDef::new(Tags::PushTime)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(&mut fk_repo(Tags::Table, Tags::RepositoryId))
                .foreign_key(
                    ForeignKey::create()
                        .from(Tags::Table, Tags::ArtifactId)
                        .to(Artifacts::Table, Artifacts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_tags_repository_name")
                .table(Tags::Table)
                .col(Tags::RepositoryId)
                .col(Tags::Name)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Tags::Table.into_iden(),
            ArtifactRefs::Table.into_iden(),
            Artifacts::Table.into_iden(),
            Uploads::Table.into_iden(),
            RepositoryBlobs::Table.into_iden(),
            Blobs::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
