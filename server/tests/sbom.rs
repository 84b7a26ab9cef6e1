//! SBOMs: generated from the scanner's inventory on push (`auto_sbom_generation`) and on
//! demand, attached as referrers, validated by independent implementations
//! (`tests/sbom/check.py`: cyclonedx-python-lib against the published CycloneDX 1.6 schema,
//! spdx-tools for SPDX 2.3), listing the packages of the Debian 12 status file in
//! `../shared/vulndb`; SBOMs users push are recognised; they go with their subject.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use axum::http::{Method, StatusCode};
use common::{tar_layer, TestApp, TestResponse, ADMIN_PASSWORD, OCI_MANIFEST};
use domain::types::Role;
use serde_json::{json, Value};

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));
const DEBIAN_12: &[u8] =
    b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";
const CYCLONEDX: &str = "application/vnd.cyclonedx+json";
const SPDX: &str = "application/spdx+json";

fn status_file() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/vulndb/pkgdb/debian12-dpkg-status");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The installed packages of a dpkg status file, read here without Berth's parser: every
/// paragraph whose `Status` ends in `installed`, as (package, version).
fn expected_packages(status: &[u8]) -> BTreeSet<(String, String)> {
    let text = String::from_utf8_lossy(status).replace("\r\n", "\n");
    let mut out = BTreeSet::new();
    for paragraph in text.split("\n\n") {
        let field = |k: &str| {
            paragraph
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k}: ")).map(str::trim))
        };
        if let (Some(p), Some(v), Some(s)) = (field("Package"), field("Version"), field("Status")) {
            if s.ends_with(" installed") {
                out.insert((p.to_string(), v.to_string()));
            }
        }
    }
    assert!(
        out.len() > 20,
        "the status file lists {} packages",
        out.len()
    );
    out
}

/// Validates `doc` with the independent checker; returns its (name, version, purl) list.
fn check(kind: &str, doc: &str) -> Vec<(String, String, Option<String>)> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sbom.json");
    std::fs::write(&file, doc).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sbom/check.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(kind)
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{kind} validation failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn set_metadata(app: &TestApp, project: &str, metadata: Value) {
    let res = app
        .send(
            Method::PUT,
            &format!("/api/v2.0/projects/{project}"),
            ADMIN,
            Some(json!({ "metadata": metadata })),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

async fn get(app: &TestApp, path: &str, who: Option<(&str, &str)>) -> TestResponse {
    app.send(Method::GET, path, who, None, &[]).await
}

async fn referrers(app: &TestApp, repo: &str, digest: &str) -> Vec<Value> {
    let res = get(app, &format!("/v2/{repo}/referrers/{digest}"), ADMIN).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.json()["manifests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits (up to a minute) for the artifact's SBOM to appear.
async fn wait_for_sbom(app: &TestApp, path: &str) -> TestResponse {
    for _ in 0..600 {
        let res = get(app, path, ADMIN).await;
        if res.status == StatusCode::OK {
            return res;
        }
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no SBOM appeared at {path}");
}

fn debian_pairs(listed: &[(String, String, Option<String>)]) -> BTreeSet<(String, String)> {
    for (name, _, purl) in listed {
        let purl = purl
            .as_deref()
            .unwrap_or_else(|| panic!("{name} has no purl"));
        assert!(
            purl.starts_with(&format!("pkg:deb/debian/{name}@"))
                && purl.contains("distro=debian-12"),
            "{purl}"
        );
    }
    listed
        .iter()
        .map(|(n, v, _)| (n.clone(), v.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sboms_are_generated_on_push_and_on_demand_and_validate() {
    let app = TestApp::new().await;
    berth_server::scanning::spawn_workers(app.state.clone());
    app.project("sb").await;
    let guest = app.member("sb", "guest", Role::Guest).await;
    set_metadata(&app, "sb", json!({"auto_sbom_generation": "true"})).await;
    let status = status_file();
    let want = expected_packages(&status);
    let digest = app
        .push_layers(
            "sb/app",
            "v1",
            &[tar_layer(&[
                ("etc/os-release", DEBIAN_12),
                ("var/lib/dpkg/status", &status),
            ])],
        )
        .await;
    let base = format!("/api/v2.0/projects/sb/repositories/app/artifacts/{digest}");

    // On push: a CycloneDX 1.6 document, valid for the independent validator, listing the
    // status file's packages with Debian package URLs.
    let res = wait_for_sbom(&app, &format!("{base}/additions/sbom")).await;
    assert_eq!(res.headers["content-type"], CYCLONEDX);
    let listed = check("cyclonedx", &res.body);
    assert_eq!(debian_pairs(&listed), want);
    let doc: Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(doc["metadata"]["component"]["version"], digest.as_str());
    // The SBOM is a referrer of the image, with the CycloneDX artifact type.
    let refs = referrers(&app, "sb/app", &digest).await;
    assert_eq!(refs.len(), 1, "{refs:?}");
    assert_eq!(refs[0]["artifactType"], CYCLONEDX);
    // ... and the push was Berth's, audited as such.
    let audit = get(&app, "/api/v2.0/audit-logs?page_size=100", ADMIN).await;
    assert!(
        audit
            .json()
            .as_array()
            .unwrap()
            .iter()
            .any(|r| { r["resource_type"] == "sbom" && r["operation"] == "generated" }),
        "{}",
        audit.body
    );

    // On demand, SPDX 2.3: valid for spdx-tools, the same packages; the quota counts it.
    let used = || async {
        get(&app, "/api/v2.0/projects/sb/summary", ADMIN)
            .await
            .json()["quota"]["used"]["storage"]
            .as_i64()
            .unwrap()
    };
    let before = used().await;
    let res = app
        .send(
            Method::POST,
            &format!("{base}/sbom?format=spdx"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(res.json()["media_type"], SPDX);
    let res = get(&app, &format!("{base}/additions/sbom?format=spdx"), ADMIN).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.headers["content-type"], SPDX);
    assert_eq!(debian_pairs(&check("spdx", &res.body)), want);
    assert!(
        used().await >= before + res.body.len() as i64,
        "the SPDX document counts towards the project's quota"
    );
    let mut types: Vec<String> = referrers(&app, "sb/app", &digest)
        .await
        .iter()
        .map(|r| r["artifactType"].as_str().unwrap().to_string())
        .collect();
    types.sort();
    assert_eq!(types, [SPDX, CYCLONEDX]);

    // Generating again replaces Berth's earlier document of that format (a JSON body works).
    let res = app
        .send(
            Method::POST,
            &format!("{base}/sbom"),
            ADMIN,
            Some(json!({"format": "cyclonedx"})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(referrers(&app, "sb/app", &digest).await.len(), 2);

    // The artifact page lists them.
    let res = get(&app, &base, ADMIN).await;
    assert_eq!(
        res.json()["sboms"].as_array().unwrap().len(),
        2,
        "{}",
        res.body
    );

    // Refusals: an unknown format (400, the field named), not an image (400), a guest may read
    // but not generate (403), anonymous (401), an unknown artifact (404).
    let res = app
        .send(
            Method::POST,
            &format!("{base}/sbom?format=xml"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    assert!(res.body.contains("format"), "{}", res.body);
    let spdx_ref = referrers(&app, "sb/app", &digest)
        .await
        .into_iter()
        .find(|r| r["artifactType"] == SPDX)
        .unwrap();
    let res = app
        .send(
            Method::POST,
            &format!(
                "/api/v2.0/projects/sb/repositories/app/artifacts/{}/sbom",
                spdx_ref["digest"].as_str().unwrap()
            ),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    let guest_auth = Some(("guest", guest.as_str()));
    let res = app
        .send(Method::POST, &format!("{base}/sbom"), guest_auth, None, &[])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let res = get(&app, &format!("{base}/additions/sbom"), guest_auth).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = app
        .send(Method::POST, &format!("{base}/sbom"), None, None, &[])
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    let res = get(
        &app,
        "/api/v2.0/projects/sb/repositories/app/artifacts/nope/additions/sbom",
        ADMIN,
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);

    // The SBOMs go with their subject: deleting it empties the referrers and the addition,
    // and garbage collection frees the documents' blobs.
    let blobs: Vec<domain::types::Digest> = {
        let mut out = Vec::new();
        for r in referrers(&app, "sb/app", &digest).await {
            let m = get(
                &app,
                &format!("/v2/sb/app/manifests/{}", r["digest"].as_str().unwrap()),
                ADMIN,
            )
            .await;
            let layer = m.json()["layers"][0]["digest"]
                .as_str()
                .unwrap()
                .to_string();
            out.push(domain::types::Digest::parse(&layer).unwrap());
        }
        out
    };
    assert_eq!(blobs.len(), 2);
    let res = app.send(Method::DELETE, &base, ADMIN, None, &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(referrers(&app, "sb/app", &digest).await.is_empty());
    app.state
        .registry
        .collect_garbage(&domain::service::registry::gc::GcOptions {
            window: chrono::Duration::zero(),
            ..Default::default()
        })
        .await
        .unwrap();
    for d in &blobs {
        assert!(
            app.state.registry.store.stat(d).await.unwrap().is_none(),
            "{d} is freed by GC"
        );
    }
}

#[tokio::test]
async fn sboms_users_push_are_recognised() {
    let app = TestApp::new().await;
    app.project("up").await;
    let (_, digest) = app.push_image("up/app", "v1", "seed").await;
    let base = format!("/api/v2.0/projects/up/repositories/app/artifacts/{digest}");
    // Nothing yet: 404 that says how to make one.
    let res = get(&app, &format!("{base}/additions/sbom"), ADMIN).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    assert!(res.body.contains("/sbom"), "{}", res.body);

    // cosign's `attach sbom`: a `sha256-<hex>.sbom` tag whose layer is SPDX.
    let spdx_doc = json!({
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
        "name": "pushed", "documentNamespace": "https://example.com/pushed",
        "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: syft"]},
        "packages": [{"SPDXID": "SPDXRef-p1", "name": "zlib", "versionInfo": "1.3",
            "downloadLocation": "NOASSERTION"}],
    })
    .to_string();
    let layer = app.push_blob("up/app", spdx_doc.as_bytes()).await;
    let config = app.push_blob("up/app", b"{}").await;
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
        "layers": [{"mediaType": "text/spdx+json", "digest": layer, "size": spdx_doc.len()}],
    });
    let tag = format!("sha256-{}.sbom", digest.trim_start_matches("sha256:"));
    let res = app
        .send_bytes(
            Method::PUT,
            &format!("/v2/up/app/manifests/{tag}"),
            ADMIN,
            serde_json::to_vec(&manifest).unwrap(),
            &[("content-type", OCI_MANIFEST)],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let res = get(&app, &format!("{base}/additions/sbom"), ADMIN).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.headers["content-type"], "text/spdx+json");
    assert_eq!(res.body, spdx_doc);
    let listing = app
        .state
        .registry
        .sbom_listing(&domain::service::Actor::system(), "up", "app", &digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listing.packages.len(), 1);
    assert_eq!(listing.packages[0].name, "zlib");
    // Harbor's SBOM accessory (its artifact type; the document inside is CycloneDX) is the
    // newest now.
    let cdx = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "components": [{"type": "library", "name": "openssl", "version": "3.0.19"}]})
    .to_string();
    let layer = app.push_blob("up/app", cdx.as_bytes()).await;
    let empty = app.push_blob("up/app", b"{}").await;
    let image = get(&app, "/v2/up/app/manifests/v1", ADMIN).await.body.len();
    let referrer = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.goharbor.harbor.sbom.v1",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/vnd.goharbor.harbor.sbom.v1", "digest": layer, "size": cdx.len()}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": digest, "size": image},
    });
    let bytes = serde_json::to_vec(&referrer).unwrap();
    let res = app
        .send_bytes(
            Method::PUT,
            &format!("/v2/up/app/manifests/{}", common::sha(&bytes)),
            ADMIN,
            bytes,
            &[("content-type", OCI_MANIFEST)],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let listing = app
        .state
        .registry
        .sbom_listing(&domain::service::Actor::system(), "up", "app", &digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        listing.media_type,
        "application/vnd.goharbor.harbor.sbom.v1"
    );
    assert_eq!(listing.packages.len(), 1);
    assert_eq!(listing.packages[0].name, "openssl");
    let res = get(&app, &base, ADMIN).await;
    assert_eq!(
        res.json()["sboms"].as_array().unwrap().len(),
        2,
        "{}",
        res.body
    );

    // Listed with the image, not as an artifact of its own.
    let res = get(
        &app,
        "/api/v2.0/projects/up/repositories/app/artifacts",
        ADMIN,
    )
    .await;
    assert_eq!(res.json().as_array().unwrap().len(), 1, "{}", res.body);
}
