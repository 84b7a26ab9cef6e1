//! A project: a namespace of repositories with its own members and policies.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    pub public: bool,
    pub owner_id: Option<i64>,
    /// JSON object of string settings (auto_scan, prevent_vul, severity, …).
    pub metadata: String,
    /// Bytes; -1 is unlimited.
    pub storage_limit: i64,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
