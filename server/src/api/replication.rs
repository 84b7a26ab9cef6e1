//! Replication in Harbor's REST shape (system administrators): registries, adapters,
//! policies, executions, tasks and task logs.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::policy::replication::{Filter, SecurityGate};
use domain::service::page_bounds;
use domain::service::replication::policies::PolicyInput;
use domain::types::dto::Page;
use domain::types::replication::{
    ExecutionView, PolicyView, RegistryInfo, RegistryRef, RegistryView, TaskView, Trigger,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::{Json, Path, Query};
use super::{paged, ApiActor, ApiResult, ListQuery};
use crate::replication::{self, RegistryReq};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/registries", get(list_registries).post(create_registry))
        .route("/registries/ping", post(ping_registry))
        .route(
            "/registries/{id}",
            get(get_registry)
                .put(update_registry)
                .delete(delete_registry),
        )
        .route("/registries/{id}/info", get(registry_info))
        .route("/replication/adapters", get(list_adapters))
        .route(
            "/replication/policies",
            get(list_policies).post(create_policy),
        )
        .route(
            "/replication/policies/{id}",
            get(get_policy).put(update_policy).delete(delete_policy),
        )
        .route(
            "/replication/executions",
            get(list_executions).post(start_execution),
        )
        .route(
            "/replication/executions/{id}",
            get(get_execution).put(stop_execution),
        )
        .route("/replication/executions/{id}/tasks", get(list_tasks))
        .route(
            "/replication/executions/{id}/tasks/{task_id}/log",
            get(task_log),
        )
}

fn created<T: serde::Serialize>(location: String, body: T) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v2.0/registries", tag = "registry",
    params(ListQuery), responses((status = 200, description = "The registries")))]
pub async fn list_registries(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<RegistryView>>> {
    let name = q.name.clone().or_else(|| q.q_term("name"));
    Ok(Json(
        s.services.list_registries(&actor, name.as_deref()).await?,
    ))
}

#[utoipa::path(post, path = "/api/v2.0/registries", request_body = RegistryReq, tag = "registry",
    responses((status = 201, description = "Created; Location names it")))]
pub async fn create_registry(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<RegistryReq>,
) -> ApiResult<Response> {
    let r = replication::create_registry(&s, &actor, req).await?;
    Ok(created(format!("/api/v2.0/registries/{}", r.id), r))
}

#[utoipa::path(post, path = "/api/v2.0/registries/ping", request_body = RegistryReq, tag = "registry",
    responses((status = 200, description = "The registry answered"), (status = 400, description = "It did not")))]
pub async fn ping_registry(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<RegistryReq>,
) -> ApiResult<StatusCode> {
    replication::ping(&s, &actor, req).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(get, path = "/api/v2.0/registries/{id}", tag = "registry",
    params(("id" = i64, Path)), responses((status = 200, description = "The registry")))]
pub async fn get_registry(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<RegistryView>> {
    Ok(Json(s.services.get_registry(&actor, id).await?))
}

#[utoipa::path(put, path = "/api/v2.0/registries/{id}", request_body = RegistryReq, tag = "registry",
    params(("id" = i64, Path)), responses((status = 200, description = "Changed")))]
pub async fn update_registry(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    Json(req): Json<RegistryReq>,
) -> ApiResult<Json<RegistryView>> {
    Ok(Json(
        replication::update_registry(&s, &actor, id, req).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v2.0/registries/{id}", tag = "registry",
    params(("id" = i64, Path)), responses((status = 200, description = "Deleted"), (status = 412, description = "A policy uses it")))]
pub async fn delete_registry(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_registry(&actor, id).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(get, path = "/api/v2.0/registries/{id}/info", tag = "registry",
    params(("id" = i64, Path)), responses((status = 200, description = "What replication supports for it")))]
pub async fn registry_info(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<RegistryInfo>> {
    Ok(Json(replication::info(&s, &actor, id).await?))
}

#[utoipa::path(get, path = "/api/v2.0/replication/adapters", tag = "replication",
    responses((status = 200, description = "The registry types replication speaks")))]
pub async fn list_adapters(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Vec<String>>> {
    s.services
        .require_configuration(&actor, domain::policy::authz::Action::Read)
        .await?;
    Ok(Json(
        domain::service::replication::registries::KINDS
            .iter()
            .map(|k| k.to_string())
            .collect(),
    ))
}

/// A policy as the REST API takes it; absent fields keep their value on update.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct PolicyReq {
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub src_registry: Option<RegistryRef>,
    #[schema(value_type = Option<Object>)]
    pub dest_registry: Option<RegistryRef>,
    pub dest_namespace: Option<String>,
    pub dest_namespace_replace_count: Option<i32>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub filters: Option<Vec<Filter>>,
    #[schema(value_type = Option<Object>)]
    pub trigger: Option<Trigger>,
    pub replicate_deletion: Option<bool>,
    /// Harbor's older name of `replicate_deletion`.
    pub deletion: Option<bool>,
    #[serde(rename = "override")]
    pub override_: Option<bool>,
    pub enabled: Option<bool>,
    /// KiB/s for the whole policy; -1 or 0 is unlimited.
    pub speed: Option<i32>,
    pub copy_by_chunk: Option<bool>,
    pub platforms: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub security: Option<SecurityGate>,
}

impl From<PolicyReq> for PolicyInput {
    fn from(r: PolicyReq) -> Self {
        PolicyInput {
            name: r.name,
            description: r.description,
            // Harbor sends `src_registry: null` for this registry.
            src_registry: r.src_registry.map(|x| x.id),
            dest_registry: r.dest_registry.map(|x| x.id),
            dest_namespace: r.dest_namespace,
            dest_namespace_replace_count: r.dest_namespace_replace_count,
            filters: r.filters,
            trigger: r.trigger,
            replicate_deletion: r.replicate_deletion.or(r.deletion),
            override_: r.override_,
            enabled: r.enabled,
            speed: r.speed,
            copy_by_chunk: r.copy_by_chunk,
            platforms: r.platforms,
            security: r.security,
        }
    }
}

#[utoipa::path(get, path = "/api/v2.0/replication/policies", tag = "replication",
    params(ListQuery), responses((status = 200, description = "The policies")))]
pub async fn list_policies(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let name = q.name.clone().or_else(|| q.q_term("name"));
    let all = s
        .services
        .list_replication_policies(&actor, name.as_deref())
        .await?;
    let (page, size) = page_bounds(q.page, q.page_size);
    let total = all.len() as u64;
    let items = all
        .into_iter()
        .skip(((page - 1) * size) as usize)
        .take(size as usize)
        .collect();
    Ok(paged(
        "/api/v2.0/replication/policies",
        &q,
        Page {
            items,
            total,
            page,
            page_size: size,
        },
        |p: PolicyView| p,
    ))
}

#[utoipa::path(post, path = "/api/v2.0/replication/policies", request_body = PolicyReq, tag = "replication",
    responses((status = 201, description = "Created; Location names it")))]
pub async fn create_policy(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<PolicyReq>,
) -> ApiResult<Response> {
    let p = s
        .services
        .create_replication_policy(&actor, req.into())
        .await?;
    Ok(created(
        format!("/api/v2.0/replication/policies/{}", p.id),
        p,
    ))
}

#[utoipa::path(get, path = "/api/v2.0/replication/policies/{id}", tag = "replication",
    params(("id" = i64, Path)), responses((status = 200, description = "The policy")))]
pub async fn get_policy(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<PolicyView>> {
    Ok(Json(s.services.get_replication_policy(&actor, id).await?))
}

#[utoipa::path(put, path = "/api/v2.0/replication/policies/{id}", request_body = PolicyReq, tag = "replication",
    params(("id" = i64, Path)), responses((status = 200, description = "Changed")))]
pub async fn update_policy(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    Json(req): Json<PolicyReq>,
) -> ApiResult<Json<PolicyView>> {
    Ok(Json(
        s.services
            .update_replication_policy(&actor, id, req.into())
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v2.0/replication/policies/{id}", tag = "replication",
    params(("id" = i64, Path)), responses((status = 200, description = "Deleted"), (status = 412, description = "It is running")))]
pub async fn delete_policy(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_replication_policy(&actor, id).await?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ExecutionQuery {
    pub policy_id: Option<i64>,
    pub page: Option<u64>,
    pub page_size: Option<u64>,
}

#[utoipa::path(get, path = "/api/v2.0/replication/executions", tag = "replication",
    params(ExecutionQuery), responses((status = 200, description = "Executions, newest first")))]
pub async fn list_executions(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<ExecutionQuery>,
) -> ApiResult<Response> {
    let (items, total) = s
        .services
        .list_replication_executions(&actor, q.policy_id, q.page, q.page_size)
        .await?;
    let (page, page_size) = page_bounds(q.page, q.page_size);
    let list = ListQuery {
        page: q.page,
        page_size: q.page_size,
        q: None,
        name: None,
    };
    Ok(paged(
        "/api/v2.0/replication/executions",
        &list,
        Page {
            items,
            total,
            page,
            page_size,
        },
        |e: ExecutionView| e,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StartReq {
    pub policy_id: i64,
}

#[utoipa::path(post, path = "/api/v2.0/replication/executions", request_body = StartReq, tag = "replication",
    responses((status = 201, description = "Started; Location names the execution")))]
pub async fn start_execution(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<StartReq>,
) -> ApiResult<Response> {
    let e = s
        .services
        .start_replication(&actor, req.policy_id, "manual")
        .await?;
    Ok(created(
        format!("/api/v2.0/replication/executions/{}", e.id),
        e,
    ))
}

#[utoipa::path(get, path = "/api/v2.0/replication/executions/{id}", tag = "replication",
    params(("id" = i64, Path)), responses((status = 200, description = "The execution")))]
pub async fn get_execution(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<ExecutionView>> {
    Ok(Json(
        s.services.get_replication_execution(&actor, id).await?,
    ))
}

#[utoipa::path(put, path = "/api/v2.0/replication/executions/{id}", tag = "replication",
    params(("id" = i64, Path)), responses((status = 200, description = "Stopping")))]
pub async fn stop_execution(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<ExecutionView>> {
    Ok(Json(s.services.stop_replication(&actor, id).await?))
}

#[utoipa::path(get, path = "/api/v2.0/replication/executions/{id}/tasks", tag = "replication",
    params(("id" = i64, Path), ExecutionQuery), responses((status = 200, description = "The tasks")))]
pub async fn list_tasks(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    Query(q): Query<ExecutionQuery>,
) -> ApiResult<Response> {
    let (items, total) = s
        .services
        .list_replication_tasks(&actor, id, q.page, q.page_size)
        .await?;
    let (page, page_size) = page_bounds(q.page, q.page_size);
    let list = ListQuery {
        page: q.page,
        page_size: q.page_size,
        q: None,
        name: None,
    };
    Ok(paged(
        &format!("/api/v2.0/replication/executions/{id}/tasks"),
        &list,
        Page {
            items,
            total,
            page,
            page_size,
        },
        |t: TaskView| t,
    ))
}

#[utoipa::path(get, path = "/api/v2.0/replication/executions/{id}/tasks/{task_id}/log", tag = "replication",
    params(("id" = i64, Path), ("task_id" = i64, Path)), responses((status = 200, description = "The task's log (text)")))]
pub async fn task_log(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((id, task_id)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    let log = s.services.replication_task_log(&actor, id, task_id).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], log).into_response())
}
