//! The suite every `BlobStore` passes (run here for the filesystem store).

use bytes::Bytes;
use futures::StreamExt;

use super::fs::FsBlobStore;
use super::{digest_of, BlobContent, BlobStore, ByteStream, StorageError};
use crate::types::{Digest, DigestAlgorithm};

fn body(parts: &[&'static [u8]]) -> ByteStream {
    let items: Vec<std::io::Result<Bytes>> =
        parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
    Box::pin(futures::stream::iter(items))
}

fn failing_body() -> ByteStream {
    let items: Vec<std::io::Result<Bytes>> = vec![
        Ok(Bytes::from_static(b"partial")),
        Err(std::io::Error::other("connection reset")),
    ];
    Box::pin(futures::stream::iter(items))
}

async fn read_all(store: &dyn BlobStore, d: &Digest, range: Option<(u64, u64)>) -> Vec<u8> {
    let mut s = store.read(d, range).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

/// The bytes `open` names, read the way the server's zero-copy path reads them: a file region by
/// its offset and length, a stream to its end.
async fn open_all(store: &dyn BlobStore, d: &Digest, range: Option<(u64, u64)>) -> Vec<u8> {
    match store.open(d, range).await.unwrap() {
        BlobContent::File(region) => {
            use std::os::unix::fs::FileExt;
            let mut out = vec![0; region.len as usize];
            region.file.read_exact_at(&mut out, region.offset).unwrap();
            out
        }
        stream => {
            let mut s = stream.into_stream().unwrap();
            let mut out = Vec::new();
            while let Some(chunk) = s.next().await {
                out.extend_from_slice(&chunk.unwrap());
            }
            out
        }
    }
}

async fn suite(store: &dyn BlobStore) {
    let content = b"hello, berth".as_slice();
    let digest = digest_of(DigestAlgorithm::Sha256, content);

    // Chunked upload, then commit.
    store.start_upload("u1").await.unwrap();
    assert_eq!(store.append("u1", 0, body(&[b"hello, "])).await.unwrap(), 7);
    assert!(matches!(
        store.append("u1", 3, body(&[b"x"])).await,
        Err(StorageError::OutOfOrder { offset: 3, size: 7 })
    ));
    assert_eq!(store.upload_size("u1").await.unwrap(), Some(7));
    assert_eq!(
        store.append("u1", 7, body(&[b"ber", b"th"])).await.unwrap(),
        12
    );
    assert_eq!(
        store.stat(&digest).await.unwrap(),
        None,
        "invisible before commit"
    );
    assert_eq!(store.commit("u1", &digest).await.unwrap(), 12);
    assert_eq!(store.upload_size("u1").await.unwrap(), None);
    assert_eq!(store.stat(&digest).await.unwrap(), Some(12));
    assert_eq!(read_all(store, &digest, None).await, content);
    assert_eq!(read_all(store, &digest, Some((7, 11))).await, b"berth");
    assert_eq!(open_all(store, &digest, None).await, content);
    assert_eq!(open_all(store, &digest, Some((7, 11))).await, b"berth");
    assert_eq!(open_all(store, &digest, Some((0, 0))).await, b"h");
    assert!(matches!(
        store.open(&digest, Some((5, 12))).await,
        Err(StorageError::RangeNotSatisfiable { size: 12 })
    ));
    assert!(matches!(
        store.read(&digest, Some((5, 12))).await,
        Err(StorageError::RangeNotSatisfiable { size: 12 })
    ));

    // A failed body leaves the upload as it was.
    store.start_upload("u2").await.unwrap();
    store.append("u2", 0, body(&[b"abc"])).await.unwrap();
    assert!(matches!(
        store.append("u2", 3, failing_body()).await,
        Err(StorageError::Body(_))
    ));
    assert_eq!(store.upload_size("u2").await.unwrap(), Some(3));
    let abc = digest_of(DigestAlgorithm::Sha256, b"abc");
    assert_eq!(store.commit("u2", &abc).await.unwrap(), 3);

    // A wrong digest stores nothing.
    store.start_upload("u3").await.unwrap();
    store
        .append("u3", 0, body(&[b"not what was announced"]))
        .await
        .unwrap();
    let err = store
        .commit("u3", &digest_of(DigestAlgorithm::Sha256, b"something else"))
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::DigestMismatch { .. }));
    assert_eq!(
        store
            .stat(&digest_of(
                DigestAlgorithm::Sha256,
                b"not what was announced"
            ))
            .await
            .unwrap(),
        None
    );

    // sha512 digests.
    store.start_upload("u4").await.unwrap();
    store
        .append("u4", 0, body(&[b"five twelve"]))
        .await
        .unwrap();
    let d512 = digest_of(DigestAlgorithm::Sha512, b"five twelve");
    assert_eq!(store.commit("u4", &d512).await.unwrap(), 11);
    assert_eq!(read_all(store, &d512, None).await, b"five twelve");

    // The same content twice is stored once; put verifies.
    store.start_upload("u5").await.unwrap();
    store.append("u5", 0, body(&[content])).await.unwrap();
    assert_eq!(store.commit("u5", &digest).await.unwrap(), 12);
    store.put(&abc, Bytes::from_static(b"abc")).await.unwrap();
    assert!(matches!(
        store.put(&abc, Bytes::from_static(b"abd")).await,
        Err(StorageError::DigestMismatch { .. })
    ));

    // Unknown uploads and blobs; abort; delete.
    assert!(matches!(
        store.append("nope", 0, body(&[b"x"])).await,
        Err(StorageError::UploadUnknown)
    ));
    assert!(matches!(
        store.commit("../../etc", &digest).await,
        Err(StorageError::UploadUnknown)
    ));
    store.start_upload("u6").await.unwrap();
    assert_eq!(
        store
            .list_uploads()
            .await
            .unwrap()
            .iter()
            .filter(|(id, _)| id == "u6")
            .count(),
        1
    );
    store.abort("u6").await.unwrap();
    assert_eq!(store.upload_size("u6").await.unwrap(), None);
    store.delete(&digest).await.unwrap();
    assert_eq!(store.stat(&digest).await.unwrap(), None);
    assert!(matches!(
        store.read(&digest, None).await,
        Err(StorageError::BlobUnknown)
    ));
}

#[tokio::test]
async fn filesystem_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path()).unwrap();
    suite(&store).await;
}

#[tokio::test]
async fn uploads_resume_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let content = b"first half|second half";
    {
        let store = FsBlobStore::new(dir.path()).unwrap();
        store.start_upload("r1").await.unwrap();
        store
            .append("r1", 0, body(&[b"first half|"]))
            .await
            .unwrap();
    }
    // A new process: the running hash is gone, the bytes are not.
    let store = FsBlobStore::new(dir.path()).unwrap();
    assert_eq!(store.upload_size("r1").await.unwrap(), Some(11));
    store
        .append("r1", 11, body(&[b"second half"]))
        .await
        .unwrap();
    let d = digest_of(DigestAlgorithm::Sha256, content);
    assert_eq!(store.commit("r1", &d).await.unwrap(), content.len() as u64);
    assert_eq!(read_all(&store, &d, None).await, content);
}
