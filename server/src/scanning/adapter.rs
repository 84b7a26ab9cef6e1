//! Berth's built-in scanner behind Harbor's pluggable-scanner API, so another registry (or
//! another Berth) can register it: `GET /api/v1/metadata`, `POST /api/v1/scan` (202 with an
//! id; the image is pulled from the registry in the request with the authorization it
//! carries) and `GET /api/v1/scan/{id}/report` (302 + `Refresh-After` while running).
//! Callers authenticate as a Berth system administrator: the adapter fetches from whatever
//! registry a request names, which is not something every account should be able to ask for.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::scan::report::{ReportArtifact, RAW_REPORT_MIME};
use domain::service::scans::adapter_tasks::AdapterTask;
use domain::service::scans::builtin::{findings, layer_digests, make_report, read_image};
use domain::service::scans::builtin_info;
use domain::service::Principal;
use domain::storage::ByteStream;
use futures::StreamExt;
use serde_json::json;

use super::protocol::{metadata_json, ScanRequest, CONSUMES};
use crate::auth::AuthState;
use crate::AppState;

/// How long a caller is asked to wait before asking for the report again.
const REFRESH_AFTER_SECS: u64 = 2;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/metadata", get(get_metadata))
        .route("/api/v1/scan", post(accept_scan))
        .route("/api/v1/scan/{id}/report", get(get_report))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/vnd.scanner.adapter.error+json; version=1.0"),
        )],
        Json(json!({"error": {"message": message.into()}})),
    )
        .into_response()
}

/// The refusal for a caller the adapter does not serve, if any.
async fn refusal(state: &AppState, auth: &AuthState) -> Option<Response> {
    if !state.config.scanning.adapter {
        return Some(error(
            StatusCode::NOT_FOUND,
            "the scanner adapter is disabled (scanning.adapter)",
        ));
    }
    if auth.failure.is_some() || matches!(auth.actor.principal, Principal::Anonymous) {
        let mut res = error(StatusCode::UNAUTHORIZED, "authentication required");
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"berth scanner adapter\""),
        );
        return Some(res);
    }
    // It fetches from whatever registry a request names: system administrators only.
    match state
        .services
        .require_configuration(&auth.actor, domain::policy::authz::Action::Update)
        .await
    {
        Ok(()) => None,
        Err(domain::service::DomainError::Forbidden(_)) => Some(error(
            StatusCode::FORBIDDEN,
            "the scanner adapter serves system administrators only",
        )),
        Err(e) => Some(error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
    }
}

async fn get_metadata(State(state): State<AppState>, auth: AuthState) -> Response {
    if let Some(res) = refusal(&state, &auth).await {
        return res;
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/vnd.scanner.adapter.metadata+json; version=1.0"),
        )],
        Json(metadata_json(&state).await),
    )
        .into_response()
}

async fn accept_scan(
    State(state): State<AppState>,
    auth: AuthState,
    body: axum::body::Bytes,
) -> Response {
    if let Some(res) = refusal(&state, &auth).await {
        return res;
    }
    let request: ScanRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("not a scan request: {e}")),
    };
    if !request.registry.url.starts_with("http://") && !request.registry.url.starts_with("https://")
    {
        return error(
            StatusCode::BAD_REQUEST,
            "registry.url must be an http(s) URL",
        );
    }
    if domain::types::Digest::parse(&request.artifact.digest).is_err()
        || domain::types::RepoName::parse(&request.artifact.repository).is_err()
    {
        return error(
            StatusCode::BAD_REQUEST,
            "artifact.repository and artifact.digest must be valid",
        );
    }
    if !request.artifact.mime_type.is_empty()
        && !CONSUMES.contains(&request.artifact.mime_type.as_str())
    {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "cannot scan `{}`; this scanner consumes {CONSUMES:?}",
                request.artifact.mime_type
            ),
        );
    }
    let id = match state
        .scans
        .begin_adapter_task(&request.artifact.repository, &request.artifact.digest)
        .await
    {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, "cannot record an adapter scan");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    let (task_state, task_id) = (state.clone(), id.clone());
    tokio::spawn(async move {
        // The same pool bound as the registry's own scans.
        let _permit = task_state.adapter_permits.acquire().await;
        let outcome = remote_scan(&task_state, &request).await;
        if let Err(e) = &outcome {
            tracing::warn!(scan = task_id, error = %e, "adapter scan failed");
        }
        if let Err(e) = task_state
            .scans
            .finish_adapter_task(&task_id, outcome)
            .await
        {
            tracing::error!(error = %e, "cannot record an adapter scan result");
        }
    });
    (
        StatusCode::ACCEPTED,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(
                "application/vnd.scanner.adapter.scan.response+json; version=1.0",
            ),
        )],
        Json(json!({"id": id})),
    )
        .into_response()
}

async fn get_report(
    State(state): State<AppState>,
    auth: AuthState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(res) = refusal(&state, &auth).await {
        return res;
    }
    if let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) {
        if !accept.contains("*/*")
            && !accept.contains("vnd.scanner.adapter.vuln.report.harbor+json")
            && !accept.contains("application/json")
        {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("this scanner produces `{RAW_REPORT_MIME}`"),
            );
        }
    }
    let task = match state.scans.adapter_task(&id).await {
        Ok(Some(t)) => t,
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("no scan `{id}`")),
        Err(e) => {
            tracing::error!(error = %e, "cannot read an adapter scan");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    match task {
        AdapterTask::Done(report) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(RAW_REPORT_MIME),
            )],
            report,
        )
            .into_response(),
        AdapterTask::Failed(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
        AdapterTask::Running => (
            StatusCode::FOUND,
            [
                (
                    header::LOCATION,
                    HeaderValue::from_str(&format!("/api/v1/scan/{id}/report")).expect("ascii"),
                ),
                (
                    header::HeaderName::from_static("refresh-after"),
                    HeaderValue::from(REFRESH_AFTER_SECS),
                ),
            ],
        )
            .into_response(),
    }
}

/// Pulls the image from the registry named in the request and scans it.
async fn remote_scan(
    state: &AppState,
    request: &ScanRequest,
) -> Result<domain::scan::report::Report, String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3600))
        .build()
        .map_err(|e| e.to_string())?;
    let base = request.registry.url.trim_end_matches('/').to_string();
    let repo = &request.artifact.repository;
    let authorization =
        resolve_authorization(&client, &base, repo, &request.registry.authorization).await?;
    let manifest_url = format!("{base}/v2/{repo}/manifests/{}", request.artifact.digest);
    let mut get = client
        .get(&manifest_url)
        .header(header::ACCEPT, CONSUMES.join(", "));
    if let Some(a) = &authorization {
        get = get.header(header::AUTHORIZATION, a);
    }
    let response = get
        .send()
        .await
        .map_err(|e| format!("{manifest_url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{manifest_url} answered {}", response.status()));
    }
    let mime_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let manifest = response.bytes().await.map_err(|e| e.to_string())?;
    let layers = layer_digests(&manifest)?;
    let files = read_image(layers, |digest| {
        let (client, authorization) = (client.clone(), authorization.clone());
        let url = format!("{base}/v2/{repo}/blobs/{digest}");
        async move {
            let mut get = client.get(&url);
            if let Some(a) = &authorization {
                get = get.header(header::AUTHORIZATION, a);
            }
            let response = get.send().await.map_err(|e| format!("{url}: {e}"))?;
            if !response.status().is_success() {
                return Err(format!("{url} answered {}", response.status()));
            }
            let stream: ByteStream = Box::pin(
                response
                    .bytes_stream()
                    .map(|r| r.map_err(std::io::Error::other)),
            );
            Ok(stream)
        }
    })
    .await?;
    let vulnerabilities = findings(
        &state.scans.vulndb,
        &files.inventory(),
        state.scans.ignore_unfixed,
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(make_report(
        ReportArtifact {
            repository: repo.clone(),
            digest: request.artifact.digest.clone(),
            mime_type: if mime_type.is_empty() {
                request.artifact.mime_type.clone()
            } else {
                mime_type
            },
        },
        builtin_info(),
        vulnerabilities,
    ))
}

/// The `Authorization` header to pull with: a bearer token as given; Basic credentials as
/// given when the registry takes them, else exchanged at the registry's token service.
async fn resolve_authorization(
    client: &reqwest::Client,
    base: &str,
    repo: &str,
    given: &str,
) -> Result<Option<String>, String> {
    if given.is_empty() || given.starts_with("Bearer ") {
        return Ok((!given.is_empty()).then(|| given.to_string()));
    }
    let probe = client
        .get(format!("{base}/v2/"))
        .header(header::AUTHORIZATION, given)
        .send()
        .await
        .map_err(|e| format!("{base}/v2/: {e}"))?;
    if probe.status().is_success() {
        return Ok(Some(given.to_string()));
    }
    let challenge = probe
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let Some(params) = challenge.strip_prefix("Bearer ") else {
        return Err(format!(
            "{base} refused the credentials ({})",
            probe.status()
        ));
    };
    let field = |name: &str| {
        params.split(',').find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.trim_matches('"').to_string())
        })
    };
    let realm = field("realm").ok_or("the registry's challenge names no realm")?;
    let service = field("service").unwrap_or_default();
    let token_response = client
        .get(&realm)
        .query(&[
            ("service", service.as_str()),
            ("scope", &format!("repository:{repo}:pull")),
        ])
        .header(header::AUTHORIZATION, given)
        .send()
        .await
        .map_err(|e| format!("{realm}: {e}"))?;
    if !token_response.status().is_success() {
        return Err(format!("{realm} answered {}", token_response.status()));
    }
    let body: serde_json::Value = token_response.json().await.map_err(|e| e.to_string())?;
    let token = body
        .get("token")
        .or_else(|| body.get("access_token"))
        .and_then(|t| t.as_str())
        .ok_or("the token service returned no token")?;
    Ok(Some(format!("Bearer {token}")))
}
