//! A robot account: a non-human credential with an explicit list of permissions.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "robots")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Full name with prefix: `robot$name` or `robot$project+name`.
    #[sea_orm(unique)]
    pub name: String,
    pub description: String,
    /// Set for project robots.
    pub project_id: Option<i64>,
    /// argon2id hash of the secret; the secret itself is never stored.
    pub secret_hash: String,
    /// JSON list of `RobotGrant`.
    pub permissions: String,
    pub disabled: bool,
    pub expires_at: Option<ChronoDateTimeUtc>,
    pub created_by: String,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
