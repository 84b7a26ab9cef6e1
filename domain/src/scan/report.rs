//! Harbor's vulnerability report (`application/vnd.security.vulnerability.report; version=1.1`)
//! and the scan overview shown next to an artifact. Shared by the scanner, the REST API, the
//! pluggable-scanner adapter and the console.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::severity::Severity;

pub const REPORT_MIME: &str = "application/vnd.security.vulnerability.report; version=1.1";
/// The MIME type of the raw report in Harbor's pluggable-scanner API.
pub const RAW_REPORT_MIME: &str =
    "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";
/// The name under which the built-in scanner's reports are stored.
pub const BUILTIN_SCANNER: &str = "berth";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub generated_at: String,
    pub artifact: ReportArtifact,
    pub scanner: ScannerInfo,
    /// The highest severity found (`None` when nothing was found).
    pub severity: String,
    pub vulnerabilities: Vec<Vulnerability>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportArtifact {
    pub repository: String,
    pub digest: String,
    pub mime_type: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScannerInfo {
    pub name: String,
    pub vendor: String,
    pub version: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    pub id: String,
    pub package: String,
    pub version: String,
    #[serde(default)]
    pub fix_version: String,
    pub severity: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub links: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_cvss: Option<Cvss>,
    #[serde(default)]
    pub cwe_ids: Vec<String>,
    #[serde(default)]
    pub vendor_attributes: serde_json::Value,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    #[serde(default)]
    pub score_v3: Option<f64>,
    #[serde(default)]
    pub vector_v3: String,
}

/// Counts per severity, the total and how many have a fix.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub total: i64,
    pub fixable: i64,
    pub summary: BTreeMap<String, i64>,
}

impl Report {
    pub fn summary(&self) -> Summary {
        let mut out = Summary::default();
        for v in &self.vulnerabilities {
            out.total += 1;
            if !v.fix_version.is_empty() {
                out.fixable += 1;
            }
            *out.summary.entry(v.severity.clone()).or_default() += 1;
        }
        out
    }

    /// The highest severity among the findings.
    pub fn highest(&self) -> Severity {
        self.vulnerabilities
            .iter()
            .filter_map(|v| Severity::of_word(&v.severity))
            .max()
            .unwrap_or(Severity::None)
    }
}

/// The scan state of an artifact for one scanner, as Harbor's `scan_overview` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub report_id: String,
    /// `Pending`, `Running`, `Success`, `Error` or `Not Scanned`.
    pub scan_status: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub duration: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(default)]
    pub scanner: ScannerInfo,
    pub complete_percent: i64,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Harbor's status word for a stored job status.
pub fn status_word(status: &str) -> &'static str {
    match status {
        "queued" => "Pending",
        "running" => "Running",
        "success" => "Success",
        "error" => "Error",
        _ => "Not Scanned",
    }
}

/// A scanner the registry can use, as the console lists them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScannerView {
    pub uuid: String,
    pub name: String,
    pub description: String,
    pub url: String,
    pub auth: String,
    pub is_default: bool,
    pub disabled: bool,
    pub builtin: bool,
    #[serde(default)]
    pub skip_cert_verify: bool,
    /// When it was registered (RFC 3339); empty for the built-in scanner.
    #[serde(default)]
    pub create_time: String,
}

/// The vulnerability database's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnDbView {
    /// Records per OSV ecosystem.
    pub ecosystems: BTreeMap<String, i64>,
    pub last_update: Option<String>,
    /// Jobs per status.
    pub queue: BTreeMap<String, i64>,
    /// The scan-all schedule (cron), if any.
    pub scan_all_schedule: Option<String>,
}

/// A project's vulnerability settings as the console edits them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnSettings {
    pub auto_scan: bool,
    /// `auto_sbom_generation`: a CycloneDX SBOM of every image pushed.
    #[serde(default)]
    pub auto_sbom: bool,
    pub prevent_vul: bool,
    /// `none`, `low`, `medium`, `high` or `critical`.
    pub severity: String,
    pub reuse_sys_cve_allowlist: bool,
    pub allowlist: Vec<String>,
    /// `YYYY-MM-DD` (UTC end of day), or empty for never.
    pub expires: String,
}
