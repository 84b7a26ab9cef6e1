//! Running scans: a bounded pool of workers per replica taking jobs from the `scans` queue
//! (so a burst of pushes never runs more than `scanning.workers` scans at once), scan on push,
//! scan all, the vulnerability database updater, external scanners (`client`) and Berth's own
//! pluggable-scanner endpoint (`adapter`).

pub mod adapter;
pub mod client;
pub mod protocol;

use std::time::Duration;

use domain::entities::scan;
use domain::scan::report::{Report, BUILTIN_SCANNER};
use sea_orm::EntityTrait;

use crate::AppState;

/// How often an idle worker looks at the queue when nobody wakes it (retries, other replicas).
const IDLE_POLL: Duration = Duration::from_secs(2);

/// Starts `scanning.workers` workers, the stale-job sweeper and this replica's turn at the
/// scan-on-push event consumer.
pub fn spawn_workers(state: AppState) {
    spawn_scan_on_push(&state);
    let workers = state.config.scanning.workers.max(1);
    for n in 0..workers {
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                match state.scans.claim_next().await {
                    Ok(Some(job)) => {
                        tracing::info!(worker = n, job = job.id, artifact = job.artifact_id, scanner = %job.scanner, "scan started");
                        let outcome = run(&state, &job).await;
                        if let Err(e) = &outcome {
                            tracing::warn!(job = job.id, error = %e, "scan failed");
                        }
                        if let Err(e) = state.scans.finish(&job, outcome).await {
                            tracing::error!(job = job.id, error = %e, "cannot record a scan");
                        }
                        state.metrics.scans_finished.inc();
                    }
                    Ok(None) => {
                        let _ = tokio::time::timeout(IDLE_POLL, state.scans.wake.notified()).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the scan queue");
                        tokio::time::sleep(IDLE_POLL).await;
                    }
                }
            }
        });
    }
    let sweeper = state.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            match sweeper.scans.requeue_stale().await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(jobs = n, "requeued scans whose worker stopped"),
                Err(e) => tracing::warn!(error = %e, "cannot sweep stale scans"),
            }
        }
    });
}

/// Scan on push: the durable consumer of `artifact.push` events (`scans::queue::ScanOnPush`).
/// Every replica runs it; the lease lets one work at a time.
fn spawn_scan_on_push(state: &AppState) {
    use domain::service::events::consumer::Consumer;
    use domain::service::scans::queue::{ScanOnPush, SCAN_ON_PUSH};
    let consumer = Consumer::new(state.db.clone(), SCAN_ON_PUSH, &state.replica_id);
    let handler = ScanOnPush {
        scans: state.scans.clone(),
    };
    tokio::spawn(consumer.run(handler, IDLE_POLL, |_| {}));
}

/// Runs one job: a scan with its scanner, or an SBOM's generation (no report).
async fn run(state: &AppState, job: &scan::Model) -> Result<Option<Report>, String> {
    use domain::service::registry::sbom::JOB_PREFIX;
    if let Some(format) = job.scanner.strip_prefix(JOB_PREFIX) {
        let format = domain::scan::sbom::SbomFormat::parse(format)
            .ok_or_else(|| format!("unknown SBOM format `{format}`"))?;
        let a = domain::entities::artifact::Entity::find_by_id(job.artifact_id)
            .one(&state.db)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the artifact is gone")?;
        state
            .registry
            .generate_sbom(&a, format)
            .await
            .map_err(|e| e.message)?;
        return Ok(None);
    }
    if job.scanner == BUILTIN_SCANNER {
        state.scans.scan_builtin(job.artifact_id).await.map(Some)
    } else {
        client::scan(state, job).await.map(Some)
    }
}

/// Re-imports the vulnerability database from `scanning.vulndb_source` every
/// `clair.updaters_interval` (and once at start when the database is empty).
pub fn spawn_updater(state: AppState) {
    let Some(source) = state.config.scanning.vulndb_source.clone() else {
        return;
    };
    let interval = state
        .config
        .clair
        .as_ref()
        .and_then(|c| c.updaters_interval.as_ref())
        .map(|d| d.0);
    if state.config.trivy.as_ref().is_some_and(|t| t.skip_update) {
        tracing::info!(
            "trivy.skip_update: the vulnerability database is not updated automatically"
        );
        return;
    }
    tokio::spawn(async move {
        let empty = state
            .scans
            .vulndb
            .counts()
            .await
            .map(|c| c.is_empty())
            .unwrap_or(false);
        if empty {
            update_vulndb(&state, &source).await;
        }
        let Some(every) = interval else { return };
        let mut ticker = tokio::time::interval(every);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            update_vulndb(&state, &source).await;
        }
    });
}

/// One import from a directory, file or URL; logs the report.
pub async fn update_vulndb(state: &AppState, source: &str) {
    let system = domain::service::Actor::system();
    let result = if source.starts_with("http://") || source.starts_with("https://") {
        download_and_import(state, source).await
    } else {
        state
            .scans
            .import_vulndb(&system, std::path::Path::new(source))
            .await
            .map_err(|e| e.to_string())
    };
    match result {
        Ok(report) => tracing::info!(
            source,
            imported = report.imported,
            updated = report.updated,
            unchanged = report.unchanged,
            failed = report.failed.len(),
            "vulnerability database updated"
        ),
        Err(e) => tracing::warn!(source, error = %e, "vulnerability database update failed"),
    }
}

/// Streams the download to a file in the data directory, then imports it.
async fn download_and_import(
    state: &AppState,
    url: &str,
) -> Result<domain::service::vulndb::ImportReport, String> {
    use futures::StreamExt;
    let response = reqwest::get(url)
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("{url}: {e}"))?;
    let body = response
        .bytes_stream()
        .map(|r| r.map_err(std::io::Error::other));
    import_stream(state, &domain::service::Actor::system(), body)
        .await
        .map_err(|e| e.to_string())
}

/// Imports an uploaded OSV record (`.json`) or OSV `all.zip`.
pub async fn import_upload(
    state: &AppState,
    actor: &domain::service::Actor,
    body: axum::body::BodyDataStream,
) -> domain::service::DomainResult<domain::service::vulndb::ImportReport> {
    use futures::StreamExt;
    import_stream(state, actor, body.map(|r| r.map_err(std::io::Error::other))).await
}

/// Writes a stream to a file in the data directory (never whole in memory), imports it as a
/// `.zip` (by its magic bytes) or a `.json` record, and removes the file.
async fn import_stream(
    state: &AppState,
    actor: &domain::service::Actor,
    body: impl futures::Stream<Item = std::io::Result<bytes::Bytes>> + Unpin,
) -> domain::service::DomainResult<domain::service::vulndb::ImportReport> {
    let path = spool(state, body)
        .await
        .map_err(domain::service::DomainError::Invalid)?;
    let report = state.scans.import_vulndb(actor, &path).await;
    let _ = tokio::fs::remove_file(&path).await;
    report
}

/// Writes the stream to a file in the data directory, named `.zip` or `.json` by its magic
/// bytes; returns its path.
async fn spool(
    state: &AppState,
    mut body: impl futures::Stream<Item = std::io::Result<bytes::Bytes>> + Unpin,
) -> Result<std::path::PathBuf, String> {
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;
    let dir = state.config.data_dir.join("tmp");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let id = uuid::Uuid::new_v4();
    let part = dir.join(format!("vulndb-{id}.part"));
    let mut file = tokio::fs::File::create(&part)
        .await
        .map_err(|e| format!("{}: {e}", part.display()))?;
    let mut head = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| format!("upload: {e}"))?;
        if head.len() < 4 {
            head.extend_from_slice(&chunk[..chunk.len().min(4)]);
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| format!("{}: {e}", part.display()))?;
    }
    file.flush().await.map_err(|e| e.to_string())?;
    drop(file);
    let extension = if head.starts_with(b"PK\x03\x04") {
        "zip"
    } else {
        "json"
    };
    let path = dir.join(format!("vulndb-{id}.{extension}"));
    tokio::fs::rename(&part, &path)
        .await
        .map_err(|e| e.to_string())?;
    Ok(path)
}
