//! Console sign-in and sessions: cookie attributes, CSRF protection against cross-site posts,
//! sign-out (secrets in logs and the database: tests/secrets.rs).

mod common;

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
