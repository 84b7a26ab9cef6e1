//! Access control: projects, user groups, members, robot accounts, the audit log, and the
//! repositories table that project deletion checks (the registry fills it).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    Name,
    Public,
    OwnerId,
    Metadata,
    StorageLimit,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserGroups {
    Table,
    Id,
    Name,
    GroupType,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UserGroupMembers {
    Table,
    UserId,
    GroupId,
}

#[derive(DeriveIden)]
enum ProjectMembers {
    Table,
    Id,
    ProjectId,
    UserId,
    GroupId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Robots {
    Table,
    Id,
    Name,
    Description,
    ProjectId,
    SecretHash,
    Permissions,
    Disabled,
    ExpiresAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    Id,
    OpTime,
    ActorType,
    Actor,
    SourceIp,
    Operation,
    ResourceType,
    Resource,
    ProjectId,
    Result,
    Detail,
}

#[derive(DeriveIden)]
enum Repositories {
    Table,
    Id,
    ProjectId,
    Name,
    CreatedAt,
    UpdatedAt,
}

fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn timestamp(col: impl IntoIden) -> ColumnDef {
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
                .table(Projects::Table)
                .col(id(Projects::Id))
                .col(
                    ColumnDef::new(Projects::Name)
                        .string_len(255)
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(Projects::Public)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(ColumnDef::new(Projects::OwnerId).big_integer().null())
                .col(
                    ColumnDef::new(Projects::Metadata)
                        .text()
                        .not_null()
                        .default("{}"),
                )
                .col(
                    ColumnDef::new(Projects::StorageLimit)
                        .big_integer()
                        .not_null()
                        .default(-1),
                )
                .col(timestamp(Projects::CreatedAt))
                .col(timestamp(Projects::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Projects::Table, Projects::OwnerId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(UserGroups::Table)
                .col(id(UserGroups::Id))
                .col(ColumnDef::new(UserGroups::Name).string_len(255).not_null())
                .col(
                    ColumnDef::new(UserGroups::GroupType)
                        .string_len(16)
                        .not_null(),
                )
                .col(timestamp(UserGroups::CreatedAt))
                .index(
                    Index::create()
                        .name("uq_user_groups_name_type")
                        .col(UserGroups::Name)
                        .col(UserGroups::GroupType)
                        .unique(),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(UserGroupMembers::Table)
                .col(
                    ColumnDef::new(UserGroupMembers::UserId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(UserGroupMembers::GroupId)
                        .big_integer()
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(UserGroupMembers::UserId)
                        .col(UserGroupMembers::GroupId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(UserGroupMembers::Table, UserGroupMembers::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(UserGroupMembers::Table, UserGroupMembers::GroupId)
                        .to(UserGroups::Table, UserGroups::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ProjectMembers::Table)
                .col(id(ProjectMembers::Id))
                .col(
                    ColumnDef::new(ProjectMembers::ProjectId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(ProjectMembers::UserId).big_integer().null())
                .col(ColumnDef::new(ProjectMembers::GroupId).big_integer().null())
                .col(
                    ColumnDef::new(ProjectMembers::Role)
                        .string_len(32)
                        .not_null(),
                )
                .col(timestamp(ProjectMembers::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ProjectMembers::Table, ProjectMembers::ProjectId)
                        .to(Projects::Table, Projects::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ProjectMembers::Table, ProjectMembers::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ProjectMembers::Table, ProjectMembers::GroupId)
                        .to(UserGroups::Table, UserGroups::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("uq_project_members_user", ProjectMembers::UserId),
            ("uq_project_members_group", ProjectMembers::GroupId),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(ProjectMembers::Table)
                    .col(ProjectMembers::ProjectId)
                    .col(col)
                    .unique()
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(Robots::Table)
                .col(id(Robots::Id))
                .col(
                    ColumnDef::new(Robots::Name)
                        .string_len(255)
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(Robots::Description)
                        .text()
                        .not_null()
                        .default(""),
                )
                .col(ColumnDef::new(Robots::ProjectId).big_integer().null())
                .col(ColumnDef::new(Robots::SecretHash).text().not_null())
                .col(ColumnDef::new(Robots::Permissions).text().not_null())
                .col(
                    ColumnDef::new(Robots::Disabled)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(
                    ColumnDef::new(Robots::ExpiresAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(ColumnDef::new(Robots::CreatedBy).string_len(255).not_null())
                .col(timestamp(Robots::CreatedAt))
                .col(timestamp(Robots::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Robots::Table, Robots::ProjectId)
                        .to(Projects::Table, Projects::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLogs::Table)
                .col(id(AuditLogs::Id))
                .col(timestamp(AuditLogs::OpTime))
                .col(
                    ColumnDef::new(AuditLogs::ActorType)
                        .string_len(16)
                        .not_null(),
                )
                .col(ColumnDef::new(AuditLogs::Actor).string_len(255).not_null())
                .col(
                    ColumnDef::new(AuditLogs::SourceIp)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AuditLogs::Operation)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AuditLogs::ResourceType)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(AuditLogs::Resource).text().not_null())
                .col(ColumnDef::new(AuditLogs::ProjectId).big_integer().null())
                .col(ColumnDef::new(AuditLogs::Result).string_len(16).not_null())
                .col(
                    ColumnDef::new(AuditLogs::Detail)
                        .text()
                        .not_null()
                        .default(""),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_audit_logs_op_time", AuditLogs::OpTime),
            ("idx_audit_logs_project", AuditLogs::ProjectId),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(AuditLogs::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(Repositories::Table)
                .col(id(Repositories::Id))
                .col(
                    ColumnDef::new(Repositories::ProjectId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Repositories::Name)
                        .string_len(255)
                        .not_null()
                        .unique_key(),
                )
                .col(timestamp(Repositories::CreatedAt))
                .col(timestamp(Repositories::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Repositories::Table, Repositories::ProjectId)
                        .to(Projects::Table, Projects::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Repositories::Table.into_iden(),
            AuditLogs::Table.into_iden(),
            Robots::Table.into_iden(),
            ProjectMembers::Table.into_iden(),
            UserGroupMembers::Table.into_iden(),
            UserGroups::Table.into_iden(),
            Projects::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
