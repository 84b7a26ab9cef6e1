//! The access model end to end: the permission matrix through the REST API and through the
//! token service, robots, disabled accounts, and the audit trail.

mod common;

use axum::http::{Method, StatusCode};
use common::{jwt_claims, password_of, TestApp, ADMIN_PASSWORD};
use domain::policy::authz::{Action, Resource, RobotGrant};
use domain::service::members::MemberRef;
use domain::service::projects::NewProject;
use domain::service::robots::NewRobot;
use domain::types::Role;
use serde_json::{json, Value};

const ROLES: [(&str, Option<Role>); 6] = [
    ("pa", Some(Role::ProjectAdmin)),
    ("maint", Some(Role::Maintainer)),
    ("dev", Some(Role::Developer)),
    ("guest", Some(Role::Guest)),
    ("lguest", Some(Role::LimitedGuest)),
    ("outsider", None),
];

/// Users for every role in the private project `team`, and a public project `pub`.
async fn world() -> TestApp {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let s = &app.state.services;
    for name in ["team", "pub"] {
        s.create_project(
            &admin,
            NewProject {
                name: name.into(),
                public: name == "pub",
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    for (user, role) in ROLES {
        app.user(user).await;
        if let Some(role) = role {
            s.add_member(&admin, "team", MemberRef::User(user.into()), role)
                .await
                .unwrap();
        }
    }
    app
}

async fn status(
    app: &TestApp,
    who: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> StatusCode {
    let password = who.map(password_of);
    let basic = who.zip(password.as_deref());
    app.send(method, path, basic, body, &[]).await.status
}

/// (description, method, path, body, expected status per ROLES entry).
type RestCase = (&'static str, Method, String, Option<Value>, [u16; 6]);

fn rest_cases() -> Vec<RestCase> {
    vec![
        (
            "read the project",
            Method::GET,
            "/api/v2.0/projects/team".into(),
            None,
            [200, 200, 200, 200, 200, 404],
        ),
        (
            "list members",
            Method::GET,
            "/api/v2.0/projects/team/members".into(),
            None,
            [200, 200, 200, 200, 403, 404],
        ),
        (
            "add a member",
            Method::POST,
            "/api/v2.0/projects/team/members".into(),
            Some(json!({"role_id": 3, "member_group": {"group_name": "auditors"}})),
            [201, 403, 403, 403, 403, 404],
        ),
        (
            "read project logs",
            Method::GET,
            "/api/v2.0/projects/team/logs".into(),
            None,
            [200, 403, 403, 403, 403, 404],
        ),
        (
            "list project robots",
            Method::GET,
            "/api/v2.0/robots?q=project%3Dteam".into(),
            None,
            [200, 200, 403, 403, 403, 404],
        ),
        (
            "create a project robot",
            Method::POST,
            "/api/v2.0/robots".into(),
            Some(json!({"name": "ci", "level": "project", "duration": -1,
                "permissions": [{"kind": "project", "namespace": "team", "access": [{"resource": "repository", "action": "pull"}]}]})),
            [201, 403, 403, 403, 403, 404],
        ),
        (
            "update the project",
            Method::PUT,
            "/api/v2.0/projects/team".into(),
            Some(json!({"metadata": {"auto_scan": "true"}})),
            [200, 403, 403, 403, 403, 404],
        ),
        (
            "list users",
            Method::GET,
            "/api/v2.0/users".into(),
            None,
            [403, 403, 403, 403, 403, 403],
        ),
        (
            "create a project",
            Method::POST,
            "/api/v2.0/projects".into(),
            None,
            [0; 6],
        ),
        (
            "read the whole audit log",
            Method::GET,
            "/api/v2.0/audit-logs?q=project%3Dpub".into(),
            None,
            [403; 6],
        ),
    ]
}

#[tokio::test]
async fn rest_api_enforces_the_role_matrix() {
    let app = world().await;
    for (what, method, path, body, expected) in rest_cases() {
        for (i, (user, _)) in ROLES.iter().enumerate() {
            let (body, expected) = if what == "create a project" {
                (Some(json!({"project_name": format!("own-{user}")})), 201)
            } else {
                (body.clone(), expected[i])
            };
            let got = status(&app, Some(user), method.clone(), &path, body).await;
            assert_eq!(
                got.as_u16(),
                expected,
                "{user} may {what}? ({method} {path})"
            );
        }
    }
    // The creator of a project administers it.
    assert_eq!(
        status(
            &app,
            Some("dev"),
            Method::GET,
            "/api/v2.0/projects/own-dev/logs",
            None
        )
        .await,
        StatusCode::OK
    );
    // Deleting a project: only its admin.
    for user in ["maint", "dev", "guest", "lguest"] {
        assert_eq!(
            status(
                &app,
                Some(user),
                Method::DELETE,
                "/api/v2.0/projects/team",
                None
            )
            .await,
            StatusCode::FORBIDDEN,
            "{user}"
        );
    }
    assert_eq!(
        status(
            &app,
            Some("pa"),
            Method::DELETE,
            "/api/v2.0/projects/team",
            None
        )
        .await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn anonymous_sees_public_projects_only() {
    let app = world().await;
    let res = app
        .send(Method::GET, "/api/v2.0/projects", None, None, &[])
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let names: Vec<String> = res
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["pub"]);
    assert_eq!(res.headers["x-total-count"], "1");
    assert_eq!(
        status(&app, None, Method::GET, "/api/v2.0/projects/pub", None).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, None, Method::GET, "/api/v2.0/projects/team", None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(
            &app,
            None,
            Method::POST,
            "/api/v2.0/projects",
            Some(json!({"project_name": "x"}))
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(
            &app,
            None,
            Method::GET,
            "/api/v2.0/projects/pub/members",
            None
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn wrong_and_disabled_credentials_are_refused() {
    let app = world().await;
    let res = app
        .send(
            Method::GET,
            "/api/v2.0/projects",
            Some(("dev", "wrong")),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(
        res.body.contains("invalid username or password"),
        "{}",
        res.body
    );

    let admin = app.admin().await;
    let id = app
        .state
        .services
        .list_users(&admin, Some("guest"), None, None)
        .await
        .unwrap()
        .items[0]
        .id;
    let res = app
        .send(
            Method::PUT,
            &format!("/api/v2.0/users/{id}/disabled"),
            Some(("admin", ADMIN_PASSWORD)),
            Some(json!({"disabled": true})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = app
        .send(
            Method::GET,
            "/api/v2.0/projects/team",
            Some(("guest", &password_of("guest"))),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.body.contains("disabled"), "{}", res.body);
}

#[tokio::test]
async fn repeated_failures_are_throttled_with_a_clear_error() {
    let app = world().await;
    for _ in 0..5 {
        let res = app
            .send(
                Method::GET,
                "/api/v2.0/projects",
                Some(("dev", "nope")),
                None,
                &[],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits now.
    let res = app
        .send(
            Method::GET,
            "/api/v2.0/projects",
            Some(("dev", &password_of("dev"))),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        res.body.contains("too many failed sign-in attempts"),
        "{}",
        res.body
    );
    assert!(res.headers.contains_key("retry-after"));
}

async fn token(app: &TestApp, who: Option<(&str, &str)>, scope: &str) -> (StatusCode, Value) {
    let path = format!(
        "/service/token?service=berth&scope={}",
        urlencoding::encode(scope)
    );
    let res = app.send(Method::GET, &path, who, None, &[]).await;
    let body = if res.status.is_success() {
        res.json()
    } else {
        json!({"error": res.body})
    };
    (res.status, body)
}

fn granted(body: &Value) -> Vec<String> {
    let claims = jwt_claims(body["token"].as_str().unwrap());
    claims["access"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn token_service_grants_the_intersection_of_request_and_role() {
    let app = world().await;
    let expected: [&[&str]; 6] = [
        &["pull", "push", "delete"],
        &["pull", "push", "delete"],
        &["pull", "push"],
        &["pull"],
        &["pull"],
        &[],
    ];
    for ((user, _), want) in ROLES.iter().zip(expected) {
        let pw = password_of(user);
        let (status, body) = token(
            &app,
            Some((user, &pw)),
            "repository:team/app:pull,push,delete",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{user}: {body}");
        assert_eq!(granted(&body), want, "{user}");
        let claims = jwt_claims(body["token"].as_str().unwrap());
        assert_eq!(claims["sub"], *user);
        assert_eq!(claims["aud"], "berth");
        assert_eq!(body["expires_in"], 1800);
        assert!(body["access_token"] == body["token"] && body["issued_at"].is_string());
    }
    // Public project: anyone pulls, nobody outside pushes.
    let (_, body) = token(&app, None, "repository:pub/app:pull,push").await;
    assert_eq!(granted(&body), ["pull"]);
    let pw = password_of("outsider");
    let (_, body) = token(
        &app,
        Some(("outsider", &pw)),
        "repository:pub/app:pull,push",
    )
    .await;
    assert_eq!(granted(&body), ["pull"]);
    // Private project, anonymous: nothing, but still a token (a partial grant is not an error).
    let (status, body) = token(&app, None, "repository:team/app:pull").await;
    assert_eq!(status, StatusCode::OK);
    assert!(granted(&body).is_empty());
    // The catalog is for system administrators.
    let (_, body) = token(&app, Some(("admin", ADMIN_PASSWORD)), "registry:catalog:*").await;
    assert_eq!(granted(&body), ["*"]);
    let pw = password_of("pa");
    let (_, body) = token(&app, Some(("pa", &pw)), "registry:catalog:*").await;
    assert!(granted(&body).is_empty());
}

#[tokio::test]
async fn token_service_refuses_wrong_and_disabled_credentials() {
    let app = world().await;
    let (status, body) = token(&app, Some(("dev", "bad")), "repository:team/app:pull").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let admin = app.admin().await;
    let id = app
        .state
        .services
        .list_users(&admin, Some("lguest"), None, None)
        .await
        .unwrap()
        .items[0]
        .id;
    app.state
        .services
        .set_disabled(&admin, id, true)
        .await
        .unwrap();
    let pw = password_of("lguest");
    let (status, _) = token(&app, Some(("lguest", &pw)), "repository:team/app:pull").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn robot(app: &TestApp, name: &str, actions: &[Action], days: i64) -> (i64, String, String) {
    let admin = app.admin().await;
    let grants = actions
        .iter()
        .map(|a| RobotGrant {
            namespace: "team".into(),
            resource: Resource::Repository,
            action: *a,
        })
        .collect();
    let created = app
        .state
        .services
        .create_robot(
            &admin,
            NewRobot {
                name: name.into(),
                description: String::new(),
                project: Some("team".into()),
                duration_days: days,
                permissions: grants,
                disabled: false,
            },
        )
        .await
        .unwrap();
    (created.id, created.name, created.secret)
}

#[tokio::test]
async fn robots_get_their_permissions_and_nothing_once_disabled_or_expired() {
    let app = world().await;
    let (id, name, secret) = robot(&app, "puller", &[Action::Pull], -1).await;
    assert_eq!(name, "robot$team+puller");
    let (status, body) = token(
        &app,
        Some((&name, &secret)),
        "repository:team/app:pull,push",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(granted(&body), ["pull"]);
    assert_eq!(jwt_claims(body["token"].as_str().unwrap())["sub"], name);
    // Not in another project.
    let (_, body) = token(&app, Some((&name, &secret)), "repository:own/app:pull").await;
    assert!(granted(&body).is_empty());
    // Robots cannot use the management API for things they were not granted.
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/projects/team/members",
            Some((&name, &secret)),
            Some(json!({"role_id": 1, "member_user": {"username": "outsider"}})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // Disabled robot.
    let admin = app.admin().await;
    app.state
        .services
        .update_robot(
            &admin,
            id,
            domain::service::robots::RobotUpdate {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (status, body) = token(&app, Some((&name, &secret)), "repository:team/app:pull").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"].as_str().unwrap().contains("disabled"));

    // Expired robot: created valid for a day, then its expiry passes.
    let (id, name, secret) = robot(&app, "short", &[Action::Pull], 1).await;
    let (status, _) = token(&app, Some((&name, &secret)), "repository:team/app:pull").await;
    assert_eq!(status, StatusCode::OK);
    use sea_orm::{ActiveModelTrait, Set};
    domain::entities::robot::ActiveModel {
        id: Set(id),
        expires_at: Set(Some(chrono::Utc::now() - chrono::Duration::minutes(1))),
        ..Default::default()
    }
    .update(&app.state.db)
    .await
    .unwrap();
    let (status, body) = token(&app, Some((&name, &secret)), "repository:team/app:pull").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"].as_str().unwrap().contains("expired"));

    // A refreshed secret replaces the old one.
    let (id, name, old) = robot(&app, "rotated", &[Action::Pull], -1).await;
    let res = app
        .send(
            Method::PATCH,
            &format!("/api/v2.0/robots/{id}"),
            Some(("pa", &password_of("pa"))),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let new = res.json()["secret"].as_str().unwrap().to_string();
    assert_eq!(
        token(&app, Some((&name, &old)), "repository:team/app:pull")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        token(&app, Some((&name, &new)), "repository:team/app:pull")
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn projects_with_repositories_cannot_be_deleted() {
    let app = world().await;
    use sea_orm::{ActiveModelTrait, Set};
    let team = app
        .state
        .services
        .get_project(&app.admin().await, "team")
        .await
        .unwrap();
    domain::entities::repository::ActiveModel {
        project_id: Set(team.id),
        name: Set("team/app".into()),
        created_at: Set(chrono::Utc::now()),
        updated_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    let res = app
        .send(
            Method::DELETE,
            "/api/v2.0/projects/team",
            Some(("admin", ADMIN_PASSWORD)),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(
        res.body.contains("still holds 1 repository"),
        "{}",
        res.body
    );
    assert_eq!(
        status(
            &app,
            Some("pa"),
            Method::GET,
            "/api/v2.0/projects/team",
            None
        )
        .await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_change_and_grant_is_audited() {
    let app = world().await;
    let pw = password_of("dev");
    token(&app, Some(("dev", &pw)), "repository:team/app:pull,push").await;
    app.send(
        Method::GET,
        "/api/v2.0/projects",
        Some(("dev", "wrong")),
        None,
        &[],
    )
    .await;
    let res = app
        .send(
            Method::GET,
            "/api/v2.0/audit-logs?page_size=100",
            Some(("admin", ADMIN_PASSWORD)),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let rows = res.json();
    let has = |actor: &str, op: &str, rtype: &str, result: &str| {
        rows.as_array().unwrap().iter().any(|r| {
            r["username"] == actor
                && r["operation"] == op
                && r["resource_type"] == rtype
                && r["result"] == result
        })
    };
    assert!(has("admin", "create", "project", "success"));
    assert!(has("admin", "create", "user", "success"));
    assert!(has("admin", "create", "member", "success"));
    assert!(has("dev", "grant", "token", "success"));
    assert!(has("dev", "login", "session", "failure"));
    let grant = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["operation"] == "grant")
        .unwrap();
    assert_eq!(grant["resource"], "repository:team/app:pull,push");

    // A project admin sees their project's records, and only those.
    let res = app
        .send(
            Method::GET,
            "/api/v2.0/audit-logs?page_size=100",
            Some(("pa", &password_of("pa"))),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let team_id = app
        .state
        .services
        .get_project(&app.admin().await, "team")
        .await
        .unwrap()
        .id;
    assert!(res
        .json()
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["project_id"] == team_id));
    assert!(!res.json().as_array().unwrap().is_empty());
    // Paging headers.
    let res = app
        .send(
            Method::GET,
            "/api/v2.0/audit-logs?page=1&page_size=2",
            Some(("admin", ADMIN_PASSWORD)),
            None,
            &[],
        )
        .await;
    assert_eq!(res.json().as_array().unwrap().len(), 2);
    assert!(res.headers["link"]
        .to_str()
        .unwrap()
        .contains("rel=\"next\""));
    let total: u64 = res.headers["x-total-count"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(total > 2);
}

#[tokio::test]
async fn openapi_document_lists_the_api() {
    let app = TestApp::new().await;
    let res = app.get("/api/v2.0/openapi.json").await;
    assert_eq!(res.status, StatusCode::OK);
    let doc = res.json();
    for path in [
        "/api/v2.0/projects",
        "/api/v2.0/projects/{project}/members",
        "/api/v2.0/robots",
        "/api/v2.0/users",
        "/api/v2.0/usergroups",
        "/api/v2.0/audit-logs",
        "/api/v2.0/systeminfo",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    let res = app.get("/api/v2.0/nope").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.json()["errors"][0]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn a_robots_permissions_are_replaced_through_put_and_checked() {
    let app = world().await;
    let (id, name, secret) = robot(&app, "editable", &[Action::Pull], -1).await;
    let admin = Some(("admin", common::ADMIN_PASSWORD));
    let put = |body: serde_json::Value| {
        let app = &app;
        async move {
            app.send(
                Method::PUT,
                &format!("/api/v2.0/robots/{id}"),
                admin,
                Some(body),
                &[],
            )
            .await
        }
    };
    // Push too, in its own project: the next token carries it.
    let res = put(json!({"description": "ci", "permissions": [{"kind": "project", "namespace": "team",
        "access": [{"resource": "repository", "action": "pull"}, {"resource": "repository", "action": "push"}]}]}))
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let (_, body) = token(
        &app,
        Some((&name, &secret)),
        "repository:team/app:pull,push",
    )
    .await;
    assert_eq!(granted(&body), ["pull", "push"]);
    let shown = app
        .send(
            Method::GET,
            &format!("/api/v2.0/robots/{id}"),
            admin,
            None,
            &[],
        )
        .await;
    assert_eq!(shown.json()["description"], "ci");
    // Another project's namespace, an ungrantable permission, or none at all: 400, unchanged.
    for bad in [
        json!([{"kind": "project", "namespace": "own", "access": [{"resource": "repository", "action": "pull"}]}]),
        json!([{"kind": "project", "namespace": "team", "access": [{"resource": "member", "action": "create"}]}]),
        json!([]),
    ] {
        let res = put(json!({"permissions": bad})).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}: {}", res.body);
    }
    let (_, body) = token(
        &app,
        Some((&name, &secret)),
        "repository:team/app:pull,push",
    )
    .await;
    assert_eq!(granted(&body), ["pull", "push"]);
    // Only those who manage the project's robots may edit them.
    let dev = app
        .member("team", "robot-dev", domain::types::Role::Developer)
        .await;
    let res = app
        .send(
            Method::PUT,
            &format!("/api/v2.0/robots/{id}"),
            Some(("robot-dev", &dev)),
            Some(json!({"description": "mine"})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
}
