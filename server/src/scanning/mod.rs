//! Running scans: a bounded pool of workers per replica taking jobs from the `scans` queue
//! (so a burst of pushes never runs more than `scanning.workers` scans at once), scan on push,
//! scan all, the vulnerability database updater, external scanners (`client`) and Berth's own
//! pluggable-scanner endpoint (`adapter`).

pub mod adapter;
pub mod client;

use std::time::Duration;

use domain::entities::{artifact, project, repository, scan, system_setting};
use domain::scan::report::{Report, BUILTIN_SCANNER};
use domain::service::{DomainError, DomainResult};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};

use crate::AppState;

/// How often an idle worker looks at the queue when nobody wakes it (retries, other replicas).
const IDLE_POLL: Duration = Duration::from_secs(2);

/// Starts `scanning.workers` workers and the stale-job sweeper.
pub fn spawn_workers(state: AppState) {
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

/// Runs one job with its scanner.
async fn run(state: &AppState, job: &scan::Model) -> Result<Report, String> {
    if job.scanner == BUILTIN_SCANNER {
        state.scans.scan_builtin(job.artifact_id).await
    } else {
        client::scan(state, job).await
    }
}

/// After a manifest push: a scan when the project has `auto_scan` on. Never fails the push.
pub fn on_push(state: &AppState, repo: &str, digest: &str) {
    let (state, repo, digest) = (state.clone(), repo.to_string(), digest.to_string());
    tokio::spawn(async move {
        if let Err(e) = scan_pushed(&state, &repo, &digest).await {
            tracing::warn!(repository = repo, digest, error = %e, "scan on push not queued");
        }
    });
}

async fn scan_pushed(state: &AppState, repo: &str, digest: &str) -> DomainResult<()> {
    let Some(r) = repository::Entity::find()
        .filter(repository::Column::Name.eq(repo))
        .one(&state.db)
        .await?
    else {
        return Ok(());
    };
    let Some(p) = project::Entity::find_by_id(r.project_id)
        .one(&state.db)
        .await?
    else {
        return Ok(());
    };
    let metadata: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&p.metadata).unwrap_or_default();
    if metadata.get("auto_scan").map(String::as_str) != Some("true") {
        return Ok(());
    }
    let Some(a) = artifact::Entity::find()
        .filter(artifact::Column::RepositoryId.eq(r.id))
        .filter(artifact::Column::Digest.eq(digest))
        .one(&state.db)
        .await?
    else {
        return Ok(());
    };
    if !domain::service::scans::scannable(&a) {
        return Ok(());
    }
    match state.scans.enqueue_for_project(p.id, a.id, "push").await {
        Ok(_) | Err(DomainError::Invalid(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Queues a scan of every image; returns how many were queued.
pub async fn scan_all(state: &AppState, trigger: &str) -> DomainResult<usize> {
    let mut queued = 0;
    let artifacts = artifact::Entity::find().all(&state.db).await?;
    let repos: std::collections::HashMap<i64, i64> = repository::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.project_id))
        .collect();
    for a in artifacts
        .into_iter()
        .filter(domain::service::scans::scannable)
    {
        let Some(project_id) = repos.get(&a.repository_id) else {
            continue;
        };
        state
            .scans
            .enqueue_for_project(*project_id, a.id, trigger)
            .await?;
        queued += 1;
    }
    Ok(queued)
}

/// The key of the scan-all cron schedule in `system_settings`.
const SCAN_ALL_SCHEDULE: &str = "scan_all_schedule";

/// The scan-all schedule (cron, UTC), if one is set.
pub async fn scan_all_schedule(state: &AppState) -> DomainResult<Option<String>> {
    Ok(
        system_setting::Entity::find_by_id(SCAN_ALL_SCHEDULE.to_string())
            .one(&state.db)
            .await?
            .map(|s| s.value)
            .filter(|v| !v.is_empty()),
    )
}

/// Sets (a valid cron expression) or clears (`None`) the scan-all schedule.
pub async fn set_scan_all_schedule(state: &AppState, cron: Option<&str>) -> DomainResult<()> {
    if let Some(text) = cron {
        domain::policy::cron::Schedule::parse(text)
            .map_err(|e| DomainError::Invalid(format!("invalid cron `{text}`: {e}")))?;
    }
    system_setting::Entity::delete_by_id(SCAN_ALL_SCHEDULE.to_string())
        .exec(&state.db)
        .await?;
    if let Some(text) = cron {
        system_setting::ActiveModel {
            key: sea_orm::Set(SCAN_ALL_SCHEDULE.into()),
            value: sea_orm::Set(text.into()),
        }
        .insert(&state.db)
        .await?;
    }
    Ok(())
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
    let result = if source.starts_with("http://") || source.starts_with("https://") {
        download_and_import(state, source).await
    } else {
        state
            .scans
            .vulndb
            .import_path(std::path::Path::new(source))
            .await
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
    import_stream(state, body).await
}

/// Imports an uploaded OSV record (`.json`) or OSV `all.zip`.
pub async fn import_upload(
    state: &AppState,
    body: axum::body::BodyDataStream,
) -> Result<domain::service::vulndb::ImportReport, String> {
    use futures::StreamExt;
    import_stream(state, body.map(|r| r.map_err(std::io::Error::other))).await
}

/// Writes a stream to a file in the data directory (never whole in memory), imports it as a
/// `.zip` (by its magic bytes) or a `.json` record, and removes the file.
async fn import_stream(
    state: &AppState,
    mut body: impl futures::Stream<Item = std::io::Result<bytes::Bytes>> + Unpin,
) -> Result<domain::service::vulndb::ImportReport, String> {
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
    let report = state.scans.vulndb.import_path(&path).await;
    let _ = tokio::fs::remove_file(&path).await;
    report
}
