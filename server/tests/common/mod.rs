//! `TestApp`: the real router on a fresh database migrated with the real migrations — SQLite in
//! a temporary directory, or a new PostgreSQL database when `BERTH_TEST_POSTGRES_URL` is set.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use berth_server::config::Config;
use berth_server::AppState;
use migrations::MigratorTrait;
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub data_dir: tempfile::TempDir,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    pub async fn with_config(customise: impl FnOnce(&mut Config)) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            data_dir: data_dir.path().to_path_buf(),
            ..Config::default()
        };
        config.database.url = Some(test_database_url(&config).await);
        customise(&mut config);
        let db = domain::db::connect(&config.database_url(), Default::default())
            .await
            .expect("test database opens");
        migrations::Migrator::up(&db, None)
            .await
            .expect("migrations apply");
        let state = AppState::new(config, db, site_root()).expect("state builds");
        let router = berth_server::router(state.clone());
        Self {
            router,
            state,
            data_dir,
        }
    }

    pub async fn request(&self, method: Method, path: &str, body: Body) -> TestResponse {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(body)
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, Body::empty()).await
    }
}

/// Which backend this test run uses, for assertions and messages.
pub fn backend_under_test() -> &'static str {
    if postgres_admin_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

fn postgres_admin_url() -> Option<String> {
    std::env::var("BERTH_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// SQLite inside the test's data directory, or a fresh PostgreSQL database per test.
async fn test_database_url(config: &Config) -> String {
    let Some(admin_url) = postgres_admin_url() else {
        return config.database_url();
    };
    use sqlx::Executor;
    let name = format!("berth_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&admin_url)
        .await
        .expect("BERTH_TEST_POSTGRES_URL reachable");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    admin.close().await;
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("postgres URL with a database name");
    format!("{base}/{name}")
}

/// The compiled site, if `scripts/build-site.sh` has run; server rendering does not need it.
pub fn site_root() -> PathBuf {
    std::env::var("BERTH_SITE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("target/site"))
}
