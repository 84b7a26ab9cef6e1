//! Harbor's pluggable-scanner API on the wire, shared by Berth's client of external scanners
//! (`client`) and Berth's own adapter endpoint (`adapter`): the MIME types scanned, the scan
//! request, and the built-in scanner's metadata.

use domain::scan::report::RAW_REPORT_MIME;
use domain::service::scans::builtin_info;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;

/// The manifest types an adapter is asked to scan.
pub const CONSUMES: [&str; 2] = [
    domain::service::registry::media::OCI_MANIFEST,
    domain::service::registry::media::DOCKER_MANIFEST,
];

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

/// The scanner's metadata as the specification shapes it.
pub async fn metadata_json(state: &AppState) -> serde_json::Value {
    let updated = state
        .scans
        .vulndb
        .last_update()
        .await
        .ok()
        .flatten()
        .map(domain::service::rfc3339)
        .unwrap_or_default();
    let info = builtin_info();
    json!({
        "scanner": {"name": info.name, "vendor": info.vendor, "version": info.version},
        "capabilities": [{
            "type": "vulnerability",
            "consumes_mime_types": CONSUMES,
            "produces_mime_types": [RAW_REPORT_MIME],
        }],
        "properties": {
            "harbor.scanner-adapter/scanner-type": "os-package-vulnerability",
            "harbor.scanner-adapter/vulnerability-database-updated-at": updated,
            "env.IGNORE_UNFIXED": state.scans.ignore_unfixed.to_string(),
        }
    })
}
