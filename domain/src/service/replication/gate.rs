//! A push-mode policy's security gate: what an artifact of this registry must satisfy to be
//! copied out — a scan report, no finding above a severity (the project's CVE allowlist
//! applies, as for pulls), a verified signature. An artifact that fails is skipped with the
//! reason; it is never a failure of the execution.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::entities::{artifact, project, repository};
use crate::policy::replication::SecurityGate;
use crate::scan::severity::Severity;
use crate::service::registry::{OciCode, Registry, RegistryError, RegistryResult};
use crate::signing::verdict::SignedStatus;

/// The lowest severity that keeps an artifact in under `max_severity`, if any does.
fn blocking_from(max: &str) -> Option<&'static str> {
    match max {
        "Low" => Some("medium"),
        "Medium" => Some("high"),
        "High" => Some("critical"),
        _ => None,
    }
}

impl Registry {
    /// `None` when `gate` lets the artifact `digest` of `repo` leave, else why not.
    pub async fn replication_gate(
        &self,
        gate: &SecurityGate,
        repo: &str,
        digest: &str,
    ) -> RegistryResult<Option<String>> {
        if gate.is_open() {
            return Ok(None);
        }
        let gone =
            || RegistryError::new(OciCode::ManifestUnknown, format!("{repo}@{digest} is gone"));
        let r = repository::Entity::find()
            .filter(repository::Column::Name.eq(repo))
            .one(&self.db)
            .await?
            .ok_or_else(gone)?;
        let a = artifact::Entity::find()
            .filter(artifact::Column::RepositoryId.eq(r.id))
            .filter(artifact::Column::Digest.eq(digest))
            .one(&self.db)
            .await?
            .ok_or_else(gone)?;
        let p = project::Entity::find_by_id(r.project_id)
            .one(&self.db)
            .await?
            .ok_or_else(gone)?;
        if gate.require_scan || gate.max_severity.is_some() {
            let report = crate::service::scans::reports::latest_report_for_pull(
                &self.db, a.id, r.id, &a.digest,
            )
            .await?;
            let Some(report) = report else {
                return Ok(Some(format!(
                    "{repo}@{digest} has not been scanned and the policy requires a scan"
                )));
            };
            if let Some(threshold) = gate.max_severity.as_deref().and_then(blocking_from) {
                let now = chrono::Utc::now().timestamp();
                let allowed = crate::service::scans::reports::allowlist(&self.db, p.id)
                    .await?
                    .active_at(now);
                let ids = crate::service::scans::reports::blocking(&report, threshold, &allowed);
                if !ids.is_empty() {
                    let worst = report
                        .vulnerabilities
                        .iter()
                        .filter_map(|v| Severity::of_word(&v.severity))
                        .max()
                        .unwrap_or(Severity::Unknown);
                    let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
                    return Ok(Some(format!(
                        "{repo}@{digest} has {} finding{} above {} (the worst is {}: {}{}); the \
                         policy's gate keeps it here",
                        ids.len(),
                        if ids.len() == 1 { "" } else { "s" },
                        gate.max_severity.as_deref().unwrap_or_default(),
                        worst.as_str(),
                        shown.join(", "),
                        if ids.len() > shown.len() { ", …" } else { "" },
                    )));
                }
            }
        }
        if gate.require_signature {
            let epoch = crate::service::registry::signatures::current_epoch(&self.db, p.id).await?;
            let verdict = self.verdict_of(&a, p.id, epoch).await?;
            if verdict.status() != SignedStatus::Verified {
                return Ok(Some(format!(
                    "{repo}@{digest} has no signature verified by a trusted key ({}); the \
                     policy requires one",
                    verdict.status().as_str()
                )));
            }
        }
        Ok(None)
    }
}
