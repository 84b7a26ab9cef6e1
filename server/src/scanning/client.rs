//! External scanners through Harbor's pluggable-scanner API (v1.1/1.2): registrations, their
//! metadata, and scans — Berth hands the scanner a short-lived pull-only token for the one
//! repository, posts the scan request and polls the report (`302` + `Refresh-After` until it
//! is ready).

use std::time::Duration;

use domain::entities::scan;
use domain::scan::report::{Report, ScannerView, RAW_REPORT_MIME};
use domain::service::registry::SCANNER_PREFIX;
use domain::service::scans::registrations::{RegistrationInput, ScannerEndpoint};
use domain::service::tokens::GrantedAccess;
use domain::service::{Actor, DomainError, DomainResult, Principal, RobotPrincipal};
use serde::{Deserialize, Serialize};

use super::protocol::{ArtifactRefReq, RegistryAccess, ScanRequest, CONSUMES};
use crate::AppState;

/// The longest a scan may take at an external scanner.
const SCAN_TIMEOUT: Duration = Duration::from_secs(30 * 60);

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

impl From<ScannerView> for Registration {
    fn from(v: ScannerView) -> Self {
        Self {
            uuid: v.uuid,
            name: v.name,
            description: v.description,
            url: v.url,
            auth: v.auth,
            skip_cert_verify: v.skip_cert_verify,
            is_default: v.is_default,
            disabled: v.disabled,
            create_time: v.create_time,
        }
    }
}

impl RegistrationReq {
    /// The domain's input, with the credential sealed (an empty one removes it).
    pub fn into_input(self, state: &AppState) -> RegistrationInput {
        RegistrationInput {
            name: self.name,
            description: self.description,
            url: self.url,
            auth: self.auth,
            sealed_credential: self
                .access_credential
                .map(|c| (!c.is_empty()).then(|| state.secrets.seal(&c))),
            skip_cert_verify: self.skip_cert_verify,
            disabled: self.disabled,
            is_default: self.is_default,
        }
    }
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
    s: &ScannerEndpoint,
    req: reqwest::RequestBuilder,
) -> reqwest::RequestBuilder {
    let Some(credential) = s
        .sealed_credential
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

/// `GET /api/v1/metadata` of a registered scanner (system administrators).
pub async fn metadata(
    state: &AppState,
    actor: &Actor,
    uuid: &str,
) -> DomainResult<serde_json::Value> {
    match state.scans.scanner_endpoint(actor, uuid).await? {
        None => Ok(super::protocol::metadata_json(state).await),
        Some(s) => fetch_metadata(state, &s)
            .await
            .map_err(DomainError::Invalid),
    }
}

/// Checks a scanner that is not registered yet (`POST /scanners/ping`).
pub async fn ping(
    state: &AppState,
    actor: &Actor,
    req: RegistrationReq,
) -> DomainResult<serde_json::Value> {
    let auth = req.auth.clone().unwrap_or_default();
    state
        .scans
        .check_ping(actor, req.url.as_deref(), &auth)
        .await?;
    let s = ScannerEndpoint {
        uuid: String::new(),
        name: req.name.unwrap_or_default(),
        url: req
            .url
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string(),
        auth,
        sealed_credential: req.access_credential.map(|c| state.secrets.seal(&c)),
        skip_cert_verify: req.skip_cert_verify.unwrap_or(false),
        disabled: false,
    };
    fetch_metadata(state, &s)
        .await
        .map_err(DomainError::Invalid)
}

async fn fetch_metadata(
    state: &AppState,
    s: &ScannerEndpoint,
) -> Result<serde_json::Value, String> {
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
    let target = state.scans.external_target(job).await?;
    let s = &target.scanner;
    let images: Vec<(String, String)> = target
        .images
        .iter()
        .filter(|(_, mime)| CONSUMES.contains(&mime.as_str()))
        .cloned()
        .collect();
    let mut combined: Option<Report> = None;
    for (digest, mime_type) in images {
        let report = scan_one(state, s, &target.repository, &digest, &mime_type).await?;
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
        repository: target.repository,
        digest: target.digest,
        mime_type: target.media_type,
    };
    report.severity = report.highest().as_str().into();
    Ok(report)
}

async fn scan_one(
    state: &AppState,
    s: &ScannerEndpoint,
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
