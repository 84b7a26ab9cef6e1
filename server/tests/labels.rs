//! Labels through the REST API in Harbor's shape (`/api/v2.0/labels`,
//! `…/artifacts/{reference}/labels`): who may manage global and project labels, attaching
//! them to artifacts, the artifact list's label filter, bad input, and retention rules that
//! select by label. Runs on SQLite and, with `BERTH_TEST_POSTGRES_URL`, on PostgreSQL.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, ADMIN_PASSWORD};
use domain::types::Role;
use serde_json::{json, Value};

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));

async fn create(app: &TestApp, who: Option<(&str, &str)>, body: Value) -> common::TestResponse {
    app.send(Method::POST, "/api/v2.0/labels", who, Some(body), &[])
        .await
}

fn id_of(res: &common::TestResponse) -> i64 {
    res.headers["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn global_labels_are_for_system_administrators_and_seen_by_everyone() {
    let app = TestApp::new().await;
    let project = app.project("lab").await;
    let dev = app.member("lab", "dev", Role::Developer).await;
    let dev = Some(("dev", dev.as_str()));

    let made = create(
        &app,
        ADMIN,
        json!({"name": "approved", "color": "#00AA00", "description": "QA passed"}),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let approved = id_of(&made);
    let shown = app
        .send(
            Method::GET,
            &format!("/api/v2.0/labels/{approved}"),
            dev,
            None,
            &[],
        )
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    let shown = shown.json();
    assert_eq!(shown["name"], "approved");
    assert_eq!(shown["scope"], "g");
    assert_eq!(shown["color"], "#00aa00");
    assert_eq!(shown["project_id"], 0);

    // A developer may see global labels but not make them.
    let refused = create(&app, dev, json!({"name": "mine"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let listed = app
        .send(Method::GET, "/api/v2.0/labels?scope=g", dev, None, &[])
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.headers["x-total-count"], "1");
    assert_eq!(listed.json()[0]["name"], "approved");
    // Anonymous callers are asked to sign in.
    let anonymous = app.get("/api/v2.0/labels").await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        anonymous.body
    );

    // Names are unique per scope; bad input is a 400 naming the field.
    let twice = create(&app, ADMIN, json!({"name": "approved"})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    let blank = create(&app, ADMIN, json!({"name": "  "})).await;
    assert_eq!(blank.status, StatusCode::BAD_REQUEST);
    assert!(blank.body.contains("name"), "{}", blank.body);
    let colour = create(&app, ADMIN, json!({"name": "x", "color": "green"})).await;
    assert_eq!(colour.status, StatusCode::BAD_REQUEST);
    assert!(colour.body.contains("color"), "{}", colour.body);
    let scope = create(&app, ADMIN, json!({"name": "x", "scope": "z"})).await;
    assert_eq!(scope.status, StatusCode::BAD_REQUEST, "{}", scope.body);
    let no_project = create(&app, ADMIN, json!({"name": "x", "scope": "p"})).await;
    assert_eq!(
        no_project.status,
        StatusCode::BAD_REQUEST,
        "{}",
        no_project.body
    );

    // Renaming and deleting: administrators only.
    let renamed = app
        .send(
            Method::PUT,
            &format!("/api/v2.0/labels/{approved}"),
            ADMIN,
            Some(json!({"name": "qa-approved"})),
            &[],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let by_dev = app
        .send(
            Method::DELETE,
            &format!("/api/v2.0/labels/{approved}"),
            dev,
            None,
            &[],
        )
        .await;
    assert_eq!(by_dev.status, StatusCode::FORBIDDEN);
    let gone = app
        .send(
            Method::DELETE,
            &format!("/api/v2.0/labels/{approved}"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(gone.status, StatusCode::OK);
    let missing = app
        .send(
            Method::GET,
            &format!("/api/v2.0/labels/{approved}"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // Every change is in the audit log.
    let audit = app
        .send(
            Method::GET,
            "/api/v2.0/audit-logs?q=resource_type=label",
            ADMIN,
            None,
            &[],
        )
        .await;
    let operations: Vec<String> = audit
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap().to_string())
        .collect();
    for op in ["create", "update", "delete"] {
        assert!(
            operations.iter().any(|o| o == op),
            "{op} missing from {operations:?}"
        );
    }
    assert!(project.id > 0);
}

#[tokio::test]
async fn project_labels_attach_to_artifacts_filter_lists_and_follow_roles() {
    let app = TestApp::new().await;
    let p = app.project("lab").await;
    let other = app.project("other").await;
    let maintainer = app.member("lab", "maint", Role::Maintainer).await;
    let developer = app.member("lab", "dev", Role::Developer).await;
    let guest = app.member("lab", "guest", Role::Guest).await;
    let (maint, dev, guest) = (
        Some(("maint", maintainer.as_str())),
        Some(("dev", developer.as_str())),
        Some(("guest", guest.as_str())),
    );
    let (_, labelled) = app.push_image("lab/app", "v1", "one").await;
    let (_, plain) = app.push_image("lab/app", "v2", "two").await;

    // Maintainers make project labels; developers may not.
    let made = create(
        &app,
        maint,
        json!({"name": "rc", "scope": "p", "project_id": p.id}),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let rc = id_of(&made);
    let by_dev = create(
        &app,
        dev,
        json!({"name": "mine", "scope": "p", "project_id": p.id}),
    )
    .await;
    assert_eq!(by_dev.status, StatusCode::FORBIDDEN, "{}", by_dev.body);
    let foreign = create(
        &app,
        ADMIN,
        json!({"name": "theirs", "scope": "p", "project_id": other.id}),
    )
    .await;
    let theirs = id_of(&foreign);
    let listed = app
        .send(
            Method::GET,
            &format!("/api/v2.0/labels?scope=p&project_id={}", p.id),
            guest,
            None,
            &[],
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.json().as_array().unwrap().len(), 1);

    // Developers attach labels; guests may not; another project's label is refused.
    let path = format!("/api/v2.0/projects/lab/repositories/app/artifacts/{labelled}/labels");
    let by_guest = app
        .send(Method::POST, &path, guest, Some(json!({"id": rc})), &[])
        .await;
    assert_eq!(by_guest.status, StatusCode::FORBIDDEN, "{}", by_guest.body);
    let attached = app
        .send(Method::POST, &path, dev, Some(json!({"id": rc})), &[])
        .await;
    assert_eq!(attached.status, StatusCode::OK, "{}", attached.body);
    let again = app
        .send(Method::POST, &path, dev, Some(json!({"id": rc})), &[])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let wrong_project = app
        .send(Method::POST, &path, ADMIN, Some(json!({"id": theirs})), &[])
        .await;
    assert_eq!(
        wrong_project.status,
        StatusCode::BAD_REQUEST,
        "{}",
        wrong_project.body
    );
    let no_such = app
        .send(
            Method::POST,
            &path,
            ADMIN,
            Some(json!({"id": 999_999})),
            &[],
        )
        .await;
    assert_eq!(no_such.status, StatusCode::NOT_FOUND, "{}", no_such.body);
    let bad_body = app
        .send(Method::POST, &path, ADMIN, Some(json!({"id": "rc"})), &[])
        .await;
    assert_eq!(
        bad_body.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_body.body
    );

    // The artifact carries it, and the list filters by it.
    let artifact = app
        .send(
            Method::GET,
            &format!("/api/v2.0/projects/lab/repositories/app/artifacts/{labelled}"),
            guest,
            None,
            &[],
        )
        .await;
    assert_eq!(artifact.json()["labels"][0]["name"], "rc");
    let filtered = app
        .send(
            Method::GET,
            &format!("/api/v2.0/projects/lab/repositories/app/artifacts?q=labels%3D({rc})"),
            guest,
            None,
            &[],
        )
        .await;
    assert_eq!(filtered.status, StatusCode::OK, "{}", filtered.body);
    let filtered_json = filtered.json();
    let digests: Vec<&str> = filtered_json
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["digest"].as_str().unwrap())
        .collect();
    assert_eq!(digests, [labelled.as_str()]);
    let _ = plain;
    let bad_filter = app
        .send(
            Method::GET,
            "/api/v2.0/projects/lab/repositories/app/artifacts?q=labels%3Dxyz",
            guest,
            None,
            &[],
        )
        .await;
    assert_eq!(
        bad_filter.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_filter.body
    );

    // Detaching: developers; a label the artifact does not carry is a 404.
    let detach = format!("{path}/{rc}");
    let removed = app.send(Method::DELETE, &detach, dev, None, &[]).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    let twice = app.send(Method::DELETE, &detach, dev, None, &[]).await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);

    // Deleting a label takes it off every artifact.
    app.send(Method::POST, &path, dev, Some(json!({"id": rc})), &[])
        .await;
    let deleted = app
        .send(
            Method::DELETE,
            &format!("/api/v2.0/labels/{rc}"),
            maint,
            None,
            &[],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    let after = app
        .send(
            Method::GET,
            &format!("/api/v2.0/projects/lab/repositories/app/artifacts/{labelled}"),
            guest,
            None,
            &[],
        )
        .await;
    assert_eq!(after.json()["labels"], json!([]));
}

#[tokio::test]
async fn retention_rules_select_by_label() {
    let app = TestApp::new().await;
    let p = app.project("ret").await;
    let (_, keep) = app.push_image("ret/app", "v1", "one").await;
    let (_, drop) = app.push_image("ret/app", "v2", "two").await;
    let made = create(
        &app,
        ADMIN,
        json!({"name": "keep", "scope": "p", "project_id": p.id}),
    )
    .await;
    let label = id_of(&made);
    let attach = app
        .send(
            Method::POST,
            &format!("/api/v2.0/projects/ret/repositories/app/artifacts/{keep}/labels"),
            ADMIN,
            Some(json!({"id": label})),
            &[],
        )
        .await;
    assert_eq!(attach.status, StatusCode::OK, "{}", attach.body);
    let admin = app.admin().await;
    let rules: Vec<domain::policy::retention::Rule> = serde_json::from_value(json!([{
        "repositories": {"pattern": "**"}, "tags": {"pattern": "**"},
        "template": "always", "labels": ["keep"]
    }]))
    .unwrap();
    let decisions = app
        .state
        .services
        .preview_retention(&admin, "ret", rules)
        .await
        .unwrap();
    let verdict = |d: &str| decisions.iter().find(|x| x.digest == d).unwrap().verdict;
    use domain::policy::retention::Verdict;
    assert_eq!(verdict(&keep), Verdict::Keep, "{decisions:?}");
    assert_eq!(verdict(&drop), Verdict::Delete, "{decisions:?}");
}
