//! An artifact's signature verdict, as pulls check it: valid while `epoch` equals the trust
//! epoch of its project plus the system's.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signature_verdicts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub artifact_id: i64,
    pub epoch: i64,
    /// `verified`, `invalid` or `unsigned`.
    pub status: String,
    /// The verdict (`signing::Verdict`) as JSON.
    pub detail: String,
    pub computed_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
