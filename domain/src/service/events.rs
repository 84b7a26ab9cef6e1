//! Domain events: a transactional outbox. A service that changes something calls [`emit`] (through
//! `audit::record…`) inside the transaction of the change; the same call writes the audit row,
//! so the audit log and the events tell one story. Consumers (scan on push today; webhooks,
//! replication and audit forwarding next) read them through [`consumer::Consumer`].
//!
//! Ids are gapless and follow commit order on SQLite and PostgreSQL alike: each comes from one
//! counter row incremented with an `UPDATE` in the emitting transaction, whose row lock is held
//! until that transaction ends. A later event's transaction cannot take an id before an earlier
//! one has committed or rolled back, so a reader that has seen id N has seen every id below N.

pub mod consumer;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value;

use super::{Actor, DomainError, DomainResult};
use crate::entities::{audit_log, event, event_consumer, event_counter};
use crate::policy::authz::Action;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `f` with `id` as the request id every event it emits records.
pub async fn with_request_id<F: std::future::Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

fn request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Who caused an event, as the audit log names them.
pub struct Who<'a> {
    /// `user`, `robot`, `anonymous`, `system` or `oidc`.
    pub actor_type: &'a str,
    pub actor: &'a str,
    pub source_ip: &'a str,
}

impl<'a> Who<'a> {
    pub fn of(actor: &'a Actor) -> Self {
        Self {
            actor_type: actor.principal.kind(),
            actor: actor.principal.name(),
            source_ip: &actor.source_ip,
        }
    }
}

/// One event before it is written.
pub struct Event<'a> {
    /// `{resource}.{operation}`: `artifact.push`, `tag.create`, `scan.completed`, …
    pub kind: String,
    pub success: bool,
    pub project_id: Option<i64>,
    pub repository: Option<&'a str>,
    pub subject: &'a str,
    pub payload: Value,
}

/// The audit row an event is told as: the resource and operation its kind names.
pub struct AuditView<'a> {
    pub operation: &'a str,
    pub resource_type: &'a str,
    pub detail: &'a str,
}

/// Writes `event` and its audit row on `conn` (the transaction of the change) and returns the
/// event's id.
pub async fn emit(
    conn: &impl ConnectionTrait,
    who: Who<'_>,
    e: Event<'_>,
    audit: AuditView<'_>,
) -> DomainResult<i64> {
    event_counter::Entity::update_many()
        .col_expr(
            event_counter::Column::LastId,
            Expr::col(event_counter::Column::LastId).add(1),
        )
        .filter(event_counter::Column::Name.eq("events"))
        .exec(conn)
        .await?;
    let id = event_counter::Entity::find_by_id("events")
        .one(conn)
        .await?
        .ok_or_else(|| DomainError::Invalid("the event counter is missing".into()))?
        .last_id;
    let now = Utc::now();
    let actor: String = who.actor.chars().take(255).collect();
    let outcome = if e.success { "success" } else { "failure" };
    let mut payload = e.payload;
    if !payload.is_object() {
        payload = Value::Object(Default::default());
    }
    event::ActiveModel {
        id: Set(id),
        occurred_at: Set(now),
        kind: Set(e.kind),
        outcome: Set(outcome.into()),
        project_id: Set(e.project_id),
        repository: Set(e.repository.map(str::to_string)),
        subject: Set(e.subject.into()),
        actor_type: Set(who.actor_type.into()),
        actor: Set(actor.clone()),
        source_ip: Set(who.source_ip.into()),
        request_id: Set(request_id().chars().take(64).collect()),
        payload: Set(payload.to_string()),
    }
    .insert(conn)
    .await?;
    audit_log::ActiveModel {
        op_time: Set(now),
        actor_type: Set(who.actor_type.into()),
        actor: Set(actor),
        source_ip: Set(who.source_ip.into()),
        operation: Set(audit.operation.into()),
        resource_type: Set(audit.resource_type.into()),
        resource: Set(e.subject.into()),
        project_id: Set(e.project_id),
        result: Set(outcome.into()),
        detail: Set(audit.detail.chars().take(1000).collect()),
        event_id: Set(Some(id)),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// The events after `after` (oldest first), at most `limit`.
pub async fn after(
    conn: &impl ConnectionTrait,
    after: i64,
    limit: u64,
) -> Result<Vec<event::Model>, sea_orm::DbErr> {
    event::Entity::find()
        .filter(event::Column::Id.gt(after))
        .order_by_asc(event::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

/// The newest event's id (0 when there is none).
pub async fn head(conn: &impl ConnectionTrait) -> Result<i64, sea_orm::DbErr> {
    Ok(event_counter::Entity::find_by_id("events")
        .one(conn)
        .await?
        .map(|c| c.last_id)
        .unwrap_or(0))
}

pub use crate::types::dto::ConsumerStatus;

/// Every consumer with its lag; the newest event id.
pub async fn consumer_statuses(
    conn: &impl ConnectionTrait,
) -> Result<(i64, Vec<ConsumerStatus>), sea_orm::DbErr> {
    let head = head(conn).await?;
    let now = Utc::now();
    let rows = event_consumer::Entity::find()
        .order_by_asc(event_consumer::Column::Name)
        .all(conn)
        .await?;
    Ok((
        head,
        rows.into_iter()
            .map(|c| {
                let held = c.lease_until.filter(|t| *t > now);
                ConsumerStatus {
                    lag: (head - c.cursor).max(0),
                    name: c.name,
                    cursor: c.cursor,
                    owner: held.and(c.owner),
                    lease_until: held.map(super::rfc3339),
                    updated_at: super::rfc3339(c.updated_at),
                }
            })
            .collect(),
    ))
}

impl super::Services {
    /// The event consumers and their lag, for system administrators.
    pub async fn event_consumers(&self, actor: &Actor) -> DomainResult<(i64, Vec<ConsumerStatus>)> {
        super::require_configuration(&self.db, actor, Action::Read).await?;
        Ok(consumer_statuses(&self.db).await?)
    }
}
