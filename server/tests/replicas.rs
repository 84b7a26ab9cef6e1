//! Three Berth processes on one PostgreSQL database and one S3 bucket (SeaweedFS) behind
//! Debian's nginx, round robin — the scale-out deployment of `docs/high-availability.md`:
//! `skopeo copy` of a multi-layer image (one layer of 50 MiB) in and out with identical digests;
//! `docker` and `podman` push and pull round trips; a chunked upload whose requests go to
//! different replicas on purpose; a replica killed with SIGKILL in the middle of a large upload,
//! resumed through another replica; no blob bytes on any replica's disk; scan on push exactly
//! once per artifact; garbage collection on one replica while pushes go on through the others;
//! a console session from one replica valid on the others; a scheduled job run once.
//!
//! Needs PostgreSQL (`BERTH_TEST_POSTGRES_SERVER`), S3 (`BERTH_TEST_S3_*`), nginx, skopeo,
//! podman and a docker daemon (`BERTH_TEST_DOCKER_HOST`), all started by `scripts/test.sh`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::process::{free_port, pattern, stalled_body, wait_ready};
use common::sha;
use serde_json::{json, Value};

const PASSWORD: &str = "Replica-Test-Admin-1";

fn need(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: ./scripts/test.sh starts PostgreSQL, SeaweedFS and docker and sets it")
    })
}

/// A fresh PostgreSQL database on the test server.
async fn database() -> String {
    common::postgres_database().await
}

struct Replica {
    port: u16,
    data: PathBuf,
    config: PathBuf,
    child: Option<Child>,
}

impl Replica {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) {
        let log = std::fs::File::create(self.data.join("berth.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("--config")
            .arg(&self.config)
            .env("BERTH_ADMIN_PASSWORD", PASSWORD)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Nginx {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx as the operator guide configures it: no body size limit, no request or response
/// buffering, long timeouts, the client's Host passed on.
fn start_nginx(port: u16, upstreams: &[u16]) -> Nginx {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let servers: String = upstreams
        .iter()
        .map(|p| format!("    server 127.0.0.1:{p};\n"))
        .collect();
    let conf = format!(
        "user root;\nworker_processes 2;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         upstream berth {{\n{servers}  }}\n\
         server {{\n    listen 127.0.0.1:{port};\n    client_max_body_size 0;\n\
         proxy_request_buffering off;\n    proxy_buffering off;\n    proxy_http_version 1.1;\n\
         proxy_read_timeout 900s;\n    proxy_send_timeout 900s;\n\
         location / {{\n      proxy_pass http://berth;\n      proxy_set_header Host $http_host;\n\
         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
         proxy_set_header X-Forwarded-Proto $scheme;\n      proxy_set_header Connection \"\";\n    }}\n  }}\n}}\n"
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("/usr/sbin/nginx")
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nginx is installed (scripts/test.sh installs Debian's nginx)");
    Nginx { child, _dir: dir }
}

fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{program} {} failed:\n{text}",
        args.join(" ")
    );
    text
}

async fn run_async(
    program: &'static str,
    args: Vec<String>,
    envs: Vec<(String, String)>,
) -> String {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run(program, &args, &envs)
    })
    .await
    .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// An OCI layout with one image of three layers, the first of 50 MiB; returns its manifest
/// digest.
fn oci_layout(dir: &Path) -> String {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let put = |bytes: &[u8]| {
        let d = sha(bytes);
        std::fs::write(
            dir.join("blobs/sha256")
                .join(d.trim_start_matches("sha256:")),
            bytes,
        )
        .unwrap();
        d
    };
    let layers: Vec<Vec<u8>> = vec![
        pattern(50 << 20, 1),
        pattern(3 << 20, 2),
        b"a small layer".to_vec(),
    ];
    let mut descriptors = Vec::new();
    for layer in &layers {
        descriptors.push(
            json!({"mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": put(layer), "size": layer.len()}),
        );
    }
    let config = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": descriptors.iter().map(|d| d["digest"].clone()).collect::<Vec<_>>()}}))
    .unwrap();
    let manifest = serde_json::to_vec(&json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(&config), "size": config.len()},
        "layers": descriptors}))
    .unwrap();
    let digest = put(&manifest);
    let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest, "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "v1"}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    digest
}

/// Every file under `dir` with its size.
fn files(dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            files(&entry.path(), out);
        } else {
            out.push((entry.path(), meta.len()));
        }
    }
}

/// Pushes an image of `layers` (and a config) to `repo:tag` at `base` with plain HTTP requests,
/// as a registry client does: blobs first (monolithic POST+PUT), the manifest last. A manifest
/// refused with MANIFEST_BLOB_UNKNOWN (a blob collected meanwhile) is pushed again from the
/// blobs, as docker and podman do. Returns the manifest digest.
async fn push_image(
    http: &reqwest::Client,
    base: &str,
    repo: &str,
    tag: &str,
    layers: &[Vec<u8>],
) -> String {
    let config =
        serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux", "tag": tag})).unwrap();
    for _attempt in 0..3 {
        for blob in layers.iter().chain(std::iter::once(&config)) {
            let res = http
                .post(format!(
                    "{base}/v2/{repo}/blobs/uploads/?digest={}",
                    sha(blob)
                ))
                .basic_auth("admin", Some(PASSWORD))
                .body(blob.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        }
        let manifest = serde_json::to_vec(&json!({"schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(&config), "size": config.len()},
            "layers": layers.iter().map(|l| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(l), "size": l.len()})).collect::<Vec<_>>()}))
        .unwrap();
        let res = http
            .put(format!("{base}/v2/{repo}/manifests/{tag}"))
            .basic_auth("admin", Some(PASSWORD))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(manifest.clone())
            .send()
            .await
            .unwrap();
        if res.status() == 201 {
            return sha(&manifest);
        }
        let body = res.text().await.unwrap();
        assert!(
            body.contains("MANIFEST_BLOB_UNKNOWN"),
            "manifest refused: {body}"
        );
    }
    panic!("{repo}:{tag} could not be pushed in three attempts");
}

/// Like [`pull_image`], for images in either Docker schema 2 or OCI format.
async fn pull_image_any(http: &reqwest::Client, base: &str, repo: &str, tag: &str) {
    pull_with(http, base, repo, tag, "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json").await
}

async fn pull_image(http: &reqwest::Client, base: &str, repo: &str, tag: &str) {
    pull_with(
        http,
        base,
        repo,
        tag,
        "application/vnd.oci.image.manifest.v1+json",
    )
    .await
}

/// Pulls `repo:tag` and every blob it names from `base`, checking each digest.
async fn pull_with(http: &reqwest::Client, base: &str, repo: &str, tag: &str, accept: &str) {
    let res = http
        .get(format!("{base}/v2/{repo}/manifests/{tag}"))
        .basic_auth("admin", Some(PASSWORD))
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{repo}:{tag} from {base}");
    let manifest: Value = res.json().await.unwrap();
    let mut digests = vec![manifest["config"]["digest"].as_str().unwrap().to_string()];
    for layer in manifest["layers"].as_array().unwrap() {
        digests.push(layer["digest"].as_str().unwrap().to_string());
    }
    for d in digests {
        let res = http
            .get(format!("{base}/v2/{repo}/blobs/{d}"))
            .basic_auth("admin", Some(PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{repo}:{tag} blob {d} from {base}");
        assert_eq!(sha(&res.bytes().await.unwrap()), d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_behind_nginx_on_postgresql_and_s3() {
    let db_url = database().await;
    let root = format!("replicas-{}", uuid::Uuid::new_v4().simple());
    let s3 = common::s3_storage(&root);
    let work = tempfile::tempdir().unwrap();
    let keys = work.path().join("keys");
    let nginx_port = free_port();
    let lb = format!("127.0.0.1:{nginx_port}");
    let ports = [free_port(), free_port(), free_port()];
    // A scheduled garbage collection every minute: exactly one replica runs each occurrence.
    let mut replicas: Vec<Replica> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            let data = work.path().join(format!("replica-{i}"));
            std::fs::create_dir_all(&data).unwrap();
            let config = data.join("berth.yml");
            let yaml = json!({
                "hostname": "127.0.0.1",
                "external_url": format!("http://{lb}"),
                "http": {"port": port, "bind": "127.0.0.1"},
                "data_dir": data,
                "keys_dir": keys,
                "database": {"url": db_url, "max_connections": 8},
                "storage": {"s3": serde_json::to_value(&s3).unwrap()},
                "gc": {"schedule": "* * * * *"},
                "log": {"level": "warn"},
            });
            let mut yaml = yaml;
            yaml["storage"]["s3"]["secretkey"] = json!(need("BERTH_TEST_S3_SECRET_KEY"));
            std::fs::write(&config, serde_yaml::to_string(&yaml).unwrap()).unwrap();
            Replica {
                port: *port,
                data,
                config,
                child: None,
            }
        })
        .collect();
    // All three at once, as an orchestrator starts them: one migrates, the others wait.
    for r in replicas.iter_mut() {
        r.start();
    }
    for r in &replicas {
        wait_ready(&r.base()).await;
    }
    let _nginx = start_nginx(nginx_port, &ports);
    wait_ready(&format!("http://{lb}")).await;

    let http = reqwest::Client::new();
    let admin = ("admin", PASSWORD);
    // A project with scan on push.
    let res = http
        .post(format!("http://{lb}/api/v2.0/projects"))
        .basic_auth(admin.0, Some(admin.1))
        .json(&json!({"project_name": "lib", "metadata": {"auto_scan": "true"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());

    // skopeo copy in and out through the load balancer, identical digests.
    let layout = work.path().join("layout");
    let manifest_digest = oci_layout(&layout);
    let creds = format!("admin:{PASSWORD}");
    run_async(
        "skopeo",
        strings(&[
            "copy",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds,
            &format!("oci:{}:v1", layout.display()),
            &format!("docker://{lb}/lib/big:v1"),
        ]),
        vec![],
    )
    .await;
    let back = work.path().join("back");
    run_async(
        "skopeo",
        strings(&[
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--src-creds",
            &creds,
            &format!("docker://{lb}/lib/big:v1"),
            &format!("oci:{}:v1", back.display()),
        ]),
        vec![],
    )
    .await;
    let index: Value =
        serde_json::from_slice(&std::fs::read(back.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], manifest_digest.as_str());
    let mut sent = Vec::new();
    files(&layout.join("blobs"), &mut sent);
    for (path, size) in &sent {
        let name = path.file_name().unwrap();
        let copy = back.join("blobs/sha256").join(name);
        assert_eq!(std::fs::metadata(&copy).unwrap().len(), *size);
        assert_eq!(
            sha(&std::fs::read(&copy).unwrap()),
            format!("sha256:{}", name.to_string_lossy())
        );
    }

    // A chunked upload whose requests go to the three replicas in turn.
    let blob = pattern(12 << 20, 3);
    let digest = sha(&blob);
    let res = http
        .post(format!(
            "{}/v2/lib/chunked/blobs/uploads/",
            replicas[0].base()
        ))
        .basic_auth(admin.0, Some(admin.1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let path = location
        .strip_prefix(&format!("http://{lb}"))
        .unwrap_or(&location)
        .to_string();
    let cuts = [0, 1000, 6 << 20, 6 << 20 | 17, blob.len()];
    for (i, w) in cuts.windows(2).enumerate() {
        let target = &replicas[(i + 1) % 3];
        let res = http
            .patch(format!("{}{path}", target.base()))
            .basic_auth(admin.0, Some(admin.1))
            .header("content-range", format!("{}-{}", w[0], w[1] - 1))
            .header("content-type", "application/octet-stream")
            .body(blob[w[0]..w[1]].to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            202,
            "chunk {i}: {}",
            res.text().await.unwrap()
        );
        assert_eq!(
            res.headers()["range"].to_str().unwrap(),
            format!("0-{}", w[1] - 1)
        );
    }
    let sep = if path.contains('?') { '&' } else { '?' };
    let res = http
        .put(format!("{}{path}{sep}digest={digest}", replicas[2].base()))
        .basic_auth(admin.0, Some(admin.1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let res = http
        .get(format!(
            "{}/v2/lib/chunked/blobs/{digest}",
            replicas[1].base()
        ))
        .basic_auth(admin.0, Some(admin.1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(sha(&res.bytes().await.unwrap()), digest);

    // A replica killed in the middle of a large upload; the client resumes through another.
    let blob = pattern(20 << 20, 4);
    let digest = sha(&blob);
    let res = http
        .post(format!("http://{lb}/v2/lib/resumed/blobs/uploads/"))
        .basic_auth(admin.0, Some(admin.1))
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let path = location
        .strip_prefix(&format!("http://{lb}"))
        .unwrap_or(&location)
        .to_string();
    // 8 MiB reach replica 1, which is then killed with SIGKILL mid-request.
    let first = 8 << 20;
    let res = http
        .patch(format!("{}{path}", replicas[0].base()))
        .basic_auth(admin.0, Some(admin.1))
        .header("content-range", format!("0-{}", first - 1))
        .body(blob[..first].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let victim_url = format!("{}{path}", replicas[1].base());
    let stalled = tokio::spawn({
        let http = http.clone();
        let chunk = blob[first..first + (7 << 20)].to_vec();
        async move {
            http.patch(victim_url)
                .basic_auth("admin", Some(PASSWORD))
                .body(stalled_body(chunk))
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    replicas[1].kill();
    // The stalled request died with its replica.
    let _ = stalled.await.unwrap();
    // Through the load balancer: where does the upload stand, then the rest from there
    // (retrying while the dead replica's claim runs out).
    let mut offset = 0usize;
    let mut finished = false;
    for _ in 0..60 {
        let res = http
            .get(format!("{}{path}", replicas[2].base()))
            .basic_auth(admin.0, Some(admin.1))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "upload status after the kill");
        let range = res.headers()["range"].to_str().unwrap().to_string();
        offset = range.rsplit('-').next().unwrap().parse::<usize>().unwrap() + 1;
        assert!(
            offset == first,
            "the recorded progress is the last completed request: {range}"
        );
        let res = http
            .patch(format!("{}{path}", replicas[2].base()))
            .basic_auth(admin.0, Some(admin.1))
            .header("content-range", format!("{offset}-{}", blob.len() - 1))
            .body(blob[offset..].to_vec())
            .send()
            .await
            .unwrap();
        if res.status() == 503 {
            assert!(res.headers().contains_key("retry-after"));
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
        finished = true;
        break;
    }
    assert!(
        finished,
        "the upload resumed on another replica (from {offset})"
    );
    let sep = if path.contains('?') { '&' } else { '?' };
    let res = http
        .put(format!("http://{lb}{path}{sep}digest={digest}"))
        .basic_auth(admin.0, Some(admin.1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    replicas[1].start();
    wait_ready(&replicas[1].base()).await;

    // docker: build FROM scratch, push through the load balancer, pull it back.
    let docker_host = need("BERTH_TEST_DOCKER_HOST");
    let docker_config = work.path().join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    let docker_env = vec![
        ("DOCKER_HOST".to_string(), docker_host.clone()),
        (
            "DOCKER_CONFIG".to_string(),
            docker_config.display().to_string(),
        ),
        ("DOCKER_BUILDKIT".to_string(), "0".to_string()),
    ];
    let ctx = work.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("big.bin"), pattern(3 << 20, 5)).unwrap();
    std::fs::write(ctx.join("hello.txt"), b"hello from three replicas\n").unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY big.bin /big.bin\nCOPY hello.txt /hello.txt\nCMD [\"/true\"]\n",
    )
    .unwrap();
    let image = format!("{lb}/lib/dock:v1");
    let docker = |args: &[&str]| run_async("docker", strings(args), docker_env.clone());
    tokio::task::spawn_blocking({
        let env = docker_env.clone();
        let lb = lb.clone();
        move || {
            let mut child = Command::new("docker")
                .args(["login", "-u", "admin", "--password-stdin", &lb])
                .envs(env)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(PASSWORD.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "docker login: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    })
    .await
    .unwrap();
    docker(&["build", "-t", &image, ctx.to_str().unwrap()]).await;
    let built = docker(&["image", "inspect", "--format", "{{.Id}}", &image]).await;
    docker(&["push", &image]).await;
    docker(&["rmi", &image]).await;
    docker(&["pull", &image]).await;
    let pulled = docker(&["image", "inspect", "--format", "{{.Id}}", &image]).await;
    assert_eq!(
        built.trim(),
        pulled.trim(),
        "docker pulled the image it pushed"
    );

    // podman: pull what docker pushed, push it under another name, pull that back.
    let podman_root = work.path().join("podman");
    let p = |rest: &[&str]| {
        let mut a = strings(&[
            "--storage-driver=vfs",
            "--root",
            podman_root.join("root").to_str().unwrap(),
            "--runroot",
            podman_root.join("run").to_str().unwrap(),
        ]);
        a.extend(rest.iter().map(|s| s.to_string()));
        a
    };
    run_async(
        "podman",
        p(&["pull", "--tls-verify=false", "--creds", &creds, &image]),
        vec![],
    )
    .await;
    let pod_image = format!("{lb}/lib/pod:v1");
    run_async("podman", p(&["tag", &image, &pod_image]), vec![]).await;
    run_async(
        "podman",
        p(&["push", "--tls-verify=false", "--creds", &creds, &pod_image]),
        vec![],
    )
    .await;
    run_async("podman", p(&["rmi", &pod_image, &image]), vec![]).await;
    run_async(
        "podman",
        p(&["pull", "--tls-verify=false", "--creds", &creds, &pod_image]),
        vec![],
    )
    .await;
    for r in &replicas {
        pull_image_any(&http, &r.base(), "lib/pod", "v1").await;
    }

    // Garbage collection on one replica while pushes go on through the other two: an orphan
    // blob goes, nothing referenced does.
    let orphan = pattern(1 << 20, 6);
    let res = http
        .post(format!(
            "{}/v2/lib/orphan/blobs/uploads/?digest={}",
            replicas[1].base(),
            sha(&orphan)
        ))
        .basic_auth(admin.0, Some(admin.1))
        .body(orphan.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let pushers: Vec<_> = (0..6)
        .map(|i| {
            let http = http.clone();
            let base = replicas[1 + i % 2].base();
            tokio::spawn(async move {
                let layers = vec![
                    pattern(300_000 + i, 100 + i as u32),
                    pattern(2_000, 200 + i as u32),
                ];
                let tag = format!("gc-{i}");
                push_image(&http, &base, "lib/during-gc", &tag, &layers).await;
                tag
            })
        })
        .collect();
    let mut collected = 0u64;
    for _ in 0..3 {
        let res = http
            .post(format!("{}/api/v2.0/system/gc", replicas[0].base()))
            .basic_auth(admin.0, Some(admin.1))
            .json(&json!({"window_minutes": 0}))
            .send()
            .await
            .unwrap();
        if res.status() == 409 {
            // A scheduled run holds the collector right now.
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let report: Value = res.json().await.unwrap();
        collected += report["blobs_deleted"].as_u64().unwrap_or(0);
    }
    let mut tags = Vec::new();
    for pusher in pushers {
        tags.push(pusher.await.unwrap());
    }
    for (i, tag) in tags.iter().enumerate() {
        pull_image(&http, &replicas[i % 3].base(), "lib/during-gc", tag).await;
    }
    pull_image_any(&http, &replicas[0].base(), "lib/big", "v1").await;
    let res = http
        .head(format!(
            "{}/v2/lib/orphan/blobs/{}",
            replicas[2].base(),
            sha(&orphan)
        ))
        .basic_auth(admin.0, Some(admin.1))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        404,
        "the orphan blob was collected ({collected} blobs in all)"
    );

    // Scan on push: exactly one scan per artifact, whichever replica took the push.
    let pg = sqlx::PgPool::connect(&db_url).await.unwrap();
    let artifacts: i64 = sqlx::query_scalar("SELECT count(*) FROM artifacts")
        .fetch_one(&pg)
        .await
        .unwrap();
    let mut scanned = 0i64;
    for _ in 0..120 {
        scanned = sqlx::query_scalar("SELECT count(DISTINCT artifact_id) FROM scans")
            .fetch_one(&pg)
            .await
            .unwrap();
        if scanned == artifacts {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(scanned, artifacts, "every artifact was scanned on push");
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT artifact_id FROM scans GROUP BY artifact_id HAVING count(*) > 1) t",
    )
    .fetch_one(&pg)
    .await
    .unwrap();
    assert_eq!(twice, 0, "no artifact was scanned twice");

    // A console session from one replica is valid on the others.
    let res = http
        .post(format!("{}/console/fn/login", replicas[0].base()))
        .header("origin", format!("http://{lb}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username=admin&password={PASSWORD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    for r in &replicas[1..] {
        let res = http
            .get(format!("{}/api/v2.0/users/current", r.base()))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "the session is valid on {}", r.base());
        assert_eq!(res.json::<Value>().await.unwrap()["username"], "admin");
    }

    // The scheduled garbage collection (every minute): each occurrence claimed by one replica,
    // and no more scheduled runs than occurrences.
    let mut scheduled = 0i64;
    for _ in 0..150 {
        scheduled =
            sqlx::query_scalar("SELECT count(*) FROM gc_runs WHERE \"trigger\" = 'schedule'")
                .fetch_one(&pg)
                .await
                .unwrap();
        if scheduled > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(scheduled > 0, "the scheduled collection ran");
    // Let every replica tick past the occurrence it ran.
    tokio::time::sleep(Duration::from_secs(21)).await;
    let occurrences: i64 =
        sqlx::query_scalar("SELECT count(*) FROM schedule_claims WHERE job = 'gc'")
            .fetch_one(&pg)
            .await
            .unwrap();
    let scheduled: i64 =
        sqlx::query_scalar("SELECT count(*) FROM gc_runs WHERE \"trigger\" = 'schedule'")
            .fetch_one(&pg)
            .await
            .unwrap();
    assert!(
        scheduled <= occurrences,
        "{scheduled} scheduled runs for {occurrences} occurrences: an occurrence ran twice"
    );
    pg.close().await;

    // No blob bytes on any replica's own disk.
    for r in &replicas {
        let mut found = Vec::new();
        files(&r.data, &mut found);
        let big: Vec<_> = found
            .iter()
            .filter(|(_, size)| *size > 256 * 1024)
            .collect();
        assert!(big.is_empty(), "replica files holding blob bytes: {big:?}");
    }
}

/// Waits for a process that should refuse to start; returns what it printed.
fn refused(mut cmd: Command) -> String {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output().unwrap());
    });
    let out = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the process gave up within a minute");
    assert!(!out.status.success(), "it started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn berth(data: &Path, port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.env("BERTH_DATA_DIR", data)
        .env("BERTH_HTTP__PORT", port.to_string())
        .env("BERTH_HTTP__BIND", "127.0.0.1")
        .env("BERTH_ADMIN_PASSWORD", PASSWORD)
        .env("BERTH_LOG__LEVEL", "warn");
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_one_sqlite_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut first = berth(dir.path(), port)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&format!("http://127.0.0.1:{port}")).await;
    let text = refused(berth(dir.path(), free_port()));
    assert!(
        text.contains("another Berth process is using the SQLite database")
            && text.contains("PostgreSQL"),
        "{text}"
    );
    first.kill().unwrap();
    first.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_with_other_keys_refuses_to_start() {
    let db_url = database().await;
    let work = tempfile::tempdir().unwrap();
    let port = free_port();
    let shared = work.path().join("keys");
    let mut first = berth(&work.path().join("a"), port);
    first
        .env("BERTH_DATABASE__URL", &db_url)
        .env("BERTH_KEYS_DIR", &shared);
    let mut first = first
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&format!("http://127.0.0.1:{port}")).await;
    // A second replica that was not given the shared keys directory makes keys of its own.
    let mut other = berth(&work.path().join("b"), free_port());
    other.env("BERTH_DATABASE__URL", &db_url);
    let text = refused(other);
    assert!(
        text.contains("token-signing key") && text.contains("keys_dir"),
        "{text}"
    );
    // With the shared directory it starts.
    let port_c = free_port();
    let mut third = berth(&work.path().join("c"), port_c);
    third
        .env("BERTH_DATABASE__URL", &db_url)
        .env("BERTH_KEYS_DIR", &shared);
    let mut third = third
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&format!("http://127.0.0.1:{port_c}")).await;
    for child in [&mut first, &mut third] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
