//! External scanners through Harbor's pluggable-scanner API (v1.1/1.2): registrations, their
//! metadata, and scans — Berth hands the scanner a short-lived pull-only token for the one
//! repository, posts the scan request and polls the report (`302` + `Refresh-After` until it
//! is ready).

use std::time::Duration;

use chrono::Utc;
use domain::entities::{artifact, repository, scan, scanner};
use domain::scan::report::{Report, RAW_REPORT_MIME};
use domain::service::registry::SCANNER_PREFIX;
use domain::service::tokens::GrantedAccess;
use domain::service::{DomainError, DomainResult, Principal, RobotPrincipal};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde::{Deserialize, Serialize};

use crate::AppState;

/// The longest a scan may take at an external scanner.
const SCAN_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The manifest types an adapter is asked to scan.
pub const CONSUMES: [&str; 2] = [
    domain::service::registry::media::OCI_MANIFEST,
    domain::service::registry::media::DOCKER_MANIFEST,
];

/// A registration as the API shows it (the credential never leaves the server).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Registration {
    pub uuid: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub url: String,
    /// ``, `Basic`, `Bearer` or `X-ScannerAdapter-API-Key`.
    #[serde(default)]
    pub auth: String,
    #[serde(default)]
    pub skip_cert_verify: bool,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub create_time: String,
}

/// What an administrator sends to register or change a scanner.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RegistrationReq {
    pub name: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub auth: Option<String>,
    /// `user:password` for Basic, the token for Bearer, the key for the API-key header.
    pub access_credential: Option<String>,
    pub skip_cert_verify: Option<bool>,
    pub disabled: Option<bool>,
    pub is_default: Option<bool>,
}

/// Every registration, the built-in one first.
pub async fn list(state: &AppState) -> DomainResult<Vec<Registration>> {
    let created: std::collections::HashMap<String, String> = scanner::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| (m.uuid, domain::service::rfc3339(m.created_at)))
        .collect();
    Ok(state
        .scans
        .registrations()
        .await?
        .into_iter()
        .map(|v| Registration {
            create_time: created.get(&v.uuid).cloned().unwrap_or_default(),
            uuid: v.uuid,
            name: v.name,
            description: v.description,
            url: v.url,
            auth: v.auth,
            skip_cert_verify: false,
            is_default: v.is_default,
            disabled: v.disabled,
        })
        .collect())
}

pub async fn get(state: &AppState, uuid: &str) -> DomainResult<Registration> {
    list(state)
        .await?
        .into_iter()
        .find(|r| r.uuid == uuid)
        .ok_or_else(|| DomainError::NotFound(format!("scanner `{uuid}` not found")))
}

fn validate_auth(auth: &str) -> DomainResult<()> {
    if ["", "Basic", "Bearer", "X-ScannerAdapter-API-Key"].contains(&auth) {
        Ok(())
    } else {
        Err(DomainError::Invalid(format!(
            "auth `{auth}` is not one of ``, `Basic`, `Bearer`, `X-ScannerAdapter-API-Key`"
        )))
    }
}

fn validate_url(url: &str) -> DomainResult<()> {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(()),
        _ => Err(DomainError::Invalid(format!(
            "`{url}` is not an http(s) URL of a scanner adapter"
        ))),
    }
}

pub async fn create(state: &AppState, req: RegistrationReq) -> DomainResult<Registration> {
    let name = req
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| DomainError::Invalid("a scanner needs a name".into()))?;
    let url = req
        .url
        .ok_or_else(|| DomainError::Invalid("a scanner needs a url".into()))?;
    validate_url(&url)?;
    let auth = req.auth.unwrap_or_default();
    validate_auth(&auth)?;
    if scanner::Entity::find()
        .filter(scanner::Column::Name.eq(&name))
        .one(&state.db)
        .await?
        .is_some()
    {
        return Err(DomainError::Conflict(format!(
            "a scanner named `{name}` exists"
        )));
    }
    let created = scanner::ActiveModel {
        uuid: Set(uuid::Uuid::new_v4().to_string()),
        name: Set(name),
        description: Set(req.description.unwrap_or_default()),
        url: Set(url.trim_end_matches('/').to_string()),
        auth: Set(auth),
        credential: Set(req
            .access_credential
            .filter(|c| !c.is_empty())
            .map(|c| state.secrets.seal(&c))),
        skip_cert_verify: Set(req.skip_cert_verify.unwrap_or(false)),
        is_default: Set(false),
        disabled: Set(req.disabled.unwrap_or(false)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    if req.is_default == Some(true) {
        set_default(state, &created.uuid).await?;
    }
    get(state, &created.uuid).await
}

pub async fn update(
    state: &AppState,
    uuid: &str,
    req: RegistrationReq,
) -> DomainResult<Registration> {
    let row = find(state, uuid).await?;
    let mut active = row.into_active_model();
    if let Some(name) = req.name.filter(|n| !n.trim().is_empty()) {
        active.name = Set(name);
    }
    if let Some(d) = req.description {
        active.description = Set(d);
    }
    if let Some(url) = req.url {
        validate_url(&url)?;
        active.url = Set(url.trim_end_matches('/').to_string());
    }
    if let Some(auth) = req.auth {
        validate_auth(&auth)?;
        active.auth = Set(auth);
    }
    if let Some(c) = req.access_credential {
        active.credential = Set((!c.is_empty()).then(|| state.secrets.seal(&c)));
    }
    if let Some(v) = req.skip_cert_verify {
        active.skip_cert_verify = Set(v);
    }
    if let Some(v) = req.disabled {
        active.disabled = Set(v);
    }
    active.update(&state.db).await?;
    if req.is_default == Some(true) {
        set_default(state, uuid).await?;
    }
    get(state, uuid).await
}

/// Makes `uuid` the default (the built-in one when `uuid` is `berth`).
pub async fn set_default(state: &AppState, uuid: &str) -> DomainResult<()> {
    if uuid != domain::scan::report::BUILTIN_SCANNER {
        find(state, uuid).await?;
    }
    for row in scanner::Entity::find().all(&state.db).await? {
        let wanted = row.uuid == uuid;
        if row.is_default != wanted {
            let mut active = row.into_active_model();
            active.is_default = Set(wanted);
            active.update(&state.db).await?;
        }
    }
    Ok(())
}

pub async fn delete(state: &AppState, uuid: &str) -> DomainResult<Registration> {
    let shown = get(state, uuid).await?;
    let row = find(state, uuid).await?;
    scanner::Entity::delete_by_id(row.id)
        .exec(&state.db)
        .await?;
    Ok(shown)
}

async fn find(state: &AppState, uuid: &str) -> DomainResult<scanner::Model> {
    scanner::Entity::find()
        .filter(scanner::Column::Uuid.eq(uuid))
        .one(&state.db)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("scanner `{uuid}` not found")))
}

fn http_client(skip_cert_verify: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(skip_cert_verify)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

/// Adds the registration's credential to a request.
fn authorise(
    state: &AppState,
    s: &scanner::Model,
    req: reqwest::RequestBuilder,
) -> reqwest::RequestBuilder {
    let Some(credential) = s
        .credential
        .as_deref()
        .and_then(|c| state.secrets.unseal(c))
    else {
        return req;
    };
    match s.auth.as_str() {
        "Basic" => {
            let (user, pass) = credential.split_once(':').unwrap_or((&credential, ""));
            req.basic_auth(user, Some(pass))
        }
        "Bearer" => req.bearer_auth(credential),
        "X-ScannerAdapter-API-Key" => req.header("X-ScannerAdapter-API-Key", credential),
        _ => req,
    }
}

/// `GET /api/v1/metadata` of a registered scanner.
pub async fn metadata(state: &AppState, uuid: &str) -> DomainResult<serde_json::Value> {
    if uuid == domain::scan::report::BUILTIN_SCANNER {
        return Ok(super::adapter::metadata_json(state).await);
    }
    let s = find(state, uuid).await?;
    fetch_metadata(state, &s)
        .await
        .map_err(DomainError::Invalid)
}

/// Checks a scanner that is not registered yet (`POST /scanners/ping`).
pub async fn ping(state: &AppState, req: RegistrationReq) -> DomainResult<serde_json::Value> {
    let url = req
        .url
        .ok_or_else(|| DomainError::Invalid("a scanner needs a url".into()))?;
    validate_url(&url)?;
    let auth = req.auth.unwrap_or_default();
    validate_auth(&auth)?;
    let s = scanner::Model {
        id: 0,
        uuid: String::new(),
        name: req.name.unwrap_or_default(),
        description: String::new(),
        url: url.trim_end_matches('/').to_string(),
        auth,
        credential: req.access_credential.map(|c| state.secrets.seal(&c)),
        skip_cert_verify: req.skip_cert_verify.unwrap_or(false),
        is_default: false,
        disabled: false,
        created_at: Utc::now(),
    };
    fetch_metadata(state, &s)
        .await
        .map_err(DomainError::Invalid)
}

async fn fetch_metadata(state: &AppState, s: &scanner::Model) -> Result<serde_json::Value, String> {
    let url = format!("{}/api/v1/metadata", s.url);
    let response = authorise(state, s, http_client(s.skip_cert_verify).get(&url))
        .header(
            "Accept",
            "application/vnd.scanner.adapter.metadata+json; version=1.0",
        )
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    response
        .json()
        .await
        .map_err(|e| format!("{url}: not scanner metadata: {e}"))
}

/// The scan request of Harbor's pluggable-scanner API.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScanRequest {
    pub registry: RegistryAccess,
    pub artifact: ArtifactRefReq,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegistryAccess {
    pub url: String,
    #[serde(default)]
    pub authorization: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ArtifactRefReq {
    pub repository: String,
    pub digest: String,
    #[serde(default)]
    pub mime_type: String,
}

/// A short-lived token that may pull `repository` and nothing else.
fn pull_token(state: &AppState, scanner_name: &str, repository: &str) -> String {
    let principal = Principal::Robot(RobotPrincipal {
        id: 0,
        name: format!("{SCANNER_PREFIX}{scanner_name}"),
        grants: Vec::new(),
    });
    state
        .tokens
        .issue(
            &principal,
            vec![GrantedAccess {
                kind: "repository".into(),
                name: repository.into(),
                actions: vec!["pull".into()],
            }],
        )
        .0
}

/// Scans a job's artifact with its external scanner; an index is scanned image by image and
/// its report is the union.
pub async fn scan(state: &AppState, job: &scan::Model) -> Result<Report, String> {
    let s = scanner::Entity::find()
        .filter(scanner::Column::Uuid.eq(&job.scanner))
        .one(&state.db)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("scanner {} is no longer registered", job.scanner))?;
    if s.disabled {
        return Err(format!("scanner `{}` is disabled", s.name));
    }
    let a = artifact::Entity::find_by_id(job.artifact_id)
        .one(&state.db)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("artifact is gone")?;
    let repo = repository::Entity::find_by_id(a.repository_id)
        .one(&state.db)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("repository is gone")?;
    let images: Vec<(String, String)> = domain::service::scans::images_of(&state.db, &a)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|c| CONSUMES.contains(&c.media_type.as_str()))
        .map(|c| (c.digest, c.media_type))
        .collect();
    let mut combined: Option<Report> = None;
    for (digest, mime_type) in images {
        let report = scan_one(state, &s, &repo.name, &digest, &mime_type).await?;
        combined =
            Some(match combined {
                None => report,
                Some(mut acc) => {
                    for v in report.vulnerabilities {
                        if !acc.vulnerabilities.iter().any(|x| {
                            x.id == v.id && x.package == v.package && x.version == v.version
                        }) {
                            acc.vulnerabilities.push(v);
                        }
                    }
                    acc
                }
            });
    }
    let mut report = combined.unwrap_or_default();
    report.artifact = domain::scan::report::ReportArtifact {
        repository: repo.name,
        digest: a.digest,
        mime_type: a.media_type,
    };
    report.severity = report.highest().as_str().into();
    Ok(report)
}

async fn scan_one(
    state: &AppState,
    s: &scanner::Model,
    repository: &str,
    digest: &str,
    mime_type: &str,
) -> Result<Report, String> {
    let client = http_client(s.skip_cert_verify);
    let request = ScanRequest {
        registry: RegistryAccess {
            url: state.config.external_url(),
            authorization: format!("Bearer {}", pull_token(state, &s.name, repository)),
        },
        artifact: ArtifactRefReq {
            repository: repository.into(),
            digest: digest.into(),
            mime_type: mime_type.into(),
        },
    };
    let url = format!("{}/api/v1/scan", s.url);
    let response = authorise(state, s, client.post(&url))
        .header(
            "Content-Type",
            "application/vnd.scanner.adapter.scan.request+json; version=1.0",
        )
        .json(&request)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if response.status() != reqwest::StatusCode::ACCEPTED {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(format!(
            "{url} answered {status}: {}",
            body.chars().take(300).collect::<String>()
        ));
    }
    #[derive(Deserialize)]
    struct Accepted {
        id: String,
    }
    let id = response
        .json::<Accepted>()
        .await
        .map_err(|e| format!("{url}: no scan id: {e}"))?
        .id;
    let report_url = format!("{}/api/v1/scan/{}/report", s.url, urlencoding::encode(&id));
    let deadline = tokio::time::Instant::now() + SCAN_TIMEOUT;
    loop {
        let response = authorise(state, s, client.get(&report_url))
            .header("Accept", RAW_REPORT_MIME)
            .send()
            .await
            .map_err(|e| format!("{report_url}: {e}"))?;
        match response.status() {
            reqwest::StatusCode::OK => {
                return response
                    .json::<Report>()
                    .await
                    .map_err(|e| format!("{report_url}: not a vulnerability report: {e}"));
            }
            reqwest::StatusCode::FOUND => {
                let wait = response
                    .headers()
                    .get("Refresh-After")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(5)
                    .clamp(1, 60);
                if tokio::time::Instant::now() > deadline {
                    return Err(format!("{report_url}: no report after {SCAN_TIMEOUT:?}"));
                }
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            status => {
                let body = response.text().await.unwrap_or_default();
                return Err(format!(
                    "{report_url} answered {status}: {}",
                    body.chars().take(300).collect::<String>()
                ));
            }
        }
    }
}
