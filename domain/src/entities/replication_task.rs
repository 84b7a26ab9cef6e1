//! One artifact (or one deletion) of a replication execution.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "replication_tasks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub execution_id: i64,
    /// `artifact`.
    pub resource_type: String,
    /// `copy` or `deletion`.
    pub operation: String,
    /// `repository:tag` or `repository@digest` at the source.
    pub src_resource: String,
    pub dst_resource: String,
    pub digest: Option<String>,
    /// `Pending`, `InProgress`, `Succeed`, `Failed`, `Stopped` or `Skipped`.
    pub status: String,
    pub status_text: String,
    pub attempts: i32,
    pub bytes_done: i64,
    pub bytes_total: i64,
    pub next_retry_at: Option<ChronoDateTimeUtc>,
    /// JSON: the blob being uploaded, its upload location and the acknowledged offset.
    pub upload_state: Option<String>,
    /// What the task did, one line per step (`GET …/tasks/{id}/log`).
    pub log: String,
    pub start_time: Option<ChronoDateTimeUtc>,
    pub end_time: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
