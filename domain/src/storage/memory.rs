//! A blob store in memory, for tests and throwaway instances: the reference the shared suite
//! holds the other stores to. Not bounded; nothing survives the process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;

use super::{BlobStore, ByteStream, StorageError, StorageResult, UploadProgress};
use crate::types::Digest;

#[derive(Default)]
pub struct MemoryBlobStore {
    uploads: Mutex<HashMap<String, (Vec<u8>, SystemTime)>>,
    blobs: Mutex<HashMap<String, Bytes>>,
}

impl MemoryBlobStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn start_upload(&self, id: &str) -> StorageResult<UploadProgress> {
        self.uploads
            .lock()
            .expect("uploads")
            .insert(id.to_string(), (Vec::new(), SystemTime::now()));
        Ok(UploadProgress::default())
    }

    async fn append(
        &self,
        id: &str,
        progress: &UploadProgress,
        offset: u64,
        mut body: ByteStream,
    ) -> StorageResult<UploadProgress> {
        if !self.uploads.lock().expect("uploads").contains_key(id) {
            return Err(StorageError::UploadUnknown);
        }
        if offset != progress.size {
            return Err(StorageError::OutOfOrder {
                offset,
                size: progress.size,
            });
        }
        let mut received = Vec::new();
        while let Some(chunk) = body.next().await {
            received.extend_from_slice(&chunk.map_err(|e| StorageError::Body(e.to_string()))?);
        }
        let mut uploads = self.uploads.lock().expect("uploads");
        let (bytes, modified) = uploads.get_mut(id).ok_or(StorageError::UploadUnknown)?;
        bytes.truncate(progress.size as usize);
        bytes.extend_from_slice(&received);
        *modified = SystemTime::now();
        Ok(UploadProgress {
            size: bytes.len() as u64,
            ..UploadProgress::default()
        })
    }

    async fn commit(
        &self,
        id: &str,
        progress: &UploadProgress,
        digest: &Digest,
    ) -> StorageResult<u64> {
        let (mut bytes, _) = self
            .uploads
            .lock()
            .expect("uploads")
            .remove(id)
            .ok_or(StorageError::UploadUnknown)?;
        bytes.truncate(progress.size as usize);
        super::verify(digest, &super::digest_of(digest.algorithm(), &bytes))?;
        let size = bytes.len() as u64;
        self.blobs
            .lock()
            .expect("blobs")
            .entry(digest.to_string())
            .or_insert_with(|| Bytes::from(bytes));
        Ok(size)
    }

    async fn abort(&self, id: &str, _progress: Option<&UploadProgress>) -> StorageResult<()> {
        self.uploads
            .lock()
            .expect("uploads")
            .remove(id)
            .map(|_| ())
            .ok_or(StorageError::UploadUnknown)
    }

    async fn list_uploads(&self) -> StorageResult<Vec<(String, SystemTime)>> {
        Ok(self
            .uploads
            .lock()
            .expect("uploads")
            .iter()
            .map(|(id, (_, modified))| (id.clone(), *modified))
            .collect())
    }

    async fn list_blobs(&self) -> StorageResult<Vec<Digest>> {
        Ok(self
            .blobs
            .lock()
            .expect("blobs")
            .keys()
            .filter_map(|d| Digest::parse(d).ok())
            .collect())
    }

    async fn stat(&self, digest: &Digest) -> StorageResult<Option<u64>> {
        Ok(self
            .blobs
            .lock()
            .expect("blobs")
            .get(&digest.to_string())
            .map(|b| b.len() as u64))
    }

    async fn read(&self, digest: &Digest, range: Option<(u64, u64)>) -> StorageResult<ByteStream> {
        let bytes = self
            .blobs
            .lock()
            .expect("blobs")
            .get(&digest.to_string())
            .cloned()
            .ok_or(StorageError::BlobUnknown)?;
        let size = bytes.len() as u64;
        let bytes = match range {
            None => bytes,
            Some((first, last)) if first <= last && last < size => {
                bytes.slice(first as usize..=last as usize)
            }
            Some(_) => return Err(StorageError::RangeNotSatisfiable { size }),
        };
        Ok(Box::pin(futures::stream::iter([Ok(bytes)])))
    }

    async fn put(&self, digest: &Digest, bytes: Bytes) -> StorageResult<()> {
        super::verify(digest, &super::digest_of(digest.algorithm(), &bytes))?;
        self.blobs
            .lock()
            .expect("blobs")
            .entry(digest.to_string())
            .or_insert(bytes);
        Ok(())
    }

    async fn delete(&self, digest: &Digest) -> StorageResult<()> {
        self.blobs
            .lock()
            .expect("blobs")
            .remove(&digest.to_string())
            .map(|_| ())
            .ok_or(StorageError::BlobUnknown)
    }
}
