//! Reports and what they decide: scan overviews, the latest report for a pull, CVE allowlists
//! and the rule that refuses pulls of vulnerable artifacts.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use serde::{Deserialize, Serialize};

use super::{builtin_info, Scans};
use crate::entities::{artifact, artifact_ref, cve_allowlist, scan};
use crate::scan::report::{status_word, Overview, Report, ScannerInfo, Summary, BUILTIN_SCANNER};
use crate::scan::severity::Severity;
use crate::service::{DomainError, DomainResult};

/// A CVE allowlist (Harbor's `cve_allowlist`): ids that do not block pulls, until `expires_at`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CveAllowlist {
    pub items: Vec<String>,
    /// Unix seconds; never expires when absent.
    pub expires_at: Option<i64>,
}

impl CveAllowlist {
    /// The ids that apply at `now` (none once expired).
    pub fn active_at(&self, now: i64) -> BTreeSet<String> {
        if self.expires_at.is_some_and(|t| t <= now) {
            return BTreeSet::new();
        }
        self.items.iter().map(|s| s.to_ascii_uppercase()).collect()
    }
}

/// The findings that block a pull: at or above `threshold` (`none` blocks any finding), and
/// allowlisted neither by id nor by one of their aliases. Returns their ids.
pub fn blocking(report: &Report, threshold: &str, allowed: &BTreeSet<String>) -> Vec<String> {
    let min = match threshold {
        "none" => Severity::None,
        other => Severity::of_word(other).unwrap_or(Severity::High),
    };
    let mut out: Vec<String> = report
        .vulnerabilities
        .iter()
        .filter(|v| Severity::of_word(&v.severity).unwrap_or(Severity::Unknown) >= min)
        .filter(|v| {
            let mut names = vec![v.id.to_ascii_uppercase()];
            if let Some(aliases) = v
                .vendor_attributes
                .get("aliases")
                .and_then(|a| a.as_array())
            {
                names.extend(
                    aliases
                        .iter()
                        .filter_map(|a| a.as_str())
                        .map(str::to_ascii_uppercase),
                );
            }
            !names.iter().any(|n| allowed.contains(n))
        })
        .map(|v| v.id.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

pub(super) fn overview_of(row: &scan::Model) -> Overview {
    let summary: Option<Summary> = row
        .summary
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok());
    let duration = match (row.started_at, row.finished_at) {
        (Some(s), Some(f)) => (f - s).num_seconds(),
        _ => 0,
    };
    Overview {
        report_id: row.id.to_string(),
        scan_status: status_word(&row.status).into(),
        severity: row.severity.clone().unwrap_or_default(),
        duration,
        summary,
        start_time: row.started_at.map(crate::service::rfc3339),
        end_time: row.finished_at.map(crate::service::rfc3339),
        scanner: if row.scanner == BUILTIN_SCANNER {
            builtin_info()
        } else {
            ScannerInfo {
                name: row.scanner.clone(),
                ..Default::default()
            }
        },
        complete_percent: if row.status == "success" { 100 } else { 0 },
        error: row.error.clone(),
    }
}

/// The latest report any scanner produced for the artifact, or else for an index of the same
/// repository that lists it (so an image pulled by digest is judged like its index).
pub async fn latest_report_for_pull(
    conn: &impl ConnectionTrait,
    artifact_id: i64,
    repository_id: i64,
    digest: &str,
) -> Result<Option<Report>, DbErr> {
    let latest = |ids: Vec<i64>| {
        scan::Entity::find()
            .filter(scan::Column::ArtifactId.is_in(ids))
            .filter(scan::Column::Report.is_not_null())
            .order_by_desc(scan::Column::FinishedAt)
            .one(conn)
    };
    let mut row = latest(vec![artifact_id]).await?;
    if row.is_none() {
        let listing: Vec<i64> = artifact_ref::Entity::find()
            .filter(artifact_ref::Column::Digest.eq(digest))
            .filter(artifact_ref::Column::Kind.eq("manifest"))
            .all(conn)
            .await?
            .into_iter()
            .map(|r| r.artifact_id)
            .collect();
        let parents: Vec<i64> = artifact::Entity::find()
            .filter(artifact::Column::Id.is_in(listing))
            .filter(artifact::Column::RepositoryId.eq(repository_id))
            .all(conn)
            .await?
            .into_iter()
            .map(|a| a.id)
            .collect();
        if !parents.is_empty() {
            row = latest(parents).await?;
        }
    }
    Ok(row
        .and_then(|r| r.report)
        .and_then(|json| serde_json::from_str(&json).ok()))
}

/// A CVE allowlist: project `id`, or the system's for 0.
pub async fn allowlist(
    conn: &impl ConnectionTrait,
    project_id: i64,
) -> Result<CveAllowlist, DbErr> {
    let row = cve_allowlist::Entity::find_by_id(project_id)
        .one(conn)
        .await?;
    Ok(row
        .map(|r| CveAllowlist {
            items: serde_json::from_str(&r.items).unwrap_or_default(),
            expires_at: r.expires_at,
        })
        .unwrap_or_default())
}

/// Replaces a CVE allowlist (project id, or 0 for the system's).
pub async fn set_allowlist(
    conn: &impl ConnectionTrait,
    project_id: i64,
    list: &CveAllowlist,
) -> DomainResult<()> {
    for item in &list.items {
        if item.trim().is_empty() || item.len() > 128 || item.contains(char::is_whitespace) {
            return Err(DomainError::Invalid(format!(
                "`{item}` is not a vulnerability id"
            )));
        }
    }
    let items = serde_json::to_string(
        &list
            .items
            .iter()
            .map(|s| s.trim().to_string())
            .collect::<BTreeSet<_>>(),
    )
    .expect("list");
    let model = cve_allowlist::ActiveModel {
        project_id: Set(project_id),
        items: Set(items),
        expires_at: Set(list.expires_at),
        updated_at: Set(Utc::now()),
    };
    let exists = cve_allowlist::Entity::find_by_id(project_id)
        .one(conn)
        .await?
        .is_some();
    if exists {
        model.update(conn).await?;
    } else {
        model.insert(conn).await?;
    }
    Ok(())
}

impl Scans {
    /// The scan state of each artifact for `scanner`.
    pub async fn overviews(
        &self,
        artifact_ids: &[i64],
        scanner: &str,
    ) -> crate::service::DomainResult<HashMap<i64, Overview>> {
        if artifact_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = scan::Entity::find()
            .filter(scan::Column::ArtifactId.is_in(artifact_ids.iter().copied()))
            .filter(scan::Column::Scanner.eq(scanner))
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.artifact_id, overview_of(&row)))
            .collect())
    }

    /// The latest stored report of an artifact for `scanner`.
    pub async fn report(
        &self,
        artifact_id: i64,
        scanner: &str,
    ) -> crate::service::DomainResult<Option<Report>> {
        let row = scan::Entity::find()
            .filter(scan::Column::ArtifactId.eq(artifact_id))
            .filter(scan::Column::Scanner.eq(scanner))
            .one(&self.db)
            .await?;
        Ok(row
            .and_then(|r| r.report)
            .and_then(|json| serde_json::from_str(&json).ok()))
    }
}
