//! A remote registry replication reads from or writes to.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub description: String,
    /// `harbor` (a Berth or a Harbor) or `docker-registry` (any OCI registry).
    pub kind: String,
    pub url: String,
    /// `basic` or `secret`.
    pub credential_type: String,
    pub access_key: Option<String>,
    /// Sealed (AES-GCM) with the keys directory's secrets key; never returned.
    pub access_secret: Option<String>,
    pub insecure: bool,
    pub ca_certificate: Option<String>,
    /// `healthy`, `unhealthy` or `unknown` (the last ping's answer).
    pub status: String,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
