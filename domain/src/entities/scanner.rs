//! A registered external scanner (Harbor's pluggable-scanner API).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scanners")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub description: String,
    pub url: String,
    /// ``, `Basic`, `Bearer` or `X-ScannerAdapter-API-Key`.
    pub auth: String,
    /// The access credential, sealed (AES-GCM) with the data directory's secrets key.
    pub credential: Option<String>,
    pub skip_cert_verify: bool,
    pub is_default: bool,
    pub disabled: bool,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
