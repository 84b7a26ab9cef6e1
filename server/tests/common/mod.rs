//! `TestApp`: the real router on a fresh database migrated with the real migrations — SQLite in
//! a temporary directory, or a new PostgreSQL database when `BERTH_TEST_POSTGRES_URL` is set.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::path::PathBuf;

pub mod faults;
pub mod oidc;
pub mod process;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use berth_server::config::Config;
use berth_server::AppState;
use domain::service::users::NewUser;
use domain::service::{Actor, Principal};
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
        config.storage.s3 = test_object_storage();
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
        self.dispatch(request).await
    }

    /// Sends a request through the router and reads the whole response.
    pub async fn dispatch(&self, request: Request<Body>) -> TestResponse {
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

    /// A request with optional Basic credentials, JSON body and extra headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        basic: Option<(&str, &str)>,
        json: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some((user, password)) = basic {
            builder = builder.header("authorization", basic_header(user, password));
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let body = match json {
            Some(v) => {
                builder = builder.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.dispatch(builder.body(body).unwrap()).await
    }

    /// A request with raw bytes as the body.
    pub async fn send_bytes(
        &self,
        method: Method,
        path: &str,
        basic: Option<(&str, &str)>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some((user, password)) = basic {
            builder = builder.header("authorization", basic_header(user, password));
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        self.dispatch(builder.body(Body::from(body)).unwrap()).await
    }

    /// Creates the private project `name` as the system administrator.
    pub async fn project(&self, name: &str) -> domain::types::dto::ProjectView {
        let admin = self.admin().await;
        self.state
            .services
            .create_project(
                &admin,
                domain::service::projects::NewProject {
                    name: name.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
    }

    /// The system administrator as a domain actor, for setting up fixtures through services.
    pub async fn admin(&self) -> Actor {
        domain::service::bootstrap::ensure_admin(&self.state.db, Some(ADMIN_PASSWORD))
            .await
            .unwrap();
        let principal = self
            .state
            .services
            .authenticate_password("admin", ADMIN_PASSWORD, "127.0.0.1", false)
            .await
            .unwrap();
        Actor::new(Principal::User(principal), "127.0.0.1")
    }

    /// Creates a user whose password is `password_of(name)`.
    pub async fn user(&self, name: &str) -> i64 {
        let admin = self.admin().await;
        self.state
            .services
            .create_user(
                &admin,
                NewUser {
                    username: name.into(),
                    email: Some(format!("{name}@example.com")),
                    display_name: None,
                    password: password_of(name),
                    is_admin: false,
                },
            )
            .await
            .unwrap()
            .id
    }
    /// Creates `name` and makes them a member of `project` with `role`; returns their password.
    pub async fn member(&self, project: &str, name: &str, role: domain::types::Role) -> String {
        self.user(name).await;
        let admin = self.admin().await;
        self.state
            .services
            .add_member(
                &admin,
                project,
                domain::service::members::MemberRef::User(name.into()),
                role,
            )
            .await
            .unwrap();
        password_of(name)
    }

    /// `Bearer <token>` from the token service for `user` and the `scope` asked for.
    pub async fn bearer(&self, user: &str, password: &str, scope: &str) -> String {
        let res = self
            .send(
                Method::GET,
                &format!("/service/token?service=berth&scope={scope}"),
                Some((user, password)),
                None,
                &[],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "token: {}", res.body);
        format!("Bearer {}", res.json()["token"].as_str().unwrap())
    }

    /// A project robot (REST, as the administrator) allowed `actions` on the project's
    /// repositories and never expiring; returns its full name (`robot$<project>+<name>`) and
    /// secret.
    pub async fn robot(&self, project: &str, name: &str, actions: &[&str]) -> (String, String) {
        let access: Vec<serde_json::Value> = actions
            .iter()
            .map(|a| serde_json::json!({"resource": "repository", "action": a}))
            .collect();
        let res = self
            .send(
                Method::POST,
                "/api/v2.0/robots",
                Some(("admin", ADMIN_PASSWORD)),
                Some(
                    serde_json::json!({"name": name, "duration": -1, "level": "project",
                    "permissions": [{"kind": "project", "namespace": project, "access": access}]}),
                ),
                &[],
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let body = res.json();
        (
            body["name"].as_str().unwrap().to_string(),
            body["secret"].as_str().unwrap().to_string(),
        )
    }

    /// A form post (server functions take form encoding), as a browser on `berth.test` sends it.
    pub async fn post_form(
        &self,
        path: &str,
        body: String,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "berth.test");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        self.dispatch(builder.body(Body::from(body)).unwrap()).await
    }

    /// Signs in through the console's login server function; returns the response, whose
    /// `set-cookie` carries the session.
    pub async fn console_login_response(&self, user: &str, password: &str) -> TestResponse {
        self.post_form(
            "/console/fn/login",
            form(&[("username", user), ("password", password)]),
            &[("origin", "http://berth.test")],
        )
        .await
    }

    /// Signs in through the console; returns the `name=value` session cookie.
    pub async fn console_login(&self, user: &str, password: &str) -> String {
        let res = self.console_login_response(user, password).await;
        assert_eq!(res.status, StatusCode::OK, "login failed: {}", res.body);
        let cookie = res.headers["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_string()
    }

    /// Monolithic blob upload as the admin; returns the digest.
    pub async fn push_blob(&self, repo: &str, content: &[u8]) -> String {
        let d = sha(content);
        let res = self
            .send_bytes(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/?digest={d}"),
                Some(("admin", ADMIN_PASSWORD)),
                content.to_vec(),
                &[],
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        d
    }

    /// An OCI image (a config and one layer derived from `seed`) pushed as the admin under
    /// `tag`; returns the manifest's bytes and digest.
    pub async fn push_image(&self, repo: &str, tag: &str, seed: &str) -> (Vec<u8>, String) {
        let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
        let layer = format!("layer of {seed}");
        let cd = self.push_blob(repo, config.as_bytes()).await;
        let ld = self.push_blob(repo, layer.as_bytes()).await;
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": layer.len()}],
        }))
        .unwrap();
        let res = self
            .send_bytes(
                Method::PUT,
                &format!("/v2/{repo}/manifests/{tag}"),
                Some(("admin", ADMIN_PASSWORD)),
                manifest.clone(),
                &[("content-type", OCI_MANIFEST)],
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let d = sha(&manifest);
        (manifest, d)
    }
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// One entry of a test layer: a file with content, or a whiteout path such as
/// `var/lib/dpkg/.wh.status` (given as a file with empty content, as OCI writes them).
pub type LayerEntry<'a> = (&'a str, &'a [u8]);

/// An uncompressed tar layer.
pub fn tar_layer(entries: &[LayerEntry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

impl TestApp {
    /// A runnable OCI image (config with the layers' diff ids; each layer gzip-compressed)
    /// pushed as the admin through the registry API; returns the manifest digest.
    pub async fn push_layers(&self, repo: &str, tag: &str, layers: &[Vec<u8>]) -> String {
        let diff_ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))
        .unwrap();
        let cd = self.push_blob(repo, &config).await;
        let mut descriptors = Vec::new();
        for layer in layers {
            let compressed = gzip(layer);
            let d = self.push_blob(repo, &compressed).await;
            descriptors.push(serde_json::json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": d, "size": compressed.len(),
            }));
        }
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
            "layers": descriptors,
        }))
        .unwrap();
        let res = self
            .send_bytes(
                Method::PUT,
                &format!("/v2/{repo}/manifests/{tag}"),
                Some(("admin", ADMIN_PASSWORD)),
                manifest.clone(),
                &[("content-type", OCI_MANIFEST)],
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        sha(&manifest)
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Form encoding of some pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub const ADMIN_PASSWORD: &str = "Admin-Passw0rd-for-tests";

pub fn password_of(user: &str) -> String {
    format!("pw-{user}-{}", user.len() * 7919)
}

pub fn basic_header(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// The claims of a JWT, without verifying it.
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("three JWT parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// With `BERTH_TEST_BLOB_STORE=s3`, blobs go to the S3 service named by
/// `BERTH_TEST_S3_ENDPOINT` (SeaweedFS, started by `scripts/test.sh`), under a root directory of
/// the test's own.
pub fn test_object_storage() -> Option<berth_server::config::S3Storage> {
    if std::env::var("BERTH_TEST_BLOB_STORE").ok().as_deref() != Some("s3") {
        return None;
    }
    Some(s3_storage(&format!(
        "test-{}",
        uuid::Uuid::new_v4().simple()
    )))
}

/// `storage.s3` for the test S3 service, under `root`.
pub fn s3_storage(root: &str) -> berth_server::config::S3Storage {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: ./scripts/test.sh starts SeaweedFS and sets it")
        })
    };
    serde_json::from_value(serde_json::json!({
        "bucket": var("BERTH_TEST_S3_BUCKET"),
        "regionendpoint": var("BERTH_TEST_S3_ENDPOINT"),
        "accesskey": var("BERTH_TEST_S3_ACCESS_KEY"),
        "secretkey": var("BERTH_TEST_S3_SECRET_KEY"),
        "rootdirectory": root,
        "chunksize": 5 * 1024 * 1024,
    }))
    .expect("test S3 settings parse")
}

/// Whether blobs go to object storage in this run.
pub fn object_storage_under_test() -> bool {
    test_object_storage().is_some()
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
pub async fn test_database_url(config: &Config) -> String {
    let Some(admin_url) = postgres_admin_url() else {
        return config.database_url();
    };
    create_postgres_database(&admin_url).await
}

/// A fresh PostgreSQL database whatever the run's backend, for tests of several processes on
/// one database (a second process on one SQLite file is refused at start): on the server of
/// `BERTH_TEST_POSTGRES_URL`, or of `BERTH_TEST_POSTGRES_SERVER` in the SQLite pass.
pub async fn postgres_database() -> String {
    let admin_url = postgres_admin_url()
        .or_else(|| std::env::var("BERTH_TEST_POSTGRES_SERVER").ok())
        .expect(
            "BERTH_TEST_POSTGRES_SERVER names a PostgreSQL server: ./scripts/test.sh starts one \
             and sets it",
        );
    create_postgres_database(&admin_url).await
}

async fn create_postgres_database(admin_url: &str) -> String {
    use sqlx::Executor;
    let name = format!("berth_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(admin_url)
        .await
        .expect("the test PostgreSQL server is reachable");
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

/// Server rendering needs no compiled site; static files are tested in `end2end/`.
pub fn site_root() -> PathBuf {
    PathBuf::from("target/site")
}

/// Serves the app on a loopback port in this process, for real clients; stops when dropped.
pub struct LiveServer {
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl LiveServer {
    pub fn start(state: &AppState) -> Self {
        Self::start_on(state, 0)
    }

    /// On a given port (0: any free one).
    pub fn start_on(state: &AppState, port: u16) -> Self {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = (*state.config).clone();
        let router = berth_server::router(state.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let listeners = berth_server::serve::Listeners {
                main: listener,
                redirect: None,
            };
            let shutdown = async move {
                let _ = stopped.await;
            };
            berth_server::serve::run(&config, router, listeners, shutdown)
                .await
                .unwrap();
        });
        Self {
            port,
            stop: Some(stop),
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
