//! The audit trail: written inside the transaction of the change it records, by the same call
//! that writes the change's domain event (`events::emit`).

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use serde_json::Value;

use super::events::{self, AuditView, Event, Who};
use super::{
    authorize, is_allowed, page_bounds, rfc3339, Actor, DomainResult, Principal, Services,
};
use crate::entities::{audit_log, project, project_member};
use crate::policy::authz::{role_allows, Action, Resource};
use crate::types::dto::{AuditEntry, AuditFilter, Page};
use crate::types::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

/// One audit row. `resource_type` is a noun (`user`, `project`, `member`, `robot`, `token`,
/// `session`), `operation` a verb (`create`, `delete`, `login`, …).
pub struct Record<'a> {
    pub operation: &'a str,
    pub resource_type: &'a str,
    pub resource: &'a str,
    pub project_id: Option<i64>,
    pub outcome: Outcome,
}

pub async fn record(conn: &impl ConnectionTrait, actor: &Actor, r: Record<'_>) -> DomainResult<()> {
    record_with(conn, actor, r, Value::Null).await
}

/// Like `record`, with the event's kind-specific fields (an artifact push's tag, digest, media
/// type and size, say).
pub async fn record_with(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    r: Record<'_>,
    payload: Value,
) -> DomainResult<()> {
    tell(conn, Who::of(actor), r, "", payload).await
}

/// For events whose actor is not an authenticated principal, e.g. a failed login records the
/// username that was tried.
pub async fn record_as(
    conn: &impl ConnectionTrait,
    actor_type: &str,
    actor: &str,
    source_ip: &str,
    r: Record<'_>,
) -> DomainResult<()> {
    record_with_detail(conn, actor_type, actor, source_ip, r, "").await
}

/// Like `record_as`, with a free-text detail (why a sign-in was refused, say). Never put a
/// secret in it.
pub async fn record_with_detail(
    conn: &impl ConnectionTrait,
    actor_type: &str,
    actor: &str,
    source_ip: &str,
    r: Record<'_>,
    detail: &str,
) -> DomainResult<()> {
    let who = Who {
        actor_type,
        actor,
        source_ip,
    };
    let payload = if detail.is_empty() {
        Value::Null
    } else {
        serde_json::json!({ "detail": detail })
    };
    tell(conn, who, r, detail, payload).await
}

/// `record` in a write transaction of its own, for operations that change nothing else.
pub async fn record_now(db: &DatabaseConnection, actor: &Actor, r: Record<'_>) -> DomainResult<()> {
    let txn = crate::db::begin_write(db).await?;
    record(&*txn, actor, r).await?;
    Ok(txn.commit().await?)
}

/// `record_as` in a write transaction of its own.
pub async fn record_as_now(
    db: &DatabaseConnection,
    actor_type: &str,
    actor: &str,
    source_ip: &str,
    r: Record<'_>,
) -> DomainResult<()> {
    record_with_detail_now(db, actor_type, actor, source_ip, r, "").await
}

/// `record_with_detail` in a write transaction of its own.
pub async fn record_with_detail_now(
    db: &DatabaseConnection,
    actor_type: &str,
    actor: &str,
    source_ip: &str,
    r: Record<'_>,
    detail: &str,
) -> DomainResult<()> {
    let txn = crate::db::begin_write(db).await?;
    record_with_detail(&*txn, actor_type, actor, source_ip, r, detail).await?;
    Ok(txn.commit().await?)
}

/// The one place an audited operation is written: its domain event and its audit row, by
/// `events::emit`, in the caller's transaction.
async fn tell(
    conn: &impl ConnectionTrait,
    who: Who<'_>,
    r: Record<'_>,
    detail: &str,
    payload: Value,
) -> DomainResult<()> {
    let repository = matches!(
        r.resource_type,
        "artifact" | "tag" | "repository" | "artifact_label" | "scan"
    )
    .then(|| r.resource.split([':', '@']).next().unwrap_or(r.resource));
    events::emit(
        conn,
        who,
        Event {
            kind: format!("{}.{}", r.resource_type, r.operation),
            success: r.outcome == Outcome::Success,
            project_id: r.project_id,
            repository,
            subject: r.resource,
            payload,
        },
        AuditView {
            operation: r.operation,
            resource_type: r.resource_type,
            detail,
        },
    )
    .await?;
    Ok(())
}

impl Services {
    /// System admins read everything; project admins read their projects' records.
    pub async fn list_audit(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
        page: Option<u64>,
        page_size: Option<u64>,
    ) -> DomainResult<Page<AuditEntry>> {
        let (page, size) = page_bounds(page, page_size);
        let mut query = audit_log::Entity::find();
        if let Some(name) = filter.project.as_deref().filter(|s| !s.is_empty()) {
            let Some(p) = project::Entity::find()
                .filter(project::Column::Name.eq(name))
                .one(&self.db)
                .await?
            else {
                return Err(super::DomainError::NotFound(format!(
                    "project `{name}` not found"
                )));
            };
            authorize(
                &self.db,
                &actor.principal,
                Some(&p),
                Resource::AuditLog,
                Action::List,
            )
            .await?;
            query = query.filter(audit_log::Column::ProjectId.eq(p.id));
        } else if !is_allowed(
            &self.db,
            &actor.principal,
            None,
            Resource::AuditLog,
            Action::List,
        )
        .await?
        {
            let Principal::User(user) = &actor.principal else {
                return Err(super::DomainError::Forbidden(
                    "the audit log is for administrators".into(),
                ));
            };
            // The projects whose log the user's role there lets them read.
            let admin_of: Vec<i64> = project_member::Entity::find()
                .filter(project_member::Column::UserId.eq(user.id))
                .all(&self.db)
                .await?
                .into_iter()
                .filter(|m| {
                    m.role
                        .parse::<Role>()
                        .is_ok_and(|r| role_allows(r, Resource::AuditLog, Action::List))
                })
                .map(|m| m.project_id)
                .collect();
            if admin_of.is_empty() {
                return Err(super::DomainError::Forbidden(
                    "the audit log is for system administrators and project administrators".into(),
                ));
            }
            query = query.filter(audit_log::Column::ProjectId.is_in(admin_of));
        }
        let mut cond = Condition::all();
        if let Some(v) = filter.actor.as_deref().filter(|s| !s.is_empty()) {
            cond = cond.add(audit_log::Column::Actor.contains(v));
        }
        if let Some(v) = filter.operation.as_deref().filter(|s| !s.is_empty()) {
            cond = cond.add(audit_log::Column::Operation.eq(v));
        }
        if let Some(v) = filter.resource_type.as_deref().filter(|s| !s.is_empty()) {
            cond = cond.add(audit_log::Column::ResourceType.eq(v));
        }
        if let Some(v) = filter.resource.as_deref().filter(|s| !s.is_empty()) {
            cond = cond.add(audit_log::Column::Resource.contains(v));
        }
        let paginator = query
            .filter(cond)
            .order_by_desc(audit_log::Column::OpTime)
            .order_by_desc(audit_log::Column::Id)
            .paginate(&self.db, size);
        let total = paginator.num_items().await?;
        let items = paginator
            .fetch_page(page - 1)
            .await?
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                op_time: rfc3339(r.op_time),
                actor_type: r.actor_type,
                actor: r.actor,
                source_ip: r.source_ip,
                operation: r.operation,
                resource_type: r.resource_type,
                resource: r.resource,
                project_id: r.project_id,
                result: r.result,
                detail: r.detail,
            })
            .collect();
        Ok(Page {
            items,
            total,
            page,
            page_size: size,
        })
    }
}
