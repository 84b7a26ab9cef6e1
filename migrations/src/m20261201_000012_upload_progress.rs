//! Upload sessions that any replica can continue: the bytes received, the running hash and the
//! object store's own state (S3 multipart upload id, part ETags, the tail object) live in the
//! database with the session. A request records its progress only if the size it started from
//! is still the recorded one.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Uploads {
    Table,
    Size,
    Progress,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds a single column per ALTER TABLE.
        let columns = [
            ColumnDef::new(Uploads::Size)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(Uploads::Progress).text().null().to_owned(),
        ];
        for mut column in columns {
            m.alter_table(
                Table::alter()
                    .table(Uploads::Table)
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [Uploads::Progress, Uploads::Size] {
            m.alter_table(
                Table::alter()
                    .table(Uploads::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
