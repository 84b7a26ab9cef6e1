//! Failed sign-ins in the database, so that throttling holds across replicas: a client spreading
//! its guesses over several replicas meets one window, not one per replica.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    Key,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(LoginFailures::Table)
                .col(
                    ColumnDef::new(LoginFailures::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(LoginFailures::Key).string().not_null())
                .col(
                    ColumnDef::new(LoginFailures::At)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_login_failures_key_at")
                .table(LoginFailures::Table)
                .col(LoginFailures::Key)
                .col(LoginFailures::At)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(LoginFailures::Table).to_owned())
            .await
    }
}
