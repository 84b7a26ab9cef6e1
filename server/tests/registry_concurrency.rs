//! Sixteen pushers of the same layers at once, into different repositories and into the same
//! one: no errors, and the store holds each blob once.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, ADMIN_PASSWORD};
use serde_json::json;

use common::sha;

fn count_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            n += count_files(&entry.path());
        } else {
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_pushers_store_each_blob_once() {
    let app = std::sync::Arc::new(TestApp::new().await);
    app.project("lib").await;
    let layers: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 512 * 1024 + i as usize]).collect();
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();

    let mut tasks = Vec::new();
    for worker in 0..16 {
        let app = app.clone();
        let layers = layers.clone();
        let config = config.clone();
        tasks.push(tokio::spawn(async move {
            let repo = if worker % 2 == 0 { "lib/same".to_string() } else { format!("lib/repo-{worker}") };
            let admin = Some(("admin", ADMIN_PASSWORD));
            let mut descriptors = Vec::new();
            for blob in layers.iter().chain(std::iter::once(&config)) {
                let d = sha(blob);
                // Chunked: POST, PATCH, PUT — the path real clients take for layers.
                let res = app.send_bytes(Method::POST, &format!("/v2/{repo}/blobs/uploads/"), admin, vec![], &[]).await;
                assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
                let loc = res.headers["location"].to_str().unwrap().to_string();
                let res = app.send_bytes(Method::PATCH, &loc, admin, blob.clone(), &[]).await;
                assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
                let res = app.send_bytes(Method::PUT, &format!("{loc}?digest={d}"), admin, vec![], &[]).await;
                assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
                descriptors.push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": blob.len()}));
            }
            let config_desc = descriptors.pop().unwrap();
            let manifest = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_desc["digest"], "size": config_desc["size"]},
                "layers": descriptors})).unwrap();
            let res = app.send_bytes(Method::PUT, &format!("/v2/{repo}/manifests/w{worker}"), admin, manifest,
                &[("content-type", "application/vnd.oci.image.manifest.v1+json")]).await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        }));
    }
    for t in tasks {
        t.await.expect("a pusher failed");
    }
    // 3 layers, 1 config, 1 manifest (identical for every pusher).
    let store = &app.state.registry.store;
    assert_eq!(store.list_blobs().await.unwrap().len(), 5);
    assert!(
        store.list_uploads().await.unwrap().is_empty(),
        "no upload left behind"
    );
    if !common::object_storage_under_test() {
        let root = app.state.config.blob_root();
        assert_eq!(count_files(&root.join("blobs")), 5);
        assert_eq!(count_files(&root.join("uploads")), 0);
    }
    let res = app
        .send(
            Method::GET,
            "/v2/lib/same/tags/list",
            Some(("admin", ADMIN_PASSWORD)),
            None,
            &[],
        )
        .await;
    assert_eq!(res.json()["tags"].as_array().unwrap().len(), 8);
}
