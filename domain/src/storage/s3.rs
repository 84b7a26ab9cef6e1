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
//! Memory is bounded by configuration whatever the blob size: a request that moves bytes holds
//! one of `max_buffers` process-wide permits, and each permit covers at most two part buffers
//! (one filling while the previous one is sent).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
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

pub struct S3BlobStore {
    s3: Arc<AmazonS3>,
    root: String,
    bucket: String,
    part_size: usize,
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

    async fn delete_quietly(&self, key: &str) {
        if let Err(e) = self.s3.delete(&self.key(key)).await {
            if !is_not_found(&e) {
                tracing::warn!(key, error = %e, "could not delete an object; expiry retries");
            }
        }
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
    async fn send(&mut self, part: Bytes) -> StorageResult<()> {
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
        let len = part.len() as u64;
        let s3 = self.store.s3.clone();
        let path = self.path.clone();
        self.in_flight = Some((
            len,
            tokio::spawn(async move {
                s3.put_part(&path, &upload, index, PutPayload::from(part))
                    .await
            }),
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
        let mut buffer = BytesMut::with_capacity(self.part_size);
        buffer.extend_from_slice(&self.read_tail(&state, size - state.in_parts).await?);
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
            buffer.extend_from_slice(&chunk);
            while buffer.len() >= self.part_size {
                let part = buffer.split_to(self.part_size).freeze();
                sender.send(part).await?;
            }
        }
        if buffer.len() >= MIN_PART {
            sender.send(buffer.split().freeze()).await?;
        }
        sender.settle().await?;
        let mut state = std::mem::take(&mut sender.state);
        drop(sender);
        state.tail = None;
        if !buffer.is_empty() {
            let tail = format!("uploads/{id}/tail-{}", uuid::Uuid::new_v4());
            self.s3
                .put(&self.key(&tail), PutPayload::from(buffer.freeze()))
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
        let mismatch = |actual: &Digest| StorageError::DigestMismatch {
            expected: digest.to_string(),
            actual: actual.to_string(),
        };
        let running = progress.verified_digest(digest);
        if let Some(actual) = &running {
            if actual != digest {
                self.abort(id, Some(progress)).await?;
                return Err(mismatch(actual));
            }
        }
        {
            let _permit = self
                .buffers
                .acquire()
                .await
                .map_err(|_| StorageError::Unavailable("shutting down".into()))?;
            let tail = self.read_tail(&state, size - state.in_parts).await?;
            match &state.upload {
                Some(upload) => {
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
            if &actual != digest {
                self.delete_quietly(&data).await;
                if let Some(tail) = &state.tail {
                    self.delete_quietly(tail).await;
                }
                return Err(mismatch(&actual));
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
        let prefix = self.key("uploads");
        let objects: Vec<_> = self
            .s3
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(unavailable)?;
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
        let prefix = self.key("blobs");
        let objects: Vec<_> = self
            .s3
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(unavailable)?;
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
        let actual = super::digest_of(digest.algorithm(), &bytes);
        if &actual != digest {
            return Err(StorageError::DigestMismatch {
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
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
