//! Scanning in Harbor's REST shape: scan an artifact, read its report, scan all (now or on a
//! schedule), scanner registrations and each project's choice, CVE allowlists, and (Berth's
//! extension) the vulnerability database's state and import.

use std::collections::BTreeMap;

use super::extract::{Json, Path, RepoSegment};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::policy::authz::Action;
use domain::scan::report::{Report, REPORT_MIME};
use domain::service::projects::find_project;
use domain::service::scans::reports::CveAllowlist;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{ApiActor, ApiError, ApiResult};
use crate::scanning::client;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/projects/{project}/repositories/{repository}/artifacts/{reference}/scan",
            post(scan_artifact),
        )
        .route(
            "/projects/{project}/repositories/{repository}/artifacts/{reference}/additions/vulnerabilities",
            get(vulnerabilities),
        )
        .route(
            "/system/scanAll/schedule",
            get(get_scan_all).post(set_scan_all).put(set_scan_all),
        )
        .route("/scans/all/metrics", get(scan_metrics))
        .route("/scanners", get(list_scanners).post(create_scanner))
        .route("/scanners/ping", post(ping_scanner))
        .route(
            "/scanners/{uuid}",
            get(get_scanner)
                .put(update_scanner)
                .patch(set_default_scanner)
                .delete(delete_scanner),
        )
        .route("/scanners/{uuid}/metadata", get(scanner_metadata))
        .route(
            "/projects/{project}/scanner",
            get(get_project_scanner).put(set_project_scanner),
        )
        .route(
            "/system/CVEAllowlist",
            get(get_system_allowlist).put(set_system_allowlist),
        )
        .route("/vulndb", get(vulndb_status))
        .route(
            "/vulndb/import",
            post(vulndb_import).layer(axum::extract::DefaultBodyLimit::max(1 << 30)),
        )
}

#[utoipa::path(post, path = "/api/v2.0/projects/{project}/repositories/{repository}/artifacts/{reference}/scan", tag = "scan",
    params(("project" = String, Path), ("repository" = String, Path), ("reference" = String, Path)),
    responses((status = 202, description = "Scan queued"), (status = 400, body = super::ErrorBody, description = "Not an image")))]
pub async fn scan_artifact(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository, reference)): Path<(String, RepoSegment, String)>,
) -> ApiResult<StatusCode> {
    let (p, r, a) = s
        .registry
        .artifact_for_scan(&actor, &project, &repository, &reference, Action::Create)
        .await?;
    let scanner = s.scans.scanner_for_project(p.id).await?;
    s.scans
        .request(
            &actor,
            p.id,
            &format!("{}@{}", r.name, a.digest),
            a.id,
            &scanner,
            "manual",
        )
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/repositories/{repository}/artifacts/{reference}/additions/vulnerabilities", tag = "scan",
    params(("project" = String, Path), ("repository" = String, Path), ("reference" = String, Path)),
    responses((status = 200, description = "The report keyed by its MIME type; empty when not scanned")))]
pub async fn vulnerabilities(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository, reference)): Path<(String, RepoSegment, String)>,
) -> ApiResult<Json<BTreeMap<String, Report>>> {
    let (p, _, a) = s
        .registry
        .artifact_for_scan(&actor, &project, &repository, &reference, Action::Read)
        .await?;
    let scanner = s.scans.scanner_for_project(p.id).await?;
    let mut out = BTreeMap::new();
    if let Some(report) = s.scans.report(a.id, &scanner).await? {
        out.insert(REPORT_MIME.to_string(), report);
    }
    Ok(Json(out))
}

/// `scan_overview` of several artifacts of one project (Harbor's `with_scan_overview`).
pub async fn overviews(
    s: &AppState,
    project: &str,
    artifact_ids: &[i64],
) -> ApiResult<std::collections::HashMap<i64, BTreeMap<String, domain::scan::report::Overview>>> {
    let p = find_project(&s.db, project).await?;
    let scanner = s.scans.scanner_for_project(p.id).await?;
    Ok(s.scans
        .overviews(artifact_ids, &scanner)
        .await?
        .into_iter()
        .map(|(id, o)| (id, BTreeMap::from([(REPORT_MIME.to_string(), o)])))
        .collect())
}

#[derive(Serialize, Deserialize, ToSchema, Default)]
pub struct ScheduleBody {
    #[serde(default)]
    pub schedule: ScheduleSpec,
}

#[derive(Serialize, Deserialize, ToSchema, Default)]
pub struct ScheduleSpec {
    /// `None`, `Manual` (run now), `Custom`, `Hourly`, `Daily` or `Weekly`.
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub cron: String,
}

#[utoipa::path(get, path = "/api/v2.0/system/scanAll/schedule", tag = "scan",
    responses((status = 200, body = ScheduleBody)))]
pub async fn get_scan_all(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<ScheduleBody>> {
    let cron = s.scans.scan_all_schedule_for(&actor).await?;
    Ok(Json(ScheduleBody {
        schedule: match cron {
            Some(cron) => ScheduleSpec {
                kind: "Custom".into(),
                cron,
            },
            None => ScheduleSpec {
                kind: "None".into(),
                cron: String::new(),
            },
        },
    }))
}

#[utoipa::path(post, path = "/api/v2.0/system/scanAll/schedule", request_body = ScheduleBody, tag = "scan",
    responses((status = 201, description = "Manual: scans queued; otherwise the schedule is set")))]
pub async fn set_scan_all(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(body): Json<ScheduleBody>,
) -> ApiResult<Response> {
    let cron = match body.schedule.kind.as_str() {
        "Manual" => {
            let queued = s.scans.scan_all(&actor, "manual").await?;
            return Ok((StatusCode::CREATED, Json(json!({"queued": queued}))).into_response());
        }
        "None" | "" => None,
        "Hourly" => Some("0 * * * *".to_string()),
        "Daily" => Some("0 0 * * *".to_string()),
        "Weekly" => Some("0 0 * * 0".to_string()),
        "Custom" => Some(body.schedule.cron.clone()),
        other => {
            return Err(ApiError::bad_request(format!(
                "schedule type `{other}` is not one of None, Manual, Hourly, Daily, Weekly, Custom"
            )))
        }
    };
    s.scans
        .set_scan_all_schedule(&actor, cron.as_deref())
        .await?;
    Ok(StatusCode::OK.into_response())
}

#[utoipa::path(get, path = "/api/v2.0/scans/all/metrics", tag = "scan",
    responses((status = 200, description = "Jobs per status")))]
pub async fn scan_metrics(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<serde_json::Value>> {
    s.services
        .require_configuration(&actor, Action::Read)
        .await?;
    let counts = s.scans.queue_counts().await?;
    let total: i64 = counts.values().sum();
    let ongoing =
        counts.get("queued").copied().unwrap_or(0) + counts.get("running").copied().unwrap_or(0);
    Ok(Json(
        json!({"total": total, "completed": total - ongoing, "ongoing": ongoing > 0, "metrics": counts}),
    ))
}

#[utoipa::path(get, path = "/api/v2.0/scanners", tag = "scanner",
    responses((status = 200, body = [client::Registration])))]
pub async fn list_scanners(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Vec<client::Registration>>> {
    Ok(Json(
        s.scans
            .list_scanners(&actor)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v2.0/scanners", request_body = client::RegistrationReq, tag = "scanner",
    responses((status = 201, body = client::Registration)))]
pub async fn create_scanner(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<client::RegistrationReq>,
) -> ApiResult<Response> {
    let created: client::Registration = s
        .scans
        .register_scanner(&actor, req.into_input(&s))
        .await?
        .into();
    Ok((
        StatusCode::CREATED,
        [(
            axum::http::header::LOCATION,
            format!("/api/v2.0/scanners/{}", created.uuid),
        )],
        Json(created),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v2.0/scanners/ping", request_body = client::RegistrationReq, tag = "scanner",
    responses((status = 200, description = "The scanner's metadata")))]
pub async fn ping_scanner(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<client::RegistrationReq>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(client::ping(&s, &actor, req).await?))
}

#[utoipa::path(get, path = "/api/v2.0/scanners/{uuid}", tag = "scanner",
    params(("uuid" = String, Path)), responses((status = 200, body = client::Registration)))]
pub async fn get_scanner(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(uuid): Path<String>,
) -> ApiResult<Json<client::Registration>> {
    Ok(Json(s.scans.get_scanner(&actor, &uuid).await?.into()))
}

#[utoipa::path(put, path = "/api/v2.0/scanners/{uuid}", request_body = client::RegistrationReq, tag = "scanner",
    params(("uuid" = String, Path)), responses((status = 200, body = client::Registration)))]
pub async fn update_scanner(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(uuid): Path<String>,
    Json(req): Json<client::RegistrationReq>,
) -> ApiResult<Json<client::Registration>> {
    Ok(Json(
        s.scans
            .update_scanner(&actor, &uuid, req.into_input(&s))
            .await?
            .into(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct DefaultReq {
    pub is_default: bool,
}

#[utoipa::path(patch, path = "/api/v2.0/scanners/{uuid}", request_body = DefaultReq, tag = "scanner",
    params(("uuid" = String, Path)), responses((status = 200, description = "Now the default")))]
pub async fn set_default_scanner(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(uuid): Path<String>,
    Json(req): Json<DefaultReq>,
) -> ApiResult<StatusCode> {
    if req.is_default {
        s.scans.set_default_scanner(&actor, &uuid).await?;
    } else {
        s.services
            .require_configuration(&actor, Action::Update)
            .await?;
    }
    Ok(StatusCode::OK)
}

#[utoipa::path(delete, path = "/api/v2.0/scanners/{uuid}", tag = "scanner",
    params(("uuid" = String, Path)), responses((status = 200, body = client::Registration)))]
pub async fn delete_scanner(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(uuid): Path<String>,
) -> ApiResult<Json<client::Registration>> {
    Ok(Json(s.scans.remove_scanner(&actor, &uuid).await?.into()))
}

#[utoipa::path(get, path = "/api/v2.0/scanners/{uuid}/metadata", tag = "scanner",
    params(("uuid" = String, Path)), responses((status = 200, description = "The adapter's metadata")))]
pub async fn scanner_metadata(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(uuid): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(client::metadata(&s, &actor, &uuid).await?))
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/scanner", tag = "scanner",
    params(("project" = String, Path)), responses((status = 200, body = client::Registration)))]
pub async fn get_project_scanner(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
) -> ApiResult<Json<client::Registration>> {
    Ok(Json(
        s.scans.project_scanner(&actor, &project).await?.into(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct ProjectScannerReq {
    pub uuid: String,
}

#[utoipa::path(put, path = "/api/v2.0/projects/{project}/scanner", request_body = ProjectScannerReq, tag = "scanner",
    params(("project" = String, Path)), responses((status = 200, description = "Chosen")))]
pub async fn set_project_scanner(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
    Json(req): Json<ProjectScannerReq>,
) -> ApiResult<StatusCode> {
    s.scans.choose_scanner(&actor, &project, &req.uuid).await?;
    Ok(StatusCode::OK)
}

/// Harbor's allowlist body: `items` of `{cve_id}` and `expires_at` (Unix seconds).
#[derive(Serialize, Deserialize, ToSchema, Default)]
pub struct AllowlistJson {
    #[serde(default)]
    pub project_id: i64,
    #[serde(default)]
    pub items: Vec<AllowlistItem>,
    #[serde(default)]
    pub expires_at: Option<i64>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AllowlistItem {
    pub cve_id: String,
}

pub fn allowlist_json(project_id: i64, list: CveAllowlist) -> AllowlistJson {
    AllowlistJson {
        project_id,
        items: list
            .items
            .into_iter()
            .map(|cve_id| AllowlistItem { cve_id })
            .collect(),
        expires_at: list.expires_at,
    }
}

pub fn allowlist_of(json: AllowlistJson) -> CveAllowlist {
    CveAllowlist {
        items: json.items.into_iter().map(|i| i.cve_id).collect(),
        expires_at: json.expires_at.filter(|t| *t > 0),
    }
}

#[utoipa::path(get, path = "/api/v2.0/system/CVEAllowlist", tag = "scan",
    responses((status = 200, body = AllowlistJson)))]
pub async fn get_system_allowlist(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<AllowlistJson>> {
    if matches!(actor.principal, domain::service::Principal::Anonymous) {
        return Err(
            domain::service::DomainError::Unauthorized("authentication required".into()).into(),
        );
    }
    Ok(Json(allowlist_json(
        0,
        s.services.system_allowlist().await?,
    )))
}

#[utoipa::path(put, path = "/api/v2.0/system/CVEAllowlist", request_body = AllowlistJson, tag = "scan",
    responses((status = 200, description = "Replaced")))]
pub async fn set_system_allowlist(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(body): Json<AllowlistJson>,
) -> ApiResult<StatusCode> {
    s.services
        .set_system_allowlist(&actor, &allowlist_of(body))
        .await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(get, path = "/api/v2.0/vulndb", tag = "scan",
    responses((status = 200, description = "Records per ecosystem and the last import")))]
pub async fn vulndb_status(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<serde_json::Value>> {
    s.services
        .require_configuration(&actor, Action::Read)
        .await?;
    let counts = s.scans.vulndb.counts().await?;
    let last = s.scans.vulndb.last_update().await?;
    Ok(Json(json!({
        "ecosystems": counts,
        "last_update": last.map(domain::service::rfc3339),
        "source": s.config.scanning.vulndb_source,
    })))
}

#[utoipa::path(post, path = "/api/v2.0/vulndb/import", tag = "scan",
    request_body(content = Vec<u8>, description = "An OSV record (.json) or an OSV all.zip", content_type = "application/octet-stream"),
    responses((status = 200, description = "The import report")))]
pub async fn vulndb_import(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    body: axum::body::Body,
) -> ApiResult<Json<domain::service::vulndb::ImportReport>> {
    s.services
        .require_configuration(&actor, Action::Update)
        .await?;
    let report = crate::scanning::import_upload(&s, &actor, body.into_data_stream()).await?;
    Ok(Json(report))
}
