//! Garbage collection (system administrators): `POST /system/gc` runs it now — waiting for the
//! report, or with `"background": true` answering 202 at once — and `GET /system/gc[/{id}]`
//! lists the recorded runs with their progress and outcome.

use super::extract::{Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::service::registry::gc::{GcOptions, GcReport, GcRun};
use serde::{Deserialize, Serialize};

use super::{ApiActor, ApiError, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/system/gc", post(run_gc).get(list_runs))
        .route("/system/gc/{id}", get(get_run))
        .route("/system/quota", get(system_quota))
}

/// Every project's usage and limit, and the registry's (system administrators).
async fn system_quota(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<domain::types::dto::SystemQuotaView>> {
    Ok(Json(
        s.services
            .system_quota(&actor, s.registry.settings.global_storage_limit)
            .await?,
    ))
}

#[derive(Deserialize)]
pub struct GcReq {
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub delete_untagged: bool,
    /// Blobs younger than this many minutes are kept (default 120).
    pub window_minutes: Option<i64>,
    /// Answer 202 with the run's id at once instead of waiting for the report.
    #[serde(default)]
    pub background: bool,
}

#[derive(Serialize)]
pub struct GcResponse {
    pub id: i64,
    #[serde(flatten)]
    pub report: GcReport,
}

/// Options for a run with the configured window (`gc.window`).
pub fn configured_options(state: &AppState, dry_run: bool, delete_untagged: bool) -> GcOptions {
    GcOptions {
        dry_run,
        delete_untagged,
        window: chrono::Duration::from_std(state.config.gc.window.0)
            .unwrap_or(chrono::Duration::hours(2)),
        run: None,
    }
}

async fn run_gc(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<GcReq>,
) -> ApiResult<Response> {
    // At most a week: the window only has to outlast the slowest push in progress.
    let window = domain::policy::limits::minutes(
        "window_minutes",
        req.window_minutes.unwrap_or(120),
        7 * 24 * 60,
    )
    .map_err(ApiError::bad_request)?;
    let options = GcOptions {
        dry_run: req.dry_run,
        delete_untagged: req.delete_untagged,
        window,
        run: None,
    };
    if req.background {
        let id = s
            .registry
            .start_gc_in_background(&actor, options, "manual", None)
            .await?;
        return Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "id": id }))).into_response());
    }
    let id = s.registry.start_gc(&actor, &options, "manual").await?;
    let report = s.registry.finish_gc(&actor, id, &options).await?;
    Ok(Json(GcResponse { id, report }).into_response())
}

async fn list_runs(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Vec<GcRun>>> {
    Ok(Json(s.registry.list_gc_runs(&actor, 50).await?))
}

async fn get_run(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<GcRun>> {
    Ok(Json(s.registry.get_gc_run(&actor, id).await?))
}
