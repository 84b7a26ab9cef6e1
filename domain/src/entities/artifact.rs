//! An artifact: a manifest (image, index, or OCI artifact) stored in a repository.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "artifacts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub repository_id: i64,
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub manifest_size: i64,
    /// Manifest plus its unique referenced blobs.
    pub size: i64,
    pub subject_digest: Option<String>,
    /// JSON object of the manifest's annotations.
    pub annotations: String,
    pub push_time: ChronoDateTimeUtc,
    pub pull_time: Option<ChronoDateTimeUtc>,
    pub pull_count: i64,
    pub pushed_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
