//! Domain events (a transactional outbox): one append-only row per thing that happened,
//! written in the transaction of the change. Ids come from one counter row taken with an
//! UPDATE in that transaction, so they are gapless and in commit order on every database: a
//! consumer that has read up to id N never later finds an event below N. Each consumer keeps
//! its cursor and a lease (owner, expiry) in `event_consumers`. Audit rows name their event.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    OccurredAt,
    Kind,
    Outcome,
    ProjectId,
    Repository,
    Subject,
    ActorType,
    Actor,
    SourceIp,
    RequestId,
    Payload,
}

#[derive(DeriveIden)]
enum EventCounters {
    Table,
    Name,
    LastId,
}

#[derive(DeriveIden)]
enum EventConsumers {
    Table,
    Name,
    Cursor,
    Owner,
    LeaseUntil,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    EventId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Events::Table)
                .col(
                    ColumnDef::new(Events::Id)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Events::OccurredAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(ColumnDef::new(Events::Kind).string_len(64).not_null())
                .col(ColumnDef::new(Events::Outcome).string_len(16).not_null())
                .col(ColumnDef::new(Events::ProjectId).big_integer().null())
                .col(ColumnDef::new(Events::Repository).string_len(255).null())
                .col(ColumnDef::new(Events::Subject).text().not_null())
                .col(ColumnDef::new(Events::ActorType).string_len(16).not_null())
                .col(ColumnDef::new(Events::Actor).string_len(255).not_null())
                .col(ColumnDef::new(Events::SourceIp).string_len(64).not_null())
                .col(ColumnDef::new(Events::RequestId).string_len(64).not_null())
                .col(ColumnDef::new(Events::Payload).text().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_events_kind")
                .table(Events::Table)
                .col(Events::Kind)
                .col(Events::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(EventCounters::Table)
                .col(
                    ColumnDef::new(EventCounters::Name)
                        .string_len(32)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(EventCounters::LastId)
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::insert()
                .into_table(EventCounters::Table)
                .columns([EventCounters::Name, EventCounters::LastId])
                .values_panic(["events".into(), 0i64.into()])
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(EventConsumers::Table)
                .col(
                    ColumnDef::new(EventConsumers::Name)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(EventConsumers::Cursor)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(EventConsumers::Owner).string_len(64).null())
                .col(
                    ColumnDef::new(EventConsumers::LeaseUntil)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(EventConsumers::UpdatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(AuditLogs::Table)
                .add_column(ColumnDef::new(AuditLogs::EventId).big_integer().null())
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(AuditLogs::Table)
                .drop_column(AuditLogs::EventId)
                .to_owned(),
        )
        .await?;
        for t in [
            EventConsumers::Table.into_iden(),
            EventCounters::Table.into_iden(),
            Events::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
