//! `/robots`: system and project robot accounts, in Harbor's shape.

use super::extract::{Json, Path, Query};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::policy::authz::{Action, Resource, RobotGrant};
use domain::service::robots::{NewRobot, RobotUpdate};
use domain::types::dto::{RobotSecret, RobotView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiActor, ApiError, ApiResult, ListQuery};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/robots", get(list_robots).post(create_robot))
        .route(
            "/robots/{id}",
            get(get_robot)
                .put(update_robot)
                .patch(refresh_robot)
                .delete(delete_robot),
        )
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct AccessJson {
    /// `repository`, `artifact`, `tag`, `scan`.
    pub resource: String,
    /// `pull`, `push`, `delete`, `read`, `list`, `create`.
    pub action: String,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct PermissionJson {
    /// Always `project`.
    #[serde(default = "project_kind")]
    pub kind: String,
    /// Project name, or `*` for every project (system robots).
    pub namespace: String,
    pub access: Vec<AccessJson>,
}

fn project_kind() -> String {
    "project".into()
}

#[derive(Serialize, ToSchema)]
pub struct RobotJson {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// `system` or `project`.
    pub level: String,
    pub disable: bool,
    /// RFC 3339, absent when the robot never expires.
    pub expires_at: Option<String>,
    pub permissions: Vec<PermissionJson>,
    pub creator: String,
    pub creation_time: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RobotReq {
    /// Short name; Berth adds `robot$` (and `project+` for project robots).
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `system` or `project`.
    pub level: String,
    /// Days until expiry; -1 never.
    #[serde(default = "never")]
    pub duration: i64,
    #[serde(default)]
    pub disable: bool,
    pub permissions: Vec<PermissionJson>,
}

fn never() -> i64 {
    -1
}

#[derive(Deserialize, ToSchema)]
pub struct RobotUpdateReq {
    pub description: Option<String>,
    pub disable: Option<bool>,
    /// Replaces every permission when given.
    pub permissions: Option<Vec<PermissionJson>>,
}

#[derive(Serialize, ToSchema)]
pub struct RobotCreatedJson {
    pub id: i64,
    pub name: String,
    /// Shown once; store it now.
    pub secret: String,
    pub expires_at: Option<String>,
}

fn parse_enum<T: serde::de::DeserializeOwned>(value: &str, what: &str) -> ApiResult<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| ApiError::bad_request(format!("unknown {what} `{value}`")))
}

fn to_grants(perms: &[PermissionJson]) -> ApiResult<Vec<RobotGrant>> {
    let mut grants = Vec::new();
    for p in perms {
        for a in &p.access {
            grants.push(RobotGrant {
                namespace: p.namespace.clone(),
                resource: parse_enum::<Resource>(&a.resource, "resource")?,
                action: parse_enum::<Action>(&a.action, "action")?,
            });
        }
    }
    Ok(grants)
}

fn to_permissions(grants: &[RobotGrant]) -> Vec<PermissionJson> {
    let mut out: Vec<PermissionJson> = Vec::new();
    for g in grants {
        let access = AccessJson {
            resource: serde_json::to_value(g.resource)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            action: serde_json::to_value(g.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        };
        match out.iter_mut().find(|p| p.namespace == g.namespace) {
            Some(p) => p.access.push(access),
            None => out.push(PermissionJson {
                kind: project_kind(),
                namespace: g.namespace.clone(),
                access: vec![access],
            }),
        }
    }
    out
}

fn robot_json(r: RobotView) -> RobotJson {
    RobotJson {
        id: r.id,
        level: if r.project.is_some() {
            "project"
        } else {
            "system"
        }
        .into(),
        permissions: to_permissions(&r.permissions),
        name: r.name,
        description: r.description,
        disable: r.disabled,
        expires_at: r.expires_at,
        creator: r.created_by,
        creation_time: r.created_at,
    }
}

fn created_json(s: RobotSecret) -> RobotCreatedJson {
    RobotCreatedJson {
        id: s.id,
        name: s.name,
        secret: s.secret,
        expires_at: s.expires_at,
    }
}

#[utoipa::path(get, path = "/api/v2.0/robots", params(ListQuery), tag = "robot",
    responses((status = 200, body = [RobotJson], description = "With `q=project=<name>` a project's robots; otherwise every robot (system admins)")))]
pub async fn list_robots(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let project = q.q_term("project");
    let robots = s.services.list_robots(&actor, project.as_deref()).await?;
    let total = robots.len();
    let body: Vec<RobotJson> = robots.into_iter().map(robot_json).collect();
    Ok(([("x-total-count", total.to_string())], Json(body)).into_response())
}

#[utoipa::path(post, path = "/api/v2.0/robots", request_body = RobotReq, tag = "robot",
    responses((status = 201, body = RobotCreatedJson, description = "The secret is shown only in this response")))]
pub async fn create_robot(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<RobotReq>,
) -> ApiResult<Response> {
    let project = match req.level.as_str() {
        "system" => None,
        "project" => Some(
            req.permissions
                .first()
                .map(|p| p.namespace.clone())
                .ok_or_else(|| {
                    ApiError::bad_request("a project robot needs a permission naming its project")
                })?,
        ),
        other => {
            return Err(ApiError::bad_request(format!(
                "level must be `system` or `project`, not `{other}`"
            )))
        }
    };
    let created = s
        .services
        .create_robot(
            &actor,
            NewRobot {
                name: req.name,
                description: req.description,
                project,
                duration_days: req.duration,
                permissions: to_grants(&req.permissions)?,
                disabled: req.disable,
            },
        )
        .await?;
    let location = format!("/api/v2.0/robots/{}", created.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created_json(created)),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v2.0/robots/{id}", tag = "robot", params(("id" = i64, Path)),
    responses((status = 200, body = RobotJson)))]
pub async fn get_robot(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<RobotJson>> {
    Ok(Json(robot_json(s.services.get_robot(&actor, id).await?)))
}

#[utoipa::path(put, path = "/api/v2.0/robots/{id}", request_body = RobotUpdateReq, tag = "robot", params(("id" = i64, Path)),
    responses((status = 200, description = "Updated")))]
pub async fn update_robot(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    Json(req): Json<RobotUpdateReq>,
) -> ApiResult<StatusCode> {
    s.services
        .update_robot(
            &actor,
            id,
            RobotUpdate {
                description: req.description,
                disabled: req.disable,
                permissions: req.permissions.as_deref().map(to_grants).transpose()?,
            },
        )
        .await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(patch, path = "/api/v2.0/robots/{id}", tag = "robot", params(("id" = i64, Path)),
    responses((status = 200, body = RobotCreatedJson, description = "A new secret; the old one no longer works")))]
pub async fn refresh_robot(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<RobotCreatedJson>> {
    Ok(Json(created_json(
        s.services.refresh_robot_secret(&actor, id).await?,
    )))
}

#[utoipa::path(delete, path = "/api/v2.0/robots/{id}", tag = "robot", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted")))]
pub async fn delete_robot(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_robot(&actor, id).await?;
    Ok(StatusCode::OK)
}
