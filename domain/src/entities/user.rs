//! A local or federated person who can sign in to the console and the registry.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    /// argon2id PHC string; `None` for users who only sign in through OpenID Connect.
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    /// `iss` and `sub` of users who sign in through OpenID Connect.
    pub oidc_issuer: Option<String>,
    pub oidc_subject: Option<String>,
    /// argon2id hash of the CLI secret registry clients use instead of the IdP password.
    pub cli_secret_hash: Option<String>,
    pub cli_secret_expires_at: Option<ChronoDateTimeUtc>,
    /// The provider's refresh token, encrypted at rest.
    pub oidc_refresh_token: Option<String>,
    pub oidc_checked_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
