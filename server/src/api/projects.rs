//! `/projects` and `/projects/{project}/members`.

use std::collections::BTreeMap;

use super::extract::{Json, Path, Query};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::service::members::MemberRef;
use domain::service::projects::{NewProject, ProjectUpdate};
use domain::types::dto::{AuditFilter, MemberKind, MemberView, ProjectView};
use domain::types::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{paged, ApiActor, ApiError, ApiResult, ListQuery};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/projects",
            get(list_projects).post(create_project).head(head_project),
        )
        .route(
            "/projects/{project}",
            get(get_project).put(update_project).delete(delete_project),
        )
        .route(
            "/projects/{project}/members",
            get(list_members).post(add_member),
        )
        .route(
            "/projects/{project}/members/{member_id}",
            get(get_member).put(update_member).delete(remove_member),
        )
        .route("/projects/{project}/logs", get(project_logs))
        .route("/projects/{project}/summary", get(project_summary))
}

/// A project as Harbor returns it.
#[derive(Serialize, ToSchema)]
pub struct ProjectJson {
    pub project_id: i64,
    pub name: String,
    pub owner_name: Option<String>,
    pub creation_time: String,
    pub repo_count: u64,
    /// Harbor role id of the caller (1 project admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest).
    pub current_user_role_id: i64,
    pub metadata: BTreeMap<String, String>,
    /// Bytes; -1 unlimited.
    pub storage_limit: i64,
    /// Filled on single-project reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cve_allowlist: Option<super::scans::AllowlistJson>,
}

fn project_json(p: ProjectView) -> ProjectJson {
    ProjectJson {
        project_id: p.id,
        name: p.name,
        owner_name: p.owner,
        creation_time: p.created_at,
        repo_count: p.repo_count,
        current_user_role_id: p.current_role.map_or(0, Role::harbor_id),
        metadata: p.metadata,
        storage_limit: p.storage_limit,
        cve_allowlist: None,
    }
}

#[derive(Deserialize, ToSchema)]
pub struct ProjectReq {
    pub project_name: String,
    #[serde(default)]
    pub public: Option<bool>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Bytes; -1 unlimited.
    #[serde(default)]
    pub storage_limit: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct ProjectUpdateReq {
    #[serde(default)]
    pub public: Option<bool>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub storage_limit: Option<i64>,
    /// Replaces the project's CVE allowlist when present.
    #[serde(default)]
    pub cve_allowlist: Option<super::scans::AllowlistJson>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct HeadQuery {
    pub project_name: String,
}

#[utoipa::path(get, path = "/api/v2.0/projects", params(ListQuery), tag = "project",
    responses((status = 200, body = [ProjectJson], description = "Projects the caller can see")))]
pub async fn list_projects(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let name = q.name.clone().or_else(|| q.q_term("name"));
    let public = q.q_term("public").map(|v| v == "true");
    let page = s
        .services
        .list_projects(&actor, name.as_deref(), public, q.page, q.page_size)
        .await?;
    Ok(paged("/api/v2.0/projects", &q, page, project_json))
}

#[utoipa::path(post, path = "/api/v2.0/projects", request_body = ProjectReq, tag = "project",
    responses((status = 201, description = "Created; Location names the project"), (status = 409, body = super::ErrorBody)))]
pub async fn create_project(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<ProjectReq>,
) -> ApiResult<Response> {
    let created = s
        .services
        .create_project(
            &actor,
            NewProject {
                name: req.project_name,
                public: req.public.unwrap_or(false),
                metadata: req.metadata,
                storage_limit: req.storage_limit,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v2.0/projects/{}", created.id),
        )],
    )
        .into_response())
}

#[utoipa::path(head, path = "/api/v2.0/projects", params(HeadQuery), tag = "project",
    responses((status = 200, description = "Exists"), (status = 404, description = "Does not exist")))]
pub async fn head_project(
    State(s): State<AppState>,
    ApiActor(_actor): ApiActor,
    Query(q): Query<HeadQuery>,
) -> ApiResult<StatusCode> {
    Ok(if s.services.project_exists(&q.project_name).await? {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    })
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}", tag = "project",
    params(("project" = String, Path, description = "Project name or id")),
    responses((status = 200, body = ProjectJson), (status = 404, body = super::ErrorBody)))]
pub async fn get_project(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
) -> ApiResult<Json<ProjectJson>> {
    let view = s.services.get_project(&actor, &project).await?;
    let id = view.id;
    let mut json = project_json(view);
    json.cve_allowlist = Some(super::scans::allowlist_json(
        id,
        s.services.project_allowlist(&actor, &project).await?,
    ));
    Ok(Json(json))
}

#[utoipa::path(put, path = "/api/v2.0/projects/{project}", request_body = ProjectUpdateReq, tag = "project",
    params(("project" = String, Path, description = "Project name or id")),
    responses((status = 200, description = "Updated")))]
pub async fn update_project(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
    Json(req): Json<ProjectUpdateReq>,
) -> ApiResult<StatusCode> {
    s.services
        .update_project(
            &actor,
            &project,
            ProjectUpdate {
                public: req.public,
                metadata: req.metadata,
                storage_limit: req.storage_limit,
            },
        )
        .await?;
    if let Some(list) = req.cve_allowlist {
        s.services
            .set_project_allowlist(&actor, &project, &super::scans::allowlist_of(list))
            .await?;
    }
    Ok(StatusCode::OK)
}

#[utoipa::path(delete, path = "/api/v2.0/projects/{project}", tag = "project",
    params(("project" = String, Path, description = "Project name or id")),
    responses((status = 200, description = "Deleted"), (status = 409, body = super::ErrorBody, description = "The project still holds repositories")))]
pub async fn delete_project(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
) -> ApiResult<StatusCode> {
    s.services.delete_project(&actor, &project).await?;
    Ok(StatusCode::OK)
}

/// A project member as Harbor returns it.
#[derive(Serialize, ToSchema)]
pub struct MemberJson {
    pub id: i64,
    pub entity_name: String,
    /// `u` for a user, `g` for a group.
    pub entity_type: String,
    pub role_id: i64,
    pub role_name: String,
}

fn member_json(m: MemberView) -> MemberJson {
    MemberJson {
        id: m.id,
        entity_name: m.name,
        entity_type: match m.kind {
            MemberKind::User => "u".into(),
            MemberKind::Group => "g".into(),
        },
        role_id: m.role.harbor_id(),
        role_name: m.role.as_str().into(),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct MemberUser {
    pub username: String,
}

#[derive(Deserialize, ToSchema)]
pub struct MemberGroup {
    pub group_name: String,
}

#[derive(Deserialize, ToSchema)]
pub struct MemberReq {
    pub role_id: i64,
    pub member_user: Option<MemberUser>,
    pub member_group: Option<MemberGroup>,
}

#[derive(Deserialize, ToSchema)]
pub struct RoleReq {
    pub role_id: i64,
}

fn role(id: i64) -> ApiResult<Role> {
    Role::from_harbor_id(id)
        .ok_or_else(|| ApiError::bad_request(format!("unknown role_id {id} (expected 1-5)")))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct MemberQuery {
    pub entityname: Option<String>,
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/members", tag = "member",
    params(("project" = String, Path, description = "Project name or id"), MemberQuery),
    responses((status = 200, body = [MemberJson])))]
pub async fn list_members(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
    Query(q): Query<MemberQuery>,
) -> ApiResult<Response> {
    let members = s
        .services
        .list_members(&actor, &project, q.entityname.as_deref())
        .await?;
    let total = members.len();
    let body: Vec<MemberJson> = members.into_iter().map(member_json).collect();
    Ok(([("x-total-count", total.to_string())], Json(body)).into_response())
}

#[utoipa::path(post, path = "/api/v2.0/projects/{project}/members", request_body = MemberReq, tag = "member",
    params(("project" = String, Path, description = "Project name or id")),
    responses((status = 201, description = "Added")))]
pub async fn add_member(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
    Json(req): Json<MemberReq>,
) -> ApiResult<Response> {
    let who = match (req.member_user, req.member_group) {
        (Some(u), None) => MemberRef::User(u.username),
        (None, Some(g)) => MemberRef::Group(g.group_name),
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of member_user or member_group",
            ))
        }
    };
    let m = s
        .services
        .add_member(&actor, &project, who, role(req.role_id)?)
        .await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v2.0/projects/{project}/members/{}", m.id),
        )],
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/members/{member_id}", tag = "member",
    params(("project" = String, Path), ("member_id" = i64, Path)),
    responses((status = 200, body = MemberJson)))]
pub async fn get_member(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, member_id)): Path<(String, i64)>,
) -> ApiResult<Json<MemberJson>> {
    Ok(Json(member_json(
        s.services.get_member(&actor, &project, member_id).await?,
    )))
}

#[utoipa::path(put, path = "/api/v2.0/projects/{project}/members/{member_id}", request_body = RoleReq, tag = "member",
    params(("project" = String, Path), ("member_id" = i64, Path)),
    responses((status = 200, description = "Role changed")))]
pub async fn update_member(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, member_id)): Path<(String, i64)>,
    Json(req): Json<RoleReq>,
) -> ApiResult<StatusCode> {
    s.services
        .update_member(&actor, &project, member_id, role(req.role_id)?)
        .await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(delete, path = "/api/v2.0/projects/{project}/members/{member_id}", tag = "member",
    params(("project" = String, Path), ("member_id" = i64, Path)),
    responses((status = 200, description = "Removed")))]
pub async fn remove_member(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, member_id)): Path<(String, i64)>,
) -> ApiResult<StatusCode> {
    s.services
        .remove_member(&actor, &project, member_id)
        .await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/logs", tag = "auditlog",
    params(("project" = String, Path), ListQuery),
    responses((status = 200, body = [super::audit::AuditLogJson])))]
pub async fn project_logs(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let filter = AuditFilter {
        project: Some(project.clone()),
        ..super::audit::filter_from(&q)
    };
    let page = s
        .services
        .list_audit(&actor, &filter, q.page, q.page_size)
        .await?;
    Ok(paged(
        &format!("/api/v2.0/projects/{project}/logs"),
        &q,
        page,
        super::audit::audit_json,
    ))
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/summary", tag = "project",
    params(("project" = String, Path, description = "Project name or id")),
    responses((status = 200, description = "Storage quota: `hard` limit (-1 unlimited) and `used` bytes")))]
pub async fn project_summary(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let q = s.services.project_quota(&actor, &project).await?;
    Ok(Json(serde_json::json!({
        "quota": {"hard": {"storage": q.limit}, "used": {"storage": q.used}}
    })))
}
