//! The console over HTTP: server-side rendering, the 404 page, server functions, probes, metrics.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{backend_under_test, TestApp};

/// The tests of this file run one at a time. Building several applications while others render
/// (what parallel tests do, and a server never does: it builds its one application before it
/// serves) left about one render in a few thousand waiting forever inside Leptos; one
/// application under many concurrent renders (`concurrent_renders_all_finish`) does not.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_is_server_rendered_with_hydration_scripts() {
    let _one_at_a_time = SERIAL.lock().await;
    let app = TestApp::new().await;
    let res = app.get("/").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // The shell and the page content are in the HTML itself, before any script runs.
    assert!(res.body.contains("<h1"), "no heading in: {}", res.body);
    assert!(res.body.contains("Projects"));
    assert!(res.body.contains("Audit log"));
    assert!(
        !res.body.contains("Administration"),
        "administration is offered to admins only"
    );
    assert!(res.body.contains("id=\"user-menu-button\""));
    // And the page loads the wasm bundle that hydrates it.
    assert!(
        res.body.contains("/pkg/berth.js"),
        "no hydration script in: {}",
        res.body
    );
    assert!(res.body.contains("berth_bg.wasm"));
    assert!(res.body.contains("/pkg/berth.css"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_navigation_entry_renders() {
    let _one_at_a_time = SERIAL.lock().await;
    let app = TestApp::new().await;
    for (path, heading) in [
        ("/projects", "Projects"),
        ("/admin", "Administration"),
        ("/audit", "Audit log"),
        ("/settings", "Settings"),
        ("/login", "Sign in to your registry"),
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        assert!(res.body.contains(heading), "{path} lacks {heading}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_page_is_a_404_with_the_console_not_found_page() {
    let _one_at_a_time = SERIAL.lock().await;
    let app = TestApp::new().await;
    let res = app.get("/no/such/page").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(res.body.contains("Page not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_page_renders_instance_facts_from_a_server_function() {
    let _one_at_a_time = SERIAL.lock().await;
    let app = TestApp::new().await;
    let res = app.get("/settings").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("db_auth"), "{}", res.body);
    assert!(res.body.contains(backend_under_test()), "{}", res.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_backend_matches_the_test_environment() {
    let _one_at_a_time = SERIAL.lock().await;
    let app = TestApp::new().await;
    eprintln!(
        "Rust integration tests are running on {}",
        backend_under_test()
    );
    assert_eq!(app.state.instance.database_backend, backend_under_test());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_readyz() {
    let _one_at_a_time = SERIAL.lock().await;
    let app = TestApp::new().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, "ok");

    let res = app.get("/readyz").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let json: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(json["ready"], true);
    assert_eq!(json["checks"]["database"]["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_when_the_data_dir_is_not_writable() {
    let _one_at_a_time = SERIAL.lock().await;
    let app = TestApp::new().await;
    let mut state = app.state.clone();
    let mut config = (*state.config).clone();
    config.data_dir = "/proc/berth-not-writable".into();
    state.config = std::sync::Arc::new(config);
    let router = berth_server::router(state);
    use tower::ServiceExt;
    let response = router
        .oneshot(
            axum::http::Request::builder()
                .uri("/readyz")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let res = common::TestResponse {
        status,
        headers: Default::default(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    let json: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(json["checks"]["data_dir"]["ok"], false);
    assert_eq!(json["checks"]["database"]["ok"], true);
}

fn counter(metrics: &str, route: &str, status: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("berth_http_requests_total{"))
        .filter(|l| {
            l.contains(&format!("route=\"{route}\"")) && l.contains(&format!("status=\"{status}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_and_status() {
    let _one_at_a_time = SERIAL.lock().await;
    let app = TestApp::new().await;
    let before = counter(&app.get("/metrics").await.body, "/healthz", "200");
    for _ in 0..3 {
        app.get("/healthz").await;
    }
    let scrape = app.get("/metrics").await;
    assert_eq!(scrape.status, StatusCode::OK);
    assert!(scrape.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let after = counter(&scrape.body, "/healthz", "200");
    assert_eq!(after, before + 3, "{}", scrape.body);
    assert!(scrape
        .body
        .contains("berth_http_request_duration_seconds_bucket"));
    assert!(scrape
        .body
        .contains("berth_db_pool_connections{state=\"open\"}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id() {
    let _one_at_a_time = SERIAL.lock().await;
    let app = TestApp::new().await;
    let res = app.get("/healthz").await;
    let id = res.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "uuid expected, got {id}");

    let request = axum::http::Request::builder()
        .uri("/healthz")
        .header("x-request-id", "client-chosen-42")
        .body(Body::empty())
        .unwrap();
    use tower::ServiceExt;
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-chosen-42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_responses_have_no_hsts() {
    let _one_at_a_time = SERIAL.lock().await;
    let app = TestApp::new().await;
    let res = app.request(Method::GET, "/healthz", Body::empty()).await;
    assert!(!res.headers.contains_key("strict-transport-security"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_creates_admin_once_with_a_hashed_password() {
    let _one_at_a_time = SERIAL.lock().await;
    use domain::service::bootstrap::{ensure_admin, AdminBootstrap};
    let app = TestApp::new().await;
    let first = ensure_admin(&app.state.db, None).await.unwrap();
    let AdminBootstrap::CreatedWithGeneratedPassword(password) = first else {
        panic!("expected a generated password, got {first:?}");
    };
    assert!(password.len() >= 16);
    assert_eq!(
        ensure_admin(&app.state.db, Some("other")).await.unwrap(),
        AdminBootstrap::Existing
    );

    use sea_orm::EntityTrait;
    let users = domain::entities::user::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(users.len(), 1);
    let admin = &users[0];
    assert!(admin.is_admin && !admin.disabled);
    let hash = admin.password_hash.as_deref().unwrap();
    assert!(!hash.contains(&password));
    assert!(domain::password::verify(&password, hash));
}

/// Many pages rendered at once, as a busy server does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_renders_all_finish() {
    let _one_at_a_time = SERIAL.lock().await;
    let app = std::sync::Arc::new(TestApp::new().await);
    for _ in 0..10 {
        let mut tasks = Vec::new();
        for path in ["/projects", "/admin", "/audit", "/settings", "/login"] {
            for _ in 0..4 {
                let app = app.clone();
                tasks.push(tokio::spawn(async move {
                    let res =
                        tokio::time::timeout(std::time::Duration::from_secs(20), app.get(path))
                            .await;
                    (
                        path,
                        res.map(|r| r.status)
                            .unwrap_or_else(|_| panic!("rendering {path} stalled")),
                    )
                }));
            }
        }
        for t in tasks {
            let (path, status) = tokio::time::timeout(std::time::Duration::from_secs(30), t)
                .await
                .expect("a page render stalled")
                .unwrap();
            assert_eq!(status, StatusCode::OK, "{path}");
        }
    }
}

/// Signed-in pages over real data render to the end: nested loading boundaries over shared
/// resources once left the project page's stream open forever (its first chunk sent, the rest
/// never), and the same shape on a multi-threaded runtime deadlocked the whole server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_with_data_render_completely() {
    let _one_at_a_time = SERIAL.lock().await;
    let app = TestApp::new().await;
    let admin = app.admin().await;
    for name in ["full", "empty"] {
        app.state
            .services
            .create_project(
                &admin,
                domain::service::projects::NewProject {
                    name: name.into(),
                    public: false,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let (_, digest) = app.push_image("full/app", "1", "console").await;
    let cookie = app.console_login("admin", common::ADMIN_PASSWORD).await;
    let expectations: [(&str, &[&str]); 7] = [
        ("/projects", &["href=\"/projects/full\"", "2 total"]),
        (
            "/projects/full",
            &[
                "data-repository=\"full/app\"",
                "data-testid=\"quota\"",
                "data-testid=\"push-hint\"",
            ],
        ),
        (
            "/projects/empty",
            &["No repositories yet", "data-testid=\"quota\""],
        ),
        (
            "/projects/full/repositories/app",
            &[&format!("data-artifact=\"{digest}\""), "Delete repository"],
        ),
        ("/admin", &["data-user=\"admin\""]),
        ("/audit", &["data-operation="]),
        ("/profile", &["admin"]),
    ];
    for (path, wanted) in expectations {
        let res = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            app.send(Method::GET, path, None, None, &[("cookie", &cookie)]),
        )
        .await
        .unwrap_or_else(|_| panic!("{path} did not finish rendering"));
        assert_eq!(res.status, StatusCode::OK, "{path}");
        for w in wanted {
            assert!(res.body.contains(w), "{path} lacks {w}");
        }
    }
}
