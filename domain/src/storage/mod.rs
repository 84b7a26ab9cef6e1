//! Blob storage: content-addressed bytes, written through resumable uploads that are verified
//! against their digest and moved into place atomically. One trait, several backends (the local
//! filesystem, S3-compatible object storage, memory for tests), one shared test suite
//! (`suite.rs`, run for each of them).
//!
//! An upload's state is not kept by the store between requests: every call takes the
//! [`UploadProgress`] the caller persisted with the session and returns the next one, so any
//! process can continue an upload another one started.

pub mod fs;
pub mod memory;
pub mod resumable;
pub mod s3;
#[cfg(test)]
mod suite;

pub use resumable::ResumableSha256;

use std::io;
use std::pin::Pin;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

use crate::types::Digest;

pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("upload unknown")]
    UploadUnknown,
    #[error("blob unknown")]
    BlobUnknown,
    #[error("content does not match digest {expected} (it hashes to {actual})")]
    DigestMismatch { expected: String, actual: String },
    #[error("chunk starts at {offset}, but the upload holds {size} bytes")]
    OutOfOrder { offset: u64, size: u64 },
    #[error("requested range is not within the {size} bytes of the blob")]
    RangeNotSatisfiable { size: u64 },
    #[error("the request body ended early: {0}")]
    Body(String),
    /// The object store cannot be reached or refused the request for a reason that is not the
    /// client's; the registry answers 503 and the client may retry.
    #[error("the blob store is unavailable: {0}")]
    Unavailable(String),
    #[error("storage I/O error: {0}")]
    Io(#[from] io::Error),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// Where an upload stands, as the caller persists it between requests.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UploadProgress {
    /// Bytes received.
    pub size: u64,
    /// The running SHA-256 of those bytes ([`ResumableSha256::to_text`]); absent when it could
    /// not be kept, and the store hashes the content again at commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// What the store itself needs to continue (S3: the multipart upload, its parts, the tail).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub store: serde_json::Value,
}

impl UploadProgress {
    /// The running hash, when it covers exactly the bytes received.
    pub fn hasher(&self) -> Option<ResumableSha256> {
        self.sha256
            .as_deref()
            .and_then(ResumableSha256::from_text)
            .filter(|h| h.len() == self.size)
    }

    /// The digest of the bytes received, when `digest` is SHA-256 and the running hash was kept.
    pub fn verified_digest(&self, digest: &Digest) -> Option<Digest> {
        (digest.algorithm() == crate::types::DigestAlgorithm::Sha256)
            .then(|| self.hasher())
            .flatten()
            .map(ResumableSha256::finish)
    }
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Creates an empty upload.
    async fn start_upload(&self, id: &str) -> StorageResult<UploadProgress>;
    /// Appends `body` at `offset`, which must equal `progress.size`, and returns the progress
    /// after it. A failed body leaves `progress` valid: the upload continues from it.
    async fn append(
        &self,
        id: &str,
        progress: &UploadProgress,
        offset: u64,
        body: ByteStream,
    ) -> StorageResult<UploadProgress>;
    /// Verifies the upload against `digest`, makes it durable and moves it into place as that
    /// blob; the upload is gone afterwards (also when the digest does not match). Returns the
    /// blob's size.
    async fn commit(
        &self,
        id: &str,
        progress: &UploadProgress,
        digest: &Digest,
    ) -> StorageResult<u64>;
    /// Removes an upload and whatever it holds (`progress` when the caller still has it).
    async fn abort(&self, id: &str, progress: Option<&UploadProgress>) -> StorageResult<()>;
    /// Uploads the store holds bytes for, with their last modification: expiry removes those
    /// without a session.
    async fn list_uploads(&self) -> StorageResult<Vec<(String, SystemTime)>>;
    /// Every blob stored (for garbage collection's audit of the store and for tests).
    async fn list_blobs(&self) -> StorageResult<Vec<Digest>>;
    /// Checks that the store is reachable and usable (readiness, start-up).
    async fn check(&self) -> StorageResult<()> {
        Ok(())
    }
    /// Where a client may fetch a blob directly (a short-lived presigned URL), when the store
    /// is configured to redirect downloads.
    async fn redirect_url(&self, _digest: &Digest) -> StorageResult<Option<String>> {
        Ok(None)
    }

    /// The size of a stored blob, as the store has it now (not from a cache: the registry
    /// decides with it whether content is still there after a garbage collection elsewhere).
    async fn stat(&self, digest: &Digest) -> StorageResult<Option<u64>>;
    /// Streams a blob, or the inclusive byte range `(first, last)` of it.
    async fn read(&self, digest: &Digest, range: Option<(u64, u64)>) -> StorageResult<ByteStream>;
    /// The same bytes as [`BlobStore::read`], as the store holds them: a store on the local
    /// filesystem returns the open file region, which the server can hand to the kernel
    /// (`sendfile`) instead of copying it through memory. Other stores stream.
    async fn open(&self, digest: &Digest, range: Option<(u64, u64)>) -> StorageResult<BlobContent> {
        Ok(BlobContent::Stream(self.read(digest, range).await?))
    }
    /// Stores small content (manifests) whose digest the caller computed; verified again here.
    async fn put(&self, digest: &Digest, bytes: Bytes) -> StorageResult<()>;
    async fn delete(&self, digest: &Digest) -> StorageResult<()>;
}

/// A blob's bytes, from [`BlobStore::open`].
pub enum BlobContent {
    Stream(ByteStream),
    File(FileRegion),
}

/// `len` bytes of an open file, starting at `offset`.
pub struct FileRegion {
    pub file: std::fs::File,
    pub offset: u64,
    pub len: u64,
}

impl BlobContent {
    /// The bytes as a stream, read in chunks of [`READ_CHUNK`] bytes.
    pub fn into_stream(self) -> io::Result<ByteStream> {
        match self {
            BlobContent::Stream(stream) => Ok(stream),
            BlobContent::File(region) => {
                use std::io::Seek;
                use tokio::io::AsyncReadExt;
                let mut file = region.file;
                file.seek(io::SeekFrom::Start(region.offset))?;
                let file = tokio::fs::File::from_std(file).take(region.len);
                Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(
                    file, READ_CHUNK,
                )))
            }
        }
    }
}

/// The chunk size of streamed reads from files.
pub const READ_CHUNK: usize = 1024 * 1024;

/// Incremental hashing with the algorithm of a digest.
pub enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn new(algorithm: crate::types::DigestAlgorithm) -> Self {
        use sha2::Digest as _;
        match algorithm {
            crate::types::DigestAlgorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            crate::types::DigestAlgorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Digest {
        use sha2::Digest as _;
        match self {
            Hasher::Sha256(h) => Digest::from_parts(
                crate::types::DigestAlgorithm::Sha256,
                hex::encode(h.finalize()),
            ),
            Hasher::Sha512(h) => Digest::from_parts(
                crate::types::DigestAlgorithm::Sha512,
                hex::encode(h.finalize()),
            ),
        }
    }

    pub fn algorithm(&self) -> crate::types::DigestAlgorithm {
        match self {
            Hasher::Sha256(_) => crate::types::DigestAlgorithm::Sha256,
            Hasher::Sha512(_) => crate::types::DigestAlgorithm::Sha512,
        }
    }
}

/// Hashes a whole stream (the fallback when an upload's running hash was not kept).
pub async fn hash_stream(
    mut body: ByteStream,
    algorithm: crate::types::DigestAlgorithm,
) -> io::Result<Digest> {
    use futures::StreamExt;
    let mut hasher = Hasher::new(algorithm);
    while let Some(chunk) = body.next().await {
        hasher.update(&chunk?);
    }
    Ok(hasher.finish())
}

/// `Ok` when content that hashes to `actual` is what `expected` names: the one check every store
/// makes before content becomes visible.
pub(crate) fn verify(expected: &Digest, actual: &Digest) -> StorageResult<()> {
    if actual == expected {
        Ok(())
    } else {
        Err(StorageError::DigestMismatch {
            expected: expected.to_string(),
            actual: actual.to_string(),
        })
    }
}

/// The digest of in-memory content.
pub fn digest_of(algorithm: crate::types::DigestAlgorithm, bytes: &[u8]) -> Digest {
    let mut h = Hasher::new(algorithm);
    h.update(bytes);
    h.finish()
}
