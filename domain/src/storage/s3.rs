//! S3-compatible object storage (AWS S3, MinIO, SeaweedFS, Ceph RGW, …) through `object_store`.
//!
//! Keys, all under the configured root directory:
//! - `data/<upload id>`: a blob's bytes, the object a multipart upload completed into (so a
//!   multi-gigabyte blob is never copied server-side or read back to be hashed);
//! - `blobs/<alg>/<2 hex>/<hex>`: the blob's *link*, a small JSON `{"data": key, "size": n}`
//!   written with a conditional put, so the first of two uploads of the same content wins and
//!   the other one's data is deleted;
//! - `uploads/<upload id>/tail-<uuid>`: the bytes of an upload below S3's 5 MiB minimum part
//!   size, kept between requests.
//!
//! An upload's state (multipart upload id, part ETags in part order, bytes in parts, tail key)
//! travels in its [`UploadProgress`], which the registry persists in the database: any replica
//! continues an upload, and nothing relies on the server's listing of multipart uploads.
//!
//! Memory is bounded by configuration whatever the blob size: a request that uploads bytes holds
//! one of `max_buffers` process-wide permits, and each permit covers at most two part buffers
//! (one filling while the previous one is sent). Downloads buffer nothing beyond what is being
//! sent: they stream ranged GETs in turn.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectStore, PutMode, PutOptions, PutPayload, RetryConfig,
};
use tokio::sync::Semaphore;

use super::{BlobStore, ByteStream, StorageError, StorageResult, UploadProgress};
use crate::types::Digest;

/// S3's smallest part, but for the last one.
pub const MIN_PART: usize = 5 * 1024 * 1024;

/// How to reach the bucket and how to use it.
#[derive(Clone, Debug)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    /// `http(s)://host:port` of an S3-compatible service; AWS when absent.
    pub endpoint: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    /// Key prefix for everything Berth stores (no leading or trailing `/`).
    pub root: String,
    /// Path-style requests (`endpoint/bucket/key`), which S3-compatible services expect.
    pub path_style: bool,
    /// Part size of multipart uploads (at least 5 MiB).
    pub part_size: usize,
    /// Requests moving bytes at once, process-wide (each holds up to two parts in memory).
    pub max_buffers: usize,
    /// Answer blob downloads with a redirect to a presigned URL valid this long.
    pub redirect: Option<Duration>,
    /// A single request's timeout (a part, a link, a range of a download's start).
    pub request_timeout: Duration,
    /// The bytes one GET of a download asks for ([`READ_RANGE`]).
    pub read_range: u64,
}

impl S3Settings {
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            region: "us-east-1".into(),
            endpoint: None,
            access_key: None,
            secret_key: None,
            root: String::new(),
            path_style: true,
            part_size: 8 * 1024 * 1024,
            max_buffers: 16,
            redirect: None,
            request_timeout: Duration::from_secs(60),
            read_range: READ_RANGE,
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Link {
    data: String,
    size: u64,
}

/// The store's part of an upload's progress.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Multipart {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upload: Option<String>,
    /// ETags of the parts sent; part number = index + 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    parts: Vec<String>,
    /// Bytes in those parts; the rest of the upload is in the tail.
    #[serde(default)]
    in_parts: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tail: Option<String>,
}

/// Links already read (content-addressed, so they only ever disappear).
const LINK_CACHE: usize = 65_536;

/// The bytes one GET of a download asks for. Measured on SeaweedFS (`bench/`): 8 MiB ranges
/// streamed in turn pull at 0.8x distribution's single GET, 32 MiB at its rate, and fetching the
/// next range ahead gains little more (the store's CPU is the limit) for two ranges of memory
/// per download.
pub const READ_RANGE: u64 = 32 * 1024 * 1024;

pub struct S3BlobStore {
    s3: Arc<AmazonS3>,
    root: String,
    bucket: String,
    part_size: usize,
    read_range: u64,
    buffers: Arc<Semaphore>,
    redirect: Option<Duration>,
    links: Mutex<HashMap<String, (String, u64)>>,
}

fn unavailable(e: object_store::Error) -> StorageError {
    StorageError::Unavailable(e.to_string())
}

fn is_not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

impl S3BlobStore {
    pub fn new(settings: S3Settings) -> StorageResult<Self> {
        if settings.part_size < MIN_PART {
            return Err(StorageError::Unavailable(format!(
                "the part size must be at least {MIN_PART} bytes"
            )));
        }
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_virtual_hosted_style_request(!settings.path_style)
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(settings.request_timeout)
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_allow_http(
                        settings
                            .endpoint
                            .as_deref()
                            .is_some_and(|e| e.starts_with("http://")),
                    ),
            );
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(key) = &settings.access_key {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &settings.secret_key {
            builder = builder.with_secret_access_key(secret);
        }
        let s3 = builder.build().map_err(unavailable)?;
        Ok(Self {
            s3: Arc::new(s3),
            root: settings.root.trim_matches('/').to_string(),
            bucket: settings.bucket,
            part_size: settings.part_size,
            read_range: settings.read_range.max(1),
            buffers: Arc::new(Semaphore::new(settings.max_buffers.max(1))),
            redirect: settings.redirect,
            links: Mutex::new(HashMap::new()),
        })
    }

    fn key(&self, rest: &str) -> Path {
        if self.root.is_empty() {
            Path::from(rest)
        } else {
            Path::from(format!("{}/{rest}", self.root))
        }
    }

    fn data_key(&self, id: &str) -> String {
        format!("data/{id}")
    }

    fn link_key(&self, digest: &Digest) -> Path {
        let hex = digest.hex();
        self.key(&format!(
            "blobs/{}/{}/{hex}",
            digest.algorithm().as_str(),
            &hex[..2]
        ))
    }

    fn check_id(id: &str) -> StorageResult<()> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(StorageError::UploadUnknown);
        }
        Ok(())
    }

    fn state(progress: &UploadProgress) -> StorageResult<Multipart> {
        if progress.store.is_null() {
            return Ok(Multipart::default());
        }
        serde_json::from_value(progress.store.clone()).map_err(|e| {
            StorageError::Io(std::io::Error::other(format!(
                "unreadable upload state: {e}"
            )))
        })
    }

    /// The link of a stored blob (its data key and size), from the cache when possible: for
    /// reads, which find out when the data is gone.
    async fn link(&self, digest: &Digest) -> StorageResult<Option<(String, u64)>> {
        if let Some(hit) = self
            .links
            .lock()
            .expect("link cache")
            .get(&digest.to_string())
        {
            return Ok(Some(hit.clone()));
        }
        self.fresh_link(digest).await
    }

    /// The link as the bucket has it now: for the checks that decide whether content must be
    /// written or is still there (another replica's garbage collection may have removed it
    /// since this one cached it).
    async fn fresh_link(&self, digest: &Digest) -> StorageResult<Option<(String, u64)>> {
        let name = digest.to_string();
        let bytes = match self.s3.get(&self.link_key(digest)).await {
            Ok(got) => got.bytes().await.map_err(unavailable)?,
            Err(e) if is_not_found(&e) => {
                self.forget(digest);
                return Ok(None);
            }
            Err(e) => return Err(unavailable(e)),
        };
        let link: Link = serde_json::from_slice(&bytes).map_err(|e| {
            StorageError::Io(std::io::Error::other(format!(
                "unreadable link for {digest}: {e}"
            )))
        })?;
        let mut cache = self.links.lock().expect("link cache");
        if cache.len() >= LINK_CACHE {
            cache.clear();
        }
        cache.insert(name, (link.data.clone(), link.size));
        Ok(Some((link.data, link.size)))
    }

    fn forget(&self, digest: &Digest) {
        self.links
            .lock()
            .expect("link cache")
            .remove(&digest.to_string());
    }

    /// Points `digest` at `data`. `false` when another upload linked the same content first
    /// (and `data` is then redundant).
    async fn create_link(&self, digest: &Digest, data: &str, size: u64) -> StorageResult<bool> {
        let body = serde_json::to_vec(&Link {
            data: data.to_string(),
            size,
        })
        .expect("a link serializes");
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .s3
            .put_opts(&self.link_key(digest), PutPayload::from(body), opts)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn read_tail(&self, state: &Multipart, expected: u64) -> StorageResult<Bytes> {
        let Some(tail) = &state.tail else {
            return if expected == 0 {
                Ok(Bytes::new())
            } else {
                Err(StorageError::Io(std::io::Error::other(
                    "the upload's tail is missing",
                )))
            };
        };
        let bytes = self
            .s3
            .get(&self.key(tail))
            .await
            .map_err(unavailable)?
            .bytes()
            .await
            .map_err(unavailable)?;
        if bytes.len() as u64 != expected {
            return Err(StorageError::Io(std::io::Error::other(format!(
                "the upload's tail holds {} bytes, {expected} expected",
                bytes.len()
            ))));
        }
        Ok(bytes)
    }

    /// A download as consecutive ranges of `read_range` bytes, each streamed in turn: no
    /// single request lasts longer than a range takes to send (a slow client stays within the
    /// per-request timeout, and a failure retries one range, not the blob), and nothing is
    /// buffered beyond what is being sent.
    async fn read_ranges(
        &self,
        digest: &Digest,
        data: &str,
        (first, end): (u64, u64),
    ) -> StorageResult<ByteStream> {
        let path = self.key(data);
        let s3 = self.s3.clone();
        let step = self.read_range;
        let mut ranges = futures::stream::iter((first..end).step_by(step as usize))
            .then(move |start| {
                let (s3, path) = (s3.clone(), path.clone());
                async move {
                    let opts = GetOptions {
                        range: Some(GetRange::Bounded(start..(start + step).min(end))),
                        ..GetOptions::default()
                    };
                    Ok::<_, object_store::Error>(s3.get_opts(&path, opts).await?.into_stream())
                }
            })
            .boxed();
        // The first range tells "not found" (garbage-collected since the link was cached) from
        // a stream; a later failure ends the stream with an error.
        let head = match ranges.next().await {
            Some(Ok(chunks)) => chunks,
            Some(Err(e)) if is_not_found(&e) => {
                self.forget(digest);
                return Err(StorageError::BlobUnknown);
            }
            Some(Err(e)) => return Err(unavailable(e)),
            None => futures::stream::empty().boxed(),
        };
        let all = futures::stream::iter([Ok(head)]).chain(ranges);
        Ok(Box::pin(all.try_flatten().map_err(std::io::Error::other)))
    }

    /// Removes a blob's link and nothing else, as if the link had never been written.
    #[cfg(test)]
    pub(super) async fn drop_link(&self, digest: &Digest) {
        self.forget(digest);
        self.s3.delete(&self.link_key(digest)).await.unwrap();
    }

    /// Every object under `prefix` (below the root directory).
    async fn list_under(&self, prefix: &str) -> StorageResult<Vec<object_store::ObjectMeta>> {
        self.s3
            .list(Some(&self.key(prefix)))
            .try_collect()
            .await
            .map_err(unavailable)
    }

    async fn delete_quietly(&self, key: &str) {
        if let Err(e) = self.s3.delete(&self.key(key)).await {
            if !is_not_found(&e) {
                tracing::warn!(key, error = %e, "could not delete an object; expiry retries");
            }
        }
    }
}

/// The bytes of the next part as the request body delivered them: a part goes out as the list
/// of the body's own chunks, never copied into one buffer (which would cost a copy of every
/// byte and, while it grows, twice the part in memory).
#[derive(Default)]
struct PartBuffer {
    chunks: std::collections::VecDeque<Bytes>,
    len: usize,
}

impl PartBuffer {
    fn push(&mut self, chunk: Bytes) {
        if !chunk.is_empty() {
            self.len += chunk.len();
            self.chunks.push_back(chunk);
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first `n` bytes (at most [`Self::len`]), as one payload.
    fn take(&mut self, n: usize) -> PutPayload {
        let mut out = Vec::new();
        let mut need = n.min(self.len);
        self.len -= need;
        while need > 0 {
            let Some(mut chunk) = self.chunks.pop_front() else {
                break;
            };
            if chunk.len() > need {
                self.chunks.push_front(chunk.split_off(need));
            }
            need -= chunk.len();
            out.push(chunk);
        }
        out.into_iter().collect()
    }
}

/// Sends parts of one upload, one in flight while the next fills.
struct PartSender<'a> {
    store: &'a S3BlobStore,
    path: Path,
    state: Multipart,
    in_flight: Option<(u64, tokio::task::JoinHandle<object_store::Result<PartId>>)>,
}

impl PartSender<'_> {
    async fn send(&mut self, part: PutPayload) -> StorageResult<()> {
        self.settle().await?;
        let upload = match &self.state.upload {
            Some(upload) => upload.clone(),
            None => {
                let upload = self
                    .store
                    .s3
                    .create_multipart(&self.path)
                    .await
                    .map_err(unavailable)?;
                self.state.upload = Some(upload.clone());
                upload
            }
        };
        let index = self.state.parts.len();
        let len = part.content_length() as u64;
        let s3 = self.store.s3.clone();
        let path = self.path.clone();
        self.in_flight = Some((
            len,
            tokio::spawn(async move { s3.put_part(&path, &upload, index, part).await }),
        ));
        Ok(())
    }

    /// Waits for the part in flight and records it.
    async fn settle(&mut self) -> StorageResult<()> {
        if let Some((len, handle)) = self.in_flight.take() {
            let part = handle
                .await
                .map_err(|e| StorageError::Io(std::io::Error::other(e)))?
                .map_err(unavailable)?;
            self.state.parts.push(part.content_id);
            self.state.in_parts += len;
        }
        Ok(())
    }
}

impl Drop for PartSender<'_> {
    fn drop(&mut self) {
        if let Some((_, handle)) = self.in_flight.take() {
            handle.abort();
        }
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn start_upload(&self, id: &str) -> StorageResult<UploadProgress> {
        Self::check_id(id)?;
        Ok(UploadProgress {
            size: 0,
            sha256: Some(super::ResumableSha256::new().to_text()),
            store: serde_json::Value::Null,
        })
    }

    async fn append(
        &self,
        id: &str,
        progress: &UploadProgress,
        offset: u64,
        mut body: ByteStream,
    ) -> StorageResult<UploadProgress> {
        Self::check_id(id)?;
        let size = progress.size;
        if offset != size {
            return Err(StorageError::OutOfOrder { offset, size });
        }
        let state = Self::state(progress)?;
        let _permit = self
            .buffers
            .acquire()
            .await
            .map_err(|_| StorageError::Unavailable("shutting down".into()))?;
        let mut buffer = PartBuffer::default();
        buffer.push(self.read_tail(&state, size - state.in_parts).await?);
        let old_tail = state.tail.clone();
        let mut hasher = progress.hasher();
        let mut sender = PartSender {
            store: self,
            path: self.key(&self.data_key(id)),
            state,
            in_flight: None,
        };
        let mut received = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| StorageError::Body(e.to_string()))?;
            if let Some(h) = hasher.as_mut() {
                h.update(&chunk);
            }
            received += chunk.len() as u64;
            buffer.push(chunk);
            while buffer.len() >= self.part_size {
                let part = buffer.take(self.part_size);
                sender.send(part).await?;
            }
        }
        if buffer.len() >= MIN_PART {
            let rest = buffer.len();
            sender.send(buffer.take(rest)).await?;
        }
        sender.settle().await?;
        let mut state = std::mem::take(&mut sender.state);
        drop(sender);
        state.tail = None;
        if !buffer.is_empty() {
            let tail = format!("uploads/{id}/tail-{}", uuid::Uuid::new_v4());
            let rest = buffer.len();
            self.s3
                .put(&self.key(&tail), buffer.take(rest))
                .await
                .map_err(unavailable)?;
            state.tail = Some(tail);
        }
        if let Some(old) = old_tail {
            self.delete_quietly(&old).await;
        }
        Ok(UploadProgress {
            size: size + received,
            sha256: hasher.map(|h| h.to_text()),
            store: serde_json::to_value(&state).expect("state serializes"),
        })
    }

    async fn commit(
        &self,
        id: &str,
        progress: &UploadProgress,
        digest: &Digest,
    ) -> StorageResult<u64> {
        Self::check_id(id)?;
        let state = Self::state(progress)?;
        let size = progress.size;
        let data = self.data_key(id);
        let path = self.key(&data);
        let running = progress.verified_digest(digest);
        if let Some(actual) = &running {
            if let Err(mismatch) = super::verify(digest, actual) {
                self.abort(id, Some(progress)).await?;
                return Err(mismatch);
            }
        }
        {
            let _permit = self
                .buffers
                .acquire()
                .await
                .map_err(|_| StorageError::Unavailable("shutting down".into()))?;
            // An earlier attempt may have completed the upload and failed after it (the link
            // could not be written): the object is then there, and S3 knows the upload no more.
            let completed = match &state.upload {
                Some(_) => match self.s3.head(&path).await {
                    Ok(meta) => meta.size == size,
                    Err(e) if is_not_found(&e) => false,
                    Err(e) => return Err(unavailable(e)),
                },
                None => false,
            };
            match &state.upload {
                Some(_) if completed => {}
                Some(upload) => {
                    let tail = self.read_tail(&state, size - state.in_parts).await?;
                    let mut parts: Vec<PartId> = state
                        .parts
                        .iter()
                        .map(|etag| PartId {
                            content_id: etag.clone(),
                        })
                        .collect();
                    if !tail.is_empty() {
                        let last = self
                            .s3
                            .put_part(&path, upload, parts.len(), PutPayload::from(tail))
                            .await
                            .map_err(unavailable)?;
                        parts.push(last);
                    }
                    self.s3
                        .complete_multipart(&path, upload, parts)
                        .await
                        .map_err(unavailable)?;
                }
                None => {
                    let tail = self.read_tail(&state, size - state.in_parts).await?;
                    self.s3
                        .put(&path, PutPayload::from(tail))
                        .await
                        .map_err(unavailable)?;
                }
            }
        }
        if running.is_none() {
            let stream = self.s3.get(&path).await.map_err(unavailable)?.into_stream();
            let stream: ByteStream = Box::pin(stream.map_err(std::io::Error::other));
            let actual = super::hash_stream(stream, digest.algorithm()).await?;
            if let Err(mismatch) = super::verify(digest, &actual) {
                self.delete_quietly(&data).await;
                if let Some(tail) = &state.tail {
                    self.delete_quietly(tail).await;
                }
                return Err(mismatch);
            }
        }
        if !self.create_link(digest, &data, size).await? {
            // The same content was stored by another upload first: keep that one.
            self.delete_quietly(&data).await;
        }
        if let Some(tail) = &state.tail {
            self.delete_quietly(tail).await;
        }
        Ok(size)
    }

    async fn abort(&self, id: &str, progress: Option<&UploadProgress>) -> StorageResult<()> {
        Self::check_id(id)?;
        if let Some(progress) = progress {
            let state = Self::state(progress)?;
            if let Some(upload) = &state.upload {
                let path = self.key(&self.data_key(id));
                if let Err(e) = self.s3.abort_multipart(&path, upload).await {
                    if !is_not_found(&e) {
                        tracing::warn!(upload = id, error = %e, "could not abort a multipart upload");
                    }
                }
            }
        }
        // Tails, including those of requests whose progress was never recorded. The data key
        // is left alone: once completed, a link may point at it.
        let prefix = self.key(&format!("uploads/{id}"));
        let tails: Vec<_> = self
            .s3
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(unavailable)?;
        for tail in tails {
            if let Err(e) = self.s3.delete(&tail.location).await {
                if !is_not_found(&e) {
                    return Err(unavailable(e));
                }
            }
        }
        Ok(())
    }

    async fn list_uploads(&self) -> StorageResult<Vec<(String, SystemTime)>> {
        let objects = self.list_under("uploads").await?;
        let mut latest: HashMap<String, SystemTime> = HashMap::new();
        for object in objects {
            let mut parts = object.location.as_ref().rsplitn(3, '/');
            let (_tail, Some(id)) = (parts.next(), parts.next()) else {
                continue;
            };
            let modified: SystemTime = object.last_modified.into();
            let entry = latest.entry(id.to_string()).or_insert(modified);
            if modified > *entry {
                *entry = modified;
            }
        }
        Ok(latest.into_iter().collect())
    }

    async fn list_blobs(&self) -> StorageResult<Vec<Digest>> {
        let objects = self.list_under("blobs").await?;
        Ok(objects
            .iter()
            .filter_map(|o| {
                let mut parts = o.location.as_ref().rsplit('/');
                let hex = parts.next()?;
                let _two = parts.next()?;
                let alg = parts.next()?;
                Digest::parse(&format!("{alg}:{hex}")).ok()
            })
            .collect())
    }

    async fn check(&self) -> StorageResult<()> {
        let prefix = self.key("blobs");
        self.s3
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(|e| StorageError::Unavailable(format!("bucket `{}`: {e}", self.bucket)))?;
        Ok(())
    }

    async fn redirect_url(&self, digest: &Digest) -> StorageResult<Option<String>> {
        let Some(ttl) = self.redirect else {
            return Ok(None);
        };
        let Some((data, _)) = self.link(digest).await? else {
            return Err(StorageError::BlobUnknown);
        };
        let url = self
            .s3
            .signed_url(http::Method::GET, &self.key(&data), ttl)
            .await
            .map_err(unavailable)?;
        Ok(Some(url.to_string()))
    }

    async fn stat(&self, digest: &Digest) -> StorageResult<Option<u64>> {
        Ok(self.fresh_link(digest).await?.map(|(_, size)| size))
    }

    async fn read(&self, digest: &Digest, range: Option<(u64, u64)>) -> StorageResult<ByteStream> {
        let (data, size) = self.link(digest).await?.ok_or(StorageError::BlobUnknown)?;
        let range = match range {
            None => None,
            Some((first, last)) if first <= last && last < size => {
                Some(GetRange::Bounded(first..last + 1))
            }
            Some(_) => return Err(StorageError::RangeNotSatisfiable { size }),
        };
        if size == 0 {
            return Ok(Box::pin(futures::stream::empty()));
        }
        let (first, end) = match &range {
            Some(GetRange::Bounded(r)) => (r.start, r.end),
            _ => (0, size),
        };
        if end - first > self.read_range {
            return self.read_ranges(digest, &data, (first, end)).await;
        }
        let opts = GetOptions {
            range,
            ..GetOptions::default()
        };
        match self.s3.get_opts(&self.key(&data), opts).await {
            Ok(got) => Ok(Box::pin(got.into_stream().map_err(std::io::Error::other))),
            Err(e) if is_not_found(&e) => {
                // Deleted by another replica's garbage collection since the link was cached.
                self.forget(digest);
                Err(StorageError::BlobUnknown)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn put(&self, digest: &Digest, bytes: Bytes) -> StorageResult<()> {
        super::verify(digest, &super::digest_of(digest.algorithm(), &bytes))?;
        if self.fresh_link(digest).await?.is_some() {
            return Ok(());
        }
        let data = format!("data/put-{}", uuid::Uuid::new_v4());
        let size = bytes.len() as u64;
        self.s3
            .put(&self.key(&data), PutPayload::from(bytes))
            .await
            .map_err(unavailable)?;
        if !self.create_link(digest, &data, size).await? {
            self.delete_quietly(&data).await;
        }
        Ok(())
    }

    async fn delete(&self, digest: &Digest) -> StorageResult<()> {
        self.forget(digest);
        let (data, _) = self.link(digest).await?.ok_or(StorageError::BlobUnknown)?;
        self.forget(digest);
        // The link first: a reader never finds a link to missing data for long, and a crash in
        // between leaves unreferenced data, never a broken blob.
        match self.s3.delete(&self.link_key(digest)).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => return Err(StorageError::BlobUnknown),
            Err(e) => return Err(unavailable(e)),
        }
        self.delete_quietly(&data).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_buffer_hands_out_exactly_the_bytes_it_was_given_in_order() {
        let mut buffer = PartBuffer::default();
        for piece in ["abc", "", "defgh", "i", "jklmnop"] {
            buffer.push(Bytes::from(piece));
        }
        assert_eq!(buffer.len(), 16);
        let collect = |p: PutPayload| p.iter().flat_map(|b| b.to_vec()).collect::<Vec<u8>>();
        assert_eq!(collect(buffer.take(4)), b"abcd");
        assert_eq!(collect(buffer.take(7)), b"efghijk");
        assert_eq!(buffer.len(), 5);
        assert_eq!(collect(buffer.take(99)), b"lmnop");
        assert!(buffer.is_empty());
        assert_eq!(buffer.take(3).content_length(), 0);
    }
}
