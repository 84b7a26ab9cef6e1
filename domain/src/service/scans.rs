//! Vulnerability scans of artifacts: the job queue (one row per artifact and scanner, claimed
//! by one worker of one replica, retried with back-off), the built-in scanner (layers streamed
//! from the blob store into `scan::layers`, packages matched against the vulnerability
//! database), reports in Harbor's format, CVE allowlists and the rule that refuses pulls of
//! vulnerable artifacts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;

use chrono::{Duration, Utc};
use futures::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};

use super::vulndb::VulnDb;
use super::{DomainError, DomainResult};
use crate::entities::{artifact, artifact_ref, cve_allowlist, repository, scan};
use crate::scan::layers::ImageFiles;
use crate::scan::packages::Installed;
use crate::scan::report::{
    status_word, Cvss, Overview, Report, ReportArtifact, ScannerInfo, Summary, Vulnerability,
    BUILTIN_SCANNER,
};
use crate::scan::severity::{self, Severity};
use crate::storage::{BlobStore, ByteStream};
use crate::types::Digest;

use super::registry::media;

/// Attempts before a scan is left in `error`.
pub const MAX_ATTEMPTS: i32 = 3;
/// A scan `running` for longer than this is taken to have lost its worker and is queued again.
pub const STALE_AFTER_MINUTES: i64 = 30;

/// The built-in scanner as reports name it.
pub fn builtin_info() -> ScannerInfo {
    ScannerInfo {
        name: "Berth".into(),
        vendor: "Berth".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

#[derive(Clone)]
pub struct Scans {
    pub db: DatabaseConnection,
    store: Arc<dyn BlobStore>,
    pub vulndb: VulnDb,
    /// `trivy.ignore_unfixed`: leave findings without a fixed version out of reports.
    pub ignore_unfixed: bool,
    /// The database's write gate, shared with the registry.
    writes: crate::db::WriteGate,
    /// Wakes an idle worker of this replica when a job is queued.
    pub wake: Arc<tokio::sync::Notify>,
}

/// Whether Berth scans an artifact of this kind: images and indexes of images, not signatures
/// or other OCI artifacts.
pub fn scannable(a: &artifact::Model) -> bool {
    media::is_index(&a.media_type)
        || (media::is_image_manifest(&a.media_type) && a.artifact_type.is_none())
}

impl Scans {
    pub fn new(db: DatabaseConnection, store: Arc<dyn BlobStore>, ignore_unfixed: bool) -> Self {
        Self {
            writes: crate::db::WriteGate::of(&db),
            vulndb: VulnDb::new(db.clone()),
            db,
            store,
            ignore_unfixed,
            wake: Arc::default(),
        }
    }

    /// The scanner a project uses: its own choice, else the default registration, else the
    /// built-in one. Disabled or removed registrations fall back the same way.
    pub async fn scanner_for_project(&self, project_id: i64) -> Result<String, DbErr> {
        use crate::entities::{project_scanner, scanner};
        if let Some(choice) = project_scanner::Entity::find_by_id(project_id)
            .one(&self.db)
            .await?
        {
            if choice.scanner_uuid == BUILTIN_SCANNER {
                return Ok(BUILTIN_SCANNER.into());
            }
            let usable = scanner::Entity::find()
                .filter(scanner::Column::Uuid.eq(&choice.scanner_uuid))
                .filter(scanner::Column::Disabled.eq(false))
                .one(&self.db)
                .await?;
            if usable.is_some() {
                return Ok(choice.scanner_uuid);
            }
        }
        Ok(scanner::Entity::find()
            .filter(scanner::Column::IsDefault.eq(true))
            .filter(scanner::Column::Disabled.eq(false))
            .one(&self.db)
            .await?
            .map(|s| s.uuid)
            .unwrap_or_else(|| BUILTIN_SCANNER.into()))
    }

    /// Queues a scan with the project's scanner and wakes a worker.
    pub async fn enqueue_for_project(
        &self,
        project_id: i64,
        artifact_id: i64,
        trigger: &str,
    ) -> DomainResult<scan::Model> {
        let scanner = self.scanner_for_project(project_id).await?;
        let job = self.enqueue(artifact_id, &scanner, trigger).await?;
        self.wake.notify_one();
        Ok(job)
    }

    /// Every scanner: the built-in one first (the default unless a registration is).
    pub async fn registrations(&self) -> Result<Vec<crate::scan::report::ScannerView>, DbErr> {
        use crate::scan::report::ScannerView;
        let rows = crate::entities::scanner::Entity::find()
            .all(&self.db)
            .await?;
        let any_default = rows.iter().any(|r| r.is_default && !r.disabled);
        let mut out = vec![ScannerView {
            uuid: BUILTIN_SCANNER.into(),
            name: "Berth (built-in)".into(),
            description: "Offline scanner over the imported OSV database".into(),
            is_default: !any_default,
            builtin: true,
            ..Default::default()
        }];
        out.extend(rows.into_iter().map(|m| ScannerView {
            uuid: m.uuid,
            name: m.name,
            description: m.description,
            url: m.url,
            auth: m.auth,
            is_default: m.is_default,
            disabled: m.disabled,
            builtin: false,
        }));
        Ok(out)
    }

    /// Makes `uuid` (a registration, or the built-in scanner) the scanner of `project`:
    /// Harbor's `PUT /projects/{project}/scanner`, for those who may manage its scans.
    pub async fn choose_scanner(
        &self,
        actor: &super::Actor,
        project: &str,
        uuid: &str,
    ) -> DomainResult<crate::scan::report::ScannerView> {
        use crate::entities::project_scanner;
        use crate::policy::authz::{Action, Resource};
        let p = super::projects::find_project(&self.db, project).await?;
        super::authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Scan,
            Action::Update,
        )
        .await?;
        let chosen = self
            .registrations()
            .await?
            .into_iter()
            .find(|r| r.uuid == uuid)
            .ok_or_else(|| DomainError::NotFound(format!("scanner `{uuid}` not found")))?;
        if chosen.disabled {
            return Err(DomainError::field(
                "uuid",
                format!("scanner `{}` is disabled", chosen.name),
            ));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        project_scanner::Entity::delete_by_id(p.id)
            .exec(&txn)
            .await?;
        project_scanner::ActiveModel {
            project_id: Set(p.id),
            scanner_uuid: Set(chosen.uuid.clone()),
        }
        .insert(&txn)
        .await?;
        super::audit::record(
            &txn,
            actor,
            super::audit::Record {
                operation: "update",
                resource_type: "scanner",
                resource: &format!("{}: {}", p.name, chosen.name),
                project_id: Some(p.id),
                outcome: super::audit::Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(chosen)
    }

    /// Held while writing scan rows.
    pub async fn write_gate(&self) -> Result<crate::db::WritePermit, DbErr> {
        self.writes.enter().await
    }

    /// Queues a scan of `artifact_id` with `scanner` unless one is already queued or running;
    /// returns the job.
    pub async fn enqueue(
        &self,
        artifact_id: i64,
        scanner: &str,
        trigger: &str,
    ) -> DomainResult<scan::Model> {
        let a = artifact::Entity::find_by_id(artifact_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("artifact {artifact_id} not found")))?;
        if !scannable(&a) {
            return Err(DomainError::Invalid(format!(
                "artifact {} is not an image (media type `{}`{}); only images and image \
                 indexes are scanned",
                a.digest,
                a.media_type,
                a.artifact_type
                    .as_deref()
                    .map(|t| format!(", artifact type `{t}`"))
                    .unwrap_or_default()
            )));
        }
        let now = Utc::now();
        let _write = self.write_gate().await?;
        let existing = scan::Entity::find()
            .filter(scan::Column::ArtifactId.eq(artifact_id))
            .filter(scan::Column::Scanner.eq(scanner))
            .one(&self.db)
            .await?;
        let job = match existing {
            Some(job) if job.status == "queued" || job.status == "running" => job,
            Some(job) => {
                let mut active = job.into_active_model();
                active.status = Set("queued".into());
                active.trigger = Set(trigger.into());
                active.attempts = Set(0);
                active.error = Set(None);
                active.queued_at = Set(now);
                active.next_attempt_at = Set(now);
                active.started_at = Set(None);
                active.finished_at = Set(None);
                active.update(&self.db).await?
            }
            None => {
                let inserted = scan::ActiveModel {
                    artifact_id: Set(artifact_id),
                    scanner: Set(scanner.into()),
                    status: Set("queued".into()),
                    trigger: Set(trigger.into()),
                    attempts: Set(0),
                    error: Set(None),
                    queued_at: Set(now),
                    next_attempt_at: Set(now),
                    started_at: Set(None),
                    finished_at: Set(None),
                    report: Set(None),
                    severity: Set(None),
                    summary: Set(None),
                    ..Default::default()
                }
                .insert(&self.db)
                .await;
                match inserted {
                    Ok(job) => job,
                    // Queued by a concurrent request in between: that job is the one.
                    Err(_) => scan::Entity::find()
                        .filter(scan::Column::ArtifactId.eq(artifact_id))
                        .filter(scan::Column::Scanner.eq(scanner))
                        .one(&self.db)
                        .await?
                        .ok_or_else(|| DomainError::Conflict("scan could not be queued".into()))?,
                }
            }
        };
        Ok(job)
    }

    /// A person's or robot's request to scan an artifact: queued and audited.
    pub async fn request(
        &self,
        actor: &super::Actor,
        project_id: i64,
        resource: &str,
        artifact_id: i64,
        scanner: &str,
        trigger: &str,
    ) -> DomainResult<scan::Model> {
        let job = self.enqueue(artifact_id, scanner, trigger).await?;
        self.wake.notify_one();
        let _write = self.write_gate().await?;
        super::audit::record(
            &self.db,
            actor,
            super::audit::Record {
                operation: "scan",
                resource_type: "artifact",
                resource,
                project_id: Some(project_id),
                outcome: super::audit::Outcome::Success,
            },
        )
        .await?;
        Ok(job)
    }

    /// Claims the next due job for this worker: `queued` → `running`, exactly once across
    /// replicas (the update only succeeds while the row is still queued).
    pub async fn claim_next(&self) -> Result<Option<scan::Model>, DbErr> {
        let now = Utc::now();
        let candidates = scan::Entity::find()
            .filter(scan::Column::Status.eq("queued"))
            .filter(scan::Column::NextAttemptAt.lte(now))
            .order_by_asc(scan::Column::NextAttemptAt)
            .order_by_asc(scan::Column::Id)
            .limit(8)
            .all(&self.db)
            .await?;
        if candidates.is_empty() {
            return Ok(None);
        }
        let _write = self.write_gate().await?;
        for job in candidates {
            let claimed = scan::Entity::update_many()
                .col_expr(scan::Column::Status, Expr::value("running"))
                .col_expr(scan::Column::StartedAt, Expr::value(now))
                .col_expr(scan::Column::Attempts, Expr::value(job.attempts + 1))
                .filter(scan::Column::Id.eq(job.id))
                .filter(scan::Column::Status.eq("queued"))
                .exec(&self.db)
                .await?;
            if claimed.rows_affected == 1 {
                return scan::Entity::find_by_id(job.id).one(&self.db).await;
            }
        }
        Ok(None)
    }

    /// Puts back in the queue the jobs whose worker went away (a replica that stopped).
    pub async fn requeue_stale(&self) -> Result<u64, DbErr> {
        let cutoff = Utc::now() - Duration::minutes(STALE_AFTER_MINUTES);
        let _write = self.write_gate().await?;
        Ok(scan::Entity::update_many()
            .col_expr(scan::Column::Status, Expr::value("queued"))
            .filter(scan::Column::Status.eq("running"))
            .filter(scan::Column::StartedAt.lt(cutoff))
            .exec(&self.db)
            .await?
            .rows_affected)
    }

    /// Records a job's outcome: the report, or the error and a retry with back-off until
    /// [`MAX_ATTEMPTS`].
    pub async fn finish(
        &self,
        job: &scan::Model,
        outcome: Result<Report, String>,
    ) -> Result<(), DbErr> {
        let Some(current) = scan::Entity::find_by_id(job.id).one(&self.db).await? else {
            return Ok(()); // the artifact was deleted meanwhile
        };
        let now = Utc::now();
        let mut active = current.clone().into_active_model();
        match outcome {
            Ok(report) => {
                let summary = report.summary();
                active.status = Set("success".into());
                active.error = Set(None);
                active.finished_at = Set(Some(now));
                active.severity = Set(Some(report.highest().as_str().into()));
                active.summary = Set(Some(serde_json::to_string(&summary).expect("summary")));
                active.report = Set(Some(serde_json::to_string(&report).expect("report")));
            }
            Err(e) if current.attempts < MAX_ATTEMPTS => {
                tracing::warn!(job = job.id, attempt = current.attempts, error = %e, "scan failed; will retry");
                active.status = Set("queued".into());
                active.error = Set(Some(e));
                active.next_attempt_at =
                    Set(now + Duration::seconds(5 * (1 << current.attempts.clamp(0, 10))));
            }
            Err(e) => {
                tracing::warn!(job = job.id, error = %e, "scan failed for the last time");
                active.status = Set("error".into());
                active.error = Set(Some(e));
                active.finished_at = Set(Some(now));
            }
        }
        let _write = self.write_gate().await?;
        active.update(&self.db).await?;
        Ok(())
    }

    /// The repository name and manifest bytes of an artifact.
    async fn manifest_of(&self, a: &artifact::Model) -> Result<(String, Vec<u8>), String> {
        let repo = repository::Entity::find_by_id(a.repository_id)
            .one(&self.db)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("repository is gone")?;
        let digest = Digest::parse(&a.digest)?;
        let bytes = read_all(
            self.store
                .read(&digest, None)
                .await
                .map_err(|e| format!("manifest {}: {e}", a.digest))?,
        )
        .await?;
        Ok((repo.name, bytes))
    }

    /// Runs the built-in scanner over an artifact: an image's layers in order, or each image of
    /// an index (the index's report is the union of its images').
    pub async fn scan_builtin(&self, artifact_id: i64) -> Result<Report, String> {
        let a = artifact::Entity::find_by_id(artifact_id)
            .one(&self.db)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("artifact is gone")?;
        let (repository, _) = self.manifest_of(&a).await?;
        let mut images = Vec::new();
        for image in images_of(&self.db, &a).await.map_err(|e| e.to_string())? {
            images.push(self.manifest_of(&image).await?.1);
        }
        let mut inventory = Vec::new();
        for manifest in images {
            let layers = layer_digests(&manifest)?;
            let store = self.store.clone();
            let files = read_image(layers, move |d| {
                let store = store.clone();
                async move {
                    let digest = Digest::parse(&d)?;
                    store
                        .read(&digest, None)
                        .await
                        .map_err(|e| format!("layer {d}: {e}"))
                }
            })
            .await?;
            inventory.extend(files.inventory());
        }
        let vulnerabilities = findings(&self.vulndb, &inventory, self.ignore_unfixed)
            .await
            .map_err(|e| e.to_string())?;
        Ok(make_report(
            ReportArtifact {
                repository,
                digest: a.digest.clone(),
                mime_type: a.media_type.clone(),
            },
            builtin_info(),
            vulnerabilities,
        ))
    }

    /// The scan state of each artifact for `scanner`.
    pub async fn overviews(
        &self,
        artifact_ids: &[i64],
        scanner: &str,
    ) -> Result<HashMap<i64, Overview>, DbErr> {
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
    pub async fn report(&self, artifact_id: i64, scanner: &str) -> Result<Option<Report>, DbErr> {
        let row = scan::Entity::find()
            .filter(scan::Column::ArtifactId.eq(artifact_id))
            .filter(scan::Column::Scanner.eq(scanner))
            .one(&self.db)
            .await?;
        Ok(row
            .and_then(|r| r.report)
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Jobs per status, for the console and metrics.
    pub async fn queue_counts(&self) -> Result<BTreeMap<String, i64>, DbErr> {
        let mut out = BTreeMap::new();
        for row in scan::Entity::find().all(&self.db).await? {
            *out.entry(row.status).or_default() += 1;
        }
        Ok(out)
    }
}

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

fn overview_of(row: &scan::Model) -> Overview {
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
        start_time: row.started_at.map(super::rfc3339),
        end_time: row.finished_at.map(super::rfc3339),
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

/// The layer digests of an image manifest, bottom first.
pub fn layer_digests(manifest: &[u8]) -> Result<Vec<String>, String> {
    let json: serde_json::Value =
        serde_json::from_slice(manifest).map_err(|e| format!("manifest is not JSON: {e}"))?;
    Ok(json
        .get("layers")
        .and_then(|l| l.as_array())
        .map(|layers| {
            layers
                .iter()
                .filter_map(|l| l.get("digest").and_then(|d| d.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

async fn read_all(mut stream: ByteStream) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// Applies the layers in order, each streamed from `open(digest)` into the blocking pool:
/// nothing of a layer is held beyond the decompressor's window and the package databases kept.
pub async fn read_image<F, Fut>(layers: Vec<String>, open: F) -> Result<ImageFiles, String>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<ByteStream, String>>,
{
    let mut files = ImageFiles::new();
    for digest in layers {
        let stream = open(digest.clone()).await?;
        let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
        files = tokio::task::spawn_blocking(move || {
            let mut files = files;
            files
                .apply_layer(reader)
                .map(|()| files)
                .map_err(|e| format!("layer {digest}: {e}"))
        })
        .await
        .map_err(|e| format!("layer reader stopped: {e}"))??;
    }
    Ok(files)
}

/// Matches an inventory against the database, one lookup per distinct package.
pub async fn findings(
    vulndb: &VulnDb,
    inventory: &[Installed],
    ignore_unfixed: bool,
) -> Result<Vec<Vulnerability>, DbErr> {
    let mut by_package: BTreeMap<(String, String), Vec<&Installed>> = BTreeMap::new();
    for p in inventory {
        by_package
            .entry((p.ecosystem.clone(), p.name.clone()))
            .or_default()
            .push(p);
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for ((ecosystem, name), installed) in by_package {
        let records = vulndb.records_for(&ecosystem, &name).await?;
        if records.is_empty() {
            continue;
        }
        for p in installed {
            for r in &records {
                let Some(hit) = r.affects(&p.ecosystem, &p.name, &p.version) else {
                    continue;
                };
                if ignore_unfixed && hit.fixed.is_none() {
                    continue;
                }
                let package = p.binary.clone().unwrap_or_else(|| p.name.clone());
                if !seen.insert((r.id.clone(), package.clone(), p.version.clone())) {
                    continue;
                }
                let (sev, score) = severity::of_record(r);
                let vector = r
                    .severity
                    .iter()
                    .chain(r.affected.iter().flat_map(|a| a.severity.iter()))
                    .find(|s| s.kind.starts_with("CVSS_V3"))
                    .map(|s| s.score.clone());
                let mut links = vec![format!("https://osv.dev/vulnerability/{}", r.id)];
                links.extend(r.references.iter().map(|x| x.url.clone()).take(8));
                out.push(Vulnerability {
                    id: r.id.clone(),
                    package,
                    version: p.version.clone(),
                    fix_version: hit.fixed.unwrap_or_default(),
                    severity: sev.as_str().into(),
                    description: r
                        .summary
                        .clone()
                        .filter(|s| !s.is_empty())
                        .or_else(|| r.details.clone())
                        .unwrap_or_default(),
                    links,
                    preferred_cvss: vector.map(|v| Cvss {
                        score_v3: score,
                        vector_v3: v,
                    }),
                    cwe_ids: Vec::new(),
                    vendor_attributes: serde_json::json!({
                        "aliases": aliases_of(r),
                        "ecosystem": p.ecosystem,
                        "source_package": p.name,
                    }),
                });
            }
        }
    }
    out.sort_by(|a, b| {
        let sa = Severity::of_word(&a.severity).unwrap_or(Severity::Unknown);
        let sb = Severity::of_word(&b.severity).unwrap_or(Severity::Unknown);
        sb.cmp(&sa)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.package.cmp(&b.package))
    });
    Ok(out)
}

/// A record's aliases, plus the CVE id that ids such as `ALPINE-CVE-2025-26519` or
/// `DEBCL-curl-CVE-2023-27534` embed, so that allowlists can name CVEs.
fn aliases_of(r: &crate::scan::osv::Record) -> Vec<String> {
    let mut out = r.aliases.clone();
    if let Some(at) = r.id.find("CVE-") {
        let cve = &r.id[at..];
        let parts: Vec<&str> = cve.splitn(3, '-').collect();
        let valid = parts.len() == 3
            && parts[1].len() == 4
            && parts[1].bytes().all(|b| b.is_ascii_digit())
            && !parts[2].is_empty()
            && parts[2].bytes().all(|b| b.is_ascii_digit());
        if valid && cve != r.id && !out.iter().any(|a| a == cve) {
            out.push(cve.to_string());
        }
    }
    out
}

pub fn make_report(
    artifact: ReportArtifact,
    scanner: ScannerInfo,
    vulnerabilities: Vec<Vulnerability>,
) -> Report {
    let mut report = Report {
        generated_at: super::rfc3339(Utc::now()),
        artifact,
        scanner,
        severity: String::new(),
        vulnerabilities,
    };
    report.severity = report.highest().as_str().into();
    report
}

/// What a scan of `a` reads: the image itself, or each image an index lists (in the same
/// repository; nested indexes and non-image artifacts are left out).
pub async fn images_of(
    conn: &impl ConnectionTrait,
    a: &artifact::Model,
) -> Result<Vec<artifact::Model>, DbErr> {
    if !media::is_index(&a.media_type) {
        return Ok(vec![a.clone()]);
    }
    let children: Vec<String> = artifact_ref::Entity::find()
        .filter(artifact_ref::Column::ArtifactId.eq(a.id))
        .filter(artifact_ref::Column::Kind.eq("manifest"))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| r.digest)
        .collect();
    Ok(artifact::Entity::find()
        .filter(artifact::Column::RepositoryId.eq(a.repository_id))
        .filter(artifact::Column::Digest.is_in(children))
        .all(conn)
        .await?
        .into_iter()
        .filter(|c| scannable(c) && !media::is_index(&c.media_type))
        .collect())
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
