//! An immutable tag rule: per project, or for every project when it comes from the
//! configuration file (`project_id` empty).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "immutable_rules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: Option<i64>,
    pub repo_pattern: String,
    /// `matches` or `excludes`.
    pub repo_decoration: String,
    pub tag_pattern: String,
    pub tag_decoration: String,
    pub disabled: bool,
    /// `config` (reconciled from the configuration file) or `api`.
    pub source: String,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
