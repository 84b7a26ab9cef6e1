//! Real clients against a live Berth: `skopeo copy` of a umoci-built OCI image (several layers,
//! one of 50 MiB) in and back with identical digests, `skopeo inspect` and `delete`, a
//! multi-architecture index, `podman` push and pull in Docker and OCI formats, and an OCI
//! artifact found through the referrers API.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{LiveServer, TestApp, ADMIN_PASSWORD};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} must be installed (scripts/test.sh installs it): {e}")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

async fn run_async(program: &'static str, args: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(program, &refs)
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Pseudo-random, incompressible bytes (xorshift), so the layer stays ~`len` bytes gzipped.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// An OCI layout with `v1` (three layers, one of 50 MiB) and `v2` (one small layer).
fn build_layout(dir: &Path) -> PathBuf {
    let layout = dir.join("layout");
    let l = layout.to_str().unwrap();
    run("umoci", &["init", "--layout", l]);
    for (tag, files) in [
        (
            "v1",
            vec![
                ("big.bin", noise(50 << 20, 7)),
                ("etc/hello.txt", b"hello\n".to_vec()),
                ("etc/more.txt", b"more\n".to_vec()),
            ],
        ),
        ("v2", vec![("other.txt", b"a different image\n".to_vec())]),
    ] {
        let image = format!("{l}:{tag}");
        run("umoci", &["new", "--image", &image]);
        let bundle = dir.join(format!("bundle-{tag}"));
        run(
            "umoci",
            &[
                "unpack",
                "--rootless",
                "--image",
                &image,
                bundle.to_str().unwrap(),
            ],
        );
        // One layer per file.
        for (name, content) in files {
            let path = bundle.join("rootfs").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
            run(
                "umoci",
                &[
                    "repack",
                    "--refresh-bundle",
                    "--image",
                    &image,
                    bundle.to_str().unwrap(),
                ],
            );
        }
        let platform = if tag == "v1" { "amd64" } else { "arm64" };
        run(
            "umoci",
            &[
                "config",
                "--image",
                &image,
                "--architecture",
                platform,
                "--os",
                "linux",
            ],
        );
    }
    layout
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn tag_digest(layout: &Path, tag: &str) -> String {
    let index = read_json(&layout.join("index.json"));
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("tag {tag} in {index}"))["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap()
}

/// Adds an OCI index over `v1` and `v2` to the layout as `multi`.
fn add_index(layout: &Path) -> String {
    let mut entries = Vec::new();
    for (tag, arch) in [("v1", "amd64"), ("v2", "arm64")] {
        let d = tag_digest(layout, tag);
        entries.push(
            json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d,
            "size": blob(layout, &d).len(), "platform": {"architecture": arch, "os": "linux"}}),
        );
    }
    let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})).unwrap();
    let hex = hex::encode(Sha256::digest(&index));
    std::fs::write(layout.join("blobs/sha256").join(&hex), &index).unwrap();
    let mut top = read_json(&layout.join("index.json"));
    top["manifests"].as_array_mut().unwrap().push(json!({"mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": format!("sha256:{hex}"), "size": index.len(), "annotations": {"org.opencontainers.image.ref.name": "multi"}}));
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    format!("sha256:{hex}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn skopeo_podman_and_referrers_against_a_live_registry() {
    let app = TestApp::new().await;
    app.project("lib").await;
    let server = LiveServer::start(&app.state);
    let host = server.host();
    let creds = format!("admin:{ADMIN_PASSWORD}");
    let dir = tempfile::tempdir().unwrap();
    let layout = tokio::task::spawn_blocking({
        let d = dir.path().to_path_buf();
        move || build_layout(&d)
    })
    .await
    .unwrap();
    let l = layout.to_str().unwrap().to_string();
    let v1 = tag_digest(&layout, "v1");
    let manifest: Value = serde_json::from_slice(&blob(&layout, &v1)).unwrap();
    let layers = manifest["layers"].as_array().unwrap().len();
    assert!(layers >= 3, "several layers expected, got {layers}");
    assert!(manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["size"].as_u64().unwrap() >= 50 << 20));

    // Into Berth and back: the same digests.
    run_async(
        "skopeo",
        args(&[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds,
            &format!("oci:{l}:v1"),
            &format!("docker://{host}/lib/big:v1"),
        ]),
    )
    .await;
    let back = dir.path().join("back");
    run_async(
        "skopeo",
        args(&[
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            &creds,
            &format!("docker://{host}/lib/big:v1"),
            &format!("oci:{}:v1", back.display()),
        ]),
    )
    .await;
    assert_eq!(
        tag_digest(&back, "v1"),
        v1,
        "manifest digest survives the round trip"
    );
    for layer in manifest["layers"].as_array().unwrap() {
        let d = layer["digest"].as_str().unwrap();
        assert_eq!(blob(&back, d), blob(&layout, d), "layer {d} identical");
    }
    let inspect: Value = serde_json::from_str(
        &run_async(
            "skopeo",
            args(&[
                "inspect",
                "--tls-verify=false",
                "--creds",
                &creds,
                &format!("docker://{host}/lib/big:v1"),
            ]),
        )
        .await,
    )
    .unwrap();
    assert_eq!(inspect["Digest"], v1.as_str());
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), layers);
    assert_eq!(inspect["Architecture"], "amd64");

    // A multi-architecture index, with all its images.
    let index_digest = add_index(&layout);
    run_async(
        "skopeo",
        args(&[
            "copy",
            "--all",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds,
            &format!("oci:{l}:multi"),
            &format!("docker://{host}/lib/multi:latest"),
        ]),
    )
    .await;
    let back2 = dir.path().join("back2");
    run_async(
        "skopeo",
        args(&[
            "copy",
            "--all",
            "--src-tls-verify=false",
            "--src-creds",
            &creds,
            &format!("docker://{host}/lib/multi:latest"),
            &format!("oci:{}:multi", back2.display()),
        ]),
    )
    .await;
    assert_eq!(tag_digest(&back2, "multi"), index_digest);
    let arm: Value = serde_json::from_str(
        &run_async(
            "skopeo",
            args(&[
                "inspect",
                "--tls-verify=false",
                "--creds",
                &creds,
                "--override-arch",
                "arm64",
                &format!("docker://{host}/lib/multi:latest"),
            ]),
        )
        .await,
    )
    .unwrap();
    // skopeo reports the index digest at the top; the platform image is the arm64 one.
    assert_eq!(arm["Architecture"], "arm64");
    let v2: Value = serde_json::from_slice(&blob(&layout, &tag_digest(&layout, "v2"))).unwrap();
    let v2_layers: Vec<&str> = v2["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["digest"].as_str().unwrap())
        .collect();
    let arm_layers: Vec<&str> = arm["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(arm_layers, v2_layers);

    // An OCI artifact about the image, found through the referrers API.
    let http = reqwest::Client::new();
    let base = format!("http://{host}");
    let empty = b"{}";
    let empty_digest = format!("sha256:{}", hex::encode(Sha256::digest(empty)));
    let res = http
        .post(format!(
            "{base}/v2/lib/big/blobs/uploads/?digest={empty_digest}"
        ))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .body(&empty[..])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let sbom = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/spdx+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest, "size": 2}, "layers": [],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": v1, "size": blob(&layout, &v1).len()}})).unwrap();
    let sbom_digest = format!("sha256:{}", hex::encode(Sha256::digest(&sbom)));
    let res = http
        .put(format!("{base}/v2/lib/big/manifests/{sbom_digest}"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(sbom)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["oci-subject"], v1.as_str());
    let referrers: Value = http
        .get(format!("{base}/v2/lib/big/referrers/{v1}"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(referrers["manifests"][0]["digest"], sbom_digest.as_str());
    assert_eq!(
        referrers["manifests"][0]["artifactType"],
        "application/spdx+json"
    );

    // podman, in Docker schema2 and OCI formats.
    let root = dir.path().join("podman");
    let p = |rest: &[&str]| {
        let mut a = args(&[
            "--storage-driver=vfs",
            "--root",
            root.join("root").to_str().unwrap(),
            "--runroot",
            root.join("run").to_str().unwrap(),
        ]);
        a.extend(rest.iter().map(|s| s.to_string()));
        a
    };
    run_async(
        "skopeo",
        args(&[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds,
            &format!("oci:{l}:v2"),
            &format!("docker://{host}/lib/seed:v2"),
        ]),
    )
    .await;
    run_async(
        "podman",
        p(&[
            "login",
            "--tls-verify=false",
            "-u",
            "admin",
            "-p",
            ADMIN_PASSWORD,
            &host,
        ]),
    )
    .await;
    run_async(
        "podman",
        p(&["pull", "--tls-verify=false", &format!("{host}/lib/seed:v2")]),
    )
    .await;
    let image_id = run_async("podman", p(&["images", "-q", "--no-trunc"]))
        .await
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_string();
    for format in ["v2s2", "oci"] {
        let target = format!("{host}/lib/pod:{format}");
        run_async("podman", p(&["tag", &image_id, &target])).await;
        run_async(
            "podman",
            p(&["push", "--tls-verify=false", "--format", format, &target]),
        )
        .await;
        let ct = http
            .head(format!("{base}/v2/lib/pod/manifests/{format}"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .unwrap();
        let expected = if format == "v2s2" {
            "application/vnd.docker.distribution.manifest.v2+json"
        } else {
            "application/vnd.oci.image.manifest.v1+json"
        };
        assert_eq!(ct.headers()["content-type"], expected);
        let pushed = ct.headers()["docker-content-digest"]
            .to_str()
            .unwrap()
            .to_string();
        run_async("podman", p(&["rmi", &target])).await;
        run_async("podman", p(&["pull", "--tls-verify=false", &target])).await;
        // podman keeps one image per id and lists every manifest it came from.
        let pulled = run_async(
            "podman",
            p(&["inspect", "--format", "{{.RepoDigests}}", &target]),
        )
        .await;
        assert!(
            pulled.contains(&format!("{host}/lib/pod@{pushed}")),
            "{format}: podman pulled what it pushed: {pulled}"
        );
    }

    // skopeo delete removes the tagged manifest.
    run_async(
        "skopeo",
        args(&[
            "delete",
            "--tls-verify=false",
            "--creds",
            &creds,
            &format!("docker://{host}/lib/big:v1"),
        ]),
    )
    .await;
    let res = http
        .get(format!("{base}/v2/lib/big/manifests/v1"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

/// One response read off a raw HTTP/1.1 connection.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response (`head_request`: no body follows, whatever `Content-Length` says).
fn read_response(reader: &mut impl std::io::BufRead, head_request: bool) -> RawResponse {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("a status line, got {line:?}"))
        .parse()
        .unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut response = RawResponse {
        status,
        headers,
        body: Vec::new(),
    };
    if !head_request {
        let len: usize = response
            .header("content-length")
            .expect("every response here has a Content-Length")
            .parse()
            .unwrap();
        response.body = vec![0; len];
        reader.read_exact(&mut response.body).unwrap();
    }
    response
}

fn zero_copy_bytes_sent(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("berth_blob_zero_copy_bytes_total "))
        .expect("the zero-copy counter is exported")
        .parse()
        .unwrap()
}

/// Blob downloads on plain HTTP/1.1 go from file to socket with `sendfile`, inside hyper's
/// framing. Pipelined on one keep-alive connection, every body (whole blobs larger than one
/// placeholder chunk, ranges across chunk boundaries, a suffix range, an empty blob) is
/// byte-exact and lines up with its own response, between responses that are not blobs (HEAD,
/// an error, a manifest); the bytes went through the zero-copy path; and a client that hangs
/// up mid-download leaves the server serving others.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blob_downloads_take_the_zero_copy_path_byte_exact_on_one_connection() {
    use std::io::{BufReader, Read as _, Write as _};

    let app = TestApp::new().await;
    app.project("zc").await;
    let big = noise((9 << 20) + 3, 7);
    let small = b"small".to_vec();
    let big_d = app.push_blob("zc/files", &big).await;
    let small_d = app.push_blob("zc/files", &small).await;
    let empty_d = app.push_blob("zc/files", b"").await;
    let (manifest, _) = app.push_image("zc/files", "v1", "zero-copy").await;
    let unknown_d = format!("sha256:{}", "0".repeat(64));
    let server = LiveServer::start(&app.state);
    let port = server.port;
    let before = zero_copy_bytes_sent(&app.get("/metrics").await.body);

    let auth = common::basic_header("admin", ADMIN_PASSWORD);
    let request = |method: &str, path: String, range: Option<&str>| {
        let range = range.map(|r| format!("Range: {r}\r\n")).unwrap_or_default();
        format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {auth}\r\n{range}\r\n"
        )
    };
    let blob = |d: &str| format!("/v2/zc/files/blobs/{d}");
    let mid = (4 << 20) - 5..=(8 << 20) + 5;
    let requests = [
        request("GET", blob(&big_d), None),
        request(
            "GET",
            blob(&big_d),
            Some(&format!("bytes={}-{}", mid.start(), mid.end())),
        ),
        request("HEAD", blob(&small_d), None),
        request("GET", blob(&unknown_d), None),
        request("GET", blob(&empty_d), None),
        request("GET", "/v2/zc/files/manifests/v1".into(), None),
        request("GET", blob(&small_d), None),
        request("GET", blob(&big_d), Some("bytes=-10")),
        request("GET", blob(&big_d), None),
    ];
    let responses = tokio::task::spawn_blocking(move || {
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        // Pipelined: every request written before any response is read.
        (&stream).write_all(requests.concat().as_bytes()).unwrap();
        let mut reader = BufReader::new(&stream);
        let heads = [false, false, true, false, false, false, false, false, false];
        heads
            .iter()
            .map(|&head| read_response(&mut reader, head))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();

    assert_eq!(responses[0].status, 200);
    assert!(responses[0].body == big, "whole blob, byte-exact");
    assert_eq!(responses[0].header("docker-content-digest"), Some(&*big_d));
    assert_eq!(responses[1].status, 206);
    assert!(responses[1].body == big[mid.clone()], "range across chunks");
    assert_eq!(
        responses[1].header("content-range"),
        Some(&*format!(
            "bytes {}-{}/{}",
            mid.start(),
            mid.end(),
            big.len()
        ))
    );
    assert_eq!(responses[2].status, 200);
    assert_eq!(responses[2].header("content-length"), Some("5"));
    assert_eq!(responses[3].status, 404);
    let error: Value = serde_json::from_slice(&responses[3].body).unwrap();
    assert_eq!(error["errors"][0]["code"], "BLOB_UNKNOWN");
    assert_eq!(responses[4].status, 200);
    assert!(responses[4].body.is_empty());
    assert_eq!(responses[5].status, 200);
    assert_eq!(responses[5].body, manifest);
    assert_eq!(responses[6].body, small);
    assert_eq!(responses[7].status, 206);
    assert_eq!(responses[7].body, big[big.len() - 10..]);
    assert!(responses[8].body == big, "whole blob again, byte-exact");

    let blob_bytes = (2 * big.len() + mid.clone().count() + small.len() + 10) as u64;
    let after = zero_copy_bytes_sent(&app.get("/metrics").await.body);
    if common::object_storage_under_test() {
        // Object storage has no file to hand to the kernel: the same bytes, streamed.
        assert_eq!(
            after - before,
            0,
            "nothing claims to come from a local file"
        );
    } else {
        assert!(
            after - before >= blob_bytes,
            "the blob bodies went through sendfile: {} of {blob_bytes} bytes",
            after - before
        );
    }

    // A client that hangs up after the first bytes of a download...
    let hang_up = request("GET", blob(&big_d), None);
    let again = request("GET", blob(&small_d), None);
    let small_again = tokio::task::spawn_blocking(move || {
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        (&stream).write_all(hang_up.as_bytes()).unwrap();
        let mut first = [0u8; 4096];
        (&stream).read_exact(&mut first).unwrap();
        drop(stream);
        // ...and the next client is served.
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        (&stream).write_all(again.as_bytes()).unwrap();
        read_response(&mut BufReader::new(&stream), false)
    })
    .await
    .unwrap();
    assert_eq!(small_again.status, 200);
    assert_eq!(small_again.body, small);
}
