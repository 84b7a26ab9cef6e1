//! The outbox across processes: the real binary killed with SIGKILL right after a push still
//! scans that push after a restart, and two processes on one database share the scan-on-push
//! consumer so that every push is scanned exactly once (on PostgreSQL: a second process on one
//! SQLite file is refused at start). The restart test runs on the pass's backend.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use berth_server::config::Config;
use common::process::{free_port, kill, wait_ready};
use common::sha;
use domain::entities::{event, event_consumer, scan};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde_json::json;

const PASSWORD: &str = "Outbox-Test-Admin-1";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn start(data: &Path, database: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .env("BERTH_DATA_DIR", data)
        .env("BERTH_DATABASE__URL", database)
        .env("BERTH_HTTP__PORT", port.to_string())
        .env("BERTH_HTTP__BIND", "127.0.0.1")
        .env("BERTH_ADMIN_PASSWORD", PASSWORD)
        .env("BERTH_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A database for this test: a new PostgreSQL database, or SQLite in `data`.
async fn database_for(data: &Path) -> String {
    let config = Config {
        data_dir: data.to_path_buf(),
        ..Config::default()
    };
    common::test_database_url(&config).await
}

async fn open(url: &str) -> DatabaseConnection {
    domain::db::connect(url, Default::default()).await.unwrap()
}

async fn create_scanned_project(http: &reqwest::Client, base: &str, name: &str) {
    let res = http
        .post(format!("{base}/api/v2.0/projects"))
        .basic_auth("admin", Some(PASSWORD))
        .json(&json!({"project_name": name, "metadata": {"auto_scan": "true"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

async fn push_blob(http: &reqwest::Client, base: &str, repo: &str, bytes: Vec<u8>) -> String {
    let d = sha(&bytes);
    let res = http
        .post(format!("{base}/v2/{repo}/blobs/uploads/?digest={d}"))
        .basic_auth("admin", Some(PASSWORD))
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    d
}

/// Pushes the blobs of a one-layer image; returns its manifest.
async fn image(http: &reqwest::Client, base: &str, repo: &str, seed: &str) -> Vec<u8> {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
    let layer = common::tar_layer(&[("etc/seed", seed.as_bytes())]);
    let layer_len = layer.len();
    let cd = push_blob(http, base, repo, config.clone().into_bytes()).await;
    let ld = push_blob(http, base, repo, layer).await;
    serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": layer_len}],
    }))
    .unwrap()
}

async fn put_manifest(http: &reqwest::Client, base: &str, repo: &str, tag: &str, m: &[u8]) {
    let res = http
        .put(format!("{base}/v2/{repo}/manifests/{tag}"))
        .basic_auth("admin", Some(PASSWORD))
        .header("content-type", OCI_MANIFEST)
        .body(m.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

/// The `scan.completed` events of the artifact with `digest`.
async fn completions(db: &DatabaseConnection, digest: &str) -> usize {
    event::Entity::find()
        .filter(event::Column::Kind.eq("scan.completed"))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.subject.ends_with(&format!("@{digest}")))
        .count()
}

async fn wait_scanned(db: &DatabaseConnection, digests: &[String]) {
    for _ in 0..600 {
        let mut done = 0;
        for d in digests {
            if completions(db, d).await > 0 {
                done += 1;
            }
        }
        if done == digests.len() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not every push was scanned within a minute");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_acknowledged_just_before_sigkill_is_scanned_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_for(dir.path()).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut server = start(dir.path(), &url, port);
    wait_ready(&base).await;
    create_scanned_project(&http, &base, "crash").await;
    let manifest = image(&http, &base, "crash/app", "before the crash").await;
    let digest = sha(&manifest);

    // A replica that died holds the scan-on-push lease for a few more seconds: this process
    // cannot consume the push's event before it is killed.
    let db = open(&url).await;
    let until = chrono::Utc::now() + chrono::Duration::seconds(4);
    let row = event_consumer::ActiveModel {
        name: Set("scan-on-push".into()),
        cursor: Set(0),
        owner: Set(Some("a-replica-that-died".into())),
        lease_until: Set(Some(until)),
        updated_at: Set(chrono::Utc::now()),
    };
    if event_consumer::Entity::find_by_id("scan-on-push")
        .one(&db)
        .await
        .unwrap()
        .is_some()
    {
        let mut row = row;
        row.cursor = sea_orm::ActiveValue::NotSet;
        event_consumer::Entity::update(row).exec(&db).await.unwrap();
    } else {
        event_consumer::Entity::insert(row).exec(&db).await.unwrap();
    }

    put_manifest(&http, &base, "crash/app", "v1", &manifest).await;
    kill(&mut server);

    // The push is committed with its event, and nothing has queued its scan yet.
    let pushed = event::Entity::find()
        .filter(event::Column::Kind.eq("artifact.push"))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(pushed.len(), 1, "{pushed:#?}");
    let cursor = event_consumer::Entity::find_by_id("scan-on-push")
        .one(&db)
        .await
        .unwrap()
        .unwrap()
        .cursor;
    assert!(
        cursor < pushed[0].id,
        "the event was not consumed before the kill"
    );
    assert_eq!(scan::Entity::find().all(&db).await.unwrap().len(), 0);

    // After the restart (and the dead replica's lease), the push is scanned, once.
    let mut server = start(dir.path(), &url, port);
    wait_ready(&base).await;
    wait_scanned(&db, std::slice::from_ref(&digest)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(completions(&db, &digest).await, 1);
    let jobs = scan::Entity::find().all(&db).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(
        (jobs[0].status.as_str(), jobs[0].trigger.as_str()),
        ("success", "push")
    );
    kill(&mut server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_scan_every_push_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    // Several processes on one database need PostgreSQL, whatever this run's backend.
    let url = common::postgres_database().await;
    let ports = [free_port(), free_port()];
    let bases: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let http = reqwest::Client::new();
    // The first start migrates and creates the administrator; the second joins it.
    let mut first = start(dir.path(), &url, ports[0]);
    wait_ready(&bases[0]).await;
    let mut second = start(dir.path(), &url, ports[1]);
    wait_ready(&bases[1]).await;
    create_scanned_project(&http, &bases[0], "shared").await;

    let mut digests = Vec::new();
    for i in 0..12 {
        let base = &bases[i % 2];
        let manifest = image(&http, base, "shared/app", &format!("image {i}")).await;
        digests.push(sha(&manifest));
        put_manifest(&http, base, "shared/app", &format!("v{i}"), &manifest).await;
    }
    let db = open(&url).await;
    wait_scanned(&db, &digests).await;
    // Let any duplicate show itself.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for d in &digests {
        assert_eq!(completions(&db, d).await, 1, "{d} scanned once");
    }
    let jobs = scan::Entity::find().all(&db).await.unwrap();
    assert_eq!(jobs.len(), digests.len(), "{jobs:#?}");
    assert!(
        jobs.iter()
            .all(|j| j.status == "success" && j.attempts == 1),
        "{jobs:#?}"
    );
    let consumer = event_consumer::Entity::find_by_id("scan-on-push")
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    let head = domain::service::events::head(&db).await.unwrap();
    assert!(
        consumer.cursor >= head - 12,
        "the consumer kept up: cursor {} head {head}",
        consumer.cursor
    );
    kill(&mut first);
    kill(&mut second);
}
