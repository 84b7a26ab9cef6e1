//! The suite every `BlobStore` passes: the filesystem and memory stores here, the S3 store
//! against a real SeaweedFS (started by `scripts/test.sh`, named by `BERTH_TEST_S3_ENDPOINT`).
//!
//! Each store is driven the way the registry drives it: the progress an append returns is the
//! only thing carried to the next call, and a second instance of the store (another replica)
//! may make that call.

use bytes::Bytes;
use futures::StreamExt;

use super::fs::FsBlobStore;
use super::memory::MemoryBlobStore;
use super::s3::{S3BlobStore, S3Settings, MIN_PART};
use super::{digest_of, BlobContent, BlobStore, ByteStream, StorageError, UploadProgress};
use crate::types::{Digest, DigestAlgorithm};

fn body(parts: &[&[u8]]) -> ByteStream {
    let items: Vec<std::io::Result<Bytes>> = parts
        .iter()
        .map(|p| Ok(Bytes::copy_from_slice(p)))
        .collect();
    Box::pin(futures::stream::iter(items))
}

/// `bytes` in chunks of `chunk` bytes, as a client streams them.
fn chunked(bytes: &[u8], chunk: usize) -> ByteStream {
    let items: Vec<std::io::Result<Bytes>> = bytes
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures::stream::iter(items))
}

fn failing_after(bytes: &[u8]) -> ByteStream {
    let items: Vec<std::io::Result<Bytes>> = vec![
        Ok(Bytes::copy_from_slice(bytes)),
        Err(std::io::Error::other("connection reset")),
    ];
    Box::pin(futures::stream::iter(items))
}

/// Deterministic bytes that do not repeat at part boundaries.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
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

/// What a store must do. `ids` makes upload ids unique per run (a shared bucket keeps them).
async fn suite(store: &dyn BlobStore, ids: &str) {
    let id = |n: &str| format!("{ids}-{n}");
    let content = b"hello, berth".as_slice();
    let digest = digest_of(DigestAlgorithm::Sha256, content);

    // Chunked upload, then commit.
    let p = store.start_upload(&id("u1")).await.unwrap();
    let p = store
        .append(&id("u1"), &p, 0, body(&[b"hello, "]))
        .await
        .unwrap();
    assert_eq!(p.size, 7);
    assert!(matches!(
        store.append(&id("u1"), &p, 3, body(&[b"x"])).await,
        Err(StorageError::OutOfOrder { offset: 3, size: 7 })
    ));
    let p = store
        .append(&id("u1"), &p, 7, body(&[b"ber", b"th"]))
        .await
        .unwrap();
    assert_eq!(p.size, 12);
    assert_eq!(
        store.stat(&digest).await.unwrap(),
        None,
        "invisible before commit"
    );
    assert_eq!(store.commit(&id("u1"), &p, &digest).await.unwrap(), 12);
    assert_eq!(store.stat(&digest).await.unwrap(), Some(12));
    assert!(store.list_blobs().await.unwrap().contains(&digest));
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

    // A failed body leaves the progress before it valid.
    let p = store.start_upload(&id("u2")).await.unwrap();
    let p = store
        .append(&id("u2"), &p, 0, body(&[b"abc"]))
        .await
        .unwrap();
    assert!(matches!(
        store
            .append(&id("u2"), &p, 3, failing_after(b"partial"))
            .await,
        Err(StorageError::Body(_))
    ));
    let abc_def = digest_of(DigestAlgorithm::Sha256, b"abcdef");
    let p = store
        .append(&id("u2"), &p, 3, body(&[b"def"]))
        .await
        .unwrap();
    assert_eq!(store.commit(&id("u2"), &p, &abc_def).await.unwrap(), 6);
    assert_eq!(read_all(store, &abc_def, None).await, b"abcdef");

    // A wrong digest stores nothing.
    let p = store.start_upload(&id("u3")).await.unwrap();
    let p = store
        .append(&id("u3"), &p, 0, body(&[b"not what was announced"]))
        .await
        .unwrap();
    let err = store
        .commit(
            &id("u3"),
            &p,
            &digest_of(DigestAlgorithm::Sha256, b"something else"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::DigestMismatch { .. }));
    let sent = digest_of(DigestAlgorithm::Sha256, b"not what was announced");
    assert_eq!(store.stat(&sent).await.unwrap(), None);

    // sha512 digests (no running hash: the store hashes what it holds).
    let p = store.start_upload(&id("u4")).await.unwrap();
    let p = store
        .append(&id("u4"), &p, 0, body(&[b"five twelve"]))
        .await
        .unwrap();
    let d512 = digest_of(DigestAlgorithm::Sha512, b"five twelve");
    assert_eq!(store.commit(&id("u4"), &p, &d512).await.unwrap(), 11);
    assert_eq!(read_all(store, &d512, None).await, b"five twelve");

    // Progress without a running hash (an older session): verified by reading back.
    let p = store.start_upload(&id("u4b")).await.unwrap();
    let mut p = store
        .append(&id("u4b"), &p, 0, body(&[b"unhashed"]))
        .await
        .unwrap();
    p.sha256 = None;
    let unhashed = digest_of(DigestAlgorithm::Sha256, b"unhashed");
    assert_eq!(store.commit(&id("u4b"), &p, &unhashed).await.unwrap(), 8);
    let wrong = UploadProgress {
        sha256: None,
        ..store
            .append(
                &id("u4c"),
                &store.start_upload(&id("u4c")).await.unwrap(),
                0,
                body(&[b"other"]),
            )
            .await
            .unwrap()
    };
    assert!(matches!(
        store.commit(&id("u4c"), &wrong, &unhashed).await,
        Err(StorageError::DigestMismatch { .. })
    ));
    assert_eq!(read_all(store, &unhashed, None).await, b"unhashed");

    // The empty blob.
    let empty = digest_of(DigestAlgorithm::Sha256, b"");
    let p = store.start_upload(&id("u0")).await.unwrap();
    assert_eq!(store.commit(&id("u0"), &p, &empty).await.unwrap(), 0);
    assert_eq!(store.stat(&empty).await.unwrap(), Some(0));
    assert_eq!(read_all(store, &empty, None).await, b"");

    // The same content twice is stored once; put verifies.
    let p = store.start_upload(&id("u5")).await.unwrap();
    let p = store
        .append(&id("u5"), &p, 0, body(&[content]))
        .await
        .unwrap();
    assert_eq!(store.commit(&id("u5"), &p, &digest).await.unwrap(), 12);
    assert_eq!(read_all(store, &digest, None).await, content);
    let abc = digest_of(DigestAlgorithm::Sha256, b"abc");
    store.put(&abc, Bytes::from_static(b"abc")).await.unwrap();
    store.put(&abc, Bytes::from_static(b"abc")).await.unwrap();
    assert_eq!(read_all(store, &abc, None).await, b"abc");
    assert!(matches!(
        store.put(&abc, Bytes::from_static(b"abd")).await,
        Err(StorageError::DigestMismatch { .. })
    ));

    // Unknown uploads and blobs; abort; delete.
    assert!(matches!(
        store
            .commit("../../etc", &UploadProgress::default(), &digest)
            .await,
        Err(StorageError::UploadUnknown)
    ));
    let p = store.start_upload(&id("u6")).await.unwrap();
    let p = store
        .append(&id("u6"), &p, 0, body(&[b"to be cancelled"]))
        .await
        .unwrap();
    assert_eq!(
        store
            .list_uploads()
            .await
            .unwrap()
            .iter()
            .filter(|(u, _)| *u == id("u6"))
            .count(),
        1
    );
    store.abort(&id("u6"), Some(&p)).await.unwrap();
    assert_eq!(
        store
            .list_uploads()
            .await
            .unwrap()
            .iter()
            .filter(|(u, _)| *u == id("u6"))
            .count(),
        0
    );
    store.delete(&digest).await.unwrap();
    assert_eq!(store.stat(&digest).await.unwrap(), None);
    assert!(!store.list_blobs().await.unwrap().contains(&digest));
    assert!(matches!(
        store.read(&digest, None).await,
        Err(StorageError::BlobUnknown)
    ));
    assert!(matches!(
        store.delete(&digest).await,
        Err(StorageError::BlobUnknown)
    ));
}

/// A blob larger than several parts, sent in uneven requests (some far below S3's minimum part
/// size, one of a few bytes), alternating between two instances of the store.
async fn large_blob_across_instances(a: &dyn BlobStore, b: &dyn BlobStore, ids: &str) {
    let upload = format!("{ids}-large");
    let content = pattern(3 * MIN_PART + 12_345, 7);
    let digest = digest_of(DigestAlgorithm::Sha256, &content);
    let cuts = [
        0,
        100,
        103,
        MIN_PART - 1,
        MIN_PART + 10,
        2 * MIN_PART + 77,
        content.len(),
    ];
    let mut progress = a.start_upload(&upload).await.unwrap();
    for (i, window) in cuts.windows(2).enumerate() {
        let store = if i % 2 == 0 { a } else { b };
        let (from, to) = (window[0], window[1]);
        progress = store
            .append(
                &upload,
                &progress,
                from as u64,
                chunked(&content[from..to], 65_536 + i),
            )
            .await
            .unwrap();
        assert_eq!(progress.size, to as u64);
        if i == 2 {
            // A request that dies half-way through a part changes nothing.
            let half = MIN_PART / 2;
            assert!(b
                .append(
                    &upload,
                    &progress,
                    to as u64,
                    failing_after(&pattern(half, 99))
                )
                .await
                .is_err());
        }
    }
    assert_eq!(
        b.commit(&upload, &progress, &digest).await.unwrap(),
        content.len() as u64
    );
    assert_eq!(a.stat(&digest).await.unwrap(), Some(content.len() as u64));
    let whole = read_all(a, &digest, None).await;
    assert!(whole == content, "the blob reads back as it was sent");
    let (first, last) = (MIN_PART as u64 - 5, MIN_PART as u64 + 5);
    assert_eq!(
        read_all(b, &digest, Some((first, last))).await,
        &content[first as usize..=last as usize]
    );
    // Across the S3 store's download ranges (1 MiB + 7 bytes in this suite).
    let (first, last) = (1_048_580u64, 3_145_800u64);
    assert!(
        read_all(a, &digest, Some((first, last))).await == content[first as usize..=last as usize]
    );
    b.delete(&digest).await.unwrap();
    assert_eq!(b.stat(&digest).await.unwrap(), None);
}

#[tokio::test]
async fn filesystem_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path()).unwrap();
    suite(&store, "fs").await;
    let other = FsBlobStore::new(dir.path()).unwrap();
    large_blob_across_instances(&store, &other, "fs").await;
}

#[tokio::test]
async fn memory_store_passes_the_suite() {
    suite(&MemoryBlobStore::new(), "mem").await;
}

/// The SeaweedFS the test scripts started (`scripts/seaweedfs.sh`).
fn s3_settings(root: &str) -> S3Settings {
    let endpoint = std::env::var("BERTH_TEST_S3_ENDPOINT").expect(
        "BERTH_TEST_S3_ENDPOINT names the S3 service the store suite runs against; \
         ./scripts/test.sh starts SeaweedFS and sets it",
    );
    let mut settings = S3Settings::new(
        std::env::var("BERTH_TEST_S3_BUCKET").unwrap_or_else(|_| "berth-test".into()),
    );
    settings.endpoint = Some(endpoint);
    settings.access_key = std::env::var("BERTH_TEST_S3_ACCESS_KEY").ok();
    settings.secret_key = std::env::var("BERTH_TEST_S3_SECRET_KEY").ok();
    settings.root = root.into();
    settings.part_size = MIN_PART;
    // Downloads of the suite's larger blobs cross several ranges.
    settings.read_range = 1024 * 1024 + 7;
    settings
}

#[tokio::test]
async fn s3_store_passes_the_suite() {
    let root = format!("suite-{}", uuid::Uuid::new_v4());
    let store = S3BlobStore::new(s3_settings(&root)).unwrap();
    store.check().await.expect("the bucket is reachable");
    suite(&store, "s3").await;
    let other = S3BlobStore::new(s3_settings(&root)).unwrap();
    large_blob_across_instances(&store, &other, "s3").await;
}

#[tokio::test]
async fn s3_store_refuses_wrong_credentials_and_a_missing_bucket() {
    let mut wrong = s3_settings("refusals");
    wrong.secret_key = Some("not-the-secret".into());
    let err = S3BlobStore::new(wrong).unwrap().check().await.unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err}");
    let mut missing = s3_settings("refusals");
    missing.bucket = format!("no-such-bucket-{}", &uuid::Uuid::new_v4().to_string()[..8]);
    let err = S3BlobStore::new(missing)
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no-such-bucket"),
        "the error names the bucket: {err}"
    );
}

#[tokio::test]
async fn s3_an_upload_completed_but_not_linked_completes_when_retried() {
    let root = format!("relink-{}", uuid::Uuid::new_v4());
    let store = S3BlobStore::new(s3_settings(&root)).unwrap();
    // One part and a tail, so the multipart upload is completed by the commit.
    let content = pattern(MIN_PART + 1000, 5);
    let digest = super::digest_of(crate::types::DigestAlgorithm::Sha256, &content);
    let id = "relink-upload";
    let start = store.start_upload(id).await.unwrap();
    let progress = store
        .append(id, &start, 0, body(&[&content]))
        .await
        .unwrap();
    store.commit(id, &progress, &digest).await.unwrap();
    // As if the link write had failed after S3 completed the upload: the registry keeps the
    // session and the client retries the commit with the same recorded progress.
    store.drop_link(&digest).await;
    assert_eq!(store.stat(&digest).await.unwrap(), None);
    assert_eq!(
        store.commit(id, &progress, &digest).await.unwrap(),
        content.len() as u64
    );
    assert!(read_all(&store, &digest, None).await == content);
}
