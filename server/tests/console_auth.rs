//! Console sign-in and sessions: cookie attributes, CSRF protection against cross-site posts,
//! sign-out, and that secrets never reach the logs or the database in clear.

mod common;

use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use common::{form, password_of, TestApp, ADMIN_PASSWORD};
use serde_json::json;

/// Signs in through the console's login server function; returns the session cookie.
async fn login(app: &TestApp, user: &str, password: &str) -> String {
    let res = app.console_login_response(user, password).await;
    assert_eq!(res.status, StatusCode::OK, "login failed: {}", res.body);
    let cookie = res.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("berth_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP test server: {cookie}"
    );
    cookie.split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_login_sets_a_session_that_the_api_accepts_and_logout_ends_it() {
    let app = TestApp::new().await;
    app.admin().await;
    let cookie = login(&app, "admin", ADMIN_PASSWORD).await;
    let res = app
        .send(
            Method::GET,
            "/api/v2.0/users/current",
            None,
            None,
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["username"], "admin");

    let res = app
        .post_form(
            "/console/fn/logout",
            String::new(),
            &[("origin", "http://berth.test"), ("cookie", &cookie)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = app
        .send(
            Method::GET,
            "/api/v2.0/users/current",
            None,
            None,
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);

    let audit = app
        .send(
            Method::GET,
            "/api/v2.0/audit-logs?q=resource_type%3Dsession",
            Some(("admin", ADMIN_PASSWORD)),
            None,
            &[],
        )
        .await;
    let ops: Vec<String> = audit
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["operation"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ops.contains(&"login".to_string()) && ops.contains(&"logout".to_string()),
        "{ops:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_console_password_is_a_clear_error() {
    let app = TestApp::new().await;
    app.admin().await;
    let res = app
        .post_form(
            "/console/fn/login",
            form(&[("username", "admin"), ("password", "nope")]),
            &[("origin", "http://berth.test")],
        )
        .await;
    assert!(res.status.is_server_error() || res.status.is_client_error());
    assert!(
        res.body.contains("invalid username or password"),
        "{}",
        res.body
    );
    assert!(!res.headers.contains_key("set-cookie"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_are_refused() {
    let app = TestApp::new().await;
    app.admin().await;
    let cookie = login(&app, "admin", ADMIN_PASSWORD).await;

    // A form on another site posting to the console with the victim's cookie.
    let res = app
        .post_form(
            "/console/fn/create_project",
            form(&[("name", "evil"), ("public", "true")]),
            &[("origin", "https://evil.example"), ("cookie", &cookie)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert!(res.body.contains("cross-site request refused"));
    // The same against the REST API, and with no Origin at all.
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/projects",
            None,
            Some(json!({"project_name": "evil"})),
            &[("cookie", &cookie), ("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/projects",
            None,
            Some(json!({"project_name": "evil"})),
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // Login CSRF: signing a victim into an attacker's account.
    let res = app
        .post_form(
            "/console/fn/login",
            form(&[("username", "admin"), ("password", ADMIN_PASSWORD)]),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    let admin = app.admin().await;
    assert!(app
        .state
        .services
        .list_projects(&admin, Some("evil"), None, None, None)
        .await
        .unwrap()
        .items
        .is_empty());

    // The same request from the console's own origin goes through.
    let res = app
        .post_form(
            "/console/fn/create_project",
            form(&[("name", "mine"), ("public", "false")]),
            &[("origin", "http://berth.test"), ("cookie", &cookie)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // API clients with Basic credentials and no cookie are not subject to the check.
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/projects",
            Some(("admin", ADMIN_PASSWORD)),
            Some(json!({"project_name": "scripted"})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_loses_their_session() {
    let app = TestApp::new().await;
    let id = app.user("dev").await;
    let cookie = login(&app, "dev", &password_of("dev")).await;
    let admin = app.admin().await;
    app.state
        .services
        .set_disabled(&admin, id, true)
        .await
        .unwrap();
    let res = app
        .send(
            Method::GET,
            "/api/v2.0/users/current",
            None,
            None,
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn secrets_never_reach_logs_or_the_database_in_clear() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::new().await;
    app.admin().await;
    let user_password = "Very-Secret-User-Password-7431";
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/users",
            Some(("admin", ADMIN_PASSWORD)),
            Some(json!({"username": "alice", "password": user_password, "email": "a@example.com"})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/projects",
            Some(("admin", ADMIN_PASSWORD)),
            Some(json!({"project_name": "team"})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let res = app.send(Method::POST, "/api/v2.0/robots", Some(("admin", ADMIN_PASSWORD)), Some(json!({
        "name": "ci", "level": "project", "duration": 30,
        "permissions": [{"namespace": "team", "access": [{"resource": "repository", "action": "push"}]}]})), &[]).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let robot_secret = res.json()["secret"].as_str().unwrap().to_string();
    let robot_name = res.json()["name"].as_str().unwrap().to_string();
    // Use every secret: console login, Basic, token service, and a failed attempt.
    login(&app, "alice", user_password).await;
    let res = app
        .send(
            Method::GET,
            "/service/token?scope=repository:team/a:push",
            Some((&robot_name, &robot_secret)),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    app.send(
        Method::GET,
        "/v2/",
        Some(("alice", user_password)),
        None,
        &[],
    )
    .await;
    app.send(
        Method::GET,
        "/v2/",
        Some(("alice", "Wrong-But-Still-Secret-99")),
        None,
        &[],
    )
    .await;

    let secrets = [
        user_password,
        robot_secret.as_str(),
        ADMIN_PASSWORD,
        "Wrong-But-Still-Secret-99",
    ];
    let log_text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(log_text.len() > 100, "the log capture works");
    for secret in secrets {
        assert!(!log_text.contains(secret), "a secret is in the log");
    }

    // Every row of every table, on either backend.
    use sea_orm::{ConnectionTrait, FromQueryResult, JsonValue, Statement};
    let backend = app.state.db.get_database_backend();
    let mut dump = String::new();
    for table in [
        "users",
        "sessions",
        "projects",
        "project_members",
        "user_groups",
        "robots",
        "audit_logs",
    ] {
        let rows = JsonValue::find_by_statement(Statement::from_string(
            backend,
            format!("SELECT * FROM {table}"),
        ))
        .all(&app.state.db)
        .await
        .unwrap();
        dump.push_str(&serde_json::to_string(&rows).unwrap());
    }
    assert!(
        dump.contains("alice") && dump.contains("$argon2id$"),
        "the dump holds the rows"
    );
    for secret in secrets {
        assert!(!dump.contains(secret), "a secret is stored in clear");
    }
    // On SQLite, also the raw database files, write-ahead log included.
    if common::backend_under_test() == "sqlite" {
        for file in ["berth.db", "berth.db-wal"] {
            let bytes = std::fs::read(app.data_dir.path().join(file)).unwrap_or_default();
            for secret in secrets {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "a secret is in {file}"
                );
            }
        }
    }
}
