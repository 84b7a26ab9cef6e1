//! Labels in Harbor's shape: `/labels` (global labels: `scope=g`; project labels: `scope=p`
//! with `project_id`) and `…/artifacts/{reference}/labels` to attach and detach them.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use domain::service::labels::LabelInput;
use domain::types::dto::LabelView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{Json, Path, Query, RepoSegment};
use super::{paged, ApiActor, ApiResult, ListQuery};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/labels", get(list_labels).post(create_label))
        .route(
            "/labels/{id}",
            get(get_label).put(update_label).delete(delete_label),
        )
        .route(
            "/projects/{project}/repositories/{repository}/artifacts/{reference}/labels",
            post(add_artifact_label),
        )
        .route(
            "/projects/{project}/repositories/{repository}/artifacts/{reference}/labels/{label_id}",
            delete(remove_artifact_label),
        )
}

#[derive(Serialize, ToSchema)]
pub struct LabelJson {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub color: String,
    /// `g` (global) or `p` (project).
    pub scope: String,
    /// The project of a project label; 0 for global labels, as Harbor answers.
    pub project_id: i64,
    pub creation_time: String,
    pub update_time: String,
}

pub fn label_json(l: LabelView) -> LabelJson {
    LabelJson {
        id: l.id,
        name: l.name,
        description: l.description,
        color: l.color,
        scope: l.scope,
        project_id: l.project_id.unwrap_or(0),
        creation_time: l.creation_time,
        update_time: l.update_time,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LabelQuery {
    /// `g` (default) or `p`.
    pub scope: Option<String>,
    /// Required with `scope=p`.
    pub project_id: Option<i64>,
    /// Labels whose name contains this.
    pub name: Option<String>,
    pub page: Option<u64>,
    pub page_size: Option<u64>,
}

#[utoipa::path(get, path = "/api/v2.0/labels", tag = "label", params(LabelQuery),
    responses((status = 200, body = [LabelJson]), (status = 400, body = super::ErrorBody)))]
pub async fn list_labels(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<LabelQuery>,
) -> ApiResult<Response> {
    let scope = q.scope.as_deref().unwrap_or("g");
    let page = s
        .services
        .list_labels(
            &actor,
            scope,
            q.project_id,
            q.name.as_deref(),
            q.page,
            q.page_size,
        )
        .await?;
    let list = ListQuery {
        page: q.page,
        page_size: q.page_size,
        q: None,
        name: None,
    };
    Ok(paged("/api/v2.0/labels", &list, page, label_json))
}

#[derive(Deserialize, ToSchema)]
pub struct LabelReq {
    pub name: Option<String>,
    pub description: Option<String>,
    pub color: Option<String>,
    /// `g` (default) or `p`; only on creation.
    pub scope: Option<String>,
    /// The project of a `p` label; only on creation.
    pub project_id: Option<i64>,
}

fn input(req: LabelReq) -> LabelInput {
    LabelInput {
        name: req.name,
        description: req.description,
        color: req.color,
    }
}

#[utoipa::path(post, path = "/api/v2.0/labels", tag = "label", request_body = LabelReq,
    responses((status = 201, description = "Created; Location names the label"), (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn create_label(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<LabelReq>,
) -> ApiResult<Response> {
    let scope = req.scope.clone().unwrap_or_else(|| "g".into());
    let project_id = req.project_id.filter(|id| *id > 0);
    let created = s
        .services
        .create_label(&actor, &scope, project_id, input(req))
        .await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v2.0/labels/{}", created.id))],
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v2.0/labels/{id}", tag = "label", params(("id" = i64, Path)),
    responses((status = 200, body = LabelJson), (status = 404, body = super::ErrorBody)))]
pub async fn get_label(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<LabelJson>> {
    Ok(axum::Json(label_json(
        s.services.get_label(&actor, id).await?,
    )))
}

#[utoipa::path(put, path = "/api/v2.0/labels/{id}", tag = "label", params(("id" = i64, Path)), request_body = LabelReq,
    responses((status = 200, description = "Updated"), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn update_label(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    Json(req): Json<LabelReq>,
) -> ApiResult<StatusCode> {
    s.services.update_label(&actor, id, input(req)).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(delete, path = "/api/v2.0/labels/{id}", tag = "label", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted, and taken off every artifact"), (status = 403, body = super::ErrorBody)))]
pub async fn delete_label(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_label(&actor, id).await?;
    Ok(StatusCode::OK)
}

#[derive(Deserialize, ToSchema)]
pub struct ArtifactLabelReq {
    /// The label's id.
    pub id: i64,
}

#[utoipa::path(post, path = "/api/v2.0/projects/{project}/repositories/{repository}/artifacts/{reference}/labels", tag = "artifact",
    params(("project" = String, Path), ("repository" = String, Path), ("reference" = String, Path)), request_body = ArtifactLabelReq,
    responses((status = 200, description = "Attached"), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn add_artifact_label(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository, reference)): Path<(String, RepoSegment, String)>,
    Json(req): Json<ArtifactLabelReq>,
) -> ApiResult<StatusCode> {
    s.services
        .add_artifact_label(&actor, &project, &repository, &reference, req.id)
        .await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(delete, path = "/api/v2.0/projects/{project}/repositories/{repository}/artifacts/{reference}/labels/{label_id}", tag = "artifact",
    params(("project" = String, Path), ("repository" = String, Path), ("reference" = String, Path), ("label_id" = i64, Path)),
    responses((status = 200, description = "Detached"), (status = 404, body = super::ErrorBody)))]
pub async fn remove_artifact_label(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository, reference, label_id)): Path<(String, RepoSegment, String, i64)>,
) -> ApiResult<StatusCode> {
    s.services
        .remove_artifact_label(&actor, &project, &repository, &reference, label_id)
        .await?;
    Ok(StatusCode::OK)
}
