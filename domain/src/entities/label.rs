//! A label: global (`scope` `g`) or of one project (`p`), attached to artifacts.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "labels")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub description: String,
    /// `#rrggbb`, or empty.
    pub color: String,
    /// `g` (global) or `p` (project).
    pub scope: String,
    pub project_id: Option<i64>,
    /// `project_id`, or 0 for global labels (for the unique index on names).
    pub scope_key: i64,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
