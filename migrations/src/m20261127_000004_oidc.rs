//! Single sign-on: the OpenID identity of a user and their CLI secret for registry clients.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    /// The provider's `iss` for users who sign in through OpenID Connect.
    OidcIssuer,
    /// The provider's `sub`: the stable identity, whatever the username claim says.
    OidcSubject,
    /// argon2id hash of the secret registry clients present instead of the IdP password.
    CliSecretHash,
    CliSecretExpiresAt,
    /// The provider's refresh token, encrypted (AES-256-GCM, key in the data directory).
    OidcRefreshToken,
    /// When the refresh token was last exchanged successfully.
    OidcCheckedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        let columns = [
            ColumnDef::new(Users::OidcIssuer)
                .string_len(255)
                .null()
                .to_owned(),
            ColumnDef::new(Users::OidcSubject)
                .string_len(255)
                .null()
                .to_owned(),
            ColumnDef::new(Users::CliSecretHash)
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(Users::CliSecretExpiresAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Users::OidcRefreshToken)
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(Users::OidcCheckedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ];
        for mut column in columns {
            m.alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("users_oidc_identity")
                .table(Users::Table)
                .col(Users::OidcIssuer)
                .col(Users::OidcSubject)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("users_oidc_identity")
                .table(Users::Table)
                .to_owned(),
        )
        .await?;
        for column in [
            Users::OidcCheckedAt,
            Users::OidcRefreshToken,
            Users::CliSecretExpiresAt,
            Users::CliSecretHash,
            Users::OidcSubject,
            Users::OidcIssuer,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
