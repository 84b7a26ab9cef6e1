//! One (artifact, scanner) pair: the scan job (status, attempts, next attempt) and its latest
//! report in Harbor's format.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub artifact_id: i64,
    /// `berth` for the built-in scanner, else a registration's uuid.
    pub scanner: String,
    /// `queued`, `running`, `success` or `error`.
    pub status: String,
    /// `manual`, `push` or `schedule`.
    pub trigger: String,
    pub attempts: i32,
    pub error: Option<String>,
    pub queued_at: ChronoDateTimeUtc,
    pub next_attempt_at: ChronoDateTimeUtc,
    pub started_at: Option<ChronoDateTimeUtc>,
    pub finished_at: Option<ChronoDateTimeUtc>,
    /// The report (`application/vnd.security.vulnerability.report; version=1.1`) as JSON.
    pub report: Option<String>,
    /// The highest severity in the report.
    pub severity: Option<String>,
    /// Counts per severity and of fixable findings, as JSON.
    pub summary: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
