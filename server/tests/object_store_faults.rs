//! Object storage against real SeaweedFS: faults on an instance of the test's own (started and
//! killed here through `scripts/seaweedfs.sh`) — the store going away in the middle of an
//! upload is a 503 with OCI error JSON and `Retry-After`, nothing half-written is visible,
//! `/readyz` says so, and the upload completes once the store is back; a Berth whose bucket is
//! missing, whose credentials are wrong or whose endpoint is unreachable refuses to start,
//! saying which — and downloads redirected to presigned URLs (`storage.s3.redirect`).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::process::pattern;
use common::{sha, TestApp, ADMIN_PASSWORD};

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));

struct Weed {
    pid: String,
    endpoint: String,
    ports: String,
}

impl Weed {
    fn start(dir: &Path, bucket: &str, ports: Option<&str>) -> Self {
        let scripts = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts");
        let script = format!(
            "source {scripts}/lib.sh; source {scripts}/seaweedfs.sh; \
             start_seaweedfs {} {bucket} '{}' >&2; echo \"$WEED_PID|$WEED_S3|$WEED_PORTS\"",
            dir.display(),
            ports.unwrap_or("")
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(out.status.success(), "SeaweedFS did not start");
        let line = String::from_utf8(out.stdout).unwrap();
        let mut fields = line.trim().split('|');
        Weed {
            pid: fields.next().unwrap().to_string(),
            endpoint: fields.next().unwrap().to_string(),
            ports: fields.next().unwrap().to_string(),
        }
    }

    fn kill(&self) {
        let _ = Command::new("kill").args(["-9", &self.pid]).status();
        for _ in 0..100 {
            if Command::new("kill")
                .args(["-0", &self.pid])
                .stderr(Stdio::null())
                .status()
                .map(|s| !s.success())
                .unwrap_or(true)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_object_store_going_away_mid_upload_is_a_503_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let weed = Weed::start(dir.path(), "faults", None);
    let endpoint = weed.endpoint.clone();
    let app = TestApp::with_config(move |c| {
        let mut s3 = common::s3_storage("faults");
        s3.bucket = "faults".into();
        s3.regionendpoint = Some(endpoint);
        c.storage.s3 = Some(s3);
    })
    .await;
    app.project("lib").await;
    let blob = pattern(9 << 20, 1);
    let digest = sha(&blob);
    let first = 6 << 20;

    let res = app
        .send_bytes(
            Method::POST,
            "/v2/lib/app/blobs/uploads/",
            ADMIN,
            vec![],
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    let location = res.headers["location"].to_str().unwrap().to_string();
    let res = app
        .send_bytes(
            Method::PATCH,
            &location,
            ADMIN,
            blob[..first].to_vec(),
            &[("content-range", &format!("0-{}", first - 1))],
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);

    // The object store goes away.
    weed.kill();
    let res = app
        .send_bytes(
            Method::PATCH,
            &location,
            ADMIN,
            blob[first..].to_vec(),
            &[("content-range", &format!("{first}-{}", blob.len() - 1))],
        )
        .await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    assert_eq!(
        res.json()["errors"][0]["code"],
        "UNAVAILABLE",
        "{}",
        res.body
    );
    assert!(res.headers.contains_key("retry-after"));
    let sep = if location.contains('?') { '&' } else { '?' };
    let res = app
        .send_bytes(
            Method::PUT,
            &format!("{location}{sep}digest={digest}"),
            ADMIN,
            vec![],
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    let res = app
        .send_bytes(
            Method::HEAD,
            &format!("/v2/lib/app/blobs/{digest}"),
            ADMIN,
            vec![],
            &[],
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::NOT_FOUND,
        "nothing half-written is visible"
    );
    let res = app.get("/readyz").await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        res.json()["checks"]["blob_store"]["ok"],
        false,
        "{}",
        res.body
    );

    // Back where it was: the upload stands where its last completed request left it.
    let weed = Weed::start(dir.path(), "faults", Some(&weed.ports));
    let res = app.get("/readyz").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = app
        .send_bytes(Method::GET, &location, ADMIN, vec![], &[])
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert_eq!(
        res.headers["range"].to_str().unwrap(),
        format!("0-{}", first - 1)
    );
    let res = app
        .send_bytes(
            Method::PATCH,
            &location,
            ADMIN,
            blob[first..].to_vec(),
            &[("content-range", &format!("{first}-{}", blob.len() - 1))],
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    let res = app
        .send_bytes(
            Method::PUT,
            &format!("{location}{sep}digest={digest}"),
            ADMIN,
            vec![],
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let res = app
        .send_bytes(
            Method::GET,
            &format!("/v2/lib/app/blobs/{digest}"),
            ADMIN,
            vec![],
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    drop(weed);
}

/// Starts the real binary with `storage.s3` as given and returns what it printed when it gave
/// up; panics if it became ready instead.
async fn refused_start(s3: serde_json::Value) -> String {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("berth.yml");
    let yaml = serde_json::json!({
        "http": {"port": port, "bind": "127.0.0.1"},
        "data_dir": dir.path().join("data"),
        "storage": {"s3": s3},
    });
    std::fs::write(&config, serde_yaml::to_string(&yaml).unwrap()).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("--config")
        .arg(&config)
        .env("BERTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("BERTH_LOG__LEVEL", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()),
    )
    .await
    .expect("berth gave up within 90 s")
    .unwrap();
    assert!(!out.status.success(), "berth started although {yaml}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_wrong_credentials_or_no_endpoint_stop_the_start_with_a_message() {
    let var = |name: &str| std::env::var(name).unwrap();
    let good = serde_json::json!({
        "bucket": var("BERTH_TEST_S3_BUCKET"),
        "regionendpoint": var("BERTH_TEST_S3_ENDPOINT"),
        "accesskey": var("BERTH_TEST_S3_ACCESS_KEY"),
        "secretkey": var("BERTH_TEST_S3_SECRET_KEY"),
        "rootdirectory": "start-checks",
    });
    let mut missing = good.clone();
    missing["bucket"] = "no-such-bucket-here".into();
    let text = refused_start(missing).await;
    assert!(
        text.contains("the blob store cannot be used") && text.contains("no-such-bucket-here"),
        "{text}"
    );

    let mut wrong = good.clone();
    wrong["secretkey"] = "not-the-secret-key".into();
    let text = refused_start(wrong).await;
    assert!(text.contains("the blob store cannot be used"), "{text}");
    assert!(
        !text.contains("not-the-secret-key"),
        "the secret stays out of the message"
    );

    let mut unreachable = good;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    unreachable["regionendpoint"] = format!("http://127.0.0.1:{closed}").into();
    let text = refused_start(unreachable).await;
    assert!(
        text.contains("the blob store cannot be used") && text.contains(&closed.to_string()),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_redirect_to_a_presigned_url_after_the_same_checks() {
    let app = TestApp::with_config(|c| {
        let mut s3 = common::s3_storage(&format!("redirect-{}", uuid::Uuid::new_v4().simple()));
        s3.redirect = true;
        c.storage.s3 = Some(s3);
    })
    .await;
    app.project("lib").await;
    let blob = pattern(200_000, 9);
    let digest = app.push_blob("lib/app", &blob).await;
    let path = format!("/v2/lib/app/blobs/{digest}");

    // Anonymous: refused before any redirect (the project is private).
    let res = app.send_bytes(Method::GET, &path, None, vec![], &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(!res.headers.contains_key("location"));
    // HEAD answers itself.
    let res = app
        .send_bytes(Method::HEAD, &path, ADMIN, vec![], &[])
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.headers["content-length"],
        blob.len().to_string().as_str()
    );

    let res = app.send_bytes(Method::GET, &path, ADMIN, vec![], &[]).await;
    assert_eq!(res.status, StatusCode::TEMPORARY_REDIRECT, "{}", res.body);
    assert_eq!(res.headers["docker-content-digest"], digest.as_str());
    let url = res.headers["location"].to_str().unwrap().to_string();
    assert!(url.contains("X-Amz-Signature="), "a presigned URL: {url}");
    // The object store serves the bytes, and ranges, with no credentials of the client's.
    let http = reqwest::Client::new();
    let got = http.get(&url).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(sha(&got.bytes().await.unwrap()), digest);
    let got = http
        .get(&url)
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 206);
    assert_eq!(got.bytes().await.unwrap().as_ref(), &blob[10..20]);
    // An unknown blob is a 404 from Berth, not a redirect to nothing.
    let res = app
        .send_bytes(
            Method::GET,
            &format!("/v2/lib/app/blobs/{}", sha(b"never pushed")),
            ADMIN,
            vec![],
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}
