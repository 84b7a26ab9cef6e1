//! Garbage collection (system administrators): `POST /system/gc` runs it now — waiting for the
//! report, or with `"background": true` answering 202 at once — and `GET /system/gc[/{id}]`
//! lists the recorded runs with their progress and outcome.

use super::extract::{Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::policy::authz::Action;
use domain::service::audit::{self, Outcome, Record};
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

fn internal(message: String) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_SERVER_ERROR",
        message,
    )
}

/// Records a run and starts it. Refused with 409 while another run is in progress.
pub async fn start(
    state: &AppState,
    options: &GcOptions,
    trigger: &str,
    actor: &str,
) -> Result<i64, ApiError> {
    state
        .registry
        .begin_gc_run(options, trigger, actor)
        .await
        .map_err(|e| match e.code {
            domain::service::registry::OciCode::Denied => {
                ApiError::new(StatusCode::CONFLICT, "CONFLICT", e.message)
            }
            _ => internal(e.message),
        })
}

/// Runs a recorded run to its end and audits it.
pub async fn finish(
    state: &AppState,
    id: i64,
    options: &GcOptions,
    principal_kind: &str,
    principal_name: &str,
    source_ip: &str,
) -> Result<GcReport, ApiError> {
    let outcome = state.registry.execute_gc_run(id, options).await;
    let (result, detail) = match &outcome {
        Ok(report) => (
            Outcome::Success,
            serde_json::to_string(report).unwrap_or_default(),
        ),
        Err(e) => (Outcome::Failure, e.message.clone()),
    };
    audit::record_with_detail(
        &state.db,
        principal_kind,
        principal_name,
        source_ip,
        Record {
            operation: if options.dry_run { "dry_run" } else { "run" },
            resource_type: "gc",
            resource: &format!("run {id}"),
            project_id: None,
            outcome: result,
        },
        &detail,
    )
    .await?;
    outcome.map_err(|e| internal(e.message))
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

/// Records a run and lets it go on in the background on `runtime` (the current one when
/// `None`); returns its id at once.
pub async fn start_in_background(
    state: &AppState,
    options: GcOptions,
    trigger: &str,
    actor: &domain::service::Actor,
    runtime: Option<&tokio::runtime::Handle>,
) -> Result<i64, ApiError> {
    let id = start(state, &options, trigger, actor.principal.name()).await?;
    let (state, actor) = (state.clone(), actor.clone());
    let run = async move {
        let (kind, name) = (actor.principal.kind(), actor.principal.name());
        if let Err(e) = finish(&state, id, &options, kind, name, &actor.source_ip).await {
            tracing::error!(run = id, error = %e.message(), "garbage collection failed");
        }
    };
    match runtime {
        Some(handle) => drop(handle.spawn(run)),
        None => drop(tokio::spawn(run)),
    }
    Ok(id)
}

async fn run_gc(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<GcReq>,
) -> ApiResult<Response> {
    s.services
        .require_configuration(&actor, Action::Update)
        .await?;
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
        let id = start_in_background(&s, options, "manual", &actor, None).await?;
        return Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "id": id }))).into_response());
    }
    let id = start(&s, &options, "manual", actor.principal.name()).await?;
    let report = finish(
        &s,
        id,
        &options,
        actor.principal.kind(),
        actor.principal.name(),
        &actor.source_ip,
    )
    .await?;
    Ok(Json(GcResponse { id, report }).into_response())
}

async fn list_runs(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Vec<GcRun>>> {
    s.services
        .require_configuration(&actor, Action::Read)
        .await?;
    Ok(Json(
        s.registry
            .gc_runs(50)
            .await
            .map_err(|e| internal(e.message))?,
    ))
}

async fn get_run(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<GcRun>> {
    s.services
        .require_configuration(&actor, Action::Read)
        .await?;
    s.registry
        .gc_run(id)
        .await
        .map_err(|e| internal(e.message))?
        .map(Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such run"))
}
