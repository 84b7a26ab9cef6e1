//! Online garbage collection: mark and sweep of blobs no longer referenced by any manifest,
//! optionally after deleting untagged artifacts, while the registry keeps serving.
//!
//! - A repository's link to a blob is live while an artifact of that repository is the blob
//!   (a manifest) or references it (config, layer, index child). Dead links older than the
//!   window are removed; this is what frees quota.
//! - A blob with no link left, older than the window, is deleted: its row, then its file.
//! - Blobs and links younger than the window (default 2 h) are never touched, so uploads whose
//!   manifest has not arrived yet are safe.
//! - Every sweep batch runs in a transaction that excludes the writes that create references
//!   (manifest `PUT`, upload completion, mount): on SQLite through the registry's write gate,
//!   on PostgreSQL through an advisory lock those writes take shared (`hold_off`). Inside the
//!   batch, liveness is checked again, so a blob re-referenced since the mark phase survives.
//!   An upload of the same content that moved its file into place just before a sweep removed
//!   it notices at link time (the file is checked while the sweep is held off) and asks the
//!   client to upload again; a mount falls back to an upload session.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use super::{Registry, RegistryResult};
pub use crate::types::dto::{GcReport, GcRun};
use crate::types::Digest;

/// Advisory lock key of the garbage collector (PostgreSQL).
const GC_LOCK: i64 = 0x4245_5254_4847; // "BERTHG"
/// Items per sweep transaction.
const BATCH: usize = 256;

/// Taken (shared) by every write that makes a blob referenced; GC takes it exclusively.
pub(crate) async fn hold_off(conn: &impl ConnectionTrait) -> RegistryResult<()> {
    if conn.get_database_backend() == DatabaseBackend::Postgres {
        conn.execute(Statement::from_string(
            DatabaseBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock_shared({GC_LOCK})"),
        ))
        .await?;
    }
    Ok(())
}

async fn exclusive(conn: &impl ConnectionTrait) -> RegistryResult<()> {
    if conn.get_database_backend() == DatabaseBackend::Postgres {
        conn.execute(Statement::from_string(
            DatabaseBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock({GC_LOCK})"),
        ))
        .await?;
    }
    Ok(())
}

#[derive(Clone, Debug)]
pub struct GcOptions {
    pub dry_run: bool,
    pub delete_untagged: bool,
    /// Blobs, links and untagged artifacts younger than this are kept.
    pub window: Duration,
    /// The recorded run (`gc_runs.id`) whose progress this run reports.
    pub run: Option<i64>,
}

impl Default for GcOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            delete_untagged: false,
            window: Duration::hours(2),
            run: None,
        }
    }
}

fn ph(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".into(),
    }
}

/// SQL condition: the link `rb` is live.
const LIVE_LINK: &str =
    "(EXISTS (SELECT 1 FROM artifacts a WHERE a.repository_id = rb.repository_id \
     AND a.digest = rb.digest) OR EXISTS (SELECT 1 FROM artifact_refs ar JOIN artifacts a \
     ON a.id = ar.artifact_id WHERE a.repository_id = rb.repository_id AND ar.digest = rb.digest))";

impl Registry {
    /// Runs garbage collection once.
    pub async fn collect_garbage(&self, options: &GcOptions) -> RegistryResult<GcReport> {
        let started = std::time::Instant::now();
        let cutoff = Utc::now() - options.window;
        let backend = self.db.get_database_backend();
        let mut report = GcReport {
            dry_run: options.dry_run,
            ..Default::default()
        };
        if options.delete_untagged {
            self.gc_progress(options.run, "untagged", 0, 0).await;
            report.untagged_artifacts_deleted =
                self.delete_untagged(cutoff, options.dry_run).await?;
        }

        // Mark: dead links older than the window.
        let dead_links: Vec<(i64, String)> = self
            .db
            .query_all(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT rb.repository_id, rb.digest FROM repository_blobs rb \
                     WHERE rb.created_at < {} AND NOT {LIVE_LINK}",
                    ph(backend, 1)
                ),
                vec![cutoff.into()],
            ))
            .await?
            .into_iter()
            .filter_map(|r| Some((r.try_get_by_index(0).ok()?, r.try_get_by_index(1).ok()?)))
            .collect();
        self.gc_progress(options.run, "links", 0, dead_links.len())
            .await;
        if options.dry_run {
            report.links_removed = dead_links.len() as u64;
        } else {
            for (i, batch) in dead_links.chunks(BATCH).enumerate() {
                self.gc_progress(options.run, "links", i * BATCH, dead_links.len())
                    .await;
                let write = self.write_gate().await?;
                let txn = write.begin(&self.db).await?;
                exclusive(&txn).await?;
                for (repository_id, digest) in batch {
                    let p = |n| ph(backend, n);
                    let res = txn
                        .execute(Statement::from_sql_and_values(
                            backend,
                            format!(
                                "DELETE FROM repository_blobs WHERE repository_id = {} AND \
                                 digest = {} AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE \
                                 a.repository_id = {} AND a.digest = {}) AND NOT EXISTS \
                                 (SELECT 1 FROM artifact_refs ar JOIN artifacts a ON \
                                 a.id = ar.artifact_id WHERE a.repository_id = {} AND \
                                 ar.digest = {})",
                                p(1),
                                p(2),
                                p(3),
                                p(4),
                                p(5),
                                p(6)
                            ),
                            vec![
                                (*repository_id).into(),
                                digest.clone().into(),
                                (*repository_id).into(),
                                digest.clone().into(),
                                (*repository_id).into(),
                                digest.clone().into(),
                            ],
                        ))
                        .await?;
                    report.links_removed += res.rows_affected();
                }
                txn.commit().await?;
            }
        }

        // Sweep: blobs without links, older than the window. A dry run also counts the blobs
        // whose last links it would remove.
        let (orphan_sql, values) = if options.dry_run {
            (
                format!(
                    "SELECT b.digest, b.size FROM blobs b WHERE b.created_at < {} AND NOT EXISTS \
                     (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest AND \
                     (rb.created_at >= {} OR {LIVE_LINK}))",
                    ph(backend, 1),
                    ph(backend, 2)
                ),
                vec![cutoff.into(), cutoff.into()],
            )
        } else {
            (
                format!(
                    "SELECT b.digest, b.size FROM blobs b WHERE b.created_at < {} AND NOT EXISTS \
                     (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)",
                    ph(backend, 1)
                ),
                vec![cutoff.into()],
            )
        };
        let orphans: Vec<(String, i64)> = self
            .db
            .query_all(Statement::from_sql_and_values(backend, orphan_sql, values))
            .await?
            .into_iter()
            .filter_map(|r| Some((r.try_get_by_index(0).ok()?, r.try_get_by_index(1).ok()?)))
            .collect();
        self.gc_progress(options.run, "blobs", 0, orphans.len())
            .await;
        if options.dry_run {
            report.blobs_deleted = orphans.len() as u64;
            report.bytes_freed = orphans.iter().map(|(_, s)| (*s).max(0) as u64).sum();
        } else {
            for (i, batch) in orphans.chunks(BATCH).enumerate() {
                self.gc_progress(options.run, "blobs", i * BATCH, orphans.len())
                    .await;
                let write = self.write_gate().await?;
                let txn = write.begin(&self.db).await?;
                exclusive(&txn).await?;
                let mut gone = BTreeSet::new();
                for (digest, size) in batch {
                    let res = txn
                        .execute(Statement::from_sql_and_values(
                            backend,
                            format!(
                                "DELETE FROM blobs WHERE digest = {} AND NOT EXISTS \
                                 (SELECT 1 FROM repository_blobs rb WHERE rb.digest = {})",
                                ph(backend, 1),
                                ph(backend, 2)
                            ),
                            vec![digest.clone().into(), digest.clone().into()],
                        ))
                        .await?;
                    if res.rows_affected() == 1 {
                        gone.insert(digest.clone());
                        report.blobs_deleted += 1;
                        report.bytes_freed += (*size).max(0) as u64;
                    } else {
                        report.blobs_rescued += 1;
                    }
                }
                // Files go while the writers are still held off: an upload of the same
                // content can only move its file into place after this transaction.
                for digest in &gone {
                    if let Ok(d) = Digest::parse(digest) {
                        match self.store.delete(&d).await {
                            Ok(()) | Err(crate::storage::StorageError::BlobUnknown) => {}
                            Err(e) => {
                                tracing::warn!(digest, error = %e, "cannot delete a swept blob's file")
                            }
                        }
                        self.forget_manifest(digest);
                    }
                }
                txn.commit().await?;
            }
        }
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// Deletes untagged artifacts older than `cutoff` that no other artifact holds (index
    /// children and referrers of an existing subject are kept).
    async fn delete_untagged(&self, cutoff: DateTime<Utc>, dry_run: bool) -> RegistryResult<u64> {
        let backend = self.db.get_database_backend();
        let condition = format!(
            "a.push_time < {} AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.artifact_id = a.id) \
             AND NOT EXISTS (SELECT 1 FROM artifact_refs ar JOIN artifacts p ON p.id = ar.artifact_id \
             WHERE p.repository_id = a.repository_id AND ar.digest = a.digest) \
             AND NOT (a.subject_digest IS NOT NULL AND EXISTS (SELECT 1 FROM artifacts s \
             WHERE s.repository_id = a.repository_id AND s.digest = a.subject_digest))",
            ph(backend, 1)
        );
        if dry_run {
            let n = self
                .db
                .query_one(Statement::from_sql_and_values(
                    backend,
                    format!("SELECT COUNT(*) FROM artifacts a WHERE {condition}"),
                    vec![cutoff.into()],
                ))
                .await?
                .and_then(|r| r.try_get_by_index::<i64>(0).ok())
                .unwrap_or(0);
            return Ok(n.max(0) as u64);
        }
        let write = self.write_gate().await?;
        let txn = write.begin(&self.db).await?;
        exclusive(&txn).await?;
        let res = txn
            .execute(Statement::from_sql_and_values(
                backend,
                format!(
                    "DELETE FROM artifacts WHERE id IN (SELECT a.id FROM artifacts a WHERE {condition})"
                ),
                vec![cutoff.into()],
            ))
            .await?;
        txn.commit().await?;
        Ok(res.rows_affected())
    }
}

/// A run still marked `running` after this long is taken to have died with its process.
const STALE_RUN: i64 = 6 * 3600;

impl Registry {
    async fn gc_progress(&self, run: Option<i64>, phase: &str, done: usize, total: usize) {
        let Some(id) = run else { return };
        let backend = self.db.get_database_backend();
        let p = |n| ph(backend, n);
        let res = self
            .db
            .execute(Statement::from_sql_and_values(
                backend,
                format!(
                    "UPDATE gc_runs SET phase = {}, done = {}, total = {} WHERE id = {}",
                    p(1),
                    p(2),
                    p(3),
                    p(4)
                ),
                vec![
                    phase.into(),
                    (done.min(total) as i64).into(),
                    (total as i64).into(),
                    id.into(),
                ],
            ))
            .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, "cannot record garbage collection progress");
        }
    }

    /// Records a new run as `running`. Refused (`DENIED`) while another run is in progress.
    pub async fn begin_gc_run(
        &self,
        options: &GcOptions,
        trigger: &str,
        actor: &str,
    ) -> RegistryResult<i64> {
        use super::OciCode;
        let backend = self.db.get_database_backend();
        let p = |n| ph(backend, n);
        let write = self.write_gate().await?;
        let txn = write.begin(&self.db).await?;
        exclusive(&txn).await?;
        let stale = Utc::now() - Duration::seconds(STALE_RUN);
        let running = txn
            .query_one(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT id FROM gc_runs WHERE status = 'running' AND started_at > {}",
                    p(1)
                ),
                vec![stale.into()],
            ))
            .await?;
        if let Some(row) = running {
            let id: i64 = row.try_get_by_index(0).unwrap_or_default();
            return Err(super::RegistryError::new(
                OciCode::Denied,
                format!("garbage collection run {id} is still in progress"),
            ));
        }
        let row = txn
            .query_one(Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO gc_runs (\"trigger\", actor, dry_run, delete_untagged, status, phase, \
                     done, total, started_at, result) VALUES ({}, {}, {}, {}, 'running', 'queued', \
                     0, 0, {}, '') RETURNING id",
                    p(1),
                    p(2),
                    p(3),
                    p(4),
                    p(5)
                ),
                vec![
                    trigger.into(),
                    actor.into(),
                    options.dry_run.into(),
                    options.delete_untagged.into(),
                    Utc::now().into(),
                ],
            ))
            .await?
            .ok_or_else(|| sea_orm::DbErr::Custom("no id returned".into()))?;
        let id: i64 = row.try_get_by_index(0)?;
        txn.commit().await?;
        Ok(id)
    }

    /// Runs a recorded run to its end (its progress is recorded as it goes).
    pub(super) async fn collect_gc_run(
        &self,
        id: i64,
        options: &GcOptions,
    ) -> RegistryResult<GcReport> {
        let options = GcOptions {
            run: Some(id),
            ..options.clone()
        };
        self.collect_garbage(&options).await
    }

    /// Stores a run's outcome, in the caller's transaction.
    pub(super) async fn record_gc_outcome(
        &self,
        conn: &impl ConnectionTrait,
        id: i64,
        status: &str,
        result: &str,
    ) -> RegistryResult<()> {
        let backend = conn.get_database_backend();
        let p = |n| ph(backend, n);
        conn.execute(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE gc_runs SET status = {}, phase = 'done', finished_at = {}, result = {} \
                 WHERE id = {}",
                p(1),
                p(2),
                p(3),
                p(4)
            ),
            vec![status.into(), Utc::now().into(), result.into(), id.into()],
        ))
        .await?;
        Ok(())
    }

    /// The most recent runs, newest first.
    pub(super) async fn gc_runs(&self, limit: u64) -> RegistryResult<Vec<GcRun>> {
        self.query_gc_runs("1 = 1", vec![], limit).await
    }

    pub(super) async fn gc_run(&self, id: i64) -> RegistryResult<Option<GcRun>> {
        let backend = self.db.get_database_backend();
        Ok(self
            .query_gc_runs(&format!("id = {}", ph(backend, 1)), vec![id.into()], 1)
            .await?
            .into_iter()
            .next())
    }

    async fn query_gc_runs(
        &self,
        condition: &str,
        values: Vec<sea_orm::Value>,
        limit: u64,
    ) -> RegistryResult<Vec<GcRun>> {
        let backend = self.db.get_database_backend();
        let rows = self
            .db
            .query_all(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT id, \"trigger\", actor, dry_run, delete_untagged, status, phase, done, \
                     total, started_at, finished_at, result FROM gc_runs WHERE {condition} \
                     ORDER BY id DESC LIMIT {limit}"
                ),
                values,
            ))
            .await?;
        rows.into_iter()
            .map(|r| {
                let status: String = r.try_get_by_index(5)?;
                let result: String = r.try_get_by_index(11)?;
                let (report, error) = match status.as_str() {
                    "success" => (serde_json::from_str(&result).ok(), None),
                    "error" => (None, Some(result)),
                    _ => (None, None),
                };
                Ok(GcRun {
                    id: r.try_get_by_index(0)?,
                    trigger: r.try_get_by_index(1)?,
                    actor: r.try_get_by_index(2)?,
                    dry_run: r.try_get_by_index(3)?,
                    delete_untagged: r.try_get_by_index(4)?,
                    status,
                    phase: r.try_get_by_index(6)?,
                    done: r.try_get_by_index(7)?,
                    total: r.try_get_by_index(8)?,
                    started_at: r.try_get_by_index(9)?,
                    finished_at: r.try_get_by_index(10)?,
                    report,
                    error,
                })
            })
            .collect::<Result<Vec<_>, sea_orm::DbErr>>()
            .map_err(Into::into)
    }
}
