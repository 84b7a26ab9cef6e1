//! `/projects/{project}/retention`: the project's tag retention policy, its preview, dry runs
//! and runs. Berth's own shape (Harbor's retention API is keyed by policy id); see
//! docs/configuration.md.

use super::extract::{Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use domain::policy::retention::{Decision, Rule};
use domain::types::dto::{RetentionExecutionView, RetentionPolicyView};
use serde::Deserialize;

use super::{ApiActor, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/projects/{project}/retention",
            get(get_policy).put(put_policy),
        )
        .route("/projects/{project}/retention/preview", post(preview))
        .route(
            "/projects/{project}/retention/executions",
            get(list_executions).post(run),
        )
        .route(
            "/projects/{project}/retention/executions/{id}",
            get(get_execution),
        )
}

#[derive(Deserialize)]
pub struct PolicyReq {
    pub rules: Vec<Rule>,
    /// Cron schedule (five fields, UTC); absent or empty = manual runs only.
    #[serde(default)]
    pub schedule: Option<String>,
}

#[derive(Deserialize)]
pub struct RunReq {
    #[serde(default)]
    pub dry_run: bool,
}

async fn get_policy(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
) -> ApiResult<Json<RetentionPolicyView>> {
    Ok(Json(
        s.services.get_retention_policy(&actor, &project).await?,
    ))
}

async fn put_policy(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
    Json(req): Json<PolicyReq>,
) -> ApiResult<Json<RetentionPolicyView>> {
    Ok(Json(
        s.services
            .set_retention_policy(&actor, &project, req.rules, req.schedule)
            .await?,
    ))
}

async fn preview(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
    Json(req): Json<PolicyReq>,
) -> ApiResult<Json<Vec<Decision>>> {
    Ok(Json(
        s.services
            .preview_retention(&actor, &project, req.rules)
            .await?,
    ))
}

async fn run(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
    Json(req): Json<RunReq>,
) -> ApiResult<(StatusCode, Json<RetentionExecutionView>)> {
    let execution = s
        .services
        .run_retention(&actor, &project, req.dry_run, "manual")
        .await?;
    Ok((StatusCode::CREATED, Json(execution)))
}

async fn list_executions(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
) -> ApiResult<Json<Vec<RetentionExecutionView>>> {
    Ok(Json(
        s.services
            .list_retention_executions(&actor, &project)
            .await?,
    ))
}

async fn get_execution(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, id)): Path<(String, i64)>,
) -> ApiResult<Json<RetentionExecutionView>> {
    Ok(Json(
        s.services
            .get_retention_execution(&actor, &project, id)
            .await?,
    ))
}
