//! The scan queue: one job per (artifact, scanner), queued by people, schedules and the
//! scan-on-push event consumer, claimed by one worker of one replica, retried with back-off.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::{scannable, scanner_for_project_on, Scans, MAX_ATTEMPTS, STALE_AFTER_MINUTES};
use crate::entities::{artifact, scan};
use crate::scan::report::Report;
use crate::service::{DomainError, DomainResult};

impl Scans {
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
        let txn = self.write_gate().await?.begin(&self.db).await?;
        let job = enqueue_on(&*txn, artifact_id, scanner, trigger).await?;
        txn.commit().await?;
        Ok(job)
    }

    /// A person's or robot's request to scan an artifact: queued and audited.
    pub async fn request(
        &self,
        actor: &crate::service::Actor,
        project_id: i64,
        resource: &str,
        artifact_id: i64,
        scanner: &str,
        trigger: &str,
    ) -> DomainResult<scan::Model> {
        let job = self.enqueue(artifact_id, scanner, trigger).await?;
        self.wake.notify_one();
        crate::service::audit::record_now(
            &self.db,
            actor,
            crate::service::audit::Record {
                operation: "scan",
                resource_type: "artifact",
                resource,
                project_id: Some(project_id),
                outcome: crate::service::audit::Outcome::Success,
            },
        )
        .await?;
        Ok(job)
    }

    /// Claims the next due job for this worker: `queued` → `running`, exactly once across
    /// replicas (the update only succeeds while the row is still queued).
    pub async fn claim_next(&self) -> crate::service::DomainResult<Option<scan::Model>> {
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
                return Ok(scan::Entity::find_by_id(job.id).one(&self.db).await?);
            }
        }
        Ok(None)
    }

    /// Puts back in the queue the jobs whose worker went away (a replica that stopped).
    pub async fn requeue_stale(&self) -> crate::service::DomainResult<u64> {
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

    /// Records a job's outcome: the report (none for a job that makes no report, such as an
    /// SBOM's generation), or the error and a retry with back-off until [`MAX_ATTEMPTS`]. A
    /// final outcome is an event (`scan.completed` or `scan.failed`; `sbom.generated` or
    /// `sbom.failed`) in the same transaction.
    pub async fn finish(
        &self,
        job: &scan::Model,
        outcome: Result<Option<Report>, String>,
    ) -> DomainResult<()> {
        let sbom = job
            .scanner
            .starts_with(crate::service::registry::sbom::JOB_PREFIX);
        // The row as it is now, locked until this transaction ends (PostgreSQL; SQLite has one
        // writer at a time): a completion is accepted only from the claim that is current.
        let txn = self.write_gate().await?.begin(&self.db).await?;
        let mut find = scan::Entity::find_by_id(job.id);
        if self.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            find = find.lock_exclusive();
        }
        let Some(current) = find.one(&*txn).await? else {
            return Ok(()); // the artifact was deleted meanwhile
        };
        if current.status != "running" || current.attempts != job.attempts {
            // This worker's claim went stale (the job was requeued and claimed again, or
            // finished by the other claim): its result is not the current one.
            tracing::warn!(
                job = job.id,
                attempt = job.attempts,
                "a stale scan completion was refused"
            );
            return Ok(());
        }
        let now = Utc::now();
        let mut active = current.clone().into_active_model();
        let mut told = None;
        match outcome {
            Ok(None) => {
                told = Some(("generated", serde_json::json!({})));
                active.status = Set("success".into());
                active.error = Set(None);
                active.finished_at = Set(Some(now));
            }
            Ok(Some(report)) => {
                let summary = report.summary();
                let severity = report.highest().as_str().to_string();
                told = Some((
                    "completed",
                    serde_json::json!({ "severity": severity, "summary": summary }),
                ));
                active.status = Set("success".into());
                active.error = Set(None);
                active.finished_at = Set(Some(now));
                active.severity = Set(Some(severity));
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
                told = Some(("failed", serde_json::json!({ "error": e })));
                active.status = Set("error".into());
                active.error = Set(Some(e));
                active.finished_at = Set(Some(now));
            }
        }
        active.update(&*txn).await?;
        if let Some((operation, mut payload)) = told {
            let a = artifact::Entity::find_by_id(current.artifact_id)
                .one(&*txn)
                .await?;
            let r = match &a {
                Some(a) => {
                    crate::entities::repository::Entity::find_by_id(a.repository_id)
                        .one(&*txn)
                        .await?
                }
                None => None,
            };
            if let (Some(a), Some(r)) = (a, r) {
                payload["artifact_id"] = a.id.into();
                payload["digest"] = a.digest.clone().into();
                payload["scanner"] = current.scanner.clone().into();
                payload["trigger"] = current.trigger.clone().into();
                crate::service::audit::record_with(
                    &*txn,
                    &crate::service::Actor::system(),
                    crate::service::audit::Record {
                        operation,
                        resource_type: if sbom { "sbom" } else { "scan" },
                        resource: &format!("{}@{}", r.name, a.digest),
                        project_id: Some(r.project_id),
                        outcome: if operation != "failed" {
                            crate::service::audit::Outcome::Success
                        } else {
                            crate::service::audit::Outcome::Failure
                        },
                    },
                    payload,
                )
                .await?;
            }
        }
        txn.commit().await?;
        Ok(())
    }
}

/// Queues a scan in the caller's write transaction (see [`Scans::enqueue`]).
pub async fn enqueue_on(
    conn: &impl ConnectionTrait,
    artifact_id: i64,
    scanner: &str,
    trigger: &str,
) -> DomainResult<scan::Model> {
    let now = Utc::now();
    let existing = scan::Entity::find()
        .filter(scan::Column::ArtifactId.eq(artifact_id))
        .filter(scan::Column::Scanner.eq(scanner))
        .one(conn)
        .await?;
    Ok(match existing {
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
            active.update(conn).await?
        }
        None => {
            scan::ActiveModel {
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
            .insert(conn)
            .await?
        }
    })
}

/// The event consumer that queues a scan for every image pushed into a project with
/// `auto_scan` on, and an SBOM's generation (CycloneDX) with `auto_sbom_generation` on. It queues in the transaction that advances its cursor, so each push is
/// queued exactly once, whatever crashes (see `events::consumer`).
pub struct ScanOnPush {
    pub scans: Scans,
}

/// The consumer's name in `event_consumers`.
pub const SCAN_ON_PUSH: &str = "scan-on-push";

impl crate::service::events::consumer::Handler for ScanOnPush {
    async fn handle(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        events: &[crate::entities::event::Model],
    ) -> DomainResult<()> {
        use crate::entities::project;
        let mut queued = 0;
        for e in events {
            if e.kind != "artifact.push" || e.outcome != "success" {
                continue;
            }
            let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
            let Some(artifact_id) = payload.get("artifact_id").and_then(|v| v.as_i64()) else {
                continue;
            };
            let Some(p) = project::Entity::find_by_id(e.project_id.unwrap_or(-1))
                .one(txn)
                .await?
            else {
                continue;
            };
            let metadata: BTreeMap<String, String> =
                serde_json::from_str(&p.metadata).unwrap_or_default();
            let on = |key: &str| metadata.get(key).map(String::as_str) == Some("true");
            let (scan, sbom) = (on("auto_scan"), on("auto_sbom_generation"));
            if !scan && !sbom {
                continue;
            }
            // Deleted since, or not an image: nothing to scan.
            let Some(a) = artifact::Entity::find_by_id(artifact_id).one(txn).await? else {
                continue;
            };
            if !scannable(&a) {
                continue;
            }
            if scan {
                let scanner = scanner_for_project_on(txn, p.id).await?;
                enqueue_on(txn, a.id, &scanner, "push").await?;
                queued += 1;
            }
            if sbom {
                let job = crate::service::registry::sbom::job_name(
                    crate::scan::sbom::SbomFormat::CycloneDx,
                );
                enqueue_on(txn, a.id, &job, "push").await?;
                queued += 1;
            }
        }
        if queued > 0 {
            // Workers look after the commit; a missed wake-up costs one idle poll.
            self.scans.wake.notify_waiters();
        }
        Ok(())
    }
}
