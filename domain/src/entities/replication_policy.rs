//! A replication policy: what moves from which registry to which, when, and under which gate.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "replication_policies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub description: String,
    /// `None`: this registry (push mode when the destination is remote).
    pub src_registry_id: Option<i64>,
    pub dest_registry_id: Option<i64>,
    pub dest_namespace: String,
    pub dest_namespace_replace_count: i32,
    /// JSON `[{type, value, decoration}]`.
    pub filters: String,
    pub trigger_type: String,
    pub trigger_cron: Option<String>,
    pub replicate_deletion: bool,
    #[sea_orm(column_name = "override")]
    pub override_: bool,
    pub enabled: bool,
    /// KiB/s for the whole policy; -1 or 0 is unlimited.
    pub speed: i32,
    pub copy_by_chunk: bool,
    /// JSON `["linux/amd64", …]`.
    pub platforms: String,
    /// JSON `{require_scan, max_severity, require_signature}`.
    pub security: String,
    pub created_by: String,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
