//! Scanning end to end: images built from the real package databases of `../shared/vulndb`
//! (read in place) pushed through the registry API into a project with `auto_scan`, scanned on
//! push by the worker pool, and the reports compared with `EXPECTED.md`; whiteouts through a
//! real push; the prevent-vulnerable rule (412, allowlists, expiry, audit); scanning through
//! the pluggable-scanner API against Berth's own adapter.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::{tar_layer, TestApp, ADMIN_PASSWORD};
use domain::service::projects::NewProject;
use serde_json::{json, Value};

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));
const DEBIAN_12: &[u8] =
    b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";
const ALPINE_318: &[u8] = b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.4\n";

fn vulndb() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vulndb");
    if dir.join("EXPECTED.md").is_file() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is absent", dir.display());
        None
    }
}

fn pkgdb(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join("pkgdb").join(name)).unwrap()
}

/// A Berth with the OSV records imported and its scan workers running.
async fn scanning_app(
    dir: &Path,
    customise: impl FnOnce(&mut berth_server::config::Config),
) -> TestApp {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let app = TestApp::with_config(customise).await;
    let report = app
        .state
        .scans
        .vulndb
        .import_path(&dir.join("osv"))
        .await
        .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    berth_server::scanning::spawn_workers(app.state.clone());
    app
}

/// Pushes an image whose one layer holds the package database `fixture` at `path`; returns
/// the manifest digest.
async fn push_fixture(
    app: &TestApp,
    dir: &Path,
    repo: &str,
    tag: &str,
    path: &str,
    fixture: &str,
) -> String {
    app.push_layers(repo, tag, &[tar_layer(&[(path, &pkgdb(dir, fixture))])])
        .await
}

async fn project(app: &TestApp, name: &str, metadata: &[(&str, &str)]) {
    let admin = app.admin().await;
    app.state
        .services
        .create_project(
            &admin,
            NewProject {
                name: name.into(),
                metadata: metadata
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let res = app.send(Method::GET, path, ADMIN, None, &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.body);
    serde_json::from_str(&res.body).unwrap()
}

const MIME: &str = "application/vnd.security.vulnerability.report; version=1.1";

/// Waits for the artifact's scan to finish; returns its overview.
async fn scanned(app: &TestApp, project: &str, repo: &str, reference: &str) -> Value {
    let path = format!(
        "/api/v2.0/projects/{project}/repositories/{}/artifacts/{reference}?with_scan_overview=true",
        repo.replace('/', "%2F")
    );
    for _ in 0..600 {
        let artifact = get_json(app, &path).await;
        let overview = &artifact["scan_overview"][MIME];
        match overview["scan_status"].as_str() {
            Some("Success") => return overview.clone(),
            Some("Error") => panic!("scan of {repo}:{reference} failed: {overview}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("scan of {repo}:{reference} did not finish")
}

/// (id, package) of every finding in the artifact's report.
async fn findings(
    app: &TestApp,
    project: &str,
    repo: &str,
    reference: &str,
) -> BTreeSet<(String, String)> {
    scanned(app, project, repo, reference).await;
    let report = get_json(
        app,
        &format!(
            "/api/v2.0/projects/{project}/repositories/{}/artifacts/{reference}/additions/vulnerabilities",
            repo.replace('/', "%2F")
        ),
    )
    .await;
    report[MIME]["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["package"].as_str().unwrap().to_ascii_lowercase(),
            )
        })
        .collect()
}

fn ids(set: &BTreeSet<(String, String)>) -> BTreeSet<String> {
    set.iter().map(|(id, _)| id.clone()).collect()
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The Debian 12 changelog records `EXPECTED.md` says match the older status file.
fn debian_expected(dir: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(dir.join("EXPECTED.md")).unwrap();
    let section = text.split("Debian 12 records derived").nth(1).unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| source") && !l.starts_with("|---"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            // | source | older | current | CVE | fixed | older matches | current matches |
            (cells.len() >= 8 && cells[6] == "yes")
                .then(|| format!("DEBCL-{}-{}", cells[1], cells[4]))
        })
        .collect()
}

#[tokio::test]
async fn scan_on_push_reproduces_expected_md() {
    let Some(dir) = vulndb() else { return };
    let app = scanning_app(&dir, |_| {}).await;
    project(&app, "scan", &[("auto_scan", "true")]).await;

    // §1 and the Debian 12 changelog table: the older status matches exactly the rows marked
    // "yes" (and never a Debian 9 DLA); the current status matches nothing.
    app.push_layers(
        "scan/debian",
        "older",
        &[tar_layer(&[
            ("etc/os-release", DEBIAN_12),
            (
                "var/lib/dpkg/status",
                &pkgdb(&dir, "debian12-dpkg-status-older"),
            ),
        ])],
    )
    .await;
    app.push_layers(
        "scan/debian",
        "current",
        &[tar_layer(&[
            ("etc/os-release", DEBIAN_12),
            ("var/lib/dpkg/status", &pkgdb(&dir, "debian12-dpkg-status")),
        ])],
    )
    .await;
    // §2 Alpine v3.18: musl and musl-utils from the origin `musl`.
    app.push_layers(
        "scan/alpine",
        "3.18",
        &[tar_layer(&[
            ("etc/os-release", ALPINE_318),
            ("lib/apk/db/installed", &pkgdb(&dir, "alpine-apk-installed")),
        ])],
    )
    .await;
    // §3–§6: language packages as applications ship them.
    push_fixture(
        &app,
        &dir,
        "scan/net2",
        "v1",
        "app/Cargo.lock",
        "cargo-net2.Cargo.lock",
    )
    .await;
    push_fixture(
        &app,
        &dir,
        "scan/idna",
        "v1",
        "app/Cargo.lock",
        "cargo-idna-smallvec.Cargo.lock",
    )
    .await;
    push_fixture(
        &app,
        &dir,
        "scan/npm",
        "v1",
        "srv/package-lock.json",
        "npm-ansi-html.package-lock.json",
    )
    .await;
    push_fixture(
        &app,
        &dir,
        "scan/pypi",
        "dev",
        "srv/requirements.txt",
        "pypi-requirements.txt",
    )
    .await;
    push_fixture(
        &app,
        &dir,
        "scan/pypi",
        "prod",
        "srv/requirements.prod.txt",
        "pypi-requirements.prod.txt",
    )
    .await;

    let older = findings(&app, "scan", "debian", "older").await;
    let expected = debian_expected(&dir);
    assert!(expected.len() >= 30, "{expected:?}");
    assert_eq!(ids(&older), expected);
    assert!(!older.iter().any(|(id, _)| id.starts_with("DLA-")));
    assert!(
        older.contains(&("DEBCL-openssl-CVE-2025-9230".into(), "libssl3".into())),
        "binary packages are named"
    );
    assert_eq!(
        findings(&app, "scan", "debian", "current").await,
        BTreeSet::new()
    );

    assert_eq!(
        findings(&app, "scan", "alpine", "3.18").await,
        pairs(&[
            ("ALPINE-CVE-2025-26519", "musl"),
            ("ALPINE-CVE-2025-26519", "musl-utils")
        ])
    );
    assert_eq!(
        findings(&app, "scan", "net2", "v1").await,
        pairs(&[("RUSTSEC-2020-0016", "net2"), ("RUSTSEC-2020-0078", "net2")])
    );
    assert_eq!(findings(&app, "scan", "idna", "v1").await, BTreeSet::new());
    assert_eq!(
        findings(&app, "scan", "npm", "v1").await,
        pairs(&[("GHSA-whgm-jr23-g3j9", "ansi-html")])
    );
    assert_eq!(
        findings(&app, "scan", "pypi", "dev").await,
        pairs(&[
            ("PYSEC-2021-98", "django"),
            ("PYSEC-2023-62", "flask"),
            ("PYSEC-2023-74", "requests")
        ])
    );
    assert_eq!(
        findings(&app, "scan", "pypi", "prod").await,
        BTreeSet::new()
    );

    // The overview summarises the report: severities from the CVSS vectors.
    let overview = scanned(&app, "scan", "alpine", "3.18").await;
    assert_eq!(overview["severity"], "High", "{overview}");
    assert_eq!(overview["summary"]["total"], 2);
    assert_eq!(overview["summary"]["fixable"], 2);
    let report = get_json(
        &app,
        "/api/v2.0/projects/scan/repositories/alpine/artifacts/3.18/additions/vulnerabilities",
    )
    .await;
    let musl = &report[MIME]["vulnerabilities"][0];
    assert_eq!(musl["fix_version"], "1.2.4-r3");
    assert_eq!(musl["preferred_cvss"]["score_v3"], 7.0);
    assert_eq!(report[MIME]["scanner"]["name"], "Berth");
}

#[tokio::test]
async fn whiteouts_in_upper_layers_decide_what_is_reported() {
    let Some(dir) = vulndb() else { return };
    let app = scanning_app(&dir, |_| {}).await;
    project(&app, "wh", &[("auto_scan", "true")]).await;
    let older = pkgdb(&dir, "debian12-dpkg-status-older");
    let current = pkgdb(&dir, "debian12-dpkg-status");
    let base_older = tar_layer(&[
        ("etc/os-release", DEBIAN_12),
        ("var/lib/dpkg/status", &older),
    ]);
    let base_current = tar_layer(&[
        ("etc/os-release", DEBIAN_12),
        ("var/lib/dpkg/status", &current),
    ]);

    app.push_layers(
        "wh/deleted",
        "v1",
        &[
            base_older.clone(),
            tar_layer(&[("var/lib/dpkg/.wh.status", b"")]),
        ],
    )
    .await;
    app.push_layers(
        "wh/opaque",
        "v1",
        &[
            base_older.clone(),
            tar_layer(&[("var/lib/dpkg/.wh..wh..opq", b"")]),
        ],
    )
    .await;
    app.push_layers(
        "wh/upgraded",
        "v1",
        &[
            base_older.clone(),
            tar_layer(&[("var/lib/dpkg/status", &current)]),
        ],
    )
    .await;
    app.push_layers(
        "wh/downgraded",
        "v1",
        &[base_current, tar_layer(&[("var/lib/dpkg/status", &older)])],
    )
    .await;
    app.push_layers(
        "wh/untouched",
        "v1",
        &[base_older, tar_layer(&[("srv/readme.txt", b"hello")])],
    )
    .await;

    let expected = debian_expected(&dir);
    assert_eq!(findings(&app, "wh", "deleted", "v1").await, BTreeSet::new());
    assert_eq!(findings(&app, "wh", "opaque", "v1").await, BTreeSet::new());
    assert_eq!(
        findings(&app, "wh", "upgraded", "v1").await,
        BTreeSet::new()
    );
    assert_eq!(
        ids(&findings(&app, "wh", "downgraded", "v1").await),
        expected
    );
    assert_eq!(
        ids(&findings(&app, "wh", "untouched", "v1").await),
        expected
    );
}

async fn pull_as(
    app: &TestApp,
    user: Option<(&str, &str)>,
    reference: &str,
) -> common::TestResponse {
    app.send(
        Method::GET,
        &format!("/v2/guarded/app/manifests/{reference}"),
        user,
        None,
        &[("accept", common::OCI_MANIFEST)],
    )
    .await
}

#[tokio::test]
async fn vulnerable_pulls_are_refused_until_allowlisted() {
    let Some(dir) = vulndb() else { return };
    let app = scanning_app(&dir, |c| c.scanning.block_unscanned = true).await;
    project(
        &app,
        "guarded",
        &[
            ("auto_scan", "true"),
            ("prevent_vul", "true"),
            ("severity", "high"),
        ],
    )
    .await;
    let dev_password = app
        .member("guarded", "dev", domain::types::Role::Developer)
        .await;
    let dev = Some(("dev", dev_password.as_str()));

    // Unscanned, with `block_unscanned`: refused (auto scan is off for this first push).
    app.send(
        Method::PUT,
        "/api/v2.0/projects/guarded",
        ADMIN,
        Some(json!({"metadata": {"auto_scan": "false"}})),
        &[],
    )
    .await;
    let alpine = tar_layer(&[
        ("etc/os-release", ALPINE_318),
        ("lib/apk/db/installed", &pkgdb(&dir, "alpine-apk-installed")),
    ]);
    app.push_layers("guarded/app", "v1", &[alpine]).await;
    let res = pull_as(&app, dev, "v1").await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED, "{}", res.body);
    assert!(res.body.contains("not been scanned"), "{}", res.body);

    let scan = app
        .send(
            Method::POST,
            "/api/v2.0/projects/guarded/repositories/app/artifacts/v1/scan",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(scan.status, StatusCode::ACCEPTED, "{}", scan.body);
    let overview = scanned(&app, "guarded", "app", "v1").await;
    assert_eq!(overview["severity"], "High");

    // High ≥ high: refused with the OCI error that names the finding and the way out.
    let res = pull_as(&app, dev, "v1").await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED, "{}", res.body);
    let body: Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(body["errors"][0]["code"], "DENIED");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("ALPINE-CVE-2025-26519") && message.contains("allowlist"),
        "{message}"
    );
    // HEAD is not a pull; administrators are exempt.
    let head = app
        .send(Method::HEAD, "/v2/guarded/app/manifests/v1", dev, None, &[])
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(pull_as(&app, ADMIN, "v1").await.status, StatusCode::OK);

    // An expired allowlist does not help; a current one (by the CVE the id embeds) does.
    let set = |items: Value, expires: i64| json!({"cve_allowlist": {"items": items, "expires_at": expires}});
    let past = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 60;
    let res = app
        .send(
            Method::PUT,
            "/api/v2.0/projects/guarded",
            ADMIN,
            Some(set(json!([{"cve_id": "CVE-2025-26519"}]), past)),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(
        pull_as(&app, dev, "v1").await.status,
        StatusCode::PRECONDITION_FAILED
    );
    let res = app
        .send(
            Method::PUT,
            "/api/v2.0/projects/guarded",
            ADMIN,
            Some(set(json!([{"cve_id": "CVE-2025-26519"}]), 0)),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let project = get_json(&app, "/api/v2.0/projects/guarded").await;
    assert_eq!(
        project["cve_allowlist"]["items"][0]["cve_id"],
        "CVE-2025-26519"
    );
    assert_eq!(pull_as(&app, dev, "v1").await.status, StatusCode::OK);

    // The system allowlist counts only with reuse_sys_cve_allowlist.
    app.send(
        Method::PUT,
        "/api/v2.0/projects/guarded",
        ADMIN,
        Some(set(json!([]), 0)),
        &[],
    )
    .await;
    assert_eq!(
        pull_as(&app, dev, "v1").await.status,
        StatusCode::PRECONDITION_FAILED
    );
    let res = app
        .send(
            Method::PUT,
            "/api/v2.0/system/CVEAllowlist",
            ADMIN,
            Some(json!({"items": [{"cve_id": "ALPINE-CVE-2025-26519"}]})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(
        pull_as(&app, dev, "v1").await.status,
        StatusCode::PRECONDITION_FAILED
    );
    app.send(
        Method::PUT,
        "/api/v2.0/projects/guarded",
        ADMIN,
        Some(json!({"metadata": {"reuse_sys_cve_allowlist": "true"}})),
        &[],
    )
    .await;
    assert_eq!(pull_as(&app, dev, "v1").await.status, StatusCode::OK);

    // A threshold above the finding lets it through.
    app.send(
        Method::PUT,
        "/api/v2.0/projects/guarded",
        ADMIN,
        Some(json!({"metadata": {"reuse_sys_cve_allowlist": "false", "severity": "critical"}})),
        &[],
    )
    .await;
    assert_eq!(pull_as(&app, dev, "v1").await.status, StatusCode::OK);

    // Both outcomes are in the audit log.
    let results = pull_results(&app, "dev").await;
    assert!(
        results.contains("failure") && results.contains("success"),
        "{results:?}"
    );
    let logs = get_json(&app, "/api/v2.0/projects/guarded/logs?page_size=100").await;
    assert!(
        logs.as_array()
            .unwrap()
            .iter()
            .any(|l| l["operation"] == "scan"),
        "{logs}"
    );
}

#[tokio::test]
async fn an_external_scanner_gives_the_same_report_as_the_built_in_one() {
    let Some(dir) = vulndb() else { return };
    // The registry's external URL must be where the live server listens, for the adapter to
    // pull from it; so the port is chosen first.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = scanning_app(&dir, |c| {
        c.external_url = Some(format!("http://127.0.0.1:{port}"))
    })
    .await;
    let _server = common::LiveServer::start_on(&app.state, port);
    project(&app, "ext", &[]).await;
    let layer = tar_layer(&[
        ("etc/os-release", DEBIAN_12),
        (
            "var/lib/dpkg/status",
            &pkgdb(&dir, "debian12-dpkg-status-older"),
        ),
    ]);
    app.push_layers("ext/debian", "v1", &[layer]).await;

    // Built in first.
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/projects/ext/repositories/debian/artifacts/v1/scan",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    let builtin = findings(&app, "ext", "debian", "v1").await;
    assert!(!builtin.is_empty());

    // Register Berth's own adapter endpoint with Basic credentials and make the project use it.
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/scanners",
            ADMIN,
            Some(json!({"name": "berth-adapter", "url": format!("http://127.0.0.1:{port}"), "auth": "Basic",
                        "access_credential": format!("admin:{ADMIN_PASSWORD}")})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let registration: Value = serde_json::from_str(&res.body).unwrap();
    let uuid = registration["uuid"].as_str().unwrap().to_string();
    assert!(
        !res.body.contains(ADMIN_PASSWORD),
        "the credential is never shown"
    );
    let stored = domain::entities::scanner::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(
        !stored[0]
            .credential
            .as_deref()
            .unwrap()
            .contains(ADMIN_PASSWORD),
        "sealed at rest"
    );
    let metadata = get_json(&app, &format!("/api/v2.0/scanners/{uuid}/metadata")).await;
    assert_eq!(metadata["scanner"]["name"], "Berth");
    let res = app
        .send(
            Method::PUT,
            "/api/v2.0/projects/ext/scanner",
            ADMIN,
            Some(json!({"uuid": uuid})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);

    let res = app
        .send(
            Method::POST,
            "/api/v2.0/projects/ext/repositories/debian/artifacts/v1/scan",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    let external = findings(&app, "ext", "debian", "v1").await;
    assert_eq!(external, builtin);
    let row = domain::entities::scan::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.scanner == uuid)
        .unwrap();
    assert_eq!(row.status, "success");

    // Only system administrators may use the adapter (it fetches from any registry named).
    app.user("plainuser").await;
    let refused = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/v1/metadata"))
        .basic_auth("plainuser", Some(common::password_of("plainuser")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    // Without credentials the adapter refuses.
    let anonymous = reqwest::get(format!("http://127.0.0.1:{port}/api/v1/metadata"))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

use sea_orm::EntityTrait;

/// `podman --storage-driver=vfs` with its own root; (succeeded, stdout + stderr).
async fn podman(root: &Path, rest: &[&str]) -> (bool, String) {
    let mut args = vec![
        "--storage-driver=vfs".to_string(),
        "--root".into(),
        root.join("root").display().to_string(),
        "--runroot".into(),
        root.join("run").display().to_string(),
    ];
    args.extend(rest.iter().map(|s| s.to_string()));
    let home = root.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new("podman")
            .args(&args)
            .env("HOME", &home)
            .output()
            .unwrap_or_else(|e| {
                panic!("podman must be installed (scripts/test.sh installs it): {e}")
            });
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn podman_pull_of_a_vulnerable_image_fails_until_the_cve_is_allowlisted() {
    let Some(dir) = vulndb() else { return };
    let app = scanning_app(&dir, |_| {}).await;
    let server = common::LiveServer::start(&app.state);
    let host = server.host();
    project(
        &app,
        "guarded",
        &[
            ("auto_scan", "true"),
            ("prevent_vul", "true"),
            ("severity", "high"),
        ],
    )
    .await;
    let password = app
        .member("guarded", "dev", domain::types::Role::Developer)
        .await;
    let alpine = tar_layer(&[
        ("etc/os-release", ALPINE_318),
        ("lib/apk/db/installed", &pkgdb(&dir, "alpine-apk-installed")),
    ]);
    app.push_layers("guarded/app", "v1", &[alpine]).await;
    scanned(&app, "guarded", "app", "v1").await;

    let root = tempfile::tempdir().unwrap();
    let (ok, out) = podman(
        root.path(),
        &[
            "login",
            "--tls-verify=false",
            "-u",
            "dev",
            "-p",
            &password,
            &host,
        ],
    )
    .await;
    assert!(ok, "{out}");
    let image = format!("{host}/guarded/app:v1");
    let (ok, out) = podman(root.path(), &["pull", "--tls-verify=false", &image]).await;
    assert!(!ok, "the pull must fail: {out}");
    assert!(
        out.contains("ALPINE-CVE-2025-26519") && out.contains("allowlist"),
        "podman shows the registry's message: {out}"
    );

    let res = app
        .send(
            Method::PUT,
            "/api/v2.0/projects/guarded",
            ADMIN,
            Some(json!({"cve_allowlist": {"items": [{"cve_id": "CVE-2025-26519"}]}})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let (ok, out) = podman(root.path(), &["pull", "--tls-verify=false", &image]).await;
    assert!(ok, "allowlisted, the pull succeeds: {out}");

    let results = pull_results(&app, "dev").await;
    assert!(
        results.contains("failure") && results.contains("success"),
        "{results:?}"
    );
}

/// The results of `user`'s audited pulls in project `guarded`, once a successful one is in
/// (successful pulls are audited in batches, off the pull's path).
async fn pull_results(app: &TestApp, user: &str) -> BTreeSet<String> {
    let mut results = BTreeSet::new();
    for _ in 0..100 {
        let logs = get_json(app, "/api/v2.0/projects/guarded/logs?page_size=100").await;
        results = logs
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["operation"] == "pull" && l["username"] == user)
            .map(|l| l["result"].as_str().unwrap().to_string())
            .collect();
        if results.contains("success") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    results
}

#[tokio::test]
async fn ignore_unfixed_scan_all_updater_and_upload() {
    let Some(dir) = vulndb() else { return };
    let osv = dir.join("osv");
    // The updater imports `scanning.vulndb_source` at start when the database is empty.
    let app = TestApp::with_config(|c| {
        c.scanning.vulndb_source = Some(osv.display().to_string());
        c.trivy = Some(berth_server::config::TrivyConfig {
            ignore_unfixed: true,
            ..Default::default()
        });
    })
    .await;
    berth_server::scanning::spawn_updater(app.state.clone());
    berth_server::scanning::spawn_workers(app.state.clone());
    let mut imported = 0;
    for _ in 0..100 {
        imported = app
            .state
            .scans
            .vulndb
            .counts()
            .await
            .unwrap()
            .values()
            .sum::<i64>();
        if imported > 150 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(imported > 150, "the updater imported {imported} records");

    // ignore_unfixed: the unmaintained-crate notice without a fix is left out.
    project(&app, "plain", &[]).await;
    push_fixture(
        &app,
        &dir,
        "plain/net2",
        "v1",
        "app/Cargo.lock",
        "cargo-net2.Cargo.lock",
    )
    .await;
    push_fixture(
        &app,
        &dir,
        "plain/npm",
        "v1",
        "srv/package-lock.json",
        "npm-ansi-html.package-lock.json",
    )
    .await;
    let overview = get_json(
        &app,
        "/api/v2.0/projects/plain/repositories/net2/artifacts/v1?with_scan_overview=true",
    )
    .await;
    assert_eq!(
        overview["scan_overview"],
        json!({}),
        "auto_scan is off: nothing queued"
    );

    // Scan all: manual, then a schedule.
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/system/scanAll/schedule",
            ADMIN,
            Some(json!({"schedule": {"type": "Manual"}})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(
        serde_json::from_str::<Value>(&res.body).unwrap()["queued"],
        2
    );
    assert_eq!(
        findings(&app, "plain", "net2", "v1").await,
        pairs(&[("RUSTSEC-2020-0078", "net2")])
    );
    assert_eq!(
        findings(&app, "plain", "npm", "v1").await,
        pairs(&[("GHSA-whgm-jr23-g3j9", "ansi-html")])
    );
    let res = app
        .send(
            Method::PUT,
            "/api/v2.0/system/scanAll/schedule",
            ADMIN,
            Some(json!({"schedule": {"type": "Custom", "cron": "not a cron"}})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    let res = app
        .send(
            Method::PUT,
            "/api/v2.0/system/scanAll/schedule",
            ADMIN,
            Some(json!({"schedule": {"type": "Daily"}})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let schedule = get_json(&app, "/api/v2.0/system/scanAll/schedule").await;
    assert_eq!(
        schedule["schedule"],
        json!({"type": "Custom", "cron": "0 0 * * *"})
    );
    // A non-admin may not.
    app.user("someone").await;
    let pw = common::password_of("someone");
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/system/scanAll/schedule",
            Some(("someone", &pw)),
            Some(json!({"schedule": {"type": "Manual"}})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);

    // Upload: an OSV all.zip (one record changed to look newer) through the REST API.
    let record = std::fs::read_to_string(osv.join("npm/GHSA-whgm-jr23-g3j9.json")).unwrap();
    let mut newer: Value = serde_json::from_str(&record).unwrap();
    newer["modified"] = json!("2099-01-01T00:00:00Z");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(
        "GHSA-whgm-jr23-g3j9.json",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    std::io::Write::write_all(&mut zip, newer.to_string().as_bytes()).unwrap();
    zip.start_file("broken.json", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut zip, b"{not json").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let res = app
        .send_bytes(Method::POST, "/api/v2.0/vulndb/import", ADMIN, bytes, &[])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let report: Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(
        (
            report["updated"].as_i64(),
            report["failed"].as_array().map(Vec::len)
        ),
        (Some(1), Some(1)),
        "{report}"
    );
    let status = get_json(&app, "/api/v2.0/vulndb").await;
    assert_eq!(status["ecosystems"]["npm"], 1);
    assert!(status["last_update"].is_string());
}

#[tokio::test]
async fn failed_scans_are_retried_with_back_off_then_left_in_error() {
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    // No workers: the test drives the queue itself.
    let app = TestApp::new().await;
    project(&app, "retry", &[]).await;
    let digest = app.push_image("retry/app", "v1", "retry").await.1;
    let artifact = domain::entities::artifact::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.digest == digest)
        .unwrap();
    let scans = &app.state.scans;
    let job = scans.enqueue(artifact.id, "berth", "manual").await.unwrap();
    // Queueing again while queued is the same job.
    assert_eq!(
        scans
            .enqueue(artifact.id, "berth", "manual")
            .await
            .unwrap()
            .id,
        job.id
    );
    for attempt in 1..=3 {
        let claimed = scans.claim_next().await.unwrap().expect("a due job");
        assert_eq!(
            (claimed.id, claimed.status.as_str(), claimed.attempts),
            (job.id, "running", attempt)
        );
        assert!(
            scans.claim_next().await.unwrap().is_none(),
            "claimed once only"
        );
        scans
            .finish(&claimed, Err(format!("attempt {attempt} failed")))
            .await
            .unwrap();
        let row = domain::entities::scan::Entity::find_by_id(job.id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        if attempt < 3 {
            assert_eq!(row.status, "queued");
            assert!(row.next_attempt_at > chrono::Utc::now(), "backs off");
            assert!(scans.claim_next().await.unwrap().is_none(), "not due yet");
            // Let the back-off pass.
            let mut due = row.into_active_model();
            due.next_attempt_at = Set(chrono::Utc::now() - chrono::Duration::seconds(1));
            due.update(&app.state.db).await.unwrap();
        } else {
            assert_eq!(row.status, "error");
            assert_eq!(row.error.as_deref(), Some("attempt 3 failed"));
            assert!(scans.claim_next().await.unwrap().is_none());
        }
    }
    let overview = get_json(
        &app,
        "/api/v2.0/projects/retry/repositories/app/artifacts/v1?with_scan_overview=true",
    )
    .await;
    assert_eq!(overview["scan_overview"][MIME]["scan_status"], "Error");
    assert_eq!(overview["scan_overview"][MIME]["error"], "attempt 3 failed");

    // A job whose worker went away is queued again.
    let again = scans.enqueue(artifact.id, "berth", "manual").await.unwrap();
    assert_eq!((again.status.as_str(), again.attempts), ("queued", 0));
    let claimed = scans.claim_next().await.unwrap().unwrap();
    let mut stale = claimed.into_active_model();
    stale.started_at = Set(Some(chrono::Utc::now() - chrono::Duration::hours(1)));
    stale.update(&app.state.db).await.unwrap();
    assert_eq!(scans.requeue_stale().await.unwrap(), 1);
    assert!(scans.claim_next().await.unwrap().is_some());

    // Signatures and other artifacts are not scanned.
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/projects/retry/repositories/app/artifacts/v1/scan",
            Some(("nobody", "x")),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_index_is_scanned_image_by_image_and_guards_its_images() {
    let Some(dir) = vulndb() else { return };
    let app = scanning_app(&dir, |_| {}).await;
    project(
        &app,
        "multi",
        &[("prevent_vul", "true"), ("severity", "medium")],
    )
    .await;
    let amd = push_fixture(
        &app,
        &dir,
        "multi/app",
        "amd64",
        "app/Cargo.lock",
        "cargo-net2.Cargo.lock",
    )
    .await;
    let arm = push_fixture(
        &app,
        &dir,
        "multi/app",
        "arm64",
        "srv/package-lock.json",
        "npm-ansi-html.package-lock.json",
    )
    .await;
    let size = |d: &str| {
        let app = &app;
        let d = d.to_string();
        async move {
            app.send(
                Method::HEAD,
                &format!("/v2/multi/app/manifests/{d}"),
                ADMIN,
                None,
                &[],
            )
            .await
            .headers["content-length"]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        }
    };
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": common::OCI_MANIFEST, "digest": amd, "size": size(&amd).await, "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": common::OCI_MANIFEST, "digest": arm, "size": size(&arm).await, "platform": {"os": "linux", "architecture": "arm64"}},
        ],
    }))
    .unwrap();
    let res = app
        .send_bytes(
            Method::PUT,
            "/v2/multi/app/manifests/v1",
            ADMIN,
            index,
            &[("content-type", "application/vnd.oci.image.index.v1+json")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/projects/multi/repositories/app/artifacts/v1/scan",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    assert_eq!(
        findings(&app, "multi", "app", "v1").await,
        pairs(&[
            ("GHSA-whgm-jr23-g3j9", "ansi-html"),
            ("RUSTSEC-2020-0016", "net2"),
            ("RUSTSEC-2020-0078", "net2")
        ])
    );
    // The images were not scanned themselves: a pull of one by digest is judged by its index.
    let pw = app
        .member("multi", "puller", domain::types::Role::Guest)
        .await;
    let res = app
        .send(
            Method::GET,
            &format!("/v2/multi/app/manifests/{arm}"),
            Some(("puller", &pw)),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED, "{}", res.body);
    assert!(res.body.contains("GHSA-whgm-jr23-g3j9"), "{}", res.body);
}
