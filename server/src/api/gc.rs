//! `POST /system/gc`: run garbage collection now (system administrators).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use domain::policy::authz::Action;
use domain::service::audit::{self, Outcome, Record};
use domain::service::registry::gc::{GcOptions, GcReport};
use serde::Deserialize;

use super::{ApiActor, ApiError, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/system/gc", post(run_gc))
}

#[derive(Deserialize)]
pub struct GcReq {
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub delete_untagged: bool,
    /// Blobs younger than this many minutes are kept (default 120).
    pub window_minutes: Option<i64>,
}

async fn run_gc(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<GcReq>,
) -> ApiResult<Json<GcReport>> {
    s.services
        .require_configuration(&actor, Action::Update)
        .await?;
    let window = req.window_minutes.unwrap_or(120);
    if window < 0 {
        return Err(ApiError::bad_request("window_minutes must not be negative"));
    }
    let options = GcOptions {
        dry_run: req.dry_run,
        delete_untagged: req.delete_untagged,
        window: chrono::Duration::minutes(window),
    };
    let report = s.registry.collect_garbage(&options).await.map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            e.message,
        )
    })?;
    let detail = serde_json::to_string(&report).unwrap_or_default();
    audit::record_with_detail(
        &s.db,
        actor.principal.kind(),
        actor.principal.name(),
        &actor.source_ip,
        Record {
            operation: if req.dry_run { "dry_run" } else { "run" },
            resource_type: "gc",
            resource: "registry",
            project_id: None,
            outcome: Outcome::Success,
        },
        &detail,
    )
    .await?;
    Ok(Json(report))
}
