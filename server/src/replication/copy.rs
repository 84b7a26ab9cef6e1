//! Copying one artifact between two registries, either of which is this one: the
//! destination is asked first (same digest → nothing to send), every blob is asked before it
//! is sent (present → skipped), the children of an index go before the index, the manifest
//! goes last, and the artifact's referrers (signatures, SBOMs, attestations) and cosign's
//! `sha256-<hex>.sig/.att/.sbom` tags follow it. Bytes stream through with bounded memory,
//! counted, throttled to the policy's rate, and cut when the execution is stopped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use domain::service::registry::{media, OciCode, Registry, RegistryCaller, RegistryError};
use domain::storage::ByteStream;
use domain::types::{Digest, Reference, RepoName};
use futures::StreamExt;

use super::remote::{Manifest, Remote, RemoteError};

/// What went wrong on either side, and whether another attempt may help.
#[derive(Debug, Clone)]
pub struct CopyError {
    pub message: String,
    pub transient: bool,
    pub stopped: bool,
}

impl std::fmt::Display for CopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl CopyError {
    fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: false,
            stopped: false,
        }
    }

    fn stopped() -> Self {
        Self {
            message: "stopped".into(),
            transient: false,
            stopped: true,
        }
    }
}

impl From<RemoteError> for CopyError {
    fn from(e: RemoteError) -> Self {
        Self {
            transient: e.is_transient(),
            message: e.message,
            stopped: false,
        }
    }
}

impl From<RegistryError> for CopyError {
    fn from(e: RegistryError) -> Self {
        Self {
            transient: e.code == OciCode::Unavailable,
            message: format!("{}: {}", e.code.as_str(), e.message),
            stopped: false,
        }
    }
}

pub type CopyResult<T> = Result<T, CopyError>;

/// What every task of one execution shares: the stop flag and the policy's rate limit.
pub struct Shared {
    pub stop: AtomicBool,
    throttle: Option<Throttle>,
}

/// A rate shared by every task of one execution.
struct Throttle {
    bytes_per_second: f64,
    started: Instant,
    sent: std::sync::Mutex<u64>,
}

impl Shared {
    /// `speed_kib`: the policy's `speed` (KiB/s; -1 or 0 unlimited).
    pub fn new(speed_kib: i32) -> Self {
        Self {
            stop: AtomicBool::new(false),
            throttle: (speed_kib > 0).then(|| Throttle {
                bytes_per_second: f64::from(speed_kib) * 1024.0,
                started: Instant::now(),
                sent: std::sync::Mutex::new(0),
            }),
        }
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// How long to wait before sending `n` more bytes.
    fn delay_for(&self, n: u64) -> Option<Duration> {
        let t = self.throttle.as_ref()?;
        let mut sent = t.sent.lock().expect("the throttle lock");
        *sent += n;
        let due = Duration::from_secs_f64(*sent as f64 / t.bytes_per_second);
        due.checked_sub(t.started.elapsed())
    }
}

/// One task's bytes moved so far, and the execution's shared state.
pub struct Progress {
    pub bytes: AtomicU64,
    pub shared: Arc<Shared>,
}

impl Progress {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            bytes: AtomicU64::new(0),
            shared,
        }
    }

    fn stopped(&self) -> bool {
        self.shared.stopped()
    }
}

/// One side of a copy: this registry (through its services, as the replication identity)
/// or a remote one.
#[derive(Clone)]
pub enum Side {
    Local {
        registry: Registry,
        caller: RegistryCaller,
    },
    Remote(Remote),
}

fn repo_name(repo: &str) -> CopyResult<RepoName> {
    RepoName::parse(repo).map_err(|e| CopyError::permanent(format!("`{repo}`: {e}")))
}

fn reference(text: &str) -> CopyResult<Reference> {
    Reference::parse(text).map_err(|e| CopyError::permanent(format!("`{text}`: {e}")))
}

fn digest(text: &str) -> CopyResult<Digest> {
    Digest::parse(text).map_err(|e| CopyError::permanent(format!("`{text}`: {e}")))
}

fn unknown(e: &RegistryError) -> bool {
    matches!(
        e.code,
        OciCode::ManifestUnknown | OciCode::NameUnknown | OciCode::BlobUnknown
    )
}

impl Side {
    /// The digest a reference names there, if it is there.
    pub async fn head_manifest(&self, repo: &str, r: &str) -> CopyResult<Option<String>> {
        match self {
            Side::Remote(remote) => Ok(remote.head_manifest(repo, r).await?.map(|(d, _)| d)),
            Side::Local { registry, caller } => {
                match registry
                    .read_manifest(caller, &repo_name(repo)?, &reference(r)?, false)
                    .await
                {
                    Ok(m) => Ok(Some(m.digest.to_string())),
                    Err(e) if unknown(&e) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    pub async fn get_manifest(&self, repo: &str, r: &str) -> CopyResult<Option<Manifest>> {
        match self {
            Side::Remote(remote) => Ok(remote.get_manifest(repo, r).await?),
            Side::Local { registry, caller } => {
                match registry
                    .read_manifest(caller, &repo_name(repo)?, &reference(r)?, true)
                    .await
                {
                    Ok(m) => Ok(Some(Manifest {
                        bytes: m.bytes,
                        media_type: m.media_type,
                        digest: m.digest.to_string(),
                    })),
                    Err(e) if unknown(&e) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    pub async fn put_manifest(&self, repo: &str, r: &str, m: &Manifest) -> CopyResult<()> {
        match self {
            Side::Remote(remote) => Ok(remote.put_manifest(repo, r, m).await?),
            Side::Local { registry, caller } => {
                registry
                    .put_manifest(
                        caller,
                        &repo_name(repo)?,
                        &reference(r)?,
                        Some(&m.media_type),
                        m.bytes.clone(),
                    )
                    .await?;
                Ok(())
            }
        }
    }

    pub async fn head_blob(&self, repo: &str, d: &str) -> CopyResult<Option<u64>> {
        match self {
            Side::Remote(remote) => Ok(remote.head_blob(repo, d).await?),
            Side::Local { registry, caller } => {
                match registry
                    .read_blob(caller, &repo_name(repo)?, &digest(d)?, None, false)
                    .await
                {
                    Ok(b) => Ok(Some(b.size)),
                    Err(e) if unknown(&e) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    async fn get_blob(&self, repo: &str, d: &str) -> CopyResult<ByteStream> {
        match self {
            Side::Remote(remote) => Ok(remote.get_blob(repo, d).await?),
            Side::Local { registry, caller } => Ok(registry
                .blob_stream(caller, &repo_name(repo)?, &digest(d)?, None)
                .await?
                .1),
        }
    }

    /// The inclusive byte range `first..=last` of a blob.
    async fn get_blob_range(
        &self,
        repo: &str,
        d: &str,
        first: u64,
        last: u64,
    ) -> CopyResult<ByteStream> {
        match self {
            Side::Remote(remote) => Ok(remote.get_blob_range(repo, d, first, last).await?),
            Side::Local { registry, caller } => Ok(registry
                .blob_stream(caller, &repo_name(repo)?, &digest(d)?, Some((first, last)))
                .await?
                .1),
        }
    }

    async fn put_blob(&self, repo: &str, d: &str, size: u64, body: ByteStream) -> CopyResult<()> {
        match self {
            Side::Remote(remote) => {
                let location = remote.start_upload(repo).await?;
                Ok(remote.finish_upload(repo, location, d, size, body).await?)
            }
            Side::Local { registry, caller } => {
                let repo = repo_name(repo)?;
                let upload = registry.start_upload(caller, &repo).await?;
                registry
                    .finish_upload(caller, &repo, &upload.id, &digest(d)?, Some((None, body)))
                    .await?;
                Ok(())
            }
        }
    }

    /// The referrers of a manifest as descriptors; `None` when the side has no referrers API.
    async fn referrers(&self, repo: &str, d: &str) -> CopyResult<Option<Vec<serde_json::Value>>> {
        match self {
            Side::Remote(remote) => Ok(remote.referrers(repo, d).await?),
            Side::Local { registry, caller } => {
                match registry
                    .referrers(caller, &repo_name(repo)?, &digest(d)?, None)
                    .await
                {
                    Ok(index) => Ok(Some(
                        index
                            .get("manifests")
                            .and_then(|m| m.as_array())
                            .cloned()
                            .unwrap_or_default(),
                    )),
                    Err(e) if unknown(&e) => Ok(Some(Vec::new())),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    pub async fn delete_manifest(&self, repo: &str, d: &str) -> CopyResult<bool> {
        match self {
            Side::Remote(remote) => Ok(remote.delete_manifest(repo, d).await?),
            Side::Local { registry, caller } => {
                match registry
                    .delete_manifest(caller, &repo_name(repo)?, &reference(d)?)
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(e) if unknown(&e) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }
}

/// What one artifact's copy did.
#[derive(Debug, Default)]
pub struct Report {
    pub blobs_copied: u64,
    pub blobs_present: u64,
    pub manifests_copied: u64,
    pub bytes: u64,
    pub log: Vec<String>,
}

/// Where a resumable blob upload stands: what the task persists after every chunk.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadProgress {
    pub digest: String,
    pub location: String,
    /// Bytes the destination acknowledged.
    pub offset: u64,
}

/// Where a task keeps its upload progress.
pub struct Persist {
    pub services: domain::service::Services,
    pub task_id: i64,
}

/// Blobs from this size on are copied in chunks whatever the policy says.
pub const CHUNKED_ABOVE: u64 = 64 * 1024 * 1024;
/// The size of one chunk: what a cut connection can cost at most.
pub const CHUNK: u64 = 16 * 1024 * 1024;

/// Copies artifacts from `src` to `dst` for one task.
pub struct Copier<'a> {
    pub src: &'a Side,
    pub dst: &'a Side,
    pub override_tags: bool,
    pub progress: Arc<Progress>,
    pub report: Report,
    /// Copy every blob in chunks (the policy's `copy_by_chunk`).
    pub by_chunk: bool,
    /// The upload an earlier attempt of the task left open.
    pub resume: Option<UploadProgress>,
    pub persist: Option<Persist>,
}

/// How deep referrers of referrers are followed.
const MAX_DEPTH: usize = 4;

fn descriptors(manifest: &serde_json::Value) -> Vec<(String, String, u64)> {
    let one = |d: &serde_json::Value| {
        Some((
            d.get("digest")?.as_str()?.to_string(),
            d.get("mediaType")
                .and_then(|m| m.as_str())
                .unwrap_or_default()
                .to_string(),
            d.get("size").and_then(|s| s.as_u64()).unwrap_or(0),
        ))
    };
    let mut out = Vec::new();
    if let Some(c) = manifest.get("config").and_then(one) {
        out.push(c);
    }
    for key in ["layers", "blobs"] {
        if let Some(items) = manifest.get(key).and_then(|l| l.as_array()) {
            out.extend(items.iter().filter_map(one));
        }
    }
    out
}

fn children(manifest: &serde_json::Value) -> Vec<String> {
    manifest
        .get("manifests")
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("digest")?.as_str().map(str::to_string))
        .collect()
}

impl Copier<'_> {
    fn log(&mut self, line: String) {
        self.report.log.push(line);
    }

    /// Copies the artifact `digest` of `src_repo` to `dst_repo`, tags it with `tags`, and
    /// brings its referrers along.
    pub async fn copy_artifact(
        &mut self,
        src_repo: &str,
        dst_repo: &str,
        digest: &str,
        tags: &[String],
    ) -> CopyResult<()> {
        let manifest = self.copy_manifest(src_repo, dst_repo, digest, 0).await?;
        for tag in tags {
            self.tag(dst_repo, tag, &manifest).await?;
        }
        self.copy_accessories(src_repo, dst_repo, digest, 0).await
    }

    /// Points `tag` at the manifest on the destination, unless it is there already, or
    /// another artifact holds it and the policy does not override.
    async fn tag(&mut self, dst_repo: &str, tag: &str, m: &Manifest) -> CopyResult<()> {
        match self.dst.head_manifest(dst_repo, tag).await? {
            Some(d) if d == m.digest => {
                self.log(format!("tag {dst_repo}:{tag} is already {d}"));
            }
            Some(d) if !self.override_tags => {
                self.log(format!(
                    "tag {dst_repo}:{tag} kept on {d} (override is off; the source has {})",
                    m.digest
                ));
            }
            _ => {
                self.dst.put_manifest(dst_repo, tag, m).await?;
                self.log(format!("tagged {dst_repo}:{tag} → {}", m.digest));
            }
        }
        Ok(())
    }

    /// Copies a manifest by digest with everything it references; returns it.
    fn copy_manifest<'s>(
        &'s mut self,
        src_repo: &'s str,
        dst_repo: &'s str,
        digest: &'s str,
        depth: usize,
    ) -> futures::future::BoxFuture<'s, CopyResult<Manifest>> {
        Box::pin(async move {
            if self.progress.stopped() {
                return Err(CopyError::stopped());
            }
            let m = self
                .src
                .get_manifest(src_repo, digest)
                .await?
                .ok_or_else(|| {
                    CopyError::permanent(format!("{src_repo}@{digest} is gone from the source"))
                })?;
            if m.digest != digest {
                return Err(CopyError::permanent(format!(
                    "the source served {} for {digest}",
                    m.digest
                )));
            }
            if self.dst.head_manifest(dst_repo, digest).await?.is_some() {
                self.log(format!("manifest {digest} is already at the destination"));
                return Ok(m);
            }
            let json: serde_json::Value = serde_json::from_slice(&m.bytes)
                .map_err(|e| CopyError::permanent(format!("manifest {digest} is not JSON: {e}")))?;
            if media::is_index(&m.media_type) || json.get("manifests").is_some() {
                if depth > MAX_DEPTH {
                    return Err(CopyError::permanent("indexes nest too deep"));
                }
                for child in children(&json) {
                    self.copy_manifest(src_repo, dst_repo, &child, depth + 1)
                        .await?;
                }
            } else {
                for (blob, _, size) in descriptors(&json) {
                    self.copy_blob(src_repo, dst_repo, &blob, size).await?;
                }
            }
            self.dst.put_manifest(dst_repo, digest, &m).await?;
            self.report.manifests_copied += 1;
            self.log(format!("manifest {digest} ({}) copied", m.media_type));
            Ok(m)
        })
    }

    async fn copy_blob(
        &mut self,
        src_repo: &str,
        dst_repo: &str,
        digest: &str,
        size: u64,
    ) -> CopyResult<()> {
        if self.dst.head_blob(dst_repo, digest).await?.is_some() {
            self.report.blobs_present += 1;
            return Ok(());
        }
        if let Side::Remote(remote) = self.dst {
            if size > 0 && (self.by_chunk || size >= CHUNKED_ABOVE) {
                let remote = remote.clone();
                return self
                    .copy_blob_chunked(&remote, src_repo, dst_repo, digest, size)
                    .await;
            }
        }
        let body = self.src.get_blob(src_repo, digest).await?;
        let counted = self.metered(body);
        self.dst.put_blob(dst_repo, digest, size, counted).await?;
        if self.progress.stopped() {
            return Err(CopyError::stopped());
        }
        self.report.blobs_copied += 1;
        self.report.bytes += size;
        self.log(format!("blob {digest} ({size} bytes) copied"));
        Ok(())
    }

    /// Copies a blob chunk by chunk, persisting the acknowledged offset after each one, so a
    /// later attempt (after a cut connection or a restart) resumes where the remote stopped.
    async fn copy_blob_chunked(
        &mut self,
        remote: &Remote,
        src_repo: &str,
        dst_repo: &str,
        digest: &str,
        size: u64,
    ) -> CopyResult<()> {
        let mut resumed = None;
        if let Some(p) = self.resume.take().filter(|p| p.digest == digest) {
            if let Ok(location) = url::Url::parse(&p.location) {
                if let Some(offset) = remote.upload_offset(dst_repo, &location).await? {
                    if offset <= size {
                        self.log(format!(
                            "blob {digest}: resuming at byte {offset} of {size}"
                        ));
                        resumed = Some((location, offset));
                    }
                }
            }
        }
        let (mut location, mut offset) = match resumed {
            Some(r) => r,
            None => (remote.start_upload(dst_repo).await?, 0),
        };
        self.save(digest, &location, offset).await;
        while offset < size {
            if self.progress.stopped() {
                return Err(CopyError::stopped());
            }
            let len = CHUNK.min(size - offset);
            let body = self
                .src
                .get_blob_range(src_repo, digest, offset, offset + len - 1)
                .await?;
            let body = self.metered(body);
            location = match remote
                .patch_upload(dst_repo, &location, offset, len, body)
                .await
            {
                Ok(next) => next,
                Err(e) if e.status == Some(reqwest::StatusCode::RANGE_NOT_SATISFIABLE) => {
                    // The remote holds something else than we think: start over.
                    self.save_cleared().await;
                    return Err(CopyError {
                        message: format!("blob {digest}: {e}; the upload starts over"),
                        transient: true,
                        stopped: false,
                    });
                }
                Err(e) => return Err(e.into()),
            };
            offset += len;
            self.save(digest, &location, offset).await;
        }
        remote.close_upload(dst_repo, &location, digest).await?;
        self.save_cleared().await;
        if self.progress.stopped() {
            return Err(CopyError::stopped());
        }
        self.report.blobs_copied += 1;
        self.report.bytes += size;
        self.log(format!("blob {digest} ({size} bytes) copied in chunks"));
        Ok(())
    }

    async fn save(&self, digest: &str, location: &url::Url, offset: u64) {
        let Some(p) = &self.persist else { return };
        let state = UploadProgress {
            digest: digest.into(),
            location: location.to_string(),
            offset,
        };
        let done = self.progress.bytes.load(Ordering::Relaxed) as i64;
        let json = serde_json::to_string(&state).expect("progress serializes");
        if let Err(e) = p
            .services
            .report_replication_task(p.task_id, done, 0, Some(Some(json)), "")
            .await
        {
            tracing::warn!(task = p.task_id, error = %e, "cannot record upload progress");
        }
    }

    async fn save_cleared(&self) {
        let Some(p) = &self.persist else { return };
        let done = self.progress.bytes.load(Ordering::Relaxed) as i64;
        let _ = p
            .services
            .report_replication_task(p.task_id, done, 0, Some(None), "")
            .await;
    }

    /// The stream, counted into the progress, throttled to the policy's rate, and cut
    /// (with an error, so the destination discards the partial upload) on stop.
    fn metered(&self, body: ByteStream) -> ByteStream {
        let progress = self.progress.clone();
        let slice = if progress.shared.throttle.is_some() {
            THROTTLED_SLICE
        } else {
            usize::MAX
        };
        Box::pin(
            body.flat_map(move |chunk| {
                let pieces: Vec<std::io::Result<Bytes>> = match chunk {
                    Ok(mut bytes) => {
                        let mut out = Vec::new();
                        while bytes.len() > slice {
                            out.push(Ok(bytes.split_to(slice)));
                        }
                        out.push(Ok(bytes));
                        out
                    }
                    Err(e) => vec![Err(e)],
                };
                futures::stream::iter(pieces)
            })
            .then(move |chunk| {
                let progress = progress.clone();
                async move {
                    let chunk = chunk?;
                    if progress.stopped() {
                        return Err(std::io::Error::other("the replication was stopped"));
                    }
                    let n = chunk.len() as u64;
                    if let Some(wait) = progress.shared.delay_for(n) {
                        tokio::time::sleep(wait).await;
                    }
                    progress.bytes.fetch_add(n, Ordering::Relaxed);
                    Ok(chunk)
                }
            }),
        )
    }

    /// Brings the referrers of `digest` (OCI 1.1, or the referrers tag schema where the
    /// source has no API) and cosign's tags for it; writes the tag schema's index on a
    /// destination without the API, so clients there still find them.
    fn copy_accessories<'s>(
        &'s mut self,
        src_repo: &'s str,
        dst_repo: &'s str,
        digest: &'s str,
        depth: usize,
    ) -> futures::future::BoxFuture<'s, CopyResult<()>> {
        Box::pin(async move {
            if depth > MAX_DEPTH {
                return Ok(());
            }
            let Some((algorithm, hex)) = digest.split_once(':') else {
                return Ok(());
            };
            let schema_tag = format!("{algorithm}-{hex}");
            let referrers = match self.src.referrers(src_repo, digest).await? {
                Some(list) => list,
                None => match self.src.get_manifest(src_repo, &schema_tag).await? {
                    Some(index) => serde_json::from_slice::<serde_json::Value>(&index.bytes)
                        .ok()
                        .and_then(|v| v.get("manifests").and_then(|m| m.as_array()).cloned())
                        .unwrap_or_default(),
                    None => Vec::new(),
                },
            };
            let mut copied = Vec::new();
            for r in &referrers {
                let Some(d) = r.get("digest").and_then(|d| d.as_str()) else {
                    continue;
                };
                self.copy_manifest(src_repo, dst_repo, d, 0).await?;
                self.copy_accessories(src_repo, dst_repo, d, depth + 1)
                    .await?;
                copied.push(r.clone());
            }
            if !copied.is_empty() && self.dst.referrers(dst_repo, digest).await?.is_none() {
                self.write_referrers_tag(dst_repo, &schema_tag, copied)
                    .await?;
            }
            for suffix in ["sig", "att", "sbom"] {
                let tag = format!("{schema_tag}.{suffix}");
                if let Some(d) = self.src.head_manifest(src_repo, &tag).await? {
                    let m = self.copy_manifest(src_repo, dst_repo, &d, 0).await?;
                    self.tag(dst_repo, &tag, &m).await?;
                }
            }
            Ok(())
        })
    }

    /// Merges `descriptors` into the destination's `sha256-<hex>` referrers index.
    async fn write_referrers_tag(
        &mut self,
        dst_repo: &str,
        tag: &str,
        descriptors: Vec<serde_json::Value>,
    ) -> CopyResult<()> {
        let mut manifests: Vec<serde_json::Value> =
            match self.dst.get_manifest(dst_repo, tag).await? {
                Some(existing) => serde_json::from_slice::<serde_json::Value>(&existing.bytes)
                    .ok()
                    .and_then(|v| v.get("manifests").and_then(|m| m.as_array()).cloned())
                    .unwrap_or_default(),
                None => Vec::new(),
            };
        let before = manifests.len();
        for d in descriptors {
            if !manifests.iter().any(|m| m.get("digest") == d.get("digest")) {
                manifests.push(d);
            }
        }
        if manifests.len() == before && before > 0 {
            return Ok(());
        }
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_INDEX,
            "manifests": manifests,
        });
        let bytes = Bytes::from(serde_json::to_vec(&index).expect("an index serializes"));
        let digest = format!(
            "sha256:{}",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
        );
        let m = Manifest {
            bytes,
            media_type: media::OCI_INDEX.into(),
            digest,
        };
        self.dst.put_manifest(dst_repo, tag, &m).await?;
        self.log(format!(
            "referrers tag {dst_repo}:{tag} written ({} referrers)",
            manifests.len()
        ));
        Ok(())
    }
}

/// The largest piece a throttled stream sends at once, so the rate holds over short spans.
const THROTTLED_SLICE: usize = 16 * 1024;
