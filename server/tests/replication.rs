//! Replication against real parts: a second Berth (its own database and blob store, served
//! on a socket) and CNCF distribution 2.8 (Debian's `docker-registry`). Berth A pushes to
//! both and pulls back from distribution; the copies are compared byte for byte.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::process::{free_port, pattern};
use common::{sha, LiveServer, TestApp, TestResponse, ADMIN_PASSWORD, OCI_MANIFEST};
use serde_json::{json, Value};

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));
const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A Berth whose replication workers run and that may call loopback addresses.
async fn berth() -> TestApp {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let app = TestApp::with_config(|c| {
        c.outbound.allowed_networks = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    app.admin().await;
    berth_server::replication::spawn_workers(app.state.clone());
    app
}

/// CNCF distribution 2.8 on a free loopback port, storing in a temporary directory.
struct Distribution {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Distribution {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog: {{level: error, accesslog: {{disabled: true}}}}\n\
                 storage: {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\n\
                 http: {{addr: 127.0.0.1:{port}}}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let mut child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&config)
            .env_remove("AWS_CA_BUNDLE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("CNCF distribution (Debian's docker-registry; scripts/test.sh installs it)");
        let url = format!("http://127.0.0.1:{port}/v2/");
        for _ in 0..200 {
            if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
                return Self {
                    child,
                    port,
                    _dir: dir,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("distribution did not start on port {port}");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn manifest(&self, repo: &str, reference: &str) -> Option<Vec<u8>> {
        let res = reqwest::Client::new()
            .get(format!("{}/v2/{repo}/manifests/{reference}", self.url()))
            .header(
                "accept",
                format!(
                    "{OCI_MANIFEST}, {INDEX}, application/vnd.docker.distribution.manifest.v2+json"
                ),
            )
            .send()
            .await
            .unwrap();
        (res.status() == 200).then_some(res.bytes().await.unwrap().to_vec())
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn api(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> TestResponse {
    app.send(method, &format!("/api/v2.0{path}"), ADMIN, body, &[])
        .await
}

/// Adds a registry at `url` and returns its id.
async fn add_registry(
    app: &TestApp,
    name: &str,
    kind: &str,
    url: &str,
    user: Option<(&str, &str)>,
) -> i64 {
    let mut body = json!({"name": name, "type": kind, "url": url, "insecure": false});
    if let Some((u, p)) = user {
        body["credential"] = json!({"type": "basic", "access_key": u, "access_secret": p});
    }
    let res = api(app, Method::POST, "/registries", Some(body)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    res.json()["id"].as_i64().unwrap()
}

async fn add_policy(app: &TestApp, body: Value) -> i64 {
    let res = api(app, Method::POST, "/replication/policies", Some(body)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let location = res.headers["location"].to_str().unwrap().to_string();
    let id = res.json()["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v2.0/replication/policies/{id}"));
    id
}

/// Runs a policy to its end; returns the execution and its tasks.
async fn run(app: &TestApp, policy: i64) -> (Value, Vec<Value>) {
    let res = api(
        app,
        Method::POST,
        "/replication/executions",
        Some(json!({"policy_id": policy})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.json()["id"].as_i64().unwrap();
    let execution = wait_end(app, id, Duration::from_secs(60)).await;
    (execution, tasks(app, id).await)
}

async fn wait_end(app: &TestApp, id: i64, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let e = api(
            app,
            Method::GET,
            &format!("/replication/executions/{id}"),
            None,
        )
        .await
        .json();
        let status = e["status"].as_str().unwrap().to_string();
        if !["Pending", "InProgress"].contains(&status.as_str()) {
            return e;
        }
        assert!(
            started.elapsed() < limit,
            "execution {id} still {status}: {e}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn tasks(app: &TestApp, id: i64) -> Vec<Value> {
    let res = api(
        app,
        Method::GET,
        &format!("/replication/executions/{id}/tasks?page_size=100"),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.json().as_array().unwrap().clone()
}

/// A manifest's bytes as a Berth serves them to the admin, if it has it.
async fn manifest(app: &TestApp, repo: &str, reference: &str) -> Option<Vec<u8>> {
    let res = app
        .send_bytes(
            Method::GET,
            &format!("/v2/{repo}/manifests/{reference}"),
            ADMIN,
            Vec::new(),
            &[("accept", &format!("{OCI_MANIFEST}, {INDEX}"))],
        )
        .await;
    (res.status == StatusCode::OK).then(|| res.body.into_bytes())
}

async fn put_manifest(
    app: &TestApp,
    repo: &str,
    reference: &str,
    m: &Value,
    media_type: &str,
) -> String {
    let bytes = serde_json::to_vec(m).unwrap();
    let res = app
        .send_bytes(
            Method::PUT,
            &format!("/v2/{repo}/manifests/{reference}"),
            ADMIN,
            bytes.clone(),
            &[("content-type", media_type)],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    sha(&bytes)
}

/// What the source holds: a two-layer image with two tags, a two-platform index, an OCI 1.1
/// signature referrer of the image and a cosign `.sig` tag for it.
struct Fixture {
    image: String,
    index: String,
    referrer: String,
    sig: String,
    /// (repository path under the project, reference) of everything pushed.
    refs: Vec<(&'static str, String)>,
}

async fn fixture(app: &TestApp, project: &str) -> Fixture {
    app.project(project).await;
    let image = app
        .push_layers(
            &format!("{project}/app"),
            "v1",
            &[pattern(300_000, 1), pattern(200_000, 2)],
        )
        .await;
    let bytes = manifest(app, &format!("{project}/app"), &image)
        .await
        .unwrap();
    let m: Value = serde_json::from_slice(&bytes).unwrap();
    put_manifest(app, &format!("{project}/app"), "latest", &m, OCI_MANIFEST).await;
    let (amd, amd_digest) = app
        .push_image(&format!("{project}/multi"), "amd", "amd64")
        .await;
    let (arm, arm_digest) = app
        .push_image(&format!("{project}/multi"), "arm", "arm64")
        .await;
    let index = put_manifest(
        app,
        &format!("{project}/multi"),
        "latest",
        &json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": amd_digest, "size": amd.len(), "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": OCI_MANIFEST, "digest": arm_digest, "size": arm.len(), "platform": {"os": "linux", "architecture": "arm64"}},
        ]}),
        INDEX,
    )
    .await;
    let repo = format!("{project}/app");
    let empty = app.push_blob(&repo, b"{}").await;
    let payload = b"a signature made elsewhere";
    let blob = app.push_blob(&repo, payload).await;
    let signature = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.signature.v1",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/vnd.example.signature.v1", "digest": blob, "size": payload.len()}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": image, "size": bytes.len()}});
    let by_digest = sha(&serde_json::to_vec(&signature).unwrap());
    let referrer = put_manifest(app, &repo, &by_digest, &signature, OCI_MANIFEST).await;
    let simple = br#"{"critical":{"identity":{"docker-reference":"app"},"image":{"docker-manifest-digest":"x"},"type":"cosign container image signature"},"optional":null}"#;
    let sig_blob = app.push_blob(&repo, simple).await;
    let sig_config_bytes =
        br#"{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#;
    let sig_config = app.push_blob(&repo, sig_config_bytes).await;
    let sig_tag = format!("sha256-{}.sig", &image[7..]);
    let sig = put_manifest(
        app,
        &repo,
        &sig_tag,
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sig_config, "size": sig_config_bytes.len()},
            "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": sig_blob, "size": simple.len(),
                "annotations": {"dev.cosignproject.cosign/signature": "MEUCIQ=="}}]}),
        OCI_MANIFEST,
    )
    .await;
    Fixture {
        refs: vec![
            ("app", "v1".into()),
            ("app", "latest".into()),
            ("app", referrer.clone()),
            ("app", sig_tag.clone()),
            ("multi", "latest".into()),
            ("multi", amd_digest),
            ("multi", arm_digest),
        ],
        image,
        index,
        referrer,
        sig,
    }
}

#[tokio::test]
async fn registries_keep_their_secrets_and_the_guard_refuses_inward_addresses() {
    // Without `outbound.allowed_networks`, loopback and metadata addresses are refused.
    let closed = TestApp::new().await;
    closed.admin().await;
    for (url, why) in [
        ("http://127.0.0.1:5999", "loopback"),
        ("http://169.254.169.254/latest", "link-local"),
        ("http://[::1]:80", "loopback"),
        ("http://localhost:5000", "refused addresses"),
    ] {
        let res = api(
            &closed,
            Method::POST,
            "/registries",
            Some(json!({"name": "r", "type": "docker-registry", "url": url})),
        )
        .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{url}: {}", res.body);
        assert!(
            res.body.contains("url:") && res.body.contains(why),
            "{url}: {}",
            res.body
        );
        assert!(
            res.body.contains("outbound.allowed_networks"),
            "{}",
            res.body
        );
    }

    let a = berth().await;
    let b = berth().await;
    let b_server = LiveServer::start(&b.state);
    let b_url = format!("http://{}", b_server.host());
    let secret = ADMIN_PASSWORD;
    let id = add_registry(&a, "b", "harbor", &b_url, Some(("admin", secret))).await;
    let shown = api(&a, Method::GET, &format!("/registries/{id}"), None).await;
    assert_eq!(shown.json()["credential"]["access_secret"], "*****");
    assert_eq!(shown.json()["credential"]["access_key"], "admin");
    assert!(!shown.body.contains(secret));
    let list = api(&a, Method::GET, "/registries", None).await;
    assert!(!list.body.contains(secret) && list.body.contains("*****"));

    // Ping by id uses the stored credential; a wrong one is refused with the remote's answer.
    let ping = api(
        &a,
        Method::POST,
        "/registries/ping",
        Some(json!({"id": id})),
    )
    .await;
    assert_eq!(ping.status, StatusCode::OK, "{}", ping.body);
    assert_eq!(
        api(&a, Method::GET, &format!("/registries/{id}"), None)
            .await
            .json()["status"],
        "healthy"
    );
    let wrong = api(
        &a,
        Method::POST,
        "/registries/ping",
        Some(json!({"type": "harbor", "url": b_url, "credential": {"type": "basic", "access_key": "admin", "access_secret": "wrong"}})),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    assert!(wrong.body.contains("401"), "{}", wrong.body);
    assert!(!wrong.body.contains("wrong\""), "{}", wrong.body);

    // The secret is sealed at rest: no stored row holds it in clear.
    use domain::entities::{audit_log, event, registry};
    use sea_orm::EntityTrait;
    let db = &a.state.db;
    let stored = registry::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.access_secret.clone().expect("a sealed secret");
    assert!(!sealed.contains(secret) && sealed.len() > secret.len());
    let dump = format!(
        "{:?}{:?}{:?}",
        registry::Entity::find().all(db).await.unwrap(),
        audit_log::Entity::find().all(db).await.unwrap(),
        event::Entity::find().all(db).await.unwrap()
    );
    assert!(dump.contains("registry"), "the dump reads the rows");
    assert!(
        !dump.contains(secret),
        "a stored row holds the secret in clear"
    );

    // A PUT keeping `*****` keeps the secret; a new URL without a new secret clears it.
    let kept = api(
        &a,
        Method::PUT,
        &format!("/registries/{id}"),
        Some(json!({"description": "B", "credential": {"type": "basic", "access_key": "admin", "access_secret": "*****"}})),
    )
    .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.body);
    assert_eq!(kept.json()["credential"]["access_secret"], "*****");
    let moved = api(
        &a,
        Method::PUT,
        &format!("/registries/{id}"),
        Some(json!({"url": format!("http://127.0.0.2:{}", b_server.port)})),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.json()["credential"]["access_secret"], "");

    // Bad input names its field; names are unique.
    for (body, field) in [
        (json!({"name": "x", "type": "quay", "url": b_url}), "type"),
        (
            json!({"name": "x", "type": "harbor", "url": "ftp://x"}),
            "url",
        ),
        (
            json!({"name": "x", "type": "harbor", "url": "http://user:pw@127.0.0.1:1"}),
            "url",
        ),
        (json!({"type": "harbor", "url": b_url}), "name"),
    ] {
        let res = api(&a, Method::POST, "/registries", Some(body)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
        assert!(res.body.contains(&format!("{field}:")), "{}", res.body);
    }
    let dup = api(
        &a,
        Method::POST,
        "/registries",
        Some(json!({"name": "b", "type": "harbor", "url": b_url})),
    )
    .await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.body);

    // Policies: exactly one side is this registry; filters are checked; names are unique.
    let base = json!({"name": "p", "dest_registry": {"id": id}, "filters": [{"type": "name", "value": "src/**"}]});
    let policy = add_policy(&a, base.clone()).await;
    let shown = api(
        &a,
        Method::GET,
        &format!("/replication/policies/{policy}"),
        None,
    )
    .await
    .json();
    assert_eq!(shown["src_registry"]["id"], 0);
    assert_eq!(shown["dest_registry"]["id"], id);
    assert_eq!(shown["trigger"]["type"], "manual");
    assert_eq!(shown["dest_namespace_replace_count"], -1);
    assert_eq!(shown["override"], true);
    for (body, status, needle) in [
        (base.clone(), StatusCode::CONFLICT, "exists"),
        (
            json!({"name": "q", "src_registry": {"id": id}, "dest_registry": {"id": id}}),
            StatusCode::BAD_REQUEST,
            "dest_registry:",
        ),
        (
            json!({"name": "q"}),
            StatusCode::BAD_REQUEST,
            "dest_registry:",
        ),
        (
            json!({"name": "q", "dest_registry": {"id": 999}}),
            StatusCode::BAD_REQUEST,
            "does not exist",
        ),
        (
            json!({"name": "q", "dest_registry": {"id": id}, "filters": [{"type": "tag", "value": "[v"}]}),
            StatusCode::BAD_REQUEST,
            "filters[0].value:",
        ),
        (
            json!({"name": "q", "dest_registry": {"id": id}, "trigger": {"type": "scheduled", "trigger_settings": {"cron": "every hour"}}}),
            StatusCode::BAD_REQUEST,
            "trigger.trigger_settings.cron:",
        ),
        (
            json!({"name": "q", "dest_registry": {"id": id}, "speed": -5}),
            StatusCode::BAD_REQUEST,
            "speed:",
        ),
        (
            json!({"name": "q", "dest_registry": {"id": id}, "security": {"max_severity": "Bad"}}),
            StatusCode::BAD_REQUEST,
            "security.max_severity:",
        ),
        (
            json!({"name": "q", "dest_registry": {"id": id}, "dest_namespace": "Has Space"}),
            StatusCode::BAD_REQUEST,
            "dest_namespace:",
        ),
        (
            json!({"name": "q", "src_registry": {"id": id}, "dest_registry": {"id": 0}, "security": {"require_signature": true}}),
            StatusCode::BAD_REQUEST,
            "security:",
        ),
        (
            json!({"name": "q", "dest_registry": {"id": id}, "platforms": ["linux/amd64"]}),
            StatusCode::BAD_REQUEST,
            "platforms:",
        ),
    ] {
        let res = api(&a, Method::POST, "/replication/policies", Some(body)).await;
        assert_eq!(res.status, status, "{}", res.body);
        assert!(res.body.contains(needle), "{needle}: {}", res.body);
    }
    // A registry a policy uses cannot go.
    let gone = api(&a, Method::DELETE, &format!("/registries/{id}"), None).await;
    assert_eq!(
        gone.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        gone.body
    );
    assert_eq!(
        api(
            &a,
            Method::DELETE,
            &format!("/replication/policies/{policy}"),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        api(&a, Method::DELETE, &format!("/registries/{id}"), None)
            .await
            .status,
        StatusCode::OK
    );
    // Administrators only.
    a.user("dev").await;
    let res = a
        .send(
            Method::GET,
            "/api/v2.0/registries",
            Some(("dev", &common::password_of("dev"))),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
}

#[tokio::test]
async fn push_to_berth_and_distribution_and_pull_back_keep_every_digest() {
    let a = berth().await;
    let b = berth().await;
    let b_server = LiveServer::start(&b.state);
    let dist = Distribution::start().await;
    let f = fixture(&a, "src").await;
    b.project("dst").await;

    // A → B, `src/app` becoming `dst/app` (one level replaced).
    let to_b = add_registry(
        &a,
        "b",
        "harbor",
        &format!("http://{}", b_server.host()),
        Some(("admin", ADMIN_PASSWORD)),
    )
    .await;
    let policy = add_policy(
        &a,
        json!({"name": "to-b", "dest_registry": {"id": to_b}, "dest_namespace": "dst",
               "dest_namespace_replace_count": 1, "filters": [{"type": "name", "value": "src/**"}]}),
    )
    .await;
    let (execution, done) = run(&a, policy).await;
    assert_eq!(execution["status"], "Succeed", "{execution} {done:?}");
    // Two top-level artifacts: the image (with its accessories) and the index.
    assert_eq!(execution["total"], 2, "{done:?}");
    assert_eq!(execution["succeed"], 2);
    for (repo, reference) in &f.refs {
        let ours = manifest(&a, &format!("src/{repo}"), reference)
            .await
            .unwrap();
        let theirs = manifest(&b, &format!("dst/{repo}"), reference)
            .await
            .unwrap_or_else(|| panic!("dst/{repo}:{reference} did not arrive"));
        assert_eq!(sha(&ours), sha(&theirs), "{repo}:{reference}");
    }
    let referrers = b
        .send(
            Method::GET,
            &format!("/v2/dst/app/referrers/{}", f.image),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert!(referrers.body.contains(&f.referrer), "{}", referrers.body);
    let task_log = api(
        &a,
        Method::GET,
        &format!(
            "/replication/executions/{}/tasks/{}/log",
            execution["id"], done[0]["id"]
        ),
        None,
    )
    .await;
    assert_eq!(task_log.status, StatusCode::OK);
    assert!(task_log.body.contains("copied"), "{}", task_log.body);
    // The replication is audited as its own identity.
    let audit = api(&a, Method::GET, "/audit-logs?page_size=100", None).await;
    assert!(audit.body.contains("\"replication\""), "{}", audit.body);

    // Progress is on /metrics.
    let metrics = a.get("/metrics").await.body;
    let bytes: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("berth_replication_bytes_total "))
        .expect("the byte counter")
        .parse()
        .unwrap();
    assert!(bytes > 500_000, "{bytes}");
    assert!(
        metrics.contains("berth_replication_tasks_total{status=\"Succeed\"} 2"),
        "{metrics}"
    );

    // A second run sends no blob bytes.
    let (again, tasks) = run(&a, policy).await;
    assert_eq!(again["status"], "Succeed");
    for t in &tasks {
        assert!(
            t["status_text"]
                .as_str()
                .unwrap()
                .starts_with("0 blobs copied (0 bytes)"),
            "{t}"
        );
    }

    // A → distribution with the whole path kept under `mirror` (no flattening).
    let to_dist = add_registry(&a, "dist", "docker-registry", &dist.url(), None).await;
    let mirror = add_policy(
        &a,
        json!({"name": "to-dist", "dest_registry": {"id": to_dist}, "dest_namespace": "mirror",
               "dest_namespace_replace_count": 0}),
    )
    .await;
    let (execution, done) = run(&a, mirror).await;
    assert_eq!(execution["status"], "Succeed", "{execution} {done:?}");
    for (repo, reference) in &f.refs {
        let ours = manifest(&a, &format!("src/{repo}"), reference)
            .await
            .unwrap();
        let theirs = dist
            .manifest(&format!("mirror/src/{repo}"), reference)
            .await
            .unwrap_or_else(|| panic!("mirror/src/{repo}:{reference} is not in distribution"));
        assert_eq!(sha(&ours), sha(&theirs), "{repo}:{reference}");
    }
    // Distribution has no referrers API: the referrers tag schema carries the signature.
    let schema = dist
        .manifest("mirror/src/app", &format!("sha256-{}", &f.image[7..]))
        .await
        .expect("the referrers tag");
    assert!(String::from_utf8_lossy(&schema).contains(&f.referrer));
    assert!(dist.manifest("mirror/src/app", &f.sig).await.is_some());

    // distribution → A (pull mode) into another project, flattened to the image's name;
    // the referrer comes back through the tag schema.
    a.project("back").await;
    let pull = add_policy(
        &a,
        json!({"name": "from-dist", "src_registry": {"id": to_dist}, "dest_registry": {"id": 0},
               "dest_namespace": "back", "dest_namespace_replace_count": -1,
               "filters": [{"type": "name", "value": "mirror/src/**"}, {"type": "tag", "value": "{v1,latest}"}]}),
    )
    .await;
    let (execution, done) = run(&a, pull).await;
    assert_eq!(execution["status"], "Succeed", "{execution} {done:?}");
    assert_eq!(
        manifest(&a, "back/app", "v1").await.map(|m| sha(&m)),
        Some(f.image.clone())
    );
    assert_eq!(
        manifest(&a, "back/multi", "latest").await.map(|m| sha(&m)),
        Some(f.index.clone())
    );
    let back = a
        .send(
            Method::GET,
            &format!("/v2/back/app/referrers/{}", f.image),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert!(back.body.contains(&f.referrer), "{}", back.body);
    // The tag filter kept `amd` and `arm` (tags of the index's children) out.
    assert!(manifest(&a, "back/multi", "amd").await.is_none());
}

#[tokio::test]
async fn filters_override_and_a_robot_with_push_on_one_project() {
    let a = berth().await;
    let b = berth().await;
    let b_server = LiveServer::start(&b.state);
    a.project("src").await;
    let v1 = a.push_image("src/app", "v1.0", "one").await.1;
    a.push_image("src/app", "dev", "dev").await;
    a.push_image("src/skip-me", "v1.0", "other").await;
    b.project("team").await;
    b.project("other").await;
    // B already has a different artifact under `team/app:v1.0`.
    let theirs = b.push_image("team/app", "v1.0", "theirs").await.1;

    let (robot, robot_secret) = b.robot("team", "replicator", &["push", "pull"]).await;
    let remote = add_registry(
        &a,
        "b-robot",
        "harbor",
        &format!("http://{}", b_server.host()),
        Some((&robot, &robot_secret)),
    )
    .await;
    let policy = add_policy(
        &a,
        json!({"name": "team", "dest_registry": {"id": remote}, "dest_namespace": "team",
               "dest_namespace_replace_count": 1, "override": false,
               "filters": [{"type": "name", "value": "src/skip-*", "decoration": "excludes"},
                           {"type": "tag", "value": "v*"}]}),
    )
    .await;
    let (execution, done) = run(&a, policy).await;
    assert_eq!(execution["status"], "Succeed", "{execution} {done:?}");
    assert_eq!(execution["total"], 1, "{done:?}");
    // `override: false` kept B's own artifact under the tag; the content still arrived.
    assert_eq!(
        manifest(&b, "team/app", "v1.0").await.map(|m| sha(&m)),
        Some(theirs)
    );
    assert!(manifest(&b, "team/app", &v1).await.is_some());
    assert!(manifest(&b, "team/app", "dev").await.is_none());
    assert!(manifest(&b, "team/skip-me", "v1.0").await.is_none());
    // With override the tag moves.
    let res = api(
        &a,
        Method::PUT,
        &format!("/replication/policies/{policy}"),
        Some(json!({"override": true})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let (execution, _) = run(&a, policy).await;
    assert_eq!(execution["status"], "Succeed");
    assert_eq!(
        manifest(&b, "team/app", "v1.0").await.map(|m| sha(&m)),
        Some(v1)
    );

    // The same robot into a project it has no grant in: the remote's refusal, not silence.
    let elsewhere = add_policy(
        &a,
        json!({"name": "other", "dest_registry": {"id": remote}, "dest_namespace": "other",
               "dest_namespace_replace_count": 1, "filters": [{"type": "tag", "value": "v*"}]}),
    )
    .await;
    let (execution, done) = run(&a, elsewhere).await;
    assert_eq!(execution["status"], "Failed", "{execution}");
    let text = done[0]["status_text"].as_str().unwrap();
    assert!(
        text.contains("DENIED") || text.contains("UNAUTHORIZED"),
        "{text}"
    );
    assert!(!text.contains(&robot_secret));
    assert!(manifest(&b, "other/app", "v1.0").await.is_none());
}

#[tokio::test]
async fn stop_ends_a_throttled_execution_within_seconds() {
    let a = berth().await;
    let b = berth().await;
    let b_server = LiveServer::start(&b.state);
    a.project("src").await;
    b.project("src").await;
    a.push_layers("src/big", "v1", &[pattern(4 * 1024 * 1024, 9)])
        .await;
    let remote = add_registry(
        &a,
        "b",
        "harbor",
        &format!("http://{}", b_server.host()),
        Some(("admin", ADMIN_PASSWORD)),
    )
    .await;
    // 64 KiB/s: the 4 MiB layer would take a minute.
    let policy = add_policy(
        &a,
        json!({"name": "slow", "dest_registry": {"id": remote}, "speed": 64}),
    )
    .await;
    let res = api(
        &a,
        Method::POST,
        "/replication/executions",
        Some(json!({"policy_id": policy})),
    )
    .await;
    let id = res.json()["id"].as_i64().unwrap();
    // Wait until bytes are moving.
    let started = Instant::now();
    loop {
        let t = tasks(&a, id).await;
        if t.first()
            .is_some_and(|t| t["bytes_done"].as_i64().unwrap_or(0) > 0)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no progress: {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let t = tasks(&a, id).await;
    let moved = t[0]["bytes_done"].as_i64().unwrap();
    assert!(
        moved < 1024 * 1024,
        "the throttle let {moved} bytes through too fast"
    );
    let stop = Instant::now();
    let res = api(
        &a,
        Method::PUT,
        &format!("/replication/executions/{id}"),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let e = wait_end(&a, id, Duration::from_secs(5)).await;
    assert!(stop.elapsed() < Duration::from_secs(5));
    assert_eq!(e["status"], "Stopped", "{e}");
    assert_eq!(tasks(&a, id).await[0]["status"], "Stopped");
    assert!(manifest(&b, "src/big", "v1").await.is_none());
    // Stopping again is refused: it has ended.
    let again = api(
        &a,
        Method::PUT,
        &format!("/replication/executions/{id}"),
        None,
    )
    .await;
    assert_eq!(
        again.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        again.body
    );
}

/// Polls until `check` holds (or panics after `limit`).
async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < limit,
            "{what} did not happen within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn event_based_replication_waits_for_a_destination_that_is_down() {
    let a = berth().await;
    let b = berth().await;
    let port = free_port();
    let server = LiveServer::start_on(&b.state, port);
    let dist = Distribution::start().await;
    a.project("src").await;
    b.project("src").await;
    let remote = add_registry(
        &a,
        "b",
        "harbor",
        &format!("http://127.0.0.1:{port}"),
        Some(("admin", ADMIN_PASSWORD)),
    )
    .await;
    let to_dist = add_registry(&a, "dist", "docker-registry", &dist.url(), None).await;
    for (name, id) in [("to-b", remote), ("to-dist", to_dist)] {
        add_policy(
            &a,
            json!({"name": name, "dest_registry": {"id": id}, "replicate_deletion": true,
                   "trigger": {"type": "event_based"}, "filters": [{"type": "tag", "value": "v*"}]}),
        )
        .await;
    }
    // A push while B is up arrives by itself.
    let one = a.push_image("src/one", "v1", "one").await.1;
    eventually("src/one:v1 on B", Duration::from_secs(30), || async {
        manifest(&b, "src/one", "v1").await.is_some()
    })
    .await;
    assert_eq!(
        manifest(&b, "src/one", "v1").await.map(|m| sha(&m)),
        Some(one.clone())
    );

    // B goes down; three images are pushed (and a tag the filter leaves out).
    drop(server);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut pushed = Vec::new();
    for name in ["two", "three", "four"] {
        pushed.push((
            name,
            a.push_image(&format!("src/{name}"), "v1", name).await.1,
        ));
    }
    a.push_image("src/four", "dev", "dev").await;
    // The tasks wait with a retry time instead of failing.
    eventually("a task waiting for B", Duration::from_secs(30), || async {
        let list = api(
            &a,
            Method::GET,
            "/replication/executions?page_size=50",
            None,
        )
        .await
        .json();
        let mut waiting = false;
        for e in list.as_array().unwrap() {
            for t in tasks(&a, e["id"].as_i64().unwrap()).await {
                if t["status"] == "Pending"
                    && t["attempts"].as_i64() >= Some(1)
                    && t["next_retry_time"] != ""
                {
                    waiting = true;
                }
            }
        }
        waiting
    })
    .await;
    assert!(manifest(&b, "src/two", "v1").await.is_none());
    // B comes back: everything arrives without anyone asking.
    let _server = LiveServer::start_on(&b.state, port);
    for (name, digest) in &pushed {
        let repo = format!("src/{name}");
        eventually(
            &format!("{repo}:v1 on B"),
            Duration::from_secs(60),
            || async { manifest(&b, &repo, "v1").await.is_some() },
        )
        .await;
        assert_eq!(
            manifest(&b, &repo, "v1").await.map(|m| sha(&m)),
            Some(digest.clone())
        );
        eventually(
            &format!("{repo}:v1 in distribution"),
            Duration::from_secs(30),
            || async { dist.manifest(&repo, "v1").await.is_some() },
        )
        .await;
    }
    assert!(manifest(&b, "src/four", "dev").await.is_none());
    assert!(dist.manifest("src/four", "dev").await.is_none());

    // A tag deletion travels: the tag on B, the manifest (by digest) in distribution.
    let res = a
        .send(Method::DELETE, "/v2/src/one/manifests/v1", ADMIN, None, &[])
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    eventually(
        "src/one:v1 gone from B",
        Duration::from_secs(30),
        || async { manifest(&b, "src/one", "v1").await.is_none() },
    )
    .await;
    eventually(
        "src/one@digest gone from distribution",
        Duration::from_secs(30),
        || async { dist.manifest("src/one", &one).await.is_none() },
    )
    .await;
    // Every event-based execution ended well once B was back.
    let list = api(
        &a,
        Method::GET,
        "/replication/executions?page_size=50",
        None,
    )
    .await
    .json();
    for e in list.as_array().unwrap() {
        let e = wait_end(&a, e["id"].as_i64().unwrap(), Duration::from_secs(30)).await;
        assert_eq!(e["trigger"], "event_based");
        assert_eq!(e["status"], "Succeed", "{e}");
    }
}

#[tokio::test]
async fn scheduled_policies_run_once_per_occurrence() {
    let a = berth().await;
    let b = berth().await;
    let server = LiveServer::start(&b.state);
    a.project("src").await;
    b.project("src").await;
    let image = a.push_image("src/app", "v1", "scheduled").await.1;
    let remote = add_registry(
        &a,
        "b",
        "harbor",
        &format!("http://{}", server.host()),
        Some(("admin", ADMIN_PASSWORD)),
    )
    .await;
    // Harbor's six-field form, with its seconds field.
    let policy = add_policy(
        &a,
        json!({"name": "nightly", "dest_registry": {"id": remote},
               "trigger": {"type": "scheduled", "trigger_settings": {"cron": "0 30 2 * * *"}}}),
    )
    .await;
    let shown = api(
        &a,
        Method::GET,
        &format!("/replication/policies/{policy}"),
        None,
    )
    .await
    .json();
    assert_eq!(shown["trigger"]["trigger_settings"]["cron"], "30 2 * * *");
    use chrono::TimeZone;
    let fire = chrono::Utc.with_ymd_and_hms(2026, 12, 3, 2, 30, 0).unwrap();
    let started =
        berth_server::jobs::tick(&a.state, fire - chrono::Duration::seconds(30), fire).await;
    assert!(
        started.contains(&format!("replication:{policy}@{fire}")),
        "{started:?}"
    );
    // Another replica's tick of the same window starts nothing.
    let again =
        berth_server::jobs::tick(&a.state, fire - chrono::Duration::seconds(30), fire).await;
    assert!(
        !again.iter().any(|j| j.starts_with("replication:")),
        "{again:?}"
    );
    let list = api(
        &a,
        Method::GET,
        &format!("/replication/executions?policy_id={policy}"),
        None,
    )
    .await;
    assert_eq!(list.headers["x-total-count"], "1");
    let id = list.json()[0]["id"].as_i64().unwrap();
    let e = wait_end(&a, id, Duration::from_secs(30)).await;
    assert_eq!(e["trigger"], "scheduled");
    assert_eq!(e["status"], "Succeed", "{e}");
    assert_eq!(
        manifest(&b, "src/app", "v1").await.map(|m| sha(&m)),
        Some(image)
    );
    // Disabled policies do not run, by schedule or by hand.
    api(
        &a,
        Method::PUT,
        &format!("/replication/policies/{policy}"),
        Some(json!({"enabled": false})),
    )
    .await;
    let later = fire + chrono::Duration::days(1);
    let none =
        berth_server::jobs::tick(&a.state, later - chrono::Duration::seconds(30), later).await;
    assert!(
        !none.iter().any(|j| j.starts_with("replication:")),
        "{none:?}"
    );
    let res = api(
        &a,
        Method::POST,
        "/replication/executions",
        Some(json!({"policy_id": policy})),
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED, "{}", res.body);
}

/// The independent signature producer of the signing tests (Python `cryptography`).
fn sign_py(args: &[&str]) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/signing/sign.py");
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "sign.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Waits for an artifact's scan; returns its overview.
async fn scanned(app: &TestApp, repo: &str, reference: &str) -> Value {
    let path = format!(
        "/api/v2.0/projects/src/repositories/{repo}/artifacts/{reference}?with_scan_overview=true"
    );
    for _ in 0..600 {
        let res = app.send(Method::GET, &path, ADMIN, None, &[]).await;
        let v = res.json();
        let overview =
            &v["scan_overview"]["application/vnd.security.vulnerability.report; version=1.1"];
        match overview["scan_status"].as_str() {
            Some("Success") => return overview.clone(),
            Some("Error") => panic!("the scan of {repo}:{reference} failed: {overview}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("the scan of {repo}:{reference} did not finish")
}

#[tokio::test]
async fn the_security_gate_keeps_vulnerable_and_unsigned_images_here() {
    use common::tar_layer;
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vulndb");
    assert!(
        fixtures.join("osv").is_dir(),
        "{} holds the vulnerability fixtures",
        fixtures.display()
    );
    let a = berth().await;
    let report = a
        .state
        .scans
        .vulndb
        .import_path(&fixtures.join("osv"))
        .await
        .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    berth_server::scanning::spawn_workers(a.state.clone());
    let admin = a.admin().await;
    a.state
        .services
        .create_project(
            &admin,
            domain::service::projects::NewProject {
                name: "src".into(),
                metadata: [("auto_scan".to_string(), "true".to_string())].into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let debian = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";
    let status = |name: &str| std::fs::read(fixtures.join("pkgdb").join(name)).unwrap();
    let alpine = b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.4\n";
    let apk = status("alpine-apk-installed");
    let current = status("debian12-dpkg-status");
    let vulnerable = a
        .push_layers(
            "src/vuln",
            "v1",
            &[tar_layer(&[
                ("etc/os-release", alpine),
                ("lib/apk/db/installed", &apk),
            ])],
        )
        .await;
    let clean = a
        .push_layers(
            "src/clean",
            "v1",
            &[tar_layer(&[
                ("etc/os-release", debian),
                ("var/lib/dpkg/status", &current),
            ])],
        )
        .await;
    assert_eq!(
        scanned(&a, "vuln", "v1").await["severity"],
        "High",
        "the fixture's worst finding"
    );
    assert_eq!(scanned(&a, "clean", "v1").await["severity"], "None");

    let b = berth().await;
    let server = LiveServer::start(&b.state);
    b.project("dst").await;
    let remote = add_registry(
        &a,
        "b",
        "harbor",
        &format!("http://{}", server.host()),
        Some(("admin", ADMIN_PASSWORD)),
    )
    .await;
    let outcome = |tasks: &[Value], repo: &str| {
        tasks
            .iter()
            .find(|t| t["src_resource"].as_str().unwrap().starts_with(repo))
            .map(|t| {
                (
                    t["status"].as_str().unwrap().to_string(),
                    t["status_text"].as_str().unwrap().to_string(),
                )
            })
            .unwrap()
    };

    // Nothing above Medium leaves: the High finding keeps `vuln` here, `clean` goes.
    let policy = add_policy(
        &a,
        json!({"name": "no-high", "dest_registry": {"id": remote}, "dest_namespace": "dst",
               "dest_namespace_replace_count": 1, "security": {"max_severity": "Medium"}}),
    )
    .await;
    let (execution, done) = run(&a, policy).await;
    assert_eq!(
        execution["status"], "Succeed",
        "a skipped task is no failure: {execution}"
    );
    assert_eq!(execution["skipped"], 1);
    let (s, why) = outcome(&done, "src/vuln");
    assert_eq!(s, "Skipped");
    assert!(
        why.contains("above Medium") && why.contains("High"),
        "{why}"
    );
    assert_eq!(outcome(&done, "src/clean").0, "Succeed");
    assert!(manifest(&b, "dst/vuln", &vulnerable).await.is_none());
    assert_eq!(
        manifest(&b, "dst/clean", "v1").await.map(|m| sha(&m)),
        Some(clean.clone())
    );

    // Signatures: only what a trusted key signed leaves.
    let work = tempfile::tempdir().unwrap();
    let key_dir = work.path().join("key");
    sign_py(&["keygen", "ec-p256", key_dir.to_str().unwrap()]);
    let public = std::fs::read_to_string(key_dir.join("pub.pem")).unwrap();
    let res = api(
        &a,
        Method::POST,
        "/projects/src/trust/keys",
        Some(json!({"name": "release", "kind": "cosign", "public_key": public})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let signed: Value = serde_json::from_str(&sign_py(&[
        "cosign",
        key_dir.join("key.pem").to_str().unwrap(),
        &clean,
    ]))
    .unwrap();
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(signed["payload"].as_str().unwrap())
        .unwrap();
    let payload_digest = a.push_blob("src/clean", &payload).await;
    let config = br#"{"architecture":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = a.push_blob("src/clean", config).await;
    put_manifest(
        &a,
        "src/clean",
        &format!("sha256-{}.sig", &clean[7..]),
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": payload_digest,
                "size": payload.len(), "annotations": {"dev.cosignproject.cosign/signature": signed["signature"]}}]}),
        OCI_MANIFEST,
    )
    .await;
    b.project("signed").await;
    let policy = add_policy(
        &a,
        json!({"name": "signed-only", "dest_registry": {"id": remote}, "dest_namespace": "signed",
               "dest_namespace_replace_count": 1, "security": {"require_signature": true}}),
    )
    .await;
    let (execution, done) = run(&a, policy).await;
    assert_eq!(execution["status"], "Succeed", "{execution}");
    let (s, why) = outcome(&done, "src/vuln");
    assert_eq!(s, "Skipped");
    assert!(why.contains("no signature verified"), "{why}");
    let (s, why) = outcome(&done, "src/clean");
    assert_eq!(s, "Succeed", "{why}");
    assert_eq!(
        manifest(&b, "signed/clean", "v1").await.map(|m| sha(&m)),
        Some(clean.clone())
    );
    // The signature travelled with it.
    assert!(
        manifest(&b, "signed/clean", &format!("sha256-{}.sig", &clean[7..]))
            .await
            .is_some()
    );
    assert!(manifest(&b, "signed/vuln", "v1").await.is_none());
}

#[tokio::test]
async fn a_large_blob_cut_off_midway_resumes_where_the_remote_stopped() {
    let a = berth().await;
    let b = berth().await;
    let b_server = LiveServer::start(&b.state);
    let proxy = common::faults::FaultProxy::start(b_server.port).await;
    a.project("src").await;
    b.project("src").await;
    // 300 MiB, incompressible: above the size from which blobs always go in chunks.
    const SIZE: usize = 300 * 1024 * 1024;
    let layer = pattern(SIZE, 7);
    let layer_digest = a.push_blob("src/big", &layer).await;
    drop(layer);
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let config_digest = a.push_blob("src/big", config).await;
    let image = put_manifest(
        &a,
        "src/big",
        "v1",
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": SIZE}]}),
        OCI_MANIFEST,
    )
    .await;
    let remote = add_registry(
        &a,
        "b",
        "harbor",
        &proxy.url(),
        Some(("admin", ADMIN_PASSWORD)),
    )
    .await;
    let policy = add_policy(&a, json!({"name": "big", "dest_registry": {"id": remote}})).await;
    // The proxy cuts every connection once 60 % of the blob has gone through.
    proxy
        .cut_at
        .store((SIZE as u64) * 6 / 10, std::sync::atomic::Ordering::SeqCst);
    let (execution, done) = run(&a, policy).await;
    assert_eq!(execution["status"], "Succeed", "{execution} {done:?}");
    assert_eq!(done[0]["attempts"], 2, "{done:?}");
    let log = api(
        &a,
        Method::GET,
        &format!(
            "/replication/executions/{}/tasks/{}/log",
            execution["id"], done[0]["id"]
        ),
        None,
    )
    .await
    .body;
    assert!(log.contains("resuming at byte"), "{log}");
    let sent = proxy
        .upstream_bytes
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (sent as f64) <= 1.15 * SIZE as f64,
        "{sent} bytes went through the proxy for a blob of {SIZE}"
    );
    assert_eq!(
        manifest(&b, "src/big", "v1").await.map(|m| sha(&m)),
        Some(image)
    );
    let res = b
        .send(
            Method::HEAD,
            &format!("/v2/src/big/blobs/{layer_digest}"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers["content-length"], SIZE.to_string().as_str());
}
