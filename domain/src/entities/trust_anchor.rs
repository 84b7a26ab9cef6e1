//! A trust anchor: a cosign public key or a Notation CA certificate that a project (or, with no
//! project, the whole instance) trusts for image signatures.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trust_anchors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: Option<i64>,
    pub name: String,
    /// `cosign` or `notation`.
    pub kind: String,
    /// The public key or certificate, PEM (public material only).
    pub pem: String,
    pub fingerprint: String,
    pub algorithm: String,
    pub subject: Option<String>,
    pub not_after: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
    pub created_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
