//! Blob storage: content-addressed bytes, written through resumable uploads that are verified
//! against their digest and moved into place atomically. One trait, several backends, one
//! shared test suite (`tests.rs`).

pub mod fs;
#[cfg(test)]
mod tests;

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
    #[error("storage I/O error: {0}")]
    Io(#[from] io::Error),
}

pub type StorageResult<T> = Result<T, StorageError>;

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Creates an empty upload.
    async fn start_upload(&self, id: &str) -> StorageResult<()>;
    /// Appends `body` at `offset`, which must equal the upload's current size. Returns the new
    /// size. A failed body leaves the upload at its previous size.
    async fn append(&self, id: &str, offset: u64, body: ByteStream) -> StorageResult<u64>;
    /// The number of bytes received so far; `None` for an unknown upload.
    async fn upload_size(&self, id: &str) -> StorageResult<Option<u64>>;
    /// Verifies the upload against `digest`, makes it durable and moves it into place as that
    /// blob; the upload is gone afterwards. Returns the blob's size.
    async fn commit(&self, id: &str, digest: &Digest) -> StorageResult<u64>;
    async fn abort(&self, id: &str) -> StorageResult<()>;
    /// Uploads with their last modification, for expiry.
    async fn list_uploads(&self) -> StorageResult<Vec<(String, SystemTime)>>;

    /// The size of a stored blob.
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

/// The digest of in-memory content.
pub fn digest_of(algorithm: crate::types::DigestAlgorithm, bytes: &[u8]) -> Digest {
    let mut h = Hasher::new(algorithm);
    h.update(bytes);
    h.finish()
}
