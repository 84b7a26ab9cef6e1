//! Domain events through the front doors: every write of the registry, the REST API and the
//! console is exactly one event of the right kind, subject and actor, carrying the request's
//! id; scan on push is their consumer. Runs on SQLite and, with `BERTH_TEST_POSTGRES_URL`, on
//! PostgreSQL.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::{password_of, sha, TestApp, ADMIN_PASSWORD, OCI_MANIFEST};
use domain::entities::event;
use domain::service::events;
use sea_orm::EntityTrait;
use serde_json::{json, Value};

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));

/// What one operation wrote: the events after `head`.
async fn since(app: &TestApp, head: i64) -> Vec<event::Model> {
    events::after(&app.state.db, head, 1000).await.unwrap()
}

async fn head(app: &TestApp) -> i64 {
    events::head(&app.state.db).await.unwrap()
}

/// Asserts that exactly one event was written since `head`, of `kind`, `outcome`, `subject`
/// and `actor`; returns it.
async fn one(
    app: &TestApp,
    head: i64,
    kind: &str,
    outcome: &str,
    subject: &str,
    actor: &str,
) -> event::Model {
    let got = since(app, head).await;
    let summary: Vec<_> = got
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                e.outcome.as_str(),
                e.subject.as_str(),
                e.actor.as_str(),
            )
        })
        .collect();
    assert_eq!(summary, [(kind, outcome, subject, actor)], "{got:#?}");
    got.into_iter().next().unwrap()
}

fn payload(e: &event::Model) -> Value {
    serde_json::from_str(&e.payload).unwrap()
}

/// Waits for the `scan.completed` event of `digest` written after `head`.
async fn scanned(app: &TestApp, head: i64, digest: &str) -> event::Model {
    for _ in 0..200 {
        let found = since(app, head)
            .await
            .into_iter()
            .find(|e| e.kind == "scan.completed" && e.subject.ends_with(digest));
        if let Some(e) = found {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{digest} was not scanned: {:#?}", since(app, head).await);
}

/// An image manifest over a config and one layer already pushed into `repo`.
async fn image(app: &TestApp, repo: &str, seed: &str) -> Vec<u8> {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
    let layer = common::tar_layer(&[("etc/seed", seed.as_bytes())]);
    let cd = app.push_blob(repo, config.as_bytes()).await;
    let ld = app.push_blob(repo, &layer).await;
    serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": layer.len()}],
    }))
    .unwrap()
}

async fn put_manifest(app: &TestApp, repo: &str, reference: &str, bytes: &[u8], id: &str) {
    let res = app
        .send_bytes(
            Method::PUT,
            &format!("/v2/{repo}/manifests/{reference}"),
            ADMIN,
            bytes.to_vec(),
            &[("content-type", OCI_MANIFEST), ("x-request-id", id)],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_through_every_door_is_one_event() {
    let app = TestApp::new().await;
    app.admin().await;
    let (alice_pw, bob_pw) = (password_of("alice"), password_of("bob"));
    app.user("alice").await;
    app.user("bob").await;

    // Project create and update (REST), as alice.
    let h = head(&app).await;
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/projects",
            Some(("alice", &alice_pw)),
            Some(json!({"project_name": "team", "public": false})),
            &[("x-request-id", "req-project-create")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let e = one(&app, h, "project.create", "success", "team", "alice").await;
    assert_eq!(e.actor_type, "user");
    assert_eq!(e.request_id, "req-project-create");
    let project_id = e.project_id.expect("the project's id");

    let h = head(&app).await;
    let res = app
        .send(
            Method::PUT,
            "/api/v2.0/projects/team",
            Some(("alice", &alice_pw)),
            Some(json!({"metadata": {"auto_scan": "true"}})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let e = one(&app, h, "project.update", "success", "team", "alice").await;
    assert_eq!(e.project_id, Some(project_id));

    // Member add and remove (REST).
    let h = head(&app).await;
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/projects/team/members",
            Some(("alice", &alice_pw)),
            Some(json!({"role_id": 2, "member_user": {"username": "bob"}})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let e = since(&app, h).await;
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(
        (e[0].kind.as_str(), e[0].actor.as_str()),
        ("member.create", "alice")
    );
    assert!(e[0].subject.contains("bob"), "{}", e[0].subject);
    let location = res.headers["location"].to_str().unwrap().to_string();
    let member_id = location.rsplit('/').next().unwrap().to_string();

    // Robot create and disable (REST).
    let h = head(&app).await;
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/robots",
            Some(("alice", &alice_pw)),
            Some(json!({"name": "ci", "duration": -1, "level": "project",
                "permissions": [{"kind": "project", "namespace": "team",
                    "access": [{"resource": "repository", "action": "pull"}]}]})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let robot = res.json();
    let robot_name = robot["name"].as_str().unwrap().to_string();
    one(&app, h, "robot.create", "success", &robot_name, "alice").await;
    let h = head(&app).await;
    let res = app
        .send(
            Method::PUT,
            &format!("/api/v2.0/robots/{}", robot["id"]),
            Some(("alice", &alice_pw)),
            Some(json!({"disable": true})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    one(&app, h, "robot.disable", "success", &robot_name, "alice").await;

    // Push by tag (registry), into a project with auto_scan: the event, then its scan.
    berth_server::scanning::spawn_workers(app.state.clone());
    let manifest = image(&app, "team/app", "one").await;
    let digest = sha(&manifest);
    let h = head(&app).await;
    put_manifest(&app, "team/app", "v1", &manifest, "req-push").await;
    let e = one(
        &app,
        h,
        "artifact.push",
        "success",
        &format!("team/app:v1@{digest}"),
        "admin",
    )
    .await;
    assert_eq!(e.repository.as_deref(), Some("team/app"));
    assert_eq!(e.request_id, "req-push");
    let p = payload(&e);
    assert_eq!(p["tag"], "v1");
    assert_eq!(p["digest"], digest.as_str());
    assert_eq!(p["media_type"], OCI_MANIFEST);
    assert_eq!(p["manifest_size"], manifest.len());
    assert_eq!(p["pusher"], "admin");
    assert!(p["size"].as_u64().unwrap() > manifest.len() as u64, "{p}");
    let artifact_id = p["artifact_id"].as_i64().unwrap();
    // The scan-on-push consumer queues the scan; the worker's report is an event too.
    let completed = scanned(&app, h, &digest).await;
    assert_eq!(completed.subject, format!("team/app@{digest}"));
    assert_eq!(completed.actor_type, "user");
    assert_eq!(completed.actor, "system");
    assert_eq!(payload(&completed)["artifact_id"], artifact_id);
    assert_eq!(payload(&completed)["trigger"], "push");

    // Push by digest: no tag.
    let other = image(&app, "team/app", "two").await;
    let other_digest = sha(&other);
    let h = head(&app).await;
    put_manifest(&app, "team/app", &other_digest, &other, "req-push-2").await;
    let e = since(&app, h).await;
    let pushed: Vec<_> = e.iter().filter(|e| e.kind == "artifact.push").collect();
    assert_eq!(pushed.len(), 1, "{e:#?}");
    assert_eq!(
        pushed[0].subject,
        format!("team/app:{other_digest}@{other_digest}")
    );
    assert_eq!(payload(pushed[0])["tag"], Value::Null);
    scanned(&app, h, &other_digest).await;

    // Re-tag (REST) and tag delete (registry).
    let h = head(&app).await;
    let res = app
        .send(
            Method::POST,
            &format!("/api/v2.0/projects/team/repositories/app/artifacts/{digest}/tags"),
            Some(("bob", &bob_pw)),
            Some(json!({"name": "stable"})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let e = one(&app, h, "tag.create", "success", "team/app:stable", "bob").await;
    assert_eq!(payload(&e)["digest"], digest.as_str());
    let h = head(&app).await;
    let res = app
        .send(
            Method::DELETE,
            "/v2/team/app/manifests/stable",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    one(&app, h, "tag.delete", "success", "team/app:stable", "admin").await;

    // Manifest delete (registry).
    let h = head(&app).await;
    let res = app
        .send(
            Method::DELETE,
            &format!("/v2/team/app/manifests/{other_digest}"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    one(
        &app,
        h,
        "artifact.delete",
        "success",
        &format!("team/app:{other_digest}"),
        "admin",
    )
    .await;

    // Repository delete (REST).
    let h = head(&app).await;
    let res = app
        .send(
            Method::DELETE,
            "/api/v2.0/projects/team/repositories/app",
            Some(("alice", &alice_pw)),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let e = since(&app, h).await;
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(
        (
            e[0].kind.as_str(),
            e[0].repository.as_deref(),
            e[0].actor.as_str()
        ),
        ("repository.delete", Some("team/app"), "alice")
    );

    // Member remove.
    let h = head(&app).await;
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/v2.0/projects/team/members/{member_id}"),
            Some(("alice", &alice_pw)),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let e = since(&app, h).await;
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(
        (e[0].kind.as_str(), e[0].actor.as_str()),
        ("member.delete", "alice")
    );

    // Sign-in, refused and accepted (console).
    let h = head(&app).await;
    let res = app
        .console_login_response("bob", "not bob's password")
        .await;
    assert_ne!(res.status, StatusCode::OK);
    one(&app, h, "session.login", "failure", "bob", "bob").await;
    let h = head(&app).await;
    app.console_login("bob", &bob_pw).await;
    one(&app, h, "session.login", "success", "bob", "bob").await;

    // Project delete (REST).
    let h = head(&app).await;
    let res = app
        .send(
            Method::DELETE,
            "/api/v2.0/projects/team",
            Some(("alice", &alice_pw)),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    one(&app, h, "project.delete", "success", "team", "alice").await;

    // Ids are gapless, and each audit row names its event.
    let all = since(&app, 0).await;
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.id, i as i64 + 1, "gapless ids");
    }
    let audit = domain::entities::audit_log::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(audit.len(), all.len(), "one audit row per event");
    assert!(audit.iter().all(|a| a.event_id.is_some()));
}

#[tokio::test]
async fn crossing_and_exceeding_a_quota_are_events() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    app.state
        .services
        .create_project(
            &admin,
            domain::service::projects::NewProject {
                name: "small".into(),
                storage_limit: Some(1_000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let h = head(&app).await;
    app.push_blob("small/app", &[7u8; 900]).await;
    let e = since(&app, h).await;
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(
        (
            e[0].kind.as_str(),
            e[0].subject.as_str(),
            e[0].actor_type.as_str()
        ),
        ("quota.warning", "small", "system")
    );
    let h = head(&app).await;
    let res = app
        .send_bytes(
            Method::POST,
            &format!("/v2/small/app/blobs/uploads/?digest={}", sha(&[8u8; 200])),
            ADMIN,
            vec![8u8; 200],
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let e = one(&app, h, "quota.exceeded", "failure", "small", "admin").await;
    assert!(
        payload(&e)["detail"]
            .as_str()
            .unwrap()
            .contains("storage quota exceeded"),
        "{}",
        e.payload
    );
}

#[tokio::test]
async fn administrators_see_each_consumers_lag() {
    let app = TestApp::new().await;
    app.admin().await;
    app.user("carol").await;
    berth_server::scanning::spawn_workers(app.state.clone());
    let mut body = Value::Null;
    for _ in 0..100 {
        let res = app
            .send(
                Method::GET,
                "/api/v2.0/system/events/consumers",
                ADMIN,
                None,
                &[],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        body = res.json();
        if body["consumers"][0]["lag"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(body["consumers"][0]["name"], "scan-on-push", "{body}");
    assert_eq!(body["consumers"][0]["cursor"], body["head"], "{body}");
    assert!(body["head"].as_i64().unwrap() >= 1, "{body}");
    let metrics = app.get("/metrics").await;
    assert!(
        metrics
            .body
            .contains("berth_event_consumer_lag{consumer=\"scan-on-push\"} 0"),
        "{}",
        metrics.body
    );
    // Others may not look.
    let res = app
        .send(
            Method::GET,
            "/api/v2.0/system/events/consumers",
            Some(("carol", &password_of("carol"))),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
}
