//! Liveness and readiness probes for load balancers and orchestrators.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::AppState;

/// The process is up and serving HTTP.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can do useful work: the database answers, the data directory is writable and
/// the blob store answers.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = domain::db::ping(&state.db).await.map_err(|e| e.to_string());
    let data_dir = state.config.data_dir.clone();
    let storage = tokio::task::spawn_blocking(move || probe_writable(&data_dir))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    let blobs = state
        .registry
        .store
        .check()
        .await
        .map_err(|e| e.to_string());
    let ready = database.is_ok() && storage.is_ok() && blobs.is_ok();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let describe = |r: &Result<(), String>| match r {
        Ok(()) => json!({"ok": true}),
        Err(e) => json!({"ok": false, "error": e}),
    };
    (
        status,
        Json(json!({
            "ready": ready,
            "checks": {
                "database": describe(&database),
                "data_dir": describe(&storage),
                "blob_store": describe(&blobs),
            },
        })),
    )
}

fn probe_writable(dir: &std::path::Path) -> Result<(), String> {
    let probe = dir.join(format!(".readyz-{}", uuid::Uuid::new_v4()));
    std::fs::write(&probe, b"ok").map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::remove_file(&probe).map_err(|e| format!("{}: {e}", dir.display()))
}
