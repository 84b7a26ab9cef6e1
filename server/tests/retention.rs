//! Tag retention through the REST API: the seed's three rules (from the configuration file) on
//! the same 30-tag fixture as the unit tests of `policy::retention`, as a dry run and then for
//! real; previews of unsaved rules; immutable tags reported as skipped.

mod common;

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use common::{TestApp, ADMIN_PASSWORD};
use domain::entities::artifact;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{json, Value};

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

use common::sha;

/// Pushes a distinct image as `repo:tag` and dates it `days_ago`.
async fn push_dated(app: &TestApp, repo: &str, tag: &str, days_ago: i64) {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","tag":"{tag}"}}"#);
    let cd = app.push_blob(repo, config.as_bytes()).await;
    let ld = app.push_blob(repo, b"shared layer").await;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": 12}],
    }))
    .unwrap();
    let r = app
        .send_bytes(
            Method::PUT,
            &format!("/v2/{repo}/manifests/{tag}"),
            ADMIN,
            manifest.clone(),
            &[("content-type", OCI_MANIFEST)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let digest = sha(&manifest);
    let row = artifact::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.digest == digest)
        .unwrap();
    let mut active = row.into_active_model();
    active.push_time = Set(Utc::now() - Duration::days(days_ago));
    active.update(&app.state.db).await.unwrap();
}

/// The fixture of `domain::policy::retention`'s unit tests: 15 `v*`, `latest`, 6 `release-*`,
/// 8 `dev-*`, with the same ages.
async fn seed_fixture(app: &TestApp, repo: &str) {
    for i in 1..=15 {
        push_dated(app, repo, &format!("v1.{i}"), 40 - i).await;
    }
    push_dated(app, repo, "latest", 3).await;
    for i in 1..=6 {
        push_dated(app, repo, &format!("release-{i}"), 300 + i).await;
    }
    for i in 1..=8 {
        push_dated(app, repo, &format!("dev-{i}"), i).await;
    }
}

fn tags_with(execution: &Value, verdict: &str) -> Vec<String> {
    let mut out: Vec<String> = execution["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["verdict"] == verdict)
        .map(|d| {
            d["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    out.sort();
    out
}

fn expected_kept() -> Vec<String> {
    let mut kept: Vec<String> = (6..=15).map(|i| format!("v1.{i}")).collect();
    kept.push("latest".into());
    kept.extend((1..=6).map(|i| format!("release-{i}")));
    kept.sort();
    kept
}

async fn app_with_seed_rules() -> TestApp {
    let seed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-harbor.yml"),
    )
    .unwrap();
    let parsed = berth_server::config::load_from_str(
        &seed,
        "seed.yml",
        &[("OIDC_SECRET".to_string(), "x".to_string())].into(),
    )
    .unwrap();
    let app = TestApp::with_config(move |c| c.retention = parsed.retention).await;
    app.project("lib").await;
    app
}

#[tokio::test]
async fn the_seed_rules_dry_run_then_run_on_thirty_tags() {
    let app = app_with_seed_rules().await;
    seed_fixture(&app, "lib/app").await;

    let policy = app
        .send(
            Method::GET,
            "/api/v2.0/projects/lib/retention",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(policy.json()["source"], "config");
    assert_eq!(policy.json()["rules"].as_array().unwrap().len(), 3);

    let dry = app
        .send(
            Method::POST,
            "/api/v2.0/projects/lib/retention/executions",
            ADMIN,
            Some(json!({"dry_run": true})),
            &[],
        )
        .await;
    assert_eq!(dry.status, StatusCode::CREATED, "{}", dry.body);
    let dry = dry.json();
    assert_eq!(dry["status"], "success");
    assert_eq!(
        tags_with(&dry, "keep"),
        expected_kept(),
        "same answer as the unit test"
    );
    assert_eq!(tags_with(&dry, "delete").len(), 13);
    let tags = app
        .send(Method::GET, "/v2/lib/app/tags/list", ADMIN, None, &[])
        .await;
    assert_eq!(
        tags.json()["tags"].as_array().unwrap().len(),
        30,
        "a dry run deletes nothing"
    );

    // The real run deletes exactly what the dry run listed.
    let real = app
        .send(
            Method::POST,
            "/api/v2.0/projects/lib/retention/executions",
            ADMIN,
            Some(json!({"dry_run": false})),
            &[],
        )
        .await
        .json();
    assert_eq!(tags_with(&real, "delete"), tags_with(&dry, "delete"));
    let mut left: Vec<String> = app
        .send(Method::GET, "/v2/lib/app/tags/list", ADMIN, None, &[])
        .await
        .json()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    left.sort();
    assert_eq!(left, expected_kept());

    let history = app
        .send(
            Method::GET,
            "/api/v2.0/projects/lib/retention/executions",
            ADMIN,
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(history[0]["dry_run"], false);
    let id = history[1]["id"].as_i64().unwrap();
    let one = app
        .send(
            Method::GET,
            &format!("/api/v2.0/projects/lib/retention/executions/{id}"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(one.json()["dry_run"], true);
}

#[tokio::test]
async fn previews_immutable_skips_and_who_may_run() {
    let app = app_with_seed_rules().await;
    for (tag, days) in [("v1", 5), ("v2", 4), ("v3", 3)] {
        push_dated(&app, "lib/svc", tag, days).await;
    }
    let keep_one = json!({"rules": [{
        "repositories": {"pattern": "**"}, "tags": {"pattern": "v*"},
        "template": "latestPushedK", "count": 1
    }]});
    let preview = app
        .send(
            Method::POST,
            "/api/v2.0/projects/lib/retention/preview",
            ADMIN,
            Some(keep_one.clone()),
            &[],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let kept: Vec<Value> = preview
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["verdict"] == "keep")
        .map(|d| d["tags"][0].clone())
        .collect();
    assert_eq!(kept, [json!("v3")]);
    // Changing the rule changes the preview; nothing is saved.
    let mut keep_two = keep_one.clone();
    keep_two["rules"][0]["count"] = json!(2);
    let preview = app
        .send(
            Method::POST,
            "/api/v2.0/projects/lib/retention/preview",
            ADMIN,
            Some(keep_two),
            &[],
        )
        .await
        .json();
    assert_eq!(
        preview
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["verdict"] == "keep")
            .count(),
        2
    );
    let policy = app
        .send(
            Method::GET,
            "/api/v2.0/projects/lib/retention",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(policy.json()["source"], "config");

    // Save the project's own policy; an immutable v1 is skipped, not deleted.
    let r = app
        .send(
            Method::PUT,
            "/api/v2.0/projects/lib/retention",
            ADMIN,
            Some(keep_one),
            &[],
        )
        .await;
    assert_eq!(r.json()["source"], "project", "{}", r.body);
    let r = app
        .send(
            Method::POST,
            "/api/v2.0/projects/lib/immutabletagrules",
            ADMIN,
            Some(json!({"tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "v1"}]})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let run = app
        .send(
            Method::POST,
            "/api/v2.0/projects/lib/retention/executions",
            ADMIN,
            Some(json!({"dry_run": false})),
            &[],
        )
        .await
        .json();
    assert_eq!(tags_with(&run, "skip"), ["v1"]);
    assert_eq!(tags_with(&run, "delete"), ["v2"]);
    let skipped = run["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["verdict"] == "skip")
        .unwrap();
    assert!(skipped["reason"].as_str().unwrap().contains("immutable"));

    // Developers may look but not run.
    let pw = app
        .member("lib", "dev", domain::types::Role::Developer)
        .await;
    let r = app
        .send(
            Method::POST,
            "/api/v2.0/projects/lib/retention/executions",
            Some(("dev", &pw)),
            Some(json!({"dry_run": false})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app
        .send(
            Method::GET,
            "/api/v2.0/projects/lib/retention",
            Some(("dev", &pw)),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Pushes a multi-arch index `repo:tag` over the manifests `children` (already pushed).
async fn push_index(app: &TestApp, repo: &str, tag: &str, children: &[&str]) -> String {
    let mut manifests = Vec::new();
    for (i, child) in children.iter().enumerate() {
        let got = app
            .send(
                Method::GET,
                &format!("/v2/{repo}/manifests/{child}"),
                ADMIN,
                None,
                &[("accept", OCI_MANIFEST)],
            )
            .await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.body);
        let arch = ["amd64", "arm64", "s390x"][i % 3];
        manifests.push(
            json!({"mediaType": OCI_MANIFEST, "digest": sha(got.body.as_bytes()),
            "size": got.body.len(), "platform": {"architecture": arch, "os": "linux"}}),
        );
    }
    const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    let index = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
    )
    .unwrap();
    let r = app
        .send_bytes(
            Method::PUT,
            &format!("/v2/{repo}/manifests/{tag}"),
            ADMIN,
            index.clone(),
            &[("content-type", OCI_INDEX)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    sha(&index)
}

/// `1.0` and `1.1` as images, `arm` an untagged image, and `multi` an index over all three.
async fn index_fixture(app: &TestApp, repo: &str) {
    push_dated(app, repo, "1.0", 3).await;
    push_dated(app, repo, "1.1", 2).await;
    push_dated(app, repo, "arm", 1).await;
    push_index(app, repo, "multi", &["1.0", "1.1", "arm"]).await;
    // The arm image keeps no tag of its own: the index is what names it.
    let r = app
        .send(
            Method::DELETE,
            "/api/v2.0/projects/lib/repositories/multi-arch/artifacts/arm/tags/arm",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// (tags joined by `+`, or `-` for untagged) → verdict, sorted.
fn verdict_table(decisions: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = decisions
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let tags: Vec<&str> = d["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            let name = if tags.is_empty() {
                "-".to_string()
            } else {
                tags.join("+")
            };
            (name, d["verdict"].as_str().unwrap().to_string())
        })
        .collect();
    out.sort();
    out
}

fn table(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = rows
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    out.sort();
    out
}

/// The tags left in the repository, and whether the index's children all still resolve.
async fn remaining(app: &TestApp, repo: &str) -> Vec<String> {
    let r = app
        .send(
            Method::GET,
            &format!("/v2/{repo}/tags/list"),
            ADMIN,
            None,
            &[],
        )
        .await;
    let mut tags: Vec<String> = match r.status {
        StatusCode::OK => r.json()["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect(),
        _ => Vec::new(),
    };
    tags.sort();
    tags
}

#[tokio::test]
async fn retention_decides_every_tagged_artifact_around_a_multi_arch_index() {
    // (rules, every artifact's verdict, the tags left after the run)
    type Case = (Value, Vec<(String, String)>, Vec<&'static str>);
    let cases: Vec<Case> = vec![
        // The bug report's rule: `multi` matches no rule and goes; `1.1` is the latest `1.*`;
        // `1.0` goes with the index that referenced it; the untagged image is untouched.
        (
            json!([{"repositories": {"pattern": "**"}, "tags": {"pattern": "1.*"},
                "template": "latestPushedK", "count": 1}]),
            table(&[
                ("1.0", "delete"),
                ("1.1", "keep"),
                ("-", "untouched"),
                ("multi", "delete"),
            ]),
            vec!["1.1"],
        ),
        // Keeping the index keeps everything it references, even what no rule retains.
        (
            json!([{"repositories": {"pattern": "**"}, "tags": {"pattern": "multi"},
                "template": "always", "untagged": true}]),
            table(&[
                ("1.0", "keep"),
                ("1.1", "keep"),
                ("-", "keep"),
                ("multi", "keep"),
            ]),
            vec!["1.0", "1.1", "multi"],
        ),
        // Two rules: the index kept by its age, the `1.*` rule keeping none of its own.
        (
            json!([{"repositories": {"pattern": "**"}, "tags": {"pattern": "m*"},
                "template": "nDaysSinceLastPush", "count": 7},
                {"repositories": {"pattern": "**"}, "tags": {"pattern": "1.*"},
                "template": "latestPushedK", "count": 0}]),
            table(&[
                ("1.0", "keep"),
                ("1.1", "keep"),
                ("-", "untouched"),
                ("multi", "keep"),
            ]),
            vec!["1.0", "1.1", "multi"],
        ),
        // Untagged included and nothing kept: the index goes first, then every image.
        (
            json!([{"repositories": {"pattern": "**"}, "tags": {"pattern": "**"},
                "template": "latestPushedK", "count": 0, "untagged": true}]),
            table(&[
                ("1.0", "delete"),
                ("1.1", "delete"),
                ("-", "delete"),
                ("multi", "delete"),
            ]),
            vec![],
        ),
    ];
    for (rules, expected, left) in cases {
        let app = app_with_seed_rules().await;
        index_fixture(&app, "lib/multi-arch").await;
        let body = json!({ "rules": rules });
        let preview = app
            .send(
                Method::POST,
                "/api/v2.0/projects/lib/retention/preview",
                ADMIN,
                Some(body.clone()),
                &[],
            )
            .await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        assert_eq!(
            verdict_table(&preview.json()),
            expected,
            "preview of {rules}"
        );
        // The console's preview is the same decision.
        let cookie = app.console_login("admin", ADMIN_PASSWORD).await;
        let console = app
            .post_form(
                "/console/fn/preview_retention",
                common::form(&[("project", "lib"), ("rules_json", &rules.to_string())]),
                &[("origin", "http://berth.test"), ("cookie", &cookie)],
            )
            .await;
        assert_eq!(console.status, StatusCode::OK, "{}", console.body);
        assert_eq!(
            verdict_table(&serde_json::from_str(&console.body).unwrap()),
            expected,
            "console preview of {rules}"
        );
        let saved = app
            .send(
                Method::PUT,
                "/api/v2.0/projects/lib/retention",
                ADMIN,
                Some(body),
                &[],
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        for dry_run in [true, false] {
            let run = app
                .send(
                    Method::POST,
                    "/api/v2.0/projects/lib/retention/executions",
                    ADMIN,
                    Some(json!({ "dry_run": dry_run })),
                    &[],
                )
                .await;
            assert_eq!(run.status, StatusCode::CREATED, "{}", run.body);
            assert_eq!(run.json()["status"], "success", "{}", run.body);
            assert_eq!(
                verdict_table(&run.json()["decisions"]),
                expected,
                "{} of {rules}",
                if dry_run { "dry run" } else { "run" }
            );
            if dry_run {
                assert_eq!(remaining(&app, "lib/multi-arch").await.len(), 3);
            }
        }
        assert_eq!(remaining(&app, "lib/multi-arch").await, left, "{rules}");
        // What stayed still resolves: no index points at a deleted manifest.
        if left.contains(&"multi") {
            for child in ["1.0", "1.1"] {
                let r = app
                    .send(
                        Method::GET,
                        &format!("/v2/lib/multi-arch/manifests/{child}"),
                        ADMIN,
                        None,
                        &[("accept", OCI_MANIFEST)],
                    )
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{child} of a kept index");
            }
        }
    }
}
