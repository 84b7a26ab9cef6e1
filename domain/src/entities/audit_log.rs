//! One audited operation: who did what to which resource, from where, with what result.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_logs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub op_time: ChronoDateTimeUtc,
    /// `user`, `robot` or `anonymous`.
    pub actor_type: String,
    pub actor: String,
    pub source_ip: String,
    pub operation: String,
    pub resource_type: String,
    pub resource: String,
    pub project_id: Option<i64>,
    /// `success` or `failure`.
    pub result: String,
    pub detail: String,
    /// The domain event this row tells of (written by the same call).
    pub event_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
