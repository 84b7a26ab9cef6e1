//! The real docker CLI against a live Berth, on both databases: `docker login` as a user, as a
//! robot (a `$` in its name) and with an OIDC CLI secret; `docker build` (legacy builder,
//! `FROM scratch`) and `docker push` of a multi-layer image; pulls by tag and by digest keep the
//! image ID; a second repository mounts the layers ("Mounted from"); anonymous pulls of private
//! and public projects; a pull-only robot refused on push; `docker logout`; the quota and
//! prevent-vulnerable refusals as docker prints them; and HTTPS with a test CA under the
//! daemon's `certs.d`.
//!
//! The daemon is Debian's `docker.io`, started by `scripts/test.sh` on a private socket
//! (`dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none`) and given
//! to the tests in `BERTH_TEST_DOCKER_HOST`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::oidc::{app_at, Browser, Provider};
use common::{LiveServer, TestApp, ADMIN_PASSWORD};
use serde_json::Value;

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));

/// One docker client: the shared daemon, a configuration directory of its own (credentials).
struct Docker {
    host: String,
    config: tempfile::TempDir,
}

struct Outcome {
    ok: bool,
    text: String,
}

impl Docker {
    fn new() -> Self {
        let host = std::env::var("BERTH_TEST_DOCKER_HOST").unwrap_or_else(|_| {
            panic!(
                "these tests drive the docker CLI against a docker daemon: run them through \
                 scripts/test.sh, which installs Debian's docker.io and starts dockerd on a \
                 private socket, or set BERTH_TEST_DOCKER_HOST=unix:///path/to/docker.sock"
            )
        });
        Docker {
            host,
            config: tempfile::tempdir().unwrap(),
        }
    }

    fn cli() -> String {
        std::env::var("BERTH_TEST_DOCKER_CLI").unwrap_or_else(|_| "/usr/bin/docker".into())
    }

    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Outcome {
        let mut cmd = Command::new(Self::cli());
        cmd.args(args)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.config.path())
            .env("DOCKER_BUILDKIT", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let stdin = stdin.map(str::to_string);
        let label = format!("docker {}", args.join(" "));
        tokio::task::spawn_blocking(move || {
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("{label}: the docker CLI must be installed: {e}"));
            {
                use std::io::Write;
                let mut pipe = child.stdin.take().unwrap();
                if let Some(input) = stdin {
                    pipe.write_all(input.as_bytes()).unwrap();
                }
            }
            let out = child.wait_with_output().unwrap();
            Outcome {
                ok: out.status.success(),
                text: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            }
        })
        .await
        .unwrap()
    }

    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, None).await;
        assert!(out.ok, "docker {} failed:\n{}", args.join(" "), out.text);
        out.text
    }

    async fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args, None).await;
        assert!(
            !out.ok,
            "docker {} should have failed:\n{}",
            args.join(" "),
            out.text
        );
        out.text
    }

    async fn login(&self, registry: &str, user: &str, password: &str) -> Outcome {
        self.run(
            &["login", "-u", user, "--password-stdin", registry],
            Some(password),
        )
        .await
    }

    async fn image_id(&self, image: &str) -> String {
        self.ok(&["image", "inspect", "--format", "{{.Id}}", image])
            .await
            .trim()
            .to_string()
    }

    /// Removes `images` from the daemon so the next pull really downloads.
    async fn forget(&self, images: &[&str]) {
        for image in images {
            let _ = self.run(&["rmi", "-f", image], None).await;
        }
    }
}

/// A build context of three files, one `COPY` (and so one layer) each, `FROM scratch`.
fn build_context(dir: &Path, seed: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let ctx = dir.join(format!("ctx-{seed}"));
    std::fs::create_dir_all(&ctx).unwrap();
    let mut dockerfile = String::from("FROM scratch\n");
    for (name, content) in files {
        let path = ctx.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        dockerfile.push_str(&format!("COPY {name} /{name}\n"));
    }
    dockerfile.push_str(&format!("LABEL berth.test.seed={seed}\nCMD [\"/true\"]\n"));
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    ctx
}

async fn build(docker: &Docker, dir: &Path, tag: &str, seed: &str) {
    let big = vec![seed.as_bytes()[0]; 3 << 20];
    let ctx = build_context(
        dir,
        seed,
        &[
            ("etc/hello.txt", format!("hello from {seed}\n").as_bytes()),
            ("data/big.bin", &big),
            ("etc/more.txt", b"a third layer\n"),
        ],
    );
    let out = docker
        .ok(&["build", "-t", tag, ctx.to_str().unwrap()])
        .await;
    assert!(out.contains("Successfully tagged"), "{out}");
}

/// `digest: sha256:… size: N` from docker push's last line.
fn pushed_digest(out: &str) -> String {
    out.split_whitespace()
        .skip_while(|w| *w != "digest:")
        .nth(1)
        .unwrap_or_else(|| panic!("no digest in docker push output:\n{out}"))
        .to_string()
}

async fn public_project(app: &TestApp, name: &str) {
    let admin = app.admin().await;
    app.state
        .services
        .create_project(
            &admin,
            domain::service::projects::NewProject {
                name: name.into(),
                public: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_builds_pushes_and_pulls_through_berth() {
    let app = TestApp::new().await;
    app.project("lib").await;
    public_project(&app, "pub").await;
    let dev = app
        .member("lib", "dev", domain::types::Role::Developer)
        .await;
    let server = LiveServer::start(&app.state);
    let registry = server.host();
    let docker = Docker::new();
    let dir = tempfile::tempdir().unwrap();
    let app_v1 = format!("{registry}/lib/app:v1");
    let other_v1 = format!("{registry}/lib/other:v1");
    let open_v1 = format!("{registry}/pub/open:v1");

    build(&docker, dir.path(), &app_v1, "a").await;
    let built_id = docker.image_id(&app_v1).await;

    let login = docker.login(&registry, "dev", &dev).await;
    assert!(
        login.ok && login.text.contains("Login Succeeded"),
        "{}",
        login.text
    );
    let out = docker.ok(&["push", &app_v1]).await;
    let digest = pushed_digest(&out);
    assert!(out.contains("Pushed"), "{out}");
    // Berth holds what docker pushed, under the digest docker reports.
    let manifest = app
        .send(
            Method::GET,
            &format!("/v2/lib/app/manifests/{digest}"),
            ADMIN,
            None,
            &[(
                "accept",
                "application/vnd.docker.distribution.manifest.v2+json",
            )],
        )
        .await;
    assert_eq!(manifest.status, StatusCode::OK);
    assert_eq!(manifest.headers["docker-content-digest"], digest.as_str());
    assert_eq!(
        manifest.json()["layers"].as_array().unwrap().len(),
        3,
        "three COPY steps, three layers"
    );

    // The same layers in a second repository are mounted, not uploaded again.
    docker.ok(&["tag", &app_v1, &other_v1]).await;
    let out = docker.ok(&["push", &other_v1]).await;
    assert!(out.contains("Mounted from lib/app"), "{out}");

    // Pulled back by tag and by digest, the image is the one that was built.
    docker.forget(&[&app_v1, &other_v1]).await;
    docker.ok(&["pull", &app_v1]).await;
    assert_eq!(docker.image_id(&app_v1).await, built_id);
    docker.forget(&[&app_v1]).await;
    let by_digest = format!("{registry}/lib/app@{digest}");
    docker.ok(&["pull", &by_digest]).await;
    assert_eq!(docker.image_id(&by_digest).await, built_id);

    // Anonymous: refused on the private project, allowed on a public one.
    let admin = docker.login(&registry, "admin", ADMIN_PASSWORD).await;
    assert!(admin.ok, "{}", admin.text);
    docker.ok(&["tag", &by_digest, &open_v1]).await;
    docker.ok(&["push", &open_v1]).await;
    let out = docker.ok(&["logout", &registry]).await;
    assert!(out.contains("Removing login credentials"), "{out}");
    docker.forget(&[&app_v1, &open_v1, &by_digest]).await;
    let out = docker.fails(&["pull", &app_v1]).await;
    assert!(
        out.contains("pull access denied") || out.contains("unauthorized"),
        "{out}"
    );
    docker.ok(&["pull", &open_v1]).await;
    assert_eq!(docker.image_id(&open_v1).await, built_id);

    // A pull-only robot, `robot$lib+puller`, pulls and is refused on push.
    let (name, secret) = app.robot("lib", "puller", &["pull"]).await;
    assert!(name.contains('$'));
    let login = docker.login(&registry, &name, &secret).await;
    assert!(login.ok, "{}", login.text);
    docker.ok(&["pull", &app_v1]).await;
    let app_v2 = format!("{registry}/lib/app:v2");
    build(&docker, dir.path(), &app_v2, "b").await;
    let out = docker.fails(&["push", &app_v2]).await;
    assert!(
        out.contains("denied") || out.contains("unauthorized"),
        "a pull-only robot cannot push: {out}"
    );
    docker.ok(&["logout", &registry]).await;

    // The quota refusal, as docker prints it.
    let admin_actor = app.admin().await;
    app.state
        .services
        .create_project(
            &admin_actor,
            domain::service::projects::NewProject {
                name: "small".into(),
                // Smaller than the gzipped layers docker uploads.
                storage_limit: Some(1024),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let login = docker.login(&registry, "admin", ADMIN_PASSWORD).await;
    assert!(login.ok, "{}", login.text);
    let small = format!("{registry}/small/app:v1");
    docker.ok(&["tag", &app_v1, &small]).await;
    let out = docker.fails(&["push", &small]).await;
    assert!(
        out.contains("storage quota exceeded in project `small`"),
        "docker shows the registry's quota message: {out}"
    );
    docker
        .forget(&[&app_v1, &app_v2, &other_v1, &open_v1, &small])
        .await;
}

fn vulndb() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vulndb");
    assert!(
        dir.join("EXPECTED.md").is_file(),
        "the vulnerability fixtures are at {} (the workspace's shared/vulndb)",
        dir.display()
    );
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_prints_the_prevent_vulnerable_refusal() {
    let dir = vulndb();
    let app = TestApp::new().await;
    let report = app
        .state
        .scans
        .vulndb
        .import_path(&dir.join("osv"))
        .await
        .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    berth_server::scanning::spawn_workers(app.state.clone());
    let admin = app.admin().await;
    app.state
        .services
        .create_project(
            &admin,
            domain::service::projects::NewProject {
                name: "guarded".into(),
                metadata: [
                    ("auto_scan", "true"),
                    ("prevent_vul", "true"),
                    ("severity", "high"),
                ]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let server = LiveServer::start(&app.state);
    let registry = server.host();
    let docker = Docker::new();
    let work = tempfile::tempdir().unwrap();
    let apk = std::fs::read(dir.join("pkgdb/alpine-apk-installed")).unwrap();
    let ctx = build_context(
        work.path(),
        "vulnerable",
        &[
            (
                "etc/os-release",
                b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.4\n",
            ),
            ("lib/apk/db/installed", &apk),
        ],
    );
    let image = format!("{registry}/guarded/app:v1");
    docker
        .ok(&["build", "-t", &image, ctx.to_str().unwrap()])
        .await;
    let login = docker.login(&registry, "admin", ADMIN_PASSWORD).await;
    assert!(login.ok, "{}", login.text);
    docker.ok(&["push", &image]).await;
    // Scan on push finishes.
    let mut status = Value::Null;
    for _ in 0..120 {
        let res = app
            .send(
                Method::GET,
                "/api/v2.0/projects/guarded/repositories/app/artifacts/v1?with_scan_overview=true",
                ADMIN,
                None,
                &[],
            )
            .await;
        status = res.json()["scan_overview"].clone();
        if status.to_string().contains("Success") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(status.to_string().contains("Success"), "scan: {status}");
    // System administrators are exempt from the rule; a developer is not.
    docker.forget(&[&image]).await;
    let dev = app
        .member("guarded", "dev", domain::types::Role::Developer)
        .await;
    let login = docker.login(&registry, "dev", &dev).await;
    assert!(login.ok, "{}", login.text);
    let out = docker.fails(&["pull", &image]).await;
    assert!(
        out.contains("ALPINE-CVE-2025-26519") && out.contains("allowlist"),
        "docker shows the registry's message: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_login_with_an_oidc_cli_secret() {
    // The token realm is Berth's external URL: it must be where docker can reach it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let external = format!("http://127.0.0.1:{port}");
    let provider = Provider::start_for(&external, "berth", "berth-secret", None);
    let app = app_at(&external, &provider, |_| {}).await;
    let mut browser = Browser::at(&external);
    assert_eq!(
        browser.sign_in(&app, "bob", "bob-password").await,
        "/projects"
    );
    let secret = browser.server_fn(&app, "regenerate_cli_secret").await;
    assert_eq!(secret.status, StatusCode::OK, "{}", secret.body);
    let secret: Value = serde_json::from_str(&secret.body).unwrap();
    let secret = secret["secret"].as_str().unwrap().to_string();
    let server = LiveServer::start_on(&app.state, port);
    let registry = server.host();
    let docker = Docker::new();
    let login = docker.login(&registry, "bob@example.com", &secret).await;
    assert!(
        login.ok && login.text.contains("Login Succeeded"),
        "{}",
        login.text
    );
    let wrong = docker
        .login(&registry, "bob@example.com", "not-the-secret")
        .await;
    assert!(!wrong.ok, "{}", wrong.text);
    assert!(wrong.text.contains("unauthorized"), "{}", wrong.text);
}

/// A certificate authority and a server certificate for `ip`, as PEM.
fn test_ca(ip: &str) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Berth test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress(ip.parse().unwrap()));
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

/// This machine's first non-loopback IPv4 address: the daemon treats every loopback registry
/// as insecure (no certificate check at all), so HTTPS is only tested for real off loopback.
fn routable_ip() -> String {
    let out = Command::new("hostname").arg("-I").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|a| {
            a.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| !ip.is_loopback())
        })
        .unwrap_or_else(|| {
            panic!("the HTTPS test needs a non-loopback IPv4 address on this machine")
        })
        .to_string()
}

/// Removes the CA from the daemon's `certs.d` when the test ends, passed or not.
struct CertsDir(PathBuf);

impl Drop for CertsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_over_https_trusts_berth_through_certs_d() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ip = routable_ip();
    let (ca, cert, key) = test_ca(&ip);
    let tls = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (tls.path().join("tls.crt"), tls.path().join("tls.key"));
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let listener = std::net::TcpListener::bind((ip.as_str(), 0)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = TestApp::with_config(|c| {
        c.https = Some(berth_server::config::HttpsConfig {
            port,
            certificate: cert_path.clone(),
            private_key: key_path.clone(),
            redirect_http: false,
            hsts_max_age: 600,
        });
    })
    .await;
    app.project("lib").await;
    let config = (*app.state.config).clone();
    let router = berth_server::router(app.state.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let listeners = berth_server::serve::Listeners {
            main: listener,
            redirect: None,
        };
        berth_server::serve::run(&config, router, listeners, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let registry = format!("{ip}:{port}");
    let docker = Docker::new();
    // Without the CA the daemon refuses the certificate.
    let refused = docker.login(&registry, "admin", ADMIN_PASSWORD).await;
    assert!(!refused.ok, "{}", refused.text);
    assert!(
        refused.text.contains("certificate") || refused.text.contains("x509"),
        "{}",
        refused.text
    );
    // With the test CA under certs.d/<host:port>/ca.crt, login, push and pull work.
    let certs = CertsDir(PathBuf::from("/etc/docker/certs.d").join(&registry));
    std::fs::create_dir_all(&certs.0).unwrap();
    std::fs::write(certs.0.join("ca.crt"), ca).unwrap();
    let login = docker.login(&registry, "admin", ADMIN_PASSWORD).await;
    assert!(
        login.ok && login.text.contains("Login Succeeded"),
        "{}",
        login.text
    );
    let dir = tempfile::tempdir().unwrap();
    let image = format!("{registry}/lib/secure:v1");
    build(&docker, dir.path(), &image, "s").await;
    let built = docker.image_id(&image).await;
    docker.ok(&["push", &image]).await;
    docker.forget(&[&image]).await;
    docker.ok(&["pull", &image]).await;
    assert_eq!(docker.image_id(&image).await, built);
    docker.forget(&[&image]).await;
    let _ = stop.send(());
}
