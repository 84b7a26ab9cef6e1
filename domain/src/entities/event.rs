//! One domain event: what happened, to what, by whom. Append-only; ids are gapless and in
//! commit order (see `service::events`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub occurred_at: ChronoDateTimeUtc,
    /// `{resource}.{operation}`, e.g. `artifact.push`, `tag.delete`, `session.login`,
    /// `scan.completed`.
    pub kind: String,
    /// `success` or `failure`.
    pub outcome: String,
    pub project_id: Option<i64>,
    pub repository: Option<String>,
    /// What it happened to, e.g. `library/app:1.0@sha256:…`, a username, a robot's name.
    pub subject: String,
    /// `user`, `robot`, `anonymous`, `system` or `oidc`.
    pub actor_type: String,
    pub actor: String,
    pub source_ip: String,
    /// The `x-request-id` of the request that caused it, or empty for jobs.
    pub request_id: String,
    /// Kind-specific fields as a JSON object.
    pub payload: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
