//! Immutable tag rules: per project through the REST API (Harbor's shape) and for every
//! project from the configuration file; enforced on registry pushes and deletes, on the REST
//! API's deletes, and against a real `podman push`.

mod common;

use std::process::Command;

use axum::http::{Method, StatusCode};
use common::{LiveServer, TestApp, ADMIN_PASSWORD};
use serde_json::{json, Value};

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

use common::sha;

async fn app_with(customise: impl FnOnce(&mut berth_server::config::Config)) -> TestApp {
    let app = TestApp::with_config(customise).await;
    for name in ["lib", "other"] {
        app.project(name).await;
    }
    app
}

/// Pushes an image to `repo:tag`; returns the manifest, its digest and the response.
async fn push(
    app: &TestApp,
    repo: &str,
    tag: &str,
    seed: &str,
) -> (Vec<u8>, String, common::TestResponse) {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
    let layer = format!("layer of {seed}");
    let cd = app.push_blob(repo, config.as_bytes()).await;
    let ld = app.push_blob(repo, layer.as_bytes()).await;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": layer.len()}],
    }))
    .unwrap();
    let r = put_manifest(app, repo, tag, &manifest).await;
    let d = sha(&manifest);
    (manifest, d, r)
}

async fn put_manifest(
    app: &TestApp,
    repo: &str,
    tag: &str,
    manifest: &[u8],
) -> common::TestResponse {
    app.send_bytes(
        Method::PUT,
        &format!("/v2/{repo}/manifests/{tag}"),
        ADMIN,
        manifest.to_vec(),
        &[("content-type", OCI_MANIFEST)],
    )
    .await
}

fn error_of(r: &common::TestResponse) -> (String, String) {
    let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|_| panic!("not JSON: {}", r.body));
    (
        v["errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        v["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

fn rule(tag: &str, repo: Option<&str>) -> Value {
    let mut r = json!({
        "disabled": false,
        "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": tag}],
    });
    if let Some(repo) = repo {
        r["scope_selectors"] = json!({"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": repo}]});
    }
    r
}

#[tokio::test]
async fn an_immutable_tag_cannot_move_or_be_deleted_but_the_same_digest_may_be_pushed_again() {
    let app = app_with(|_| {}).await;
    let created = app
        .send(
            Method::POST,
            "/api/v2.0/projects/lib/immutabletagrules",
            ADMIN,
            Some(rule("release-*", Some("web/**"))),
            &[],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let rule_id = created.json()["id"].as_i64().unwrap();

    let (manifest, digest, r) = push(&app, "lib/web/app", "release-1", "one").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Moving it to another artifact: 412 with the OCI error body naming the rule.
    let (_, other_digest, r) = push(&app, "lib/web/app", "release-1", "two").await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.body);
    let (code, message) = error_of(&r);
    assert_eq!(code, "DENIED");
    assert!(
        message.contains("release-1") && message.contains("`release-*`"),
        "{message}"
    );
    let tags = app
        .send(Method::GET, "/v2/lib/web/app/tags/list", ADMIN, None, &[])
        .await;
    let head = app
        .send(
            Method::HEAD,
            "/v2/lib/web/app/manifests/release-1",
            ADMIN,
            None,
            &[("accept", OCI_MANIFEST)],
        )
        .await;
    assert_eq!(
        head.headers["docker-content-digest"],
        digest.as_str(),
        "still the first image"
    );
    assert_eq!(tags.json()["tags"], json!(["release-1"]));
    // The refused artifact is reachable by digest only, untagged; pushing it under a free tag
    // works.
    assert_eq!(
        app.send(
            Method::HEAD,
            &format!("/v2/lib/web/app/manifests/{other_digest}"),
            ADMIN,
            None,
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND,
        "a refused push leaves nothing behind"
    );

    // The same digest again is idempotent.
    let r = put_manifest(&app, "lib/web/app", "release-1", &manifest).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // Deletes: by tag, by digest, through the REST API, the whole repository.
    for (method, path) in [
        (
            Method::DELETE,
            "/v2/lib/web/app/manifests/release-1".to_string(),
        ),
        (
            Method::DELETE,
            format!("/v2/lib/web/app/manifests/{digest}"),
        ),
        (
            Method::DELETE,
            format!(
                "/api/v2.0/projects/lib/repositories/web%2Fapp/artifacts/{digest}/tags/release-1"
            ),
        ),
        (
            Method::DELETE,
            format!("/api/v2.0/projects/lib/repositories/web%2Fapp/artifacts/{digest}"),
        ),
        (
            Method::DELETE,
            "/api/v2.0/projects/lib/repositories/web%2Fapp".to_string(),
        ),
    ] {
        let r = app.send(method, &path, ADMIN, None, &[]).await;
        assert_eq!(
            r.status,
            StatusCode::PRECONDITION_FAILED,
            "{path}: {}",
            r.body
        );
        assert!(r.body.contains("immutable"), "{path}: {}", r.body);
    }

    // Outside the rule's selectors: other tags, other repositories.
    let (_, _, r) = push(&app, "lib/web/app", "v1", "three").await;
    assert_eq!(r.status, StatusCode::CREATED);
    let (_, _, r) = push(&app, "lib/web/app", "v1", "four").await;
    assert_eq!(r.status, StatusCode::CREATED, "v1 is mutable");
    let (_, _, r) = push(&app, "lib/db", "release-1", "five").await;
    assert_eq!(r.status, StatusCode::CREATED);
    let (_, _, r) = push(&app, "lib/db", "release-1", "six").await;
    assert_eq!(r.status, StatusCode::CREATED, "lib/db is outside web/**");
    let r = app
        .send(
            Method::DELETE,
            "/v2/lib/web/app/manifests/v1",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);

    // Disabling the rule lifts the protection.
    let mut off = rule("release-*", Some("web/**"));
    off["disabled"] = json!(true);
    let r = app
        .send(
            Method::PUT,
            &format!("/api/v2.0/projects/lib/immutabletagrules/{rule_id}"),
            ADMIN,
            Some(off),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .send(
            Method::DELETE,
            "/v2/lib/web/app/manifests/release-1",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);

    // Rule changes are audited.
    let audit = app
        .send(
            Method::GET,
            "/api/v2.0/audit-logs?q=resource_type%3Dimmutable_rule",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert!(audit.body.contains("immutable_rule"), "{}", audit.body);
}

#[tokio::test]
async fn only_maintainers_and_above_manage_rules() {
    let app = app_with(|_| {}).await;
    let admin = app.admin().await;
    for (name, role) in [
        ("dev", domain::types::Role::Developer),
        ("maint", domain::types::Role::Maintainer),
    ] {
        app.user(name).await;
        app.state
            .services
            .add_member(
                &admin,
                "lib",
                domain::service::members::MemberRef::User(name.into()),
                role,
            )
            .await
            .unwrap();
    }
    let dev_pw = common::password_of("dev");
    let maint_pw = common::password_of("maint");
    let r = app
        .send(
            Method::POST,
            "/api/v2.0/projects/lib/immutabletagrules",
            Some(("dev", &dev_pw)),
            Some(rule("v*", None)),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app
        .send(
            Method::GET,
            "/api/v2.0/projects/lib/immutabletagrules",
            Some(("dev", &dev_pw)),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "developers may read the rules");
    let r = app
        .send(
            Method::POST,
            "/api/v2.0/projects/lib/immutabletagrules",
            Some(("maint", &maint_pw)),
            Some(rule("v*", None)),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let bad = app
        .send(
            Method::POST,
            "/api/v2.0/projects/lib/immutabletagrules",
            ADMIN,
            Some(json!({"tag_selectors": [{"kind": "regex", "pattern": "x"}]})),
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}

#[tokio::test]
async fn rules_from_the_configuration_apply_everywhere_idempotently() {
    let app = app_with(|c| {
        c.immutable_tag_rules = serde_yaml::from_str("- pattern: release-*\n").unwrap();
    })
    .await;
    let first = berth_server::policies::apply(&app.state).await.unwrap();
    assert_eq!(first.len(), 1, "{first:?}");
    let again = berth_server::policies::apply(&app.state).await.unwrap();
    assert!(
        again.is_empty(),
        "applying twice changes nothing: {again:?}"
    );

    let listed = app
        .send(
            Method::GET,
            "/api/v2.0/projects/other/immutabletagrules",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(listed.json()[0]["source"], "config");
    let id = listed.json()[0]["id"].as_i64().unwrap();
    let r = app
        .send(
            Method::DELETE,
            &format!("/api/v2.0/projects/other/immutabletagrules/{id}"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "configuration rules are changed in the file"
    );

    for project in ["lib", "other"] {
        let repo = format!("{project}/app");
        let (_, _, r) = push(&app, &repo, "release-9", "a").await;
        assert_eq!(r.status, StatusCode::CREATED);
        let (_, _, r) = push(&app, &repo, "release-9", "b").await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.body);
        assert!(r.body.contains("configuration file"), "{}", r.body);
    }
}

fn podman(root: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut all = vec![
        "--storage-driver=vfs".to_string(),
        "--root".into(),
        root.join("root").display().to_string(),
        "--runroot".into(),
        root.join("run").display().to_string(),
    ];
    all.extend(args.iter().map(|s| s.to_string()));
    Command::new("podman")
        .args(&all)
        .output()
        .expect("podman runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn podman_push_over_an_immutable_tag_fails_with_the_reason() {
    let app = app_with(|c| {
        c.immutable_tag_rules = serde_yaml::from_str("- pattern: release-*\n").unwrap();
    })
    .await;
    berth_server::policies::apply(&app.state).await.unwrap();
    let server = LiveServer::start(&app.state);
    let host = server.host();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let authfile = root.join("auth.json");
    let authfile = authfile.to_str().unwrap();
    let image = format!("{host}/lib/app:release-1");
    for (i, content) in ["first", "second"].iter().enumerate() {
        let rootfs = root.join(format!("rootfs{i}"));
        std::fs::create_dir_all(&rootfs).unwrap();
        std::fs::write(rootfs.join("file.txt"), content).unwrap();
        let tar = root.join(format!("layer{i}.tar"));
        let ok = Command::new("tar")
            .args([
                "-cf",
                tar.to_str().unwrap(),
                "-C",
                rootfs.to_str().unwrap(),
                ".",
            ])
            .status()
            .unwrap();
        assert!(ok.success());
        let host_clone = host.clone();
        let (root2, image2, tar2) = (root.clone(), image.clone(), tar.clone());
        let authfile2 = authfile.to_string();
        let out = tokio::task::spawn_blocking(move || {
            let imported = podman(&root2, &["import", tar2.to_str().unwrap(), &image2]);
            assert!(
                imported.status.success(),
                "{}",
                String::from_utf8_lossy(&imported.stderr)
            );
            let login = podman(
                &root2,
                &[
                    "login",
                    "--authfile",
                    &authfile2,
                    "--tls-verify=false",
                    "-u",
                    "admin",
                    "-p",
                    ADMIN_PASSWORD,
                    &host_clone,
                ],
            );
            assert!(
                login.status.success(),
                "{}",
                String::from_utf8_lossy(&login.stderr)
            );
            podman(
                &root2,
                &[
                    "push",
                    "--authfile",
                    &authfile2,
                    "--tls-verify=false",
                    &image2,
                ],
            )
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        if i == 0 {
            assert!(out.status.success(), "first push: {stderr}");
        } else {
            assert!(!out.status.success(), "the second push must fail");
            assert!(
                stderr.contains("immutable") && stderr.contains("release-*"),
                "podman shows the reason: {stderr}"
            );
        }
    }
    drop(server);
}
