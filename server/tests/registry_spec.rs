//! The OCI Distribution endpoints, one test per behaviour, including the error cases; and that
//! no malformed request is answered with a 5xx.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, TestResponse, ADMIN_PASSWORD};
use domain::service::projects::NewProject;
use serde_json::{json, Value};

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

use common::sha;

async fn app() -> TestApp {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    for (name, public) in [("lib", false), ("pub", true), ("other", false)] {
        app.state
            .services
            .create_project(
                &admin,
                NewProject {
                    name: name.into(),
                    public,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    app
}

async fn req(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> TestResponse {
    app.send_bytes(method, path, ADMIN, body, headers).await
}

async fn push_blob(app: &TestApp, repo: &str, content: &[u8]) -> String {
    app.push_blob(repo, content).await
}

async fn push_image(app: &TestApp, repo: &str, tag: &str, seed: &str) -> (Vec<u8>, String) {
    app.push_image(repo, tag, seed).await
}

fn error_code(res: &TestResponse) -> String {
    let v: Value = serde_json::from_str(&res.body)
        .unwrap_or_else(|_| panic!("not OCI error JSON: {}", res.body));
    v["errors"][0]["code"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn monolithic_and_two_step_blob_uploads() {
    let app = app().await;
    let d = push_blob(&app, "lib/app", b"monolithic").await;
    let res = req(
        &app,
        Method::HEAD,
        &format!("/v2/lib/app/blobs/{d}"),
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers["content-length"], "10");
    assert_eq!(res.headers["docker-content-digest"], d.as_str());
    assert_eq!(
        res.headers["docker-distribution-api-version"],
        "registry/2.0"
    );
    let res = req(
        &app,
        Method::GET,
        &format!("/v2/lib/app/blobs/{d}"),
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.body, "monolithic");

    // POST, then PUT with the whole body.
    let res = req(
        &app,
        Method::POST,
        "/v2/lib/app/blobs/uploads/",
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    let location = res.headers["location"].to_str().unwrap().to_string();
    assert!(res.headers.contains_key("docker-upload-uuid"));
    let d2 = sha(b"two steps");
    let res = req(
        &app,
        Method::PUT,
        &format!("{location}?digest={d2}"),
        b"two steps".to_vec(),
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(
        res.headers["location"],
        format!("/v2/lib/app/blobs/{d2}").as_str()
    );
}

#[tokio::test]
async fn streamed_and_chunked_patch_uploads_with_status_and_416() {
    let app = app().await;
    let content = b"0123456789abcdefghij".to_vec();
    let d = sha(&content);

    // Docker style: one PATCH without Content-Range, then PUT.
    let loc = req(
        &app,
        Method::POST,
        "/v2/lib/app/blobs/uploads/",
        vec![],
        &[],
    )
    .await
    .headers["location"]
        .to_str()
        .unwrap()
        .to_string();
    let res = req(&app, Method::PATCH, &loc, content.clone(), &[]).await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    assert_eq!(res.headers["range"], "0-19");
    let res = req(
        &app,
        Method::PUT,
        &format!("{loc}?digest={d}"),
        vec![],
        &[("content-length", "0")],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);

    // Chunked with Content-Range, an out-of-order chunk, status, final chunk in the PUT.
    let content = b"chunk-one|chunk-two|last".to_vec();
    let d = sha(&content);
    let loc = req(
        &app,
        Method::POST,
        "/v2/lib/app/blobs/uploads/",
        vec![],
        &[],
    )
    .await
    .headers["location"]
        .to_str()
        .unwrap()
        .to_string();
    let res = req(
        &app,
        Method::PATCH,
        &loc,
        content[..10].to_vec(),
        &[
            ("content-range", "0-9"),
            ("content-type", "application/octet-stream"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    assert_eq!(res.headers["range"], "0-9");
    let res = req(
        &app,
        Method::PATCH,
        &loc,
        content[15..20].to_vec(),
        &[("content-range", "15-19")],
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::RANGE_NOT_SATISFIABLE,
        "a gap is refused"
    );
    let res = req(
        &app,
        Method::PATCH,
        &loc,
        content[5..12].to_vec(),
        &[("content-range", "5-11")],
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::RANGE_NOT_SATISFIABLE,
        "an overlap is refused"
    );
    let res = req(&app, Method::GET, &loc, vec![], &[]).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert_eq!(
        res.headers["range"], "0-9",
        "refused chunks changed nothing"
    );
    let res = req(
        &app,
        Method::PATCH,
        &loc,
        content[10..20].to_vec(),
        &[("content-range", "10-19")],
    )
    .await;
    assert_eq!(res.headers["range"], "0-19");
    let res = req(
        &app,
        Method::PUT,
        &format!("{loc}?digest={d}"),
        content[20..].to_vec(),
        &[("content-range", "20-23")],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let res = req(
        &app,
        Method::GET,
        &format!("/v2/lib/app/blobs/{d}"),
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.body.as_bytes(), content.as_slice());
}

#[tokio::test]
async fn digest_mismatch_unknown_and_cancelled_uploads() {
    let app = app().await;
    let loc = req(
        &app,
        Method::POST,
        "/v2/lib/app/blobs/uploads/",
        vec![],
        &[],
    )
    .await
    .headers["location"]
        .to_str()
        .unwrap()
        .to_string();
    let wrong = sha(b"something else");
    let res = req(
        &app,
        Method::PUT,
        &format!("{loc}?digest={wrong}"),
        b"actual".to_vec(),
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&res), "DIGEST_INVALID");
    let res = req(
        &app,
        Method::GET,
        &format!("/v2/lib/app/blobs/{wrong}"),
        vec![],
        &[],
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::NOT_FOUND,
        "nothing of a refused upload is visible"
    );
    assert_eq!(error_code(&res), "BLOB_UNKNOWN");
    let res = req(
        &app,
        Method::GET,
        &format!("/v2/lib/app/blobs/{}", sha(b"actual")),
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    let res = req(
        &app,
        Method::PATCH,
        "/v2/lib/app/blobs/uploads/no-such-upload",
        b"x".to_vec(),
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&res), "BLOB_UPLOAD_UNKNOWN");

    let loc = req(
        &app,
        Method::POST,
        "/v2/lib/app/blobs/uploads/",
        vec![],
        &[],
    )
    .await
    .headers["location"]
        .to_str()
        .unwrap()
        .to_string();
    let res = req(&app, Method::DELETE, &loc, vec![], &[]).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = req(&app, Method::GET, &loc, vec![], &[]).await;
    assert_eq!(error_code(&res), "BLOB_UPLOAD_UNKNOWN");
    // An upload of one repository cannot be continued through another.
    let loc = req(
        &app,
        Method::POST,
        "/v2/lib/app/blobs/uploads/",
        vec![],
        &[],
    )
    .await
    .headers["location"]
        .to_str()
        .unwrap()
        .to_string();
    let id = loc.rsplit('/').next().unwrap();
    let res = req(
        &app,
        Method::PATCH,
        &format!("/v2/lib/other/blobs/uploads/{id}"),
        b"x".to_vec(),
        &[],
    )
    .await;
    assert_eq!(error_code(&res), "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn range_requests_on_blobs() {
    let app = app().await;
    let d = push_blob(&app, "lib/app", b"0123456789").await;
    let res = req(
        &app,
        Method::GET,
        &format!("/v2/lib/app/blobs/{d}"),
        vec![],
        &[("range", "bytes=2-5")],
    )
    .await;
    assert_eq!(res.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.body, "2345");
    assert_eq!(res.headers["content-range"], "bytes 2-5/10");
    let res = req(
        &app,
        Method::GET,
        &format!("/v2/lib/app/blobs/{d}"),
        vec![],
        &[("range", "bytes=-3")],
    )
    .await;
    assert_eq!(res.body, "789");
    let res = req(
        &app,
        Method::GET,
        &format!("/v2/lib/app/blobs/{d}"),
        vec![],
        &[("range", "bytes=10-20")],
    )
    .await;
    assert_eq!(res.status, StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn cross_repository_mount() {
    let app = app().await;
    let d = push_blob(&app, "lib/source", b"shared layer").await;
    let res = req(
        &app,
        Method::POST,
        &format!("/v2/lib/target/blobs/uploads/?mount={d}&from=lib/source"),
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(
        res.headers["location"],
        format!("/v2/lib/target/blobs/{d}").as_str()
    );
    assert_eq!(
        req(
            &app,
            Method::HEAD,
            &format!("/v2/lib/target/blobs/{d}"),
            vec![],
            &[]
        )
        .await
        .status,
        StatusCode::OK
    );

    // Unknown in the source: a normal upload session instead.
    let missing = sha(b"never pushed");
    let res = req(
        &app,
        Method::POST,
        &format!("/v2/lib/target/blobs/uploads/?mount={missing}&from=lib/source"),
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    assert!(res.headers["location"]
        .to_str()
        .unwrap()
        .starts_with("/v2/lib/target/blobs/uploads/"));

    // Not readable by the caller: also a session, and nothing is linked.
    let pw = app
        .member("pub", "dev", domain::types::Role::Developer)
        .await;
    let res = app
        .send_bytes(
            Method::POST,
            &format!("/v2/pub/x/blobs/uploads/?mount={d}&from=lib/source"),
            Some(("dev", &pw)),
            vec![],
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    let res = app
        .send_bytes(
            Method::HEAD,
            &format!("/v2/pub/x/blobs/{d}"),
            Some(("dev", &pw)),
            vec![],
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn manifests_round_trip_byte_exact_by_tag_and_digest() {
    let app = app().await;
    let (bytes, d) = push_image(&app, "lib/app", "v1", "a").await;
    for reference in ["v1", d.as_str()] {
        let res = req(
            &app,
            Method::GET,
            &format!("/v2/lib/app/manifests/{reference}"),
            vec![],
            &[],
        )
        .await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.body.as_bytes(), bytes.as_slice());
        assert_eq!(res.headers["content-type"], OCI_MANIFEST);
        assert_eq!(res.headers["docker-content-digest"], d.as_str());
        let head = req(
            &app,
            Method::HEAD,
            &format!("/v2/lib/app/manifests/{reference}"),
            vec![],
            &[],
        )
        .await;
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(
            head.headers["content-length"],
            bytes.len().to_string().as_str()
        );
        assert!(head.body.is_empty());
    }
    // Docker schema2 keeps its media type.
    let cd = push_blob(&app, "lib/app", b"{}").await;
    let docker = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": cd, "size": 2}, "layers": []})).unwrap();
    let res = req(
        &app,
        Method::PUT,
        "/v2/lib/app/manifests/docker",
        docker.clone(),
        &[("content-type", DOCKER_MANIFEST)],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let res = req(
        &app,
        Method::GET,
        "/v2/lib/app/manifests/docker",
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.headers["content-type"], DOCKER_MANIFEST);

    // PUT by digest must match the content.
    let res = req(
        &app,
        Method::PUT,
        &format!("/v2/lib/app/manifests/{}", sha(b"other")),
        bytes.clone(),
        &[("content-type", OCI_MANIFEST)],
    )
    .await;
    assert_eq!(error_code(&res), "DIGEST_INVALID");
    let res = req(
        &app,
        Method::PUT,
        &format!("/v2/lib/app/manifests/{d}"),
        bytes.clone(),
        &[("content-type", OCI_MANIFEST)],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED);
}

#[tokio::test]
async fn manifests_are_validated() {
    let app = app().await;
    let missing = sha(b"not uploaded");
    let manifest = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": missing, "size": 3}, "layers": []})).unwrap();
    let res = req(
        &app,
        Method::PUT,
        "/v2/lib/app/manifests/v1",
        manifest,
        &[("content-type", OCI_MANIFEST)],
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&res), "MANIFEST_BLOB_UNKNOWN");

    let res = req(
        &app,
        Method::PUT,
        "/v2/lib/app/manifests/v1",
        b"{not json".to_vec(),
        &[("content-type", OCI_MANIFEST)],
    )
    .await;
    assert_eq!(error_code(&res), "MANIFEST_INVALID");

    let big = vec![b' '; (4 << 20) + 1];
    let res = req(
        &app,
        Method::PUT,
        "/v2/lib/app/manifests/v1",
        big,
        &[("content-type", OCI_MANIFEST)],
    )
    .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);

    // An index whose child is not in the repository.
    let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": missing, "size": 10}]}))
    .unwrap();
    let res = req(
        &app,
        Method::PUT,
        "/v2/lib/app/manifests/multi",
        index,
        &[("content-type", OCI_INDEX)],
    )
    .await;
    assert_eq!(error_code(&res), "MANIFEST_BLOB_UNKNOWN");

    let res = req(&app, Method::GET, "/v2/lib/app/manifests/nope", vec![], &[]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&res), "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn indexes_and_referrers() {
    let app = app().await;
    let (m1, d1) = push_image(&app, "lib/multi", "amd64", "x").await;
    let (_, d2) = push_image(&app, "lib/multi", "arm64", "y").await;
    let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": d1, "size": m1.len(), "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": OCI_MANIFEST, "digest": d2, "size": 1, "platform": {"architecture": "arm64", "os": "linux"}},
    ]})).unwrap();
    let res = req(
        &app,
        Method::PUT,
        "/v2/lib/multi/manifests/latest",
        index.clone(),
        &[("content-type", OCI_INDEX)],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let res = req(
        &app,
        Method::GET,
        "/v2/lib/multi/manifests/latest",
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.headers["content-type"], OCI_INDEX);
    assert_eq!(res.body.as_bytes(), index.as_slice());

    // An artifact whose subject is the amd64 image, and one whose subject does not exist yet.
    let empty = push_blob(&app, "lib/multi", b"{}").await;
    let mut referrer_digests = Vec::new();
    for (kind, subject) in [
        ("application/vnd.example.sbom", d1.clone()),
        ("application/vnd.example.sig", d1.clone()),
        ("application/vnd.example.sig", sha(b"future")),
    ] {
        let artifact = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": kind,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2}, "layers": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1},
            "annotations": {"org.example.kind": kind}})).unwrap();
        let d = sha(&artifact);
        let res = req(
            &app,
            Method::PUT,
            &format!("/v2/lib/multi/manifests/{d}"),
            artifact,
            &[("content-type", OCI_MANIFEST)],
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        assert_eq!(res.headers["oci-subject"], subject.as_str());
        referrer_digests.push(d);
    }
    let res = req(
        &app,
        Method::GET,
        &format!("/v2/lib/multi/referrers/{d1}"),
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers["content-type"], OCI_INDEX);
    let body: Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(body["manifests"].as_array().unwrap().len(), 2);
    assert_eq!(
        body["manifests"][0]["artifactType"],
        "application/vnd.example.sbom"
    );
    assert_eq!(
        body["manifests"][0]["annotations"]["org.example.kind"],
        "application/vnd.example.sbom"
    );
    assert!(!res.headers.contains_key("oci-filters-applied"));
    let res = req(
        &app,
        Method::GET,
        &format!("/v2/lib/multi/referrers/{d1}?artifactType=application/vnd.example.sig"),
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.headers["oci-filters-applied"], "artifactType");
    let body: Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(body["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(body["manifests"][0]["digest"], referrer_digests[1].as_str());
    let res = req(
        &app,
        Method::GET,
        &format!("/v2/lib/multi/referrers/{}", sha(b"nothing refers")),
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&res.body).unwrap()["manifests"],
        json!([])
    );
}

#[tokio::test]
async fn tags_list_and_catalog_paginate() {
    let app = app().await;
    let (bytes, _) = push_image(&app, "lib/app", "b", "s").await;
    for tag in ["c", "a", "B", "a1"] {
        let res = req(
            &app,
            Method::PUT,
            &format!("/v2/lib/app/manifests/{tag}"),
            bytes.clone(),
            &[("content-type", OCI_MANIFEST)],
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED);
    }
    let res = req(&app, Method::GET, "/v2/lib/app/tags/list", vec![], &[]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&res.body).unwrap(),
        json!({"name": "lib/app", "tags": ["B", "a", "a1", "b", "c"]})
    );
    let res = req(&app, Method::GET, "/v2/lib/app/tags/list?n=2", vec![], &[]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&res.body).unwrap()["tags"],
        json!(["B", "a"])
    );
    assert_eq!(
        res.headers["link"],
        "</v2/lib/app/tags/list?n=2&last=a>; rel=\"next\""
    );
    let res = req(
        &app,
        Method::GET,
        "/v2/lib/app/tags/list?n=2&last=a",
        vec![],
        &[],
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&res.body).unwrap()["tags"],
        json!(["a1", "b"])
    );
    let res = req(
        &app,
        Method::GET,
        "/v2/lib/app/tags/list?n=2&last=b",
        vec![],
        &[],
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&res.body).unwrap()["tags"],
        json!(["c"])
    );
    assert!(!res.headers.contains_key("link"));
    let res = req(&app, Method::GET, "/v2/lib/app/tags/list?n=0", vec![], &[]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&res.body).unwrap()["tags"],
        json!([])
    );
    let res = req(&app, Method::GET, "/v2/lib/nothing/tags/list", vec![], &[]).await;
    assert_eq!(error_code(&res), "NAME_UNKNOWN");

    push_image(&app, "pub/open", "v1", "p").await;
    push_image(&app, "other/secret", "v1", "q").await;
    let res = req(&app, Method::GET, "/v2/_catalog", vec![], &[]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&res.body).unwrap()["repositories"],
        json!(["lib/app", "other/secret", "pub/open"])
    );
    let res = req(&app, Method::GET, "/v2/_catalog?n=1", vec![], &[]).await;
    assert_eq!(
        res.headers["link"],
        "</v2/_catalog?n=1&last=lib%2Fapp>; rel=\"next\""
    );
    // A user who is not a member sees only what they may pull.
    app.user("someone").await;
    let pw = common::password_of("someone");
    let res = app
        .send_bytes(
            Method::GET,
            "/v2/_catalog",
            Some(("someone", &pw)),
            vec![],
            &[],
        )
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&res.body).unwrap()["repositories"],
        json!(["pub/open"])
    );
}

#[tokio::test]
async fn deleting_manifests_tags_and_blobs() {
    let app = app().await;
    let (bytes, d) = push_image(&app, "lib/app", "v1", "del").await;
    req(
        &app,
        Method::PUT,
        "/v2/lib/app/manifests/v2",
        bytes,
        &[("content-type", OCI_MANIFEST)],
    )
    .await;
    let res = req(
        &app,
        Method::DELETE,
        "/v2/lib/app/manifests/v1",
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    assert_eq!(
        req(&app, Method::GET, "/v2/lib/app/manifests/v1", vec![], &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        req(&app, Method::GET, "/v2/lib/app/manifests/v2", vec![], &[])
            .await
            .status,
        StatusCode::OK
    );
    let res = req(
        &app,
        Method::DELETE,
        &format!("/v2/lib/app/manifests/{d}"),
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    assert_eq!(
        req(&app, Method::GET, "/v2/lib/app/manifests/v2", vec![], &[])
            .await
            .status,
        StatusCode::NOT_FOUND,
        "its tags went too"
    );
    assert_eq!(
        req(
            &app,
            Method::DELETE,
            &format!("/v2/lib/app/manifests/{d}"),
            vec![],
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    let b = push_blob(&app, "lib/app", b"to delete").await;
    assert_eq!(
        req(
            &app,
            Method::DELETE,
            &format!("/v2/lib/app/blobs/{b}"),
            vec![],
            &[]
        )
        .await
        .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        req(
            &app,
            Method::HEAD,
            &format!("/v2/lib/app/blobs/{b}"),
            vec![],
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn authorization_on_every_endpoint() {
    let app = app().await;
    push_image(&app, "pub/open", "v1", "o").await;
    push_image(&app, "lib/app", "v1", "l").await;
    // Anonymous pull of a public project works; of a private one gets the challenge with scope.
    let res = app
        .send_bytes(Method::GET, "/v2/pub/open/manifests/v1", None, vec![], &[])
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = app
        .send_bytes(Method::GET, "/v2/lib/app/manifests/v1", None, vec![], &[])
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("scope=\"repository:lib/app:pull\""));
    let res = app
        .send_bytes(
            Method::POST,
            "/v2/pub/open/blobs/uploads/",
            None,
            vec![],
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // A guest may pull and not push or delete.
    let pw = app
        .member("lib", "viewer", domain::types::Role::Guest)
        .await;
    let viewer = Some(("viewer", pw.as_str()));
    assert_eq!(
        app.send_bytes(Method::GET, "/v2/lib/app/manifests/v1", viewer, vec![], &[])
            .await
            .status,
        StatusCode::OK
    );
    let res = app
        .send_bytes(
            Method::POST,
            "/v2/lib/app/blobs/uploads/",
            viewer,
            vec![],
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&res), "DENIED");
    let res = app
        .send_bytes(
            Method::DELETE,
            "/v2/lib/app/manifests/v1",
            viewer,
            vec![],
            &[],
        )
        .await;
    assert_eq!(error_code(&res), "DENIED");
    // Bearer tokens carry exactly their grant.
    let token = app
        .send(
            Method::GET,
            "/service/token?scope=repository:lib/app:pull",
            viewer,
            None,
            &[],
        )
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let bearer = format!("Bearer {token}");
    let res = app
        .send_bytes(
            Method::GET,
            "/v2/lib/app/manifests/v1",
            None,
            vec![],
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = app
        .send_bytes(
            Method::GET,
            "/v2/pub/open/manifests/v1",
            None,
            vec![],
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "the token holds no scope for pub/open"
    );
    // Pushing into a project that does not exist says so.
    let res = req(
        &app,
        Method::POST,
        "/v2/nosuchproject/app/blobs/uploads/",
        vec![],
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&res), "NAME_UNKNOWN");
    assert!(res.body.contains("project `nosuchproject` does not exist"));
}

#[tokio::test]
async fn pushes_pulls_and_deletes_are_audited() {
    let app = app().await;
    let (_, d) = push_image(&app, "lib/app", "v1", "audit").await;
    req(&app, Method::GET, "/v2/lib/app/manifests/v1", vec![], &[]).await;
    req(
        &app,
        Method::DELETE,
        &format!("/v2/lib/app/manifests/{d}"),
        vec![],
        &[],
    )
    .await;
    // Pulls are recorded in the background.
    let mut ops = Vec::new();
    for _ in 0..50 {
        let res = app
            .send(
                Method::GET,
                "/api/v2.0/audit-logs?q=resource_type%3Dartifact&page_size=50",
                ADMIN,
                None,
                &[],
            )
            .await;
        ops = res
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["operation"].as_str().unwrap().to_string())
            .collect();
        if ops.contains(&"pull".to_string()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for op in ["push", "pull", "delete"] {
        assert!(ops.iter().any(|o| o == op), "{op} missing from {ops:?}");
    }
}

#[tokio::test]
async fn malformed_requests_get_4xx_never_5xx_and_create_nothing() {
    let app = app().await;
    type Case = (Method, String, Vec<u8>, Vec<(&'static str, &'static str)>);
    let cases: Vec<Case> = vec![
        (Method::GET, "/v2/UPPER/case/manifests/v1".into(), vec![], vec![]),
        (Method::POST, "/v2/lib/Bad_Name!/blobs/uploads/".into(), vec![], vec![]),
        (Method::POST, "/v2/lib/ok/blobs/uploads/?digest=sha256:short".into(), b"x".to_vec(), vec![]),
        (Method::POST, "/v2/lib/ok/blobs/uploads/?digest=md5:abc".into(), b"x".to_vec(), vec![]),
        (Method::GET, "/v2/lib/ok/blobs/not-a-digest".into(), vec![], vec![]),
        (Method::GET, "/v2/lib/ok/manifests/-bad-tag".into(), vec![], vec![]),
        (Method::PUT, "/v2/lib/ok/manifests/v1".into(), b"[]".to_vec(), vec![("content-type", OCI_MANIFEST)]),
        (Method::PUT, "/v2/lib/ok/manifests/v1".into(), b"{\"schemaVersion\":2}".to_vec(), vec![("content-type", "text/plain")]),
        (Method::PATCH, "/v2/lib/ok/blobs/uploads/../../etc".into(), b"x".to_vec(), vec![]),
        (Method::PATCH, "/v2/lib/ok/blobs/uploads/x".into(), b"x".to_vec(), vec![("content-range", "9-3")]),
        (Method::GET, "/v2/lib/ok/blobs/uploads/x".into(), vec![], vec![]),
        (Method::GET, "/v2/lib/ok/tags/list?n=abc".into(), vec![], vec![]),
        (Method::GET, "/v2/lib/ok/unknown-endpoint".into(), vec![], vec![]),
        (Method::POST, "/v2/lib/ok/manifests/v1".into(), vec![], vec![]),
        (Method::GET, "/v2/lib/ok/referrers/sha256:zz".into(), vec![], vec![]),
        (Method::GET, "/v2/lib/ok/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000".into(), vec![], vec![("range", "bytes=nonsense")]),
    ];
    for (method, path, body, headers) in cases {
        let res = req(&app, method.clone(), &path, body, &headers).await;
        assert!(
            res.status.is_client_error(),
            "{method} {path} answered {}: {}",
            res.status,
            res.body
        );
        let v: Value = serde_json::from_str(&res.body)
            .unwrap_or_else(|_| panic!("{method} {path}: not OCI JSON: {}", res.body));
        assert!(
            v["errors"][0]["code"].is_string() && v["errors"][0]["message"].is_string(),
            "{path}"
        );
    }
    let admin = app.admin().await;
    let lib = app.state.services.get_project(&admin, "lib").await.unwrap();
    assert_eq!(
        lib.repo_count, 0,
        "no repository was created by malformed requests"
    );
}

#[tokio::test]
async fn rest_api_for_repositories_artifacts_and_tags() {
    let app = app().await;
    let (_, d) = push_image(&app, "lib/team/app", "v1", "rest").await;
    let api = |m: Method, p: &str, body: Option<Value>| {
        let app = &app;
        let p = p.to_string();
        async move { app.send(m, &p, ADMIN, body, &[]).await }
    };
    let res = api(Method::GET, "/api/v2.0/projects/lib/repositories", None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()[0]["name"], "lib/team/app");
    assert_eq!(res.json()[0]["artifact_count"], 1);
    assert_eq!(res.headers["x-total-count"], "1");
    let res = api(
        Method::GET,
        "/api/v2.0/projects/lib/repositories/team%2Fapp",
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);

    let res = api(
        Method::GET,
        "/api/v2.0/projects/lib/repositories/team%2Fapp/artifacts?with_tag=true",
        None,
    )
    .await;
    assert_eq!(res.json()[0]["digest"], d.as_str());
    assert_eq!(res.json()[0]["tags"][0]["name"], "v1");
    let res = api(
        Method::GET,
        "/api/v2.0/projects/lib/repositories/team%2Fapp/artifacts/v1",
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["manifest"]["schemaVersion"], 2);
    assert_eq!(res.json()["config"]["os"], "linux");

    let res = api(
        Method::POST,
        &format!("/api/v2.0/projects/lib/repositories/team%2Fapp/artifacts/{d}/tags"),
        Some(json!({"name": "extra"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let tags = req(&app, Method::GET, "/v2/lib/team/app/tags/list", vec![], &[]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&tags.body).unwrap()["tags"],
        json!(["extra", "v1"])
    );
    let res = api(
        Method::DELETE,
        "/api/v2.0/projects/lib/repositories/team%2Fapp/artifacts/v1/tags/extra",
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);

    // A guest reads but cannot delete.
    let pw = app.member("lib", "guest", domain::types::Role::Guest).await;
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/v2.0/projects/lib/repositories/team%2Fapp/artifacts/{d}"),
            Some(("guest", &pw)),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    let res = api(
        Method::DELETE,
        &format!("/api/v2.0/projects/lib/repositories/team%2Fapp/artifacts/{d}"),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        req(
            &app,
            Method::GET,
            "/v2/lib/team/app/manifests/v1",
            vec![],
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let res = api(
        Method::DELETE,
        "/api/v2.0/projects/lib/repositories/team%2Fapp",
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = api(Method::DELETE, "/api/v2.0/projects/lib", None).await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "an emptied project can be deleted: {}",
        res.body
    );
}

#[tokio::test]
async fn stale_upload_sessions_expire() {
    let app = app().await;
    let loc = req(
        &app,
        Method::POST,
        "/v2/lib/app/blobs/uploads/",
        vec![],
        &[],
    )
    .await
    .headers["location"]
        .to_str()
        .unwrap()
        .to_string();
    req(&app, Method::PATCH, &loc, b"some bytes".to_vec(), &[]).await;
    let fresh = req(
        &app,
        Method::POST,
        "/v2/lib/app/blobs/uploads/",
        vec![],
        &[],
    )
    .await
    .headers["location"]
        .to_str()
        .unwrap()
        .to_string();
    let id = loc.rsplit('/').next().unwrap().to_string();
    use sea_orm::{ActiveModelTrait, Set};
    domain::entities::upload::ActiveModel {
        id: Set(id),
        updated_at: Set(chrono::Utc::now() - chrono::Duration::hours(25)),
        ..Default::default()
    }
    .update(&app.state.db)
    .await
    .unwrap();
    let removed = app
        .state
        .registry
        .expire_uploads(std::time::Duration::from_secs(24 * 3600))
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(
        error_code(&req(&app, Method::GET, &loc, vec![], &[]).await),
        "BLOB_UPLOAD_UNKNOWN"
    );
    assert_eq!(
        req(&app, Method::GET, &fresh, vec![], &[]).await.status,
        StatusCode::NO_CONTENT,
        "recent sessions stay"
    );
}
