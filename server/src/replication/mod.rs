//! Replication's moving parts: remotes reached through the outbound guard with their sealed
//! credentials (`remote`), the copy of one artifact between any two sides (`copy`), and the
//! workers that claim executions, list what a policy selects, and run its tasks. The records
//! and every decision about them are `domain::service::replication`.

pub mod copy;
pub mod remote;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use domain::entities::{replication_execution, replication_task};
use domain::policy::replication::{destination_repository, selects_artifact, selects_repository};
use domain::service::registry::signatures::accessory_tag;
use domain::service::registry::RegistryCaller;
use domain::service::replication::executions::{NewTask, TaskOutcome};
use domain::service::replication::policies::Policy;
use domain::service::replication::registries::{RegistryEndpoint, RegistryInput};
use domain::service::replication::sources::is_image;
use domain::service::{Actor, DomainError, DomainResult};
use domain::types::replication::{status, FilterStyle, RegistryInfo, RegistryView, MASKED_SECRET};
use serde::Deserialize;

use self::copy::{Copier, Progress, Shared, Side};
use self::remote::{Credential, Remote};
use crate::AppState;

/// How long a worker's claim on an execution holds without renewal.
const LEASE: Duration = Duration::from_secs(30);
/// How often an idle worker looks for executions when nothing wakes it.
const IDLE_POLL: Duration = Duration::from_secs(2);
/// How often a running execution looks for a stop request (its lease is renewed every fifth).
const STOP_POLL: Duration = Duration::from_secs(1);
/// Tasks of one execution that run at once.
const PARALLEL_TASKS: usize = 4;
/// Attempts of a task whose failure may pass (a remote that is down, a cut connection):
/// with the back-off, a destination may be away for about half an hour.
const MAX_ATTEMPTS: i32 = 12;

/// A registry's credential as the REST API takes it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CredentialReq {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub access_key: Option<String>,
    /// `*****` (what the API shows) keeps the stored secret.
    pub access_secret: Option<String>,
}

/// A registry as the REST API takes it (create, update, ping).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RegistryReq {
    /// Ping only: a stored registry, whose own URL and credential are used.
    pub id: Option<i64>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub url: Option<String>,
    pub credential: Option<CredentialReq>,
    pub insecure: Option<bool>,
    pub ca_certificate: Option<String>,
}

impl RegistryReq {
    fn into_input(self, state: &AppState) -> RegistryInput {
        let credential = self.credential.unwrap_or_default();
        let sealed_secret = match credential.access_secret.as_deref() {
            None | Some(MASKED_SECRET) => None,
            Some("") => Some(None),
            Some(secret) => Some(Some(state.secrets.seal(secret))),
        };
        RegistryInput {
            name: self.name,
            description: self.description,
            kind: self.kind,
            url: self.url,
            credential_type: credential.kind,
            access_key: credential.access_key,
            sealed_secret,
            insecure: self.insecure,
            ca_certificate: self.ca_certificate,
        }
    }
}

/// Refuses a URL the outbound guard would not let Berth call, naming the field.
async fn guard_url(state: &AppState, url: &str) -> DomainResult<()> {
    let parsed = url::Url::parse(url)
        .map_err(|e| DomainError::field("url", format!("`{url}` is not a URL: {e}")))?;
    state
        .outbound
        .check(&parsed)
        .await
        .map_err(|why| DomainError::field("url", why))
}

pub async fn create_registry(
    state: &AppState,
    actor: &Actor,
    req: RegistryReq,
) -> DomainResult<RegistryView> {
    if let Some(url) = &req.url {
        let url = domain::service::replication::registries::validate_url(url)?;
        // Who may is asked first: the guard's answer tells about the network.
        state
            .services
            .check_registry_ping(actor, None, Some(&url))
            .await?;
        guard_url(state, &url).await?;
    }
    let input = req.into_input(state);
    state.services.create_registry(actor, input).await
}

pub async fn update_registry(
    state: &AppState,
    actor: &Actor,
    id: i64,
    req: RegistryReq,
) -> DomainResult<RegistryView> {
    state.services.get_registry(actor, id).await?;
    if let Some(url) = &req.url {
        let url = domain::service::replication::registries::validate_url(url)?;
        guard_url(state, &url).await?;
    }
    let input = req.into_input(state);
    state.services.update_registry(actor, id, input).await
}

/// A client of a stored registry, with its credential unsealed.
pub fn remote_of(state: &AppState, e: &RegistryEndpoint) -> Result<Remote, String> {
    let secret = match &e.sealed_secret {
        Some(sealed) => Some(state.secrets.unseal(sealed).ok_or(
            "the registry's stored secret cannot be unsealed (was the secrets key replaced?)",
        )?),
        None => None,
    };
    Remote::new(
        &state.outbound,
        &e.url,
        Credential {
            username: e.access_key.clone(),
            secret,
        },
        e.insecure,
        e.ca_certificate.as_deref(),
    )
    .map_err(|e| e.message)
}

/// `POST /registries/ping`: a stored registry by `id` (its stored URL and credential only),
/// or the one described. 400 with the remote's answer when it fails.
pub async fn ping(state: &AppState, actor: &Actor, req: RegistryReq) -> DomainResult<()> {
    let (remote, stored) = match req.id.filter(|id| *id > 0) {
        Some(id) => {
            let endpoint = state.services.registry_endpoint(actor, id).await?;
            guard_url(state, &endpoint.url).await?;
            (
                remote_of(state, &endpoint).map_err(DomainError::Invalid)?,
                Some(id),
            )
        }
        None => {
            let url = state
                .services
                .check_registry_ping(actor, req.kind.as_deref(), req.url.as_deref())
                .await?;
            guard_url(state, &url).await?;
            let credential = req.credential.unwrap_or_default();
            let remote = Remote::new(
                &state.outbound,
                &url,
                Credential {
                    username: credential.access_key.filter(|k| !k.is_empty()),
                    secret: credential.access_secret.filter(|s| !s.is_empty()),
                },
                req.insecure.unwrap_or(false),
                req.ca_certificate
                    .as_deref()
                    .filter(|c| !c.trim().is_empty()),
            )
            .map_err(|e| DomainError::Invalid(e.message))?;
            (remote, None)
        }
    };
    let answer = remote.ping().await;
    if let Some(id) = stored {
        state
            .services
            .set_registry_status(id, answer.is_ok())
            .await?;
    }
    answer.map_err(|e| DomainError::Invalid(format!("the registry did not answer as one: {e}")))
}

/// `GET /registries/{id}/info`: what the remote's type supports.
pub async fn info(state: &AppState, actor: &Actor, id: i64) -> DomainResult<RegistryInfo> {
    let r = state.services.get_registry(actor, id).await?;
    Ok(adapter_info(&r.kind))
}

/// What replication supports for a registry type.
pub fn adapter_info(kind: &str) -> RegistryInfo {
    let pattern = |k: &str| FilterStyle {
        kind: k.into(),
        style: "input".into(),
        values: Vec::new(),
    };
    let mut filters = vec![pattern("name"), pattern("tag")];
    if kind == "harbor" {
        filters.push(FilterStyle {
            kind: "label".into(),
            style: "list".into(),
            values: Vec::new(),
        });
    }
    filters.push(FilterStyle {
        kind: "resource".into(),
        style: "radio".into(),
        values: vec!["image".into(), "artifact".into()],
    });
    RegistryInfo {
        kind: kind.into(),
        description: match kind {
            "harbor" => "A Berth or a Harbor registry".into(),
            _ => "Any registry speaking the OCI distribution API (distribution, zot, …)".into(),
        },
        supported_resource_filters: filters,
        supported_triggers: vec!["manual".into(), "scheduled".into(), "event_based".into()],
        supported_copy_by_chunk: true,
    }
}

/// Starts this replica's replication worker: it claims one execution at a time (a lease that
/// another replica takes over if this one dies) and runs its tasks a few at once.
pub fn spawn_workers(state: AppState) {
    use domain::service::events::consumer::Consumer;
    use domain::service::replication::on_event::{ReplicateOnEvent, REPLICATE_ON_EVENT};
    let consumer = Consumer::new(state.db.clone(), REPLICATE_ON_EVENT, &state.replica_id);
    tokio::spawn(consumer.run(ReplicateOnEvent, IDLE_POLL, |_| {}));
    tokio::spawn(async move {
        loop {
            let lease = Utc::now() + chrono::Duration::from_std(LEASE).expect("a lease");
            match state
                .services
                .claim_replication(&state.replica_id, lease)
                .await
            {
                Ok(Some((execution, policy))) => {
                    tracing::info!(execution = execution.id, policy = %policy.row.name, "replication started");
                    if let Err(e) = run_execution(&state, &execution, &policy).await {
                        tracing::warn!(execution = execution.id, error = %e, "replication interrupted; another turn resumes it");
                        tokio::time::sleep(IDLE_POLL).await;
                    }
                }
                Ok(None) => {
                    let _ = tokio::time::timeout(IDLE_POLL, domain::db::commits().notified()).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read replication executions");
                    tokio::time::sleep(IDLE_POLL).await;
                }
            }
        }
    });
}

/// `repo:[t1,t2]`: a task's resource, as Harbor writes it.
fn resource(repo: &str, tags: &[String]) -> String {
    format!("{repo}:[{}]", tags.join(","))
}

fn parse_resource(text: &str) -> (String, Vec<String>) {
    match text.split_once(":[") {
        Some((repo, rest)) => (
            repo.to_string(),
            rest.trim_end_matches(']')
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        None => (text.to_string(), Vec::new()),
    }
}

/// The two sides of a policy: (source, destination).
fn sides(state: &AppState, policy: &Policy, remote: Remote) -> (Side, Side) {
    let local = Side::Local {
        registry: state.registry.clone(),
        caller: RegistryCaller {
            actor: Actor::replication(&policy.row.name),
            token_access: None,
        },
    };
    if policy.pushes() {
        (local, Side::Remote(remote))
    } else {
        (Side::Remote(remote), local)
    }
}

/// What a pull-mode policy finds on the remote: `(repository, digest, tags)`.
async fn remote_candidates(
    remote: &Remote,
    policy: &Policy,
) -> Result<Vec<(String, String, Vec<String>)>, String> {
    let mut out = Vec::new();
    let repos = remote.catalog().await.map_err(|e| e.message)?;
    for repo in repos
        .into_iter()
        .filter(|r| selects_repository(&policy.filters, r))
    {
        let mut by_digest: Vec<(String, String, Vec<String>)> = Vec::new();
        for tag in remote.tags(&repo).await.map_err(|e| e.message)? {
            // Accessories travel with their subject.
            if accessory_tag(&tag).is_some() || is_referrers_tag(&tag) {
                continue;
            }
            let Some((digest, media_type)) = remote
                .head_manifest(&repo, &tag)
                .await
                .map_err(|e| e.message)?
            else {
                continue;
            };
            match by_digest.iter_mut().find(|(d, _, _)| *d == digest) {
                Some((_, _, tags)) => tags.push(tag),
                None => by_digest.push((digest, media_type, vec![tag])),
            }
        }
        for (digest, media_type, tags) in by_digest {
            if let Some(kept) =
                selects_artifact(&policy.filters, is_image(&media_type, None), &tags, &[])
            {
                out.push((repo.clone(), digest, kept));
            }
        }
    }
    Ok(out)
}

/// `sha256-<64 hex>`: the referrers tag schema's index.
fn is_referrers_tag(tag: &str) -> bool {
    tag.strip_prefix("sha256-")
        .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Lists what the policy selects into tasks (once per execution).
async fn plan(state: &AppState, policy: &Policy, remote: &Remote) -> Result<Vec<NewTask>, String> {
    let found: Vec<(String, String, Vec<String>)> = if policy.pushes() {
        state
            .services
            .local_candidates(policy)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|c| (c.repository, c.digest, c.tags))
            .collect()
    } else {
        remote_candidates(remote, policy).await?
    };
    let mut tasks = Vec::new();
    for (repo, digest, tags) in found {
        let dst = destination_repository(
            &repo,
            &policy.row.dest_namespace,
            policy.row.dest_namespace_replace_count,
        )?;
        tasks.push(NewTask {
            operation: "copy",
            src_resource: resource(&repo, &tags),
            dst_resource: resource(&dst, &tags),
            digest: Some(digest),
        });
    }
    Ok(tasks)
}

/// Runs (or resumes) one execution to its end. An error means the worker could not record
/// its work; the lease runs out and a worker resumes it.
async fn run_execution(
    state: &AppState,
    execution: &replication_execution::Model,
    policy: &Policy,
) -> DomainResult<()> {
    let id = execution.id;
    let system = Actor::system();
    let remote = match state
        .services
        .registry_endpoint(&system, policy.remote_id())
        .await
        .map_err(|e| e.to_string())
        .and_then(|e| Ok((remote_of(state, &e)?, e.kind)))
    {
        Ok(r) => r,
        Err(why) => {
            return state
                .services
                .finish_replication(id, status::FAILED, &format!("the remote registry: {why}"))
                .await
        }
    };
    let (remote, endpoint_kind) = remote;
    let shared = Arc::new(Shared::new(policy.row.speed));
    // The lease keeps this worker's claim; a stop request or a lost lease raises the flag.
    let keeper = {
        let state = state.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut tick: u32 = 0;
            loop {
                tokio::time::sleep(STOP_POLL).await;
                tick += 1;
                if state
                    .services
                    .replication_stop_requested(id)
                    .await
                    .unwrap_or(false)
                {
                    shared.stop.store(true, Ordering::Relaxed);
                    return;
                }
                if !tick.is_multiple_of(5) {
                    continue;
                }
                let lease = Utc::now() + chrono::Duration::from_std(LEASE).expect("a lease");
                match state
                    .services
                    .renew_replication(id, &state.replica_id, lease)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        shared.stop.store(true, Ordering::Relaxed);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(execution = id, error = %e, "cannot renew the replication lease")
                    }
                }
            }
        })
    };
    let deletes_tags = endpoint_kind == "harbor";
    let outcome = run_tasks(state, id, policy, remote, deletes_tags, shared.clone()).await;
    keeper.abort();
    let outcome = match outcome? {
        Run::Done(outcome) => outcome,
        Run::Released => return Ok(()),
    };
    let stopped = state.services.replication_stop_requested(id).await?;
    if shared.stop.load(Ordering::Relaxed) && !stopped {
        // The lease went to another replica: it finishes the execution.
        return Ok(());
    }
    let view = state.services.execution_view_of(id).await?;
    let (final_status, text) = if stopped {
        (status::STOPPED, "stopped by an administrator".to_string())
    } else if let Some(why) = outcome {
        (status::FAILED, why)
    } else if view.failed > 0 {
        (
            status::FAILED,
            format!("{} of {} tasks failed", view.failed, view.total),
        )
    } else {
        (status::SUCCEED, String::new())
    };
    state
        .services
        .finish_replication(id, final_status, &text)
        .await
}

/// How a turn at an execution ended.
enum Run {
    /// Every task ended; `Some(why)` when the execution failed as a whole (its source could
    /// not be listed).
    Done(Option<String>),
    /// Every open task waits for a retry: the execution was given back until the first one.
    Released,
}

/// Plans the execution if it has no tasks yet (event-based ones come with theirs), then runs
/// every open task.
async fn run_tasks(
    state: &AppState,
    id: i64,
    policy: &Policy,
    remote: Remote,
    deletes_tags: bool,
    shared: Arc<Shared>,
) -> DomainResult<Run> {
    if !state.services.replication_has_tasks(id).await? {
        match plan(state, policy, &remote).await {
            Ok(tasks) => state.services.add_replication_tasks(id, tasks).await?,
            Err(why) => {
                return Ok(Run::Done(Some(format!(
                    "cannot list what to replicate: {why}"
                ))))
            }
        }
    }
    let (src, dst) = sides(state, policy, remote);
    loop {
        if shared.stopped() {
            return Ok(Run::Done(None));
        }
        let open = state.services.open_replication_tasks(id).await?;
        if open.is_empty() {
            return Ok(Run::Done(None));
        }
        let now = Utc::now();
        let due: Vec<replication_task::Model> = open
            .iter()
            .filter(|t| t.next_retry_at.is_none_or(|at| at <= now))
            .cloned()
            .collect();
        if due.is_empty() {
            let next = open
                .iter()
                .filter_map(|t| t.next_retry_at)
                .min()
                .unwrap_or(now);
            if next - now > chrono::Duration::from_std(IDLE_POLL).expect("a poll") {
                state
                    .services
                    .release_replication(id, &state.replica_id, next)
                    .await?;
                return Ok(Run::Released);
            }
            tokio::time::sleep((next - now).to_std().unwrap_or_default()).await;
            continue;
        }
        use futures::StreamExt;
        let results: Vec<DomainResult<()>> = futures::stream::iter(due)
            .map(|task| {
                run_task(
                    state,
                    policy,
                    &src,
                    &dst,
                    task,
                    deletes_tags,
                    shared.clone(),
                )
            })
            .buffer_unordered(PARALLEL_TASKS)
            .collect()
            .await;
        for r in results {
            r?;
        }
    }
}

async fn run_task(
    state: &AppState,
    policy: &Policy,
    src: &Side,
    dst: &Side,
    task: replication_task::Model,
    deletes_tags: bool,
    shared: Arc<Shared>,
) -> DomainResult<()> {
    if shared.stopped() {
        return Ok(());
    }
    if task.operation == "deletion" {
        return run_deletion(state, dst, task, deletes_tags).await;
    }
    state.services.begin_replication_task(&task).await?;
    let attempt = task.attempts + 1;
    let (src_repo, tags) = parse_resource(&task.src_resource);
    let (dst_repo, _) = parse_resource(&task.dst_resource);
    let digest = task.digest.clone().unwrap_or_default();
    if policy.pushes() && !policy.security.is_open() {
        match state
            .registry
            .replication_gate(&policy.security, &src_repo, &digest)
            .await
        {
            Ok(None) => {}
            Ok(Some(why)) => {
                let log = format!("attempt {attempt}: skipped: {why}\n");
                return state
                    .services
                    .end_replication_task(task.id, TaskOutcome::Skipped(why), &log)
                    .await;
            }
            Err(e) => {
                let why = format!("the security gate could not be checked: {}", e.message);
                return state
                    .services
                    .end_replication_task(task.id, TaskOutcome::Failed(why.clone()), &why)
                    .await;
            }
        }
    }
    let progress = Arc::new(Progress::new(shared.clone()));
    let reporter = {
        let state = state.clone();
        let progress = progress.clone();
        let task_id = task.id;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let done = progress.bytes.load(Ordering::Relaxed) as i64;
                let _ = state
                    .services
                    .report_replication_task(task_id, done, 0, None, "")
                    .await;
            }
        })
    };
    let mut copier = Copier {
        src,
        dst,
        override_tags: policy.row.override_,
        progress: progress.clone(),
        report: Default::default(),
        by_chunk: policy.row.copy_by_chunk,
        resume: task
            .upload_state
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok()),
        persist: Some(copy::Persist {
            services: state.services.clone(),
            task_id: task.id,
        }),
    };
    let result = copier
        .copy_artifact(&src_repo, &dst_repo, &digest, &tags)
        .await;
    reporter.abort();
    let report = copier.report;
    let mut log = format!(
        "attempt {attempt}: {} → {}\n",
        task.src_resource, task.dst_resource
    );
    for line in &report.log {
        log.push_str(line);
        log.push('\n');
    }
    let done = progress.bytes.load(Ordering::Relaxed) as i64;
    state
        .services
        .report_replication_task(task.id, done, done.max(report.bytes as i64), None, "")
        .await?;
    let outcome = match result {
        Ok(()) => TaskOutcome::Succeed(format!(
            "{} blobs copied ({} bytes), {} already there, {} manifests written",
            report.blobs_copied, report.bytes, report.blobs_present, report.manifests_copied
        )),
        Err(e) if e.stopped || shared.stopped() => TaskOutcome::Stopped,
        Err(e) if e.transient && attempt < MAX_ATTEMPTS => {
            let backoff = Duration::from_secs(2u64.pow(attempt as u32).min(300));
            log.push_str(&format!(
                "error: {e}; retrying in {} s\n",
                backoff.as_secs()
            ));
            TaskOutcome::Retry {
                error: e.message,
                at: Utc::now() + chrono::Duration::from_std(backoff).expect("a backoff"),
            }
        }
        Err(e) => {
            log.push_str(&format!("error: {e}\n"));
            TaskOutcome::Failed(e.message)
        }
    };
    state.metrics.replication_bytes.inc_by(done.max(0) as u64);
    count(state, &outcome);
    state
        .services
        .end_replication_task(task.id, outcome, &log)
        .await
}

/// Counts a task's end (or retry) in the metrics.
fn count(state: &AppState, outcome: &TaskOutcome) {
    let label = match outcome {
        TaskOutcome::Succeed(_) => status::SUCCEED,
        TaskOutcome::Skipped(_) => status::SKIPPED,
        TaskOutcome::Failed(_) => status::FAILED,
        TaskOutcome::Stopped => status::STOPPED,
        TaskOutcome::Retry { .. } => {
            state.metrics.replication_retries.inc();
            return;
        }
    };
    state
        .metrics
        .replication_tasks
        .with_label_values(&[label])
        .inc();
}

/// Deletes at the destination what was deleted here: the tags where it can delete tags (a
/// Berth or a Harbor), else the artifact by digest (distribution deletes manifests only).
async fn run_deletion(
    state: &AppState,
    dst: &Side,
    task: replication_task::Model,
    deletes_tags: bool,
) -> DomainResult<()> {
    state.services.begin_replication_task(&task).await?;
    let attempt = task.attempts + 1;
    let (dst_repo, tags) = parse_resource(&task.dst_resource);
    let digest = task.digest.clone().unwrap_or_default();
    let targets: Vec<String> = if deletes_tags && !tags.is_empty() {
        tags
    } else {
        vec![digest]
    };
    let mut log = format!("attempt {attempt}: delete {}\n", task.dst_resource);
    let mut result = Ok(0);
    for target in &targets {
        match dst.delete_manifest(&dst_repo, target).await {
            Ok(true) => {
                log.push_str(&format!("deleted {dst_repo}:{target}\n"));
                result = result.map(|n| n + 1);
            }
            Ok(false) => log.push_str(&format!("{dst_repo}:{target} was not there\n")),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let outcome = match result {
        Ok(n) => TaskOutcome::Succeed(format!("{n} of {} deleted", targets.len())),
        Err(e) if e.transient && attempt < MAX_ATTEMPTS => TaskOutcome::Retry {
            at: Utc::now() + retry_delay(attempt),
            error: e.message,
        },
        Err(e) => {
            log.push_str(&format!("error: {e}\n"));
            TaskOutcome::Failed(e.message)
        }
    };
    count(state, &outcome);
    state
        .services
        .end_replication_task(task.id, outcome, &log)
        .await
}

/// The wait before attempt `attempt + 1`: 2, 4, 8 … seconds, at most five minutes.
fn retry_delay(attempt: i32) -> chrono::Duration {
    chrono::Duration::seconds(2i64.pow(attempt.clamp(1, 16) as u32).min(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_round_trip() {
        let tags = vec!["v1".to_string(), "latest".to_string()];
        let text = resource("p/a/b", &tags);
        assert_eq!(text, "p/a/b:[v1,latest]");
        assert_eq!(parse_resource(&text), ("p/a/b".to_string(), tags));
        assert_eq!(parse_resource("p/x:[]"), ("p/x".to_string(), vec![]));
        assert!(is_referrers_tag(&format!("sha256-{}", "a".repeat(64))));
        assert!(!is_referrers_tag("sha256-abc"));
    }
}
