//! Storage quotas: refused with 403 `DENIED` and a message giving the project, the limit, the
//! usage and the size asked for; shared blobs counted once per project; concurrent pushers
//! never take a project over its limit; the global limit over all projects.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use berth_server::config::ByteLimit;
use common::{TestApp, ADMIN_PASSWORD};
use domain::service::projects::NewProject;
use domain::service::registry::quota;
use sea_orm::EntityTrait;

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));

use common::sha;

/// `len` bytes, distinct for each `seed`.
fn blob(seed: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

async fn project(app: &TestApp, name: &str, limit: i64) -> i64 {
    let admin = app.admin().await;
    app.state
        .services
        .create_project(
            &admin,
            NewProject {
                name: name.into(),
                storage_limit: Some(limit),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
}

async fn push(app: &TestApp, repo: &str, content: &[u8]) -> common::TestResponse {
    app.send_bytes(
        Method::POST,
        &format!("/v2/{repo}/blobs/uploads/?digest={}", sha(content)),
        ADMIN,
        content.to_vec(),
        &[],
    )
    .await
}

#[tokio::test]
async fn pushing_past_the_limit_is_denied_with_the_numbers() {
    let app = TestApp::new().await;
    let id = project(&app, "q", 10_000).await;
    for seed in 0..2 {
        let r = push(&app, "q/app", &blob(seed, 4_000)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let third = blob(2, 4_000);
    let r = push(&app, "q/app", &third).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["errors"][0]["code"], "DENIED");
    let message = v["errors"][0]["message"].as_str().unwrap();
    assert_eq!(
        message,
        "storage quota exceeded in project `q`: the limit is 10.0 kB (10000 bytes), \
         8.0 kB (8000 bytes) is used, and this blob needs 4.0 kB (4000 bytes) more"
    );
    // Nothing of the refused blob is visible.
    let head = app
        .send(
            Method::HEAD,
            &format!("/v2/q/app/blobs/{}", sha(&third)),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
    assert_eq!(
        quota::project_usage(&app.state.db, id).await.unwrap(),
        8_000
    );
    // A blob that still fits is accepted.
    let r = push(&app, "q/app", &blob(3, 2_000)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        quota::project_usage(&app.state.db, id).await.unwrap(),
        10_000
    );
    // Crossing 85 % (8,000 → 10,000 of 10,000) raised one warning, in the audit log.
    let warnings: Vec<domain::entities::audit_log::Model> =
        domain::entities::audit_log::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.operation == "warning" && a.resource_type == "quota")
            .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].project_id, Some(id));
    assert!(
        warnings[0].detail.contains("(100%)"),
        "{}",
        warnings[0].detail
    );
    let summary = app
        .send(
            Method::GET,
            "/api/v2.0/projects/q/summary",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(
        summary.json()["quota"],
        serde_json::json!({"hard": {"storage": 10_000}, "used": {"storage": 10_000}})
    );
}

#[tokio::test]
async fn a_blob_counts_once_per_project_and_in_each_project() {
    let app = TestApp::new().await;
    let a = project(&app, "a", 5_000).await;
    let b = project(&app, "b", -1).await;
    let layer = blob(7, 4_000);
    for repo in ["a/one", "a/two", "a/three"] {
        let r = push(&app, repo, &layer).await;
        assert_eq!(r.status, StatusCode::CREATED, "{repo}: {}", r.body);
    }
    assert_eq!(
        quota::project_usage(&app.state.db, a).await.unwrap(),
        4_000,
        "three repositories of one project share the layer"
    );
    let r = push(&app, "b/one", &layer).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(quota::project_usage(&app.state.db, b).await.unwrap(), 4_000);
    assert_eq!(quota::global_usage(&app.state.db).await.unwrap(), 8_000);
    // Mounting the layer within the full project costs nothing and is allowed.
    let mount = app
        .send_bytes(
            Method::POST,
            &format!("/v2/a/four/blobs/uploads/?mount={}&from=a/one", sha(&layer)),
            ADMIN,
            Vec::new(),
            &[],
        )
        .await;
    assert_eq!(mount.status, StatusCode::CREATED, "{}", mount.body);

    // The administrators' overview and the project's breakdown say the same.
    let extra = blob(8, 1_000);
    assert_eq!(
        push(&app, "a/two", &extra).await.status,
        StatusCode::CREATED
    );
    let overview = app
        .send(Method::GET, "/api/v2.0/system/quota", ADMIN, None, &[])
        .await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.body);
    let v = overview.json();
    assert_eq!(v["global_used"], 9_000);
    assert_eq!(v["global_limit"], -1);
    assert_eq!(
        v["projects"],
        serde_json::json!([
            {"name": "a", "limit": 5_000, "used": 5_000},
            {"name": "b", "limit": -1, "used": 4_000},
        ])
    );
    let admin = app.admin().await;
    let q = app.state.services.project_quota(&admin, "a").await.unwrap();
    let by_repo: Vec<(String, i64)> = q
        .repositories
        .into_iter()
        .map(|r| (r.name, r.used))
        .collect();
    assert_eq!(
        by_repo,
        vec![
            ("a/two".to_string(), 5_000),
            ("a/four".to_string(), 4_000),
            ("a/one".to_string(), 4_000),
            ("a/three".to_string(), 4_000),
        ]
    );
    // Not for other users.
    app.user("dev").await;
    let pw = common::password_of("dev");
    let denied = app
        .send(
            Method::GET,
            "/api/v2.0/system/quota",
            Some(("dev", &pw)),
            None,
            &[],
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_pushers_never_exceed_the_limit() {
    let app = Arc::new(TestApp::new().await);
    let id = project(&app, "busy", 50_000).await;
    let mut tasks = Vec::new();
    for worker in 0..16u64 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for i in 0..5u64 {
                let content = blob(1000 + worker * 10 + i, 1_000);
                let r = push(&app, &format!("busy/w{}", worker % 4), &content).await;
                outcomes.push(r.status);
            }
            outcomes
        }));
    }
    let mut created = 0;
    let mut denied = 0;
    for t in tasks {
        for status in t.await.unwrap() {
            match status {
                StatusCode::CREATED => created += 1,
                StatusCode::FORBIDDEN => denied += 1,
                other => panic!("unexpected {other}"),
            }
        }
    }
    let used = quota::project_usage(&app.state.db, id).await.unwrap();
    assert!(used <= 50_000, "usage {used} overshot the limit");
    assert_eq!(created, 50, "exactly as many 1,000-byte blobs as fit");
    assert_eq!(denied, 30);
    assert_eq!(used, 50_000);
}

#[tokio::test]
async fn the_global_limit_covers_all_projects() {
    let app = TestApp::with_config(|c| c.storage_quota.global = ByteLimit::Bytes(5_000)).await;
    project(&app, "x", -1).await;
    project(&app, "y", -1).await;
    let r = push(&app, "x/app", &blob(1, 3_000)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = push(&app, "y/app", &blob(2, 3_000)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("global storage quota"), "{}", r.body);
    assert!(r.body.contains("project `y`"), "{}", r.body);
}
