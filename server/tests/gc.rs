//! Online garbage collection: unreferenced blobs leave the store and the quota, shared ones
//! stay, and a push racing the collector (sharing layers with a deleted image) ends intact.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::{TestApp, ADMIN_PASSWORD};
use domain::service::registry::gc::GcOptions;
use domain::types::Digest;
use serde_json::json;

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

use common::sha;

async fn app() -> TestApp {
    let app = TestApp::new().await;
    app.project("lib").await;
    app
}

async fn upload(app: &TestApp, repo: &str, content: &[u8]) -> StatusCode {
    let r = app
        .send_bytes(
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/?digest={}", sha(content)),
            ADMIN,
            content.to_vec(),
            &[],
        )
        .await;
    r.status
}

fn manifest(config: &[u8], layers: &[&[u8]]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": config.len()},
        "layers": layers.iter().map(|l| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(l), "size": l.len()})).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// Pushes like a client: skips blobs the repository already has (HEAD), then the manifest.
/// Returns the manifest's status.
async fn push_like_a_client(
    app: &TestApp,
    repo: &str,
    tag: &str,
    config: &[u8],
    layers: &[&[u8]],
) -> StatusCode {
    for blob in layers.iter().copied().chain(std::iter::once(config)) {
        let head = app
            .send(
                Method::HEAD,
                &format!("/v2/{repo}/blobs/{}", sha(blob)),
                ADMIN,
                None,
                &[],
            )
            .await;
        if head.status != StatusCode::OK {
            // 400 BLOB_UPLOAD_INVALID when a sweep took the same content meanwhile.
            let status = upload(app, repo, blob).await;
            if status != StatusCode::CREATED {
                return status;
            }
        }
    }
    app.send_bytes(
        Method::PUT,
        &format!("/v2/{repo}/manifests/{tag}"),
        ADMIN,
        manifest(config, layers),
        &[("content-type", OCI_MANIFEST)],
    )
    .await
    .status
}

async fn in_store(app: &TestApp, content: &[u8]) -> bool {
    let d = Digest::parse(&sha(content)).unwrap();
    app.state.registry.store.stat(&d).await.unwrap().is_some()
}

/// The image is pullable: manifest and every blob, with the right bytes.
async fn assert_intact(app: &TestApp, repo: &str, tag: &str, config: &[u8], layers: &[&[u8]]) {
    let m = app
        .send(
            Method::GET,
            &format!("/v2/{repo}/manifests/{tag}"),
            ADMIN,
            None,
            &[("accept", OCI_MANIFEST)],
        )
        .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    for blob in layers.iter().copied().chain(std::iter::once(config)) {
        let r = app
            .send_bytes(
                Method::GET,
                &format!("/v2/{repo}/blobs/{}", sha(blob)),
                ADMIN,
                Vec::new(),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "blob of {repo}:{tag}");
        assert_eq!(sha(r.body.as_bytes()), sha(blob), "bytes of {repo}:{tag}");
    }
}

fn now_window() -> GcOptions {
    GcOptions {
        window: chrono::Duration::zero(),
        ..Default::default()
    }
}

#[tokio::test]
async fn unreferenced_blobs_go_shared_ones_stay_and_quota_follows() {
    let app = app().await;
    let (shared, only_a, config_a, config_b): (&[u8], &[u8], &[u8], &[u8]) = (
        b"shared layer",
        b"layer only in a",
        b"{\"a\":1}",
        b"{\"b\":1}",
    );
    assert_eq!(
        push_like_a_client(&app, "lib/app", "a", config_a, &[shared, only_a]).await,
        StatusCode::CREATED
    );
    assert_eq!(
        push_like_a_client(&app, "lib/app", "b", config_b, &[shared]).await,
        StatusCode::CREATED
    );
    let manifest_a = manifest(config_a, &[shared, only_a]);
    let r = app
        .send(
            Method::DELETE,
            &format!("/v2/lib/app/manifests/{}", sha(&manifest_a)),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let project_id = app
        .state
        .services
        .get_project(&app.admin().await, "lib")
        .await
        .unwrap()
        .id;
    let before = domain::service::registry::quota::project_usage(&app.state.db, project_id)
        .await
        .unwrap();

    // The default window keeps everything this young.
    let kept = app
        .state
        .registry
        .collect_garbage(&GcOptions::default())
        .await
        .unwrap();
    assert_eq!((kept.links_removed, kept.blobs_deleted), (0, 0));

    let dry = app
        .send(
            Method::POST,
            "/api/v2.0/system/gc",
            ADMIN,
            Some(json!({"dry_run": true, "window_minutes": 0})),
            &[],
        )
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    let dry = dry.json();
    assert_eq!(
        dry["blobs_deleted"], 3,
        "manifest a, config a, layer only in a: {dry}"
    );
    let freed = (manifest_a.len() + only_a.len() + config_a.len()) as u64;
    assert_eq!(dry["bytes_freed"], freed);
    assert!(in_store(&app, only_a).await, "a dry run deletes nothing");

    let real = app
        .state
        .registry
        .collect_garbage(&now_window())
        .await
        .unwrap();
    assert_eq!((real.blobs_deleted, real.bytes_freed), (3, freed));
    for gone in [only_a, config_a, &manifest_a[..]] {
        assert!(!in_store(&app, gone).await);
    }
    assert!(in_store(&app, shared).await);
    assert_intact(&app, "lib/app", "b", config_b, &[shared]).await;
    let after = domain::service::registry::quota::project_usage(&app.state.db, project_id)
        .await
        .unwrap();
    assert_eq!(
        before - after,
        freed as i64,
        "the quota usage drops by what was freed"
    );

    // Untagged artifacts go only when asked for.
    let r = app
        .send(Method::DELETE, "/v2/lib/app/manifests/b", ADMIN, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let again = app
        .state
        .registry
        .collect_garbage(&now_window())
        .await
        .unwrap();
    assert_eq!(
        again.blobs_deleted, 0,
        "b is untagged but still an artifact"
    );
    let untagged = app
        .state
        .registry
        .collect_garbage(&GcOptions {
            delete_untagged: true,
            ..now_window()
        })
        .await
        .unwrap();
    assert_eq!(untagged.untagged_artifacts_deleted, 1);
    assert_eq!(untagged.blobs_deleted, 3);

    let audit = app
        .send(
            Method::GET,
            "/api/v2.0/audit-logs?page_size=100",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert!(audit.body.contains("\"gc\""), "{}", audit.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_push_racing_the_collector_ends_intact() {
    let app = Arc::new(app().await);
    for round in 0..8u32 {
        let layer1 = format!("layer one of round {round}").into_bytes();
        let layer2 = format!("layer two of round {round}").into_bytes();
        let old_config = format!("{{\"old\":{round}}}").into_bytes();
        let new_config = format!("{{\"new\":{round}}}").into_bytes();
        assert_eq!(
            push_like_a_client(&app, "lib/race", "old", &old_config, &[&layer1, &layer2]).await,
            StatusCode::CREATED
        );
        let old_manifest = manifest(&old_config, &[&layer1, &layer2]);
        let r = app
            .send(
                Method::DELETE,
                &format!("/v2/lib/race/manifests/{}", sha(&old_manifest)),
                ADMIN,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED);

        // The collector and a client pushing an image with the same layers, at once.
        let collector = {
            let app = app.clone();
            tokio::spawn(async move {
                for _ in 0..3 {
                    app.state
                        .registry
                        .collect_garbage(&now_window())
                        .await
                        .unwrap();
                }
            })
        };
        let pusher = {
            let app = app.clone();
            let (l1, l2, c) = (layer1.clone(), layer2.clone(), new_config.clone());
            tokio::spawn(async move {
                // A client whose layers vanished between its HEAD and its manifest retries,
                // as docker and podman do on MANIFEST_BLOB_UNKNOWN.
                for _ in 0..5 {
                    let status = push_like_a_client(&app, "lib/race", "new", &c, &[&l1, &l2]).await;
                    if status == StatusCode::CREATED {
                        return;
                    }
                    assert_eq!(
                        status,
                        StatusCode::BAD_REQUEST,
                        "only MANIFEST_BLOB_UNKNOWN is expected"
                    );
                }
                panic!("the push never succeeded");
            })
        };
        collector.await.unwrap();
        pusher.await.unwrap();
        app.state
            .registry
            .collect_garbage(&now_window())
            .await
            .unwrap();

        assert_intact(&app, "lib/race", "new", &new_config, &[&layer1, &layer2]).await;
        assert!(
            !in_store(&app, &old_config).await,
            "round {round}: the old config is gone"
        );
        assert!(
            !in_store(&app, &old_manifest).await,
            "round {round}: the old manifest is gone"
        );
    }
}
