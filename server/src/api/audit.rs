//! `/audit-logs`.

use super::extract::Query;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use domain::types::dto::{AuditEntry, AuditFilter};
use serde::Serialize;
use utoipa::ToSchema;

use super::{paged, ApiActor, ApiResult, ListQuery};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/audit-logs", get(list_audit_logs))
}

#[derive(Serialize, ToSchema)]
pub struct AuditLogJson {
    pub id: i64,
    pub op_time: String,
    pub username: String,
    pub actor_type: String,
    pub source_ip: String,
    pub operation: String,
    pub resource_type: String,
    pub resource: String,
    pub project_id: Option<i64>,
    pub result: String,
}

pub fn audit_json(e: AuditEntry) -> AuditLogJson {
    AuditLogJson {
        id: e.id,
        op_time: e.op_time,
        username: e.actor,
        actor_type: e.actor_type,
        source_ip: e.source_ip,
        operation: e.operation,
        resource_type: e.resource_type,
        resource: e.resource,
        project_id: e.project_id,
        result: e.result,
    }
}

/// Harbor's `q` terms: `username`, `operation`, `resource_type`, `resource`, `project`.
pub fn filter_from(q: &ListQuery) -> AuditFilter {
    AuditFilter {
        actor: q.q_term("username"),
        operation: q.q_term("operation"),
        resource_type: q.q_term("resource_type"),
        resource: q.q_term("resource"),
        project: q.q_term("project"),
    }
}

#[utoipa::path(get, path = "/api/v2.0/audit-logs", params(ListQuery), tag = "auditlog",
    responses((status = 200, body = [AuditLogJson], description = "Newest first")))]
pub async fn list_audit_logs(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let page = s
        .services
        .list_audit(&actor, &filter_from(&q), q.page, q.page_size)
        .await?;
    Ok(paged("/api/v2.0/audit-logs", &q, page, audit_json))
}
