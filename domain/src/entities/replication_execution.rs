//! One run of a replication policy.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "replication_executions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub policy_id: i64,
    /// `manual`, `scheduled` or `event_based`.
    pub trigger: String,
    /// `Pending`, `InProgress`, `Succeed`, `Failed` or `Stopped`.
    pub status: String,
    pub status_text: String,
    pub stop_requested: bool,
    /// The replica working on it, and until when its claim holds.
    pub owner: Option<String>,
    pub lease_until: Option<ChronoDateTimeUtc>,
    pub start_time: ChronoDateTimeUtc,
    pub end_time: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
