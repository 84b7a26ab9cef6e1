//! Crash safety: the real binary killed with SIGKILL in the middle of a large upload and in the
//! middle of a manifest PUT. After a restart the upload resumes (or is cleanly unknown), nothing
//! partial is readable, and everything committed before is intact. On the filesystem store, or
//! on S3 (SeaweedFS) when the run keeps blobs there (`BERTH_TEST_BLOB_STORE=s3`).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::process::{free_port, kill, stalled_body, wait_ready};
use common::sha;

const PASSWORD: &str = "Crash-Test-Admin-1";

/// With object storage under test, a configuration file naming the test's bucket (the same one
/// across restarts).
fn config_file(dir: &Path) -> Option<std::path::PathBuf> {
    let path = dir.join("berth.yml");
    if path.exists() {
        return Some(path);
    }
    let mut s3 = serde_json::to_value(common::test_object_storage()?).unwrap();
    s3["secretkey"] = std::env::var("BERTH_TEST_S3_SECRET_KEY").unwrap().into();
    let yaml = serde_json::json!({"storage": {"s3": s3}});
    std::fs::write(&path, serde_yaml::to_string(&yaml).unwrap()).unwrap();
    Some(path)
}

fn start(data: &Path, port: u16) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    if let Some(config) = config_file(data) {
        cmd.arg("--config").arg(config);
    }
    cmd.env("BERTH_DATA_DIR", data)
        .env("BERTH_HTTP__PORT", port.to_string())
        .env("BERTH_HTTP__BIND", "127.0.0.1")
        .env("BERTH_ADMIN_PASSWORD", PASSWORD)
        .env("BERTH_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_upload_and_manifest_put_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut server = start(dir.path(), port);
    wait_ready(&base).await;

    let res = http
        .post(format!("{base}/api/v2.0/projects"))
        .basic_auth("admin", Some(PASSWORD))
        .json(&serde_json::json!({"project_name": "lib"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    // Committed before the crashes: a blob and a manifest tagged v1.
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let config_digest = sha(&config);
    let res = http
        .post(format!(
            "{base}/v2/lib/app/blobs/uploads/?digest={config_digest}"
        ))
        .basic_auth("admin", Some(PASSWORD))
        .body(config.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let m1 = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()}, "layers": []})).unwrap();
    let res = http
        .put(format!("{base}/v2/lib/app/manifests/v1"))
        .basic_auth("admin", Some(PASSWORD))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(m1.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    // A large upload, killed mid-stream.
    let big: Vec<u8> = (0..(48u32 << 20))
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let big_digest = sha(&big);
    let res = http
        .post(format!("{base}/v2/lib/app/blobs/uploads/"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let patch = http
        .patch(format!("{base}{location}"))
        .basic_auth("admin", Some(PASSWORD))
        .body(stalled_body(big[..(24 << 20)].to_vec()))
        .send();
    let patch = tokio::spawn(patch);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    kill(&mut server);
    assert!(
        patch.await.unwrap().is_err(),
        "the PATCH died with the server"
    );

    let mut server = start(dir.path(), port);
    wait_ready(&base).await;
    // Nothing partial is readable.
    let res = http
        .head(format!("{base}/v2/lib/app/blobs/{big_digest}"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // The upload resumes from what was kept, or is cleanly unknown and starts over.
    let res = http
        .get(format!("{base}{location}"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    let (location, kept) = match res.status().as_u16() {
        204 => {
            let range = res.headers()["range"].to_str().unwrap().to_string();
            let end: u64 = range.split('-').nth(1).unwrap().parse().unwrap();
            let kept = if range == "0-0" { 0 } else { end + 1 };
            (location, kept)
        }
        404 => {
            let res = http
                .post(format!("{base}/v2/lib/app/blobs/uploads/"))
                .basic_auth("admin", Some(PASSWORD))
                .send()
                .await
                .unwrap();
            (res.headers()["location"].to_str().unwrap().to_string(), 0)
        }
        other => panic!("unexpected upload status {other}"),
    };
    assert!(kept <= 24 << 20);
    eprintln!("upload kept {kept} bytes across the crash");
    let res = http
        .patch(format!("{base}{location}"))
        .basic_auth("admin", Some(PASSWORD))
        .header("content-range", format!("{kept}-{}", big.len() - 1))
        .body(big[kept as usize..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let res = http
        .put(format!("{base}{location}?digest={big_digest}"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let got = http
        .get(format!("{base}/v2/lib/app/blobs/{big_digest}"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(got.as_ref() == big.as_slice(), "the resumed blob is intact");

    // A manifest PUT, killed while its body is arriving.
    let m2 = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": big_digest, "size": big.len()}]})).unwrap();
    let put = http
        .put(format!("{base}/v2/lib/app/manifests/v2"))
        .basic_auth("admin", Some(PASSWORD))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .header("content-length", m2.len().to_string())
        .body(stalled_body(m2[..m2.len() / 2].to_vec()))
        .send();
    let put = tokio::spawn(put);
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill(&mut server);
    assert!(put.await.unwrap().is_err());

    let mut server = start(dir.path(), port);
    wait_ready(&base).await;
    let res = http
        .get(format!("{base}/v2/lib/app/manifests/v2"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "the interrupted manifest is not visible");
    let res = http
        .get(format!("{base}/v2/lib/app/manifests/{}", sha(&m2)))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = http
        .get(format!("{base}/v2/lib/app/manifests/v1"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.bytes().await.unwrap().as_ref(),
        m1.as_slice(),
        "what was committed before is intact"
    );
    let res = http
        .get(format!("{base}/v2/lib/app/blobs/{config_digest}"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.bytes().await.unwrap().as_ref(), config.as_slice());
    kill(&mut server);
    if common::object_storage_under_test() {
        assert!(
            !dir.path().join("blobs").exists(),
            "with object storage nothing of a blob is on the local disk"
        );
    }
}
