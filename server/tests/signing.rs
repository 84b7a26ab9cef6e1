//! Image signing: trust anchors, and pulls gated on signatures that verify against them. Every
//! signature comes from an independent producer — `tests/signing/sign.py` (Python
//! `cryptography`, written from the cosign and Notary Project specifications) and
//! `tests/signing/bundle.mjs` (`@sigstore/sign`) — never from Berth's verifier.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use common::{sha, TestApp, TestResponse, ADMIN_PASSWORD, OCI_MANIFEST};
use domain::types::Role;
use serde_json::{json, Value};

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));
const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const COSIGN_SIG_TYPE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const NOTATION: &str = "application/vnd.cncf.notary.signature";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";

fn tool(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/signing")
        .join(name)
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn sign_py(args: &[&str]) -> String {
    let script = tool("sign.py");
    let mut all = vec![script.to_str().unwrap()];
    all.extend_from_slice(args);
    run("python3", &all)
}

/// A key pair from the producer: (directory, private key path, public key PEM).
fn keygen(dir: &Path, alg: &str) -> (PathBuf, String) {
    let d = dir.join(format!("key-{alg}-{}", rand_suffix()));
    sign_py(&["keygen", alg, d.to_str().unwrap()]);
    let public = std::fs::read_to_string(d.join("pub.pem")).unwrap();
    (d.join("key.pem"), public)
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

struct Fixture {
    app: TestApp,
    dev: (String, String),
    work: tempfile::TempDir,
}

impl Fixture {
    /// Project `signed` with cosign content trust on, a developer `dev`, and an image.
    async fn new(metadata: Value) -> Self {
        let app = TestApp::new().await;
        app.project("signed").await;
        let password = app.member("signed", "dev", Role::Developer).await;
        let res = app
            .send(
                Method::PUT,
                "/api/v2.0/projects/signed",
                ADMIN,
                Some(json!({ "metadata": metadata })),
                &[],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        Fixture {
            app,
            dev: ("dev".into(), password),
            work: tempfile::tempdir().unwrap(),
        }
    }

    fn dev(&self) -> Option<(&str, &str)> {
        Some((self.dev.0.as_str(), self.dev.1.as_str()))
    }

    async fn pull(&self, repo: &str, reference: &str, who: Option<(&str, &str)>) -> TestResponse {
        self.app
            .send(
                Method::GET,
                &format!("/v2/{repo}/manifests/{reference}"),
                who,
                None,
                &[("accept", OCI_MANIFEST)],
            )
            .await
    }

    async fn put_manifest(&self, repo: &str, reference: &str, manifest: &Value) -> String {
        let bytes = serde_json::to_vec(manifest).unwrap();
        let res = self
            .app
            .send_bytes(
                Method::PUT,
                &format!("/v2/{repo}/manifests/{reference}"),
                ADMIN,
                bytes.clone(),
                &[("content-type", OCI_MANIFEST)],
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        sha(&bytes)
    }

    async fn trust_key(&self, name: &str, public: &str) -> TestResponse {
        self.app
            .send(
                Method::POST,
                "/api/v2.0/projects/signed/trust/keys",
                ADMIN,
                Some(json!({"name": name, "kind": "cosign", "public_key": public})),
                &[],
            )
            .await
    }

    /// The subject's descriptor for a referrer.
    fn subject(digest: &str, size: usize) -> Value {
        json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": size})
    }

    /// A cosign simple signing layer for `covered` by `key` (payload and signature from the
    /// producer), pushed as blobs; returns the layer descriptor.
    async fn cosign_layer(&self, repo: &str, key: &Path, covered: &str, tamper: bool) -> Value {
        let out: Value =
            serde_json::from_str(&sign_py(&["cosign", key.to_str().unwrap(), covered])).unwrap();
        let mut payload = b64(out["payload"].as_str().unwrap());
        if tamper {
            // Same length, another identity: the signature no longer covers it.
            let text = String::from_utf8(payload)
                .unwrap()
                .replace("berth.test", "evil.test");
            payload = text.into_bytes();
        }
        let digest = self.app.push_blob(repo, &payload).await;
        json!({"mediaType": SIMPLE_SIGNING, "digest": digest, "size": payload.len(),
               "annotations": {"dev.cosignproject.cosign/signature": out["signature"]}})
    }

    /// cosign's tag scheme: `sha256-<hex>.sig` with simple signing layers.
    async fn sign_by_tag(&self, repo: &str, subject: &str, layers: Vec<Value>) -> String {
        let config = br#"{"architecture":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
        let cd = self.app.push_blob(repo, config).await;
        let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
            "layers": layers});
        let tag = format!("sha256-{}.sig", subject.trim_start_matches("sha256:"));
        self.put_manifest(repo, &tag, &manifest).await
    }

    /// An OCI 1.1 referrer of `artifact_type` with one layer.
    async fn referrer(
        &self,
        repo: &str,
        subject: Value,
        artifact_type: &str,
        layer: Value,
    ) -> String {
        let cd = self.app.push_blob(repo, b"{}").await;
        let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
            "config": {"mediaType": EMPTY, "digest": cd, "size": 2},
            "layers": [layer], "subject": subject});
        let digest = sha(&serde_json::to_vec(&manifest).unwrap());
        self.put_manifest(repo, &digest, &manifest).await
    }

    /// Pushes image `signed/<name>:v1` and a sigstore bundle referrer of it made by
    /// `@sigstore/sign` with `key` for `covered` (the image itself when `None`) and
    /// `predicate`, after `alter` (to tamper); returns the repository and the image's digest.
    async fn bundle_referrer(
        &self,
        name: &str,
        key: &Path,
        covered: Option<&str>,
        predicate: &str,
        alter: impl FnOnce(String) -> String,
    ) -> (String, String) {
        let repo = format!("signed/{name}");
        let (manifest, digest) = self.app.push_image(&repo, "v1", name).await;
        let bundle = run(
            "node",
            &[
                tool("bundle.mjs").to_str().unwrap(),
                key.to_str().unwrap(),
                covered.unwrap_or(&digest),
                predicate,
            ],
        );
        let layer = self
            .blob_layer(&repo, BUNDLE, alter(bundle).as_bytes())
            .await;
        self.referrer(
            &repo,
            Fixture::subject(&digest, manifest.len()),
            BUNDLE,
            layer,
        )
        .await;
        (repo, digest)
    }

    async fn blob_layer(&self, repo: &str, media_type: &str, bytes: &[u8]) -> Value {
        let digest = self.app.push_blob(repo, bytes).await;
        json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
    }

    async fn audit_details(&self) -> Vec<String> {
        let rows = self
            .app
            .state
            .db
            .query_all(sea_orm::Statement::from_string(
                self.app.state.db.get_database_backend(),
                "SELECT detail FROM audit_logs WHERE operation = 'pull' ORDER BY id".to_string(),
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.try_get::<String>("", "detail").unwrap_or_default())
            .collect()
    }
}

use sea_orm::ConnectionTrait;

async fn post_anchor(
    app: &TestApp,
    path: &str,
    who: Option<(&str, &str)>,
    body: Value,
) -> TestResponse {
    app.send(Method::POST, path, who, Some(body), &[]).await
}

fn message(res: &TestResponse) -> String {
    res.json()["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn assert_refused(res: &TestResponse, why: &str) {
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED, "{}", res.body);
    assert_eq!(res.json()["errors"][0]["code"], "DENIED", "{}", res.body);
    let m = message(res);
    assert!(m.contains(why), "expected `{why}` in: {m}");
}

#[tokio::test]
async fn cosign_tag_scheme_signatures_decide_pulls_for_every_key_type() {
    for alg in ["ec-p256", "ec-p384", "rsa", "ed25519"] {
        let f = Fixture::new(json!({"enable_content_trust_cosign": "true"})).await;
        let (manifest, digest) = f.app.push_image("signed/app", "v1", alg).await;
        let (key, public) = keygen(f.work.path(), alg);

        // Unsigned: refused with the reason; HEAD (existence) is never blocked.
        assert_refused(&f.pull("signed/app", "v1", f.dev()).await, "unsigned");
        let head = f
            .app
            .send(
                Method::HEAD,
                "/v2/signed/app/manifests/v1",
                f.dev(),
                None,
                &[],
            )
            .await;
        assert_eq!(head.status, StatusCode::OK);

        // Signed, but the key is not trusted yet.
        let layer = f.cosign_layer("signed/app", &key, &digest, false).await;
        f.sign_by_tag("signed/app", &digest, vec![layer]).await;
        assert_refused(
            &f.pull("signed/app", "v1", f.dev()).await,
            "no cosign key is trusted",
        );

        // Trusted: served, by tag and by digest.
        let res = f.trust_key("release", &public).await;
        assert_eq!(res.status, StatusCode::CREATED, "{alg}: {}", res.body);
        let ok = f.pull("signed/app", "v1", f.dev()).await;
        assert_eq!(ok.status, StatusCode::OK, "{alg}: {}", ok.body);
        assert_eq!(ok.body.as_bytes(), manifest.as_slice());
        assert_eq!(
            f.pull("signed/app", &digest, f.dev()).await.status,
            StatusCode::OK
        );

        // The API says which anchor verified it.
        let res = f
            .app
            .send(
                Method::GET,
                "/api/v2.0/projects/signed/repositories/app/artifacts/v1?with_signature=true",
                f.dev(),
                None,
                &[],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let body = res.json();
        assert_eq!(body["signed"], "verified", "{body}");
        assert_eq!(body["signatures"][0]["key"], "release", "{body}");
        assert_eq!(body["signatures"][0]["verified"], true);
    }
}

#[tokio::test]
async fn cosign_signatures_that_must_not_verify_do_not() {
    let f = Fixture::new(json!({"enable_content_trust_cosign": "true"})).await;
    let (trusted, public) = keygen(f.work.path(), "ec-p256");
    let (stranger, _) = keygen(f.work.path(), "ec-p256");
    assert_eq!(
        f.trust_key("release", &public).await.status,
        StatusCode::CREATED
    );

    // An unknown key.
    let (_, a) = f.app.push_image("signed/a", "v1", "a").await;
    let layer = f.cosign_layer("signed/a", &stranger, &a, false).await;
    f.sign_by_tag("signed/a", &a, vec![layer]).await;
    assert_refused(
        &f.pull("signed/a", "v1", f.dev()).await,
        "not signed by a trusted key",
    );

    // A trusted signature of another digest, put under this digest's tag.
    let (_, b) = f.app.push_image("signed/b", "v1", "b").await;
    let (_, other) = f.app.push_image("signed/b", "other", "other").await;
    let layer = f.cosign_layer("signed/b", &trusted, &other, false).await;
    f.sign_by_tag("signed/b", &b, vec![layer]).await;
    assert_refused(
        &f.pull("signed/b", "v1", f.dev()).await,
        "does not cover this digest",
    );

    // A tampered payload.
    let (_, c) = f.app.push_image("signed/c", "v1", "c").await;
    let layer = f.cosign_layer("signed/c", &trusted, &c, true).await;
    f.sign_by_tag("signed/c", &c, vec![layer]).await;
    assert_refused(
        &f.pull("signed/c", "v1", f.dev()).await,
        "not signed by a trusted key",
    );

    // An attestation alone (cosign's `.att` tag) is not a signature.
    let (_, d) = f.app.push_image("signed/d", "v1", "d").await;
    let env = f
        .blob_layer(
            "signed/d",
            "application/vnd.dsse.envelope.v1+json",
            br#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}"#,
        )
        .await;
    let cd = f.app.push_blob("signed/d", b"{}").await;
    let att = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": 2},
        "layers": [env]});
    f.put_manifest(
        "signed/d",
        &format!("sha256-{}.att", d.trim_start_matches("sha256:")),
        &att,
    )
    .await;
    assert_refused(
        &f.pull("signed/d", "v1", f.dev()).await,
        "attestations do not satisfy",
    );

    // The system administrator pulls anyway, and that is audited.
    let res = f.pull("signed/a", "v1", ADMIN).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let details = f.audit_details().await;
    assert!(
        details
            .iter()
            .any(|d| d.contains("served to a system administrator")),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d.starts_with("refused: ")),
        "{details:?}"
    );

    // No request trait exempts anyone.
    let res = f
        .app
        .send(
            Method::GET,
            "/v2/signed/a/manifests/v1",
            f.dev(),
            None,
            &[("user-agent", "cosign/v2.4.1 (linux; amd64)")],
        )
        .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn audit_mode_serves_and_records_the_reason() {
    let f =
        Fixture::new(json!({"enable_content_trust_cosign": "true", "signature_policy": "audit"}))
            .await;
    f.app.push_image("signed/app", "v1", "audit").await;
    let res = f.pull("signed/app", "v1", f.dev()).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let details = f.audit_details().await;
    assert!(
        details
            .iter()
            .any(|d| d.contains("served under signature_policy audit") && d.contains("unsigned")),
        "{details:?}"
    );
}

#[tokio::test]
async fn cosign_oci_referrers_and_sigstore_bundles_verify() {
    let f = Fixture::new(json!({"enable_content_trust_cosign": "true"})).await;
    let (key, public) = keygen(f.work.path(), "ec-p256");
    assert_eq!(f.trust_key("ci", &public).await.status, StatusCode::CREATED);

    // OCI 1.1 mode: a referrer of cosign's signature artifact type.
    let (manifest, a) = f.app.push_image("signed/ref", "v1", "ref").await;
    assert_refused(&f.pull("signed/ref", "v1", f.dev()).await, "unsigned");
    let layer = f.cosign_layer("signed/ref", &key, &a, false).await;
    f.referrer(
        "signed/ref",
        Fixture::subject(&a, manifest.len()),
        COSIGN_SIG_TYPE,
        layer,
    )
    .await;
    assert_eq!(
        f.pull("signed/ref", "v1", f.dev()).await.status,
        StatusCode::OK
    );

    // Sigstore bundle v0.3 from @sigstore/sign: the signing predicate verifies.
    const SIGNING: &str = "https://sigstore.dev/cosign/sign/v1";
    let (repo, b) = f
        .bundle_referrer("bundle", &key, None, SIGNING, |b| b)
        .await;
    let ok = f.pull(&repo, "v1", f.dev()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    // A bundle of another subject.
    let (repo, _) = f
        .bundle_referrer("bundle2", &key, Some(&b), SIGNING, |b| b)
        .await;
    assert_refused(
        &f.pull(&repo, "v1", f.dev()).await,
        "does not cover this digest",
    );

    // A bundle with another predicate (an attestation) does not satisfy the policy.
    let (repo, _) = f
        .bundle_referrer("att", &key, None, "https://slsa.dev/provenance/v1", |b| b)
        .await;
    assert_refused(
        &f.pull(&repo, "v1", f.dev()).await,
        "attestations do not satisfy",
    );

    // A bundle whose envelope was altered after signing.
    let (repo, _) = f
        .bundle_referrer("tampered", &key, None, SIGNING, |bundle| {
            let mut doc: Value = serde_json::from_str(&bundle).unwrap();
            let statement = b64(doc["dsseEnvelope"]["payload"].as_str().unwrap());
            let altered = String::from_utf8(statement)
                .unwrap()
                .replace("\"image\"", "\"other\"");
            doc["dsseEnvelope"]["payload"] =
                json!(base64::engine::general_purpose::STANDARD.encode(altered));
            doc.to_string()
        })
        .await;
    assert_refused(
        &f.pull(&repo, "v1", f.dev()).await,
        "not signed by a trusted key",
    );
}

#[tokio::test]
async fn notation_jws_signatures_verify_against_trusted_cas() {
    let f = Fixture::new(json!({"enable_content_trust": "true"})).await;
    let ca = f.work.path().join("ca");
    sign_py(&["ca", ca.to_str().unwrap()]);
    let other_ca = f.work.path().join("other-ca");
    sign_py(&["ca", other_ca.to_str().unwrap()]);
    let expired = f.work.path().join("expired");
    sign_py(&["ca", expired.to_str().unwrap(), "--expired-leaf"]);
    let root = std::fs::read_to_string(ca.join("root.pem")).unwrap();
    let trust = |name: &str, cert: String| {
        let body = json!({"name": name, "kind": "notation", "certificate": cert});
        post_anchor(&f.app, "/api/v2.0/projects/signed/trust/keys", ADMIN, body)
    };
    assert_eq!(trust("root", root).await.status, StatusCode::CREATED);

    async fn notation_sign(
        f: &Fixture,
        repo: &str,
        dir: &Path,
        subject: &str,
        size: usize,
        covered: &str,
        tamper: bool,
    ) {
        let envelope = sign_py(&[
            "notation",
            dir.to_str().unwrap(),
            OCI_MANIFEST,
            covered,
            &size.to_string(),
        ]);
        let mut envelope: Value = serde_json::from_str(&envelope).unwrap();
        if tamper {
            let sig = envelope["signature"].as_str().unwrap().to_string();
            // Another first character: a different signature of the same length.
            let first = if sig.starts_with('A') { "B" } else { "A" };
            let flipped = format!("{first}{}", &sig[1..]);
            envelope["signature"] = json!(flipped);
        }
        let layer = f
            .blob_layer(
                repo,
                "application/jose+json",
                envelope.to_string().as_bytes(),
            )
            .await;
        f.referrer(repo, Fixture::subject(subject, size), NOTATION, layer)
            .await;
    }

    let (m, a) = f.app.push_image("signed/n", "v1", "n").await;
    assert_refused(&f.pull("signed/n", "v1", f.dev()).await, "unsigned");
    notation_sign(&f, "signed/n", &ca, &a, m.len(), &a, false).await;
    let ok = f.pull("signed/n", "v1", f.dev()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    let (m, b) = f.app.push_image("signed/untrusted", "v1", "u").await;
    notation_sign(&f, "signed/untrusted", &other_ca, &b, m.len(), &b, false).await;
    assert_refused(
        &f.pull("signed/untrusted", "v1", f.dev()).await,
        "not rooted in a trusted CA",
    );

    let (m, c) = f.app.push_image("signed/other", "v1", "o").await;
    notation_sign(&f, "signed/other", &ca, &c, m.len(), &a, false).await;
    assert_refused(
        &f.pull("signed/other", "v1", f.dev()).await,
        "does not cover this digest",
    );

    let (m, d) = f.app.push_image("signed/tampered", "v1", "t").await;
    notation_sign(&f, "signed/tampered", &ca, &d, m.len(), &d, true).await;
    assert_refused(
        &f.pull("signed/tampered", "v1", f.dev()).await,
        "does not verify",
    );

    // An expired signing certificate, chained to a CA that is trusted.
    let expired_root = std::fs::read_to_string(expired.join("root.pem")).unwrap();
    assert_eq!(
        trust("expired-root", expired_root).await.status,
        StatusCode::CREATED
    );
    let (m, e) = f.app.push_image("signed/expired", "v1", "e").await;
    notation_sign(&f, "signed/expired", &expired, &e, m.len(), &e, false).await;
    assert_refused(&f.pull("signed/expired", "v1", f.dev()).await, "expired");

    // An intermediate CA can be the anchor: the other CA's chain verifies once it is trusted.
    let intermediate = std::fs::read_to_string(other_ca.join("intermediate.pem")).unwrap();
    assert_eq!(
        trust("other-intermediate", intermediate).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        f.pull("signed/untrusted", "v1", f.dev()).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn trust_anchors_are_validated_and_managed_by_project_admins() {
    let f = Fixture::new(json!({})).await;
    let (_, public) = keygen(f.work.path(), "ec-p256");
    let (private, _) = keygen(f.work.path(), "rsa");
    let private = std::fs::read_to_string(private).unwrap();
    let passwords = [
        (
            "owner",
            f.app.member("signed", "owner", Role::ProjectAdmin).await,
        ),
        (
            "keeper",
            f.app.member("signed", "keeper", Role::Maintainer).await,
        ),
        (
            "viewer",
            f.app.member("signed", "viewer", Role::Guest).await,
        ),
    ];
    let post = |who, body| post_anchor(&f.app, "/api/v2.0/projects/signed/trust/keys", who, body);
    let key = |name: &str, pem: &str| json!({"name": name, "kind": "cosign", "public_key": pem});

    // Validation: each mistake is a 400 that says what is wrong; nothing is stored.
    for (body, why) in [
        (key("bad", "not a pem"), "not PEM"),
        (key("private", &private), "private key"),
        (
            json!({"name": "k", "kind": "gpg", "public_key": public}),
            "kind must be",
        ),
        (json!({"name": "k", "kind": "cosign"}), "needs `public_key`"),
        (
            json!({"name": "k", "kind": "notation", "certificate": public}),
            "`PUBLIC KEY` block",
        ),
    ] {
        let res = post(ADMIN, body).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{why}: {}", res.body);
        assert!(res.body.contains(why), "expected `{why}` in {}", res.body);
    }
    let p521 = {
        let d = f.work.path().join("p521");
        std::fs::create_dir_all(&d).unwrap();
        run(
            "openssl",
            &[
                "ecparam",
                "-name",
                "secp521r1",
                "-genkey",
                "-noout",
                "-out",
                d.join("k.pem").to_str().unwrap(),
            ],
        );
        run(
            "openssl",
            &["ec", "-in", d.join("k.pem").to_str().unwrap(), "-pubout"],
        )
    };
    let res = post(ADMIN, key("p521", &p521)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    assert!(
        res.body.contains("unsupported elliptic curve"),
        "{}",
        res.body
    );

    // Roles: the project administrator adds and removes; maintainers and guests may not;
    // anonymous callers must sign in.
    let (owner, keeper, viewer) = (&passwords[0], &passwords[1], &passwords[2]);
    let res = post(Some((owner.0, owner.1.as_str())), key("release", &public)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.json()["id"].as_i64().unwrap();
    assert!(res.json()["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    for who in [
        Some((keeper.0, keeper.1.as_str())),
        Some((viewer.0, viewer.1.as_str())),
        f.dev(),
    ] {
        assert_eq!(
            post(who, key("again", &public)).await.status,
            StatusCode::FORBIDDEN
        );
        let del = f
            .app
            .send(
                Method::DELETE,
                &format!("/api/v2.0/projects/signed/trust/keys/{id}"),
                who,
                None,
                &[],
            )
            .await;
        assert_eq!(del.status, StatusCode::FORBIDDEN, "{}", del.body);
    }
    assert_eq!(
        post(None, key("anon", &public)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(ADMIN, key("release", &public)).await.status,
        StatusCode::CONFLICT,
        "the same name twice"
    );

    // Listings show names, kinds and fingerprints, never private material.
    let list = f
        .app
        .send(
            Method::GET,
            "/api/v2.0/projects/signed/trust/keys",
            Some((keeper.0, keeper.1.as_str())),
            None,
            &[],
        )
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json().as_array().unwrap().len(), 1);
    assert!(!list.body.contains("PRIVATE"));
    let del = f
        .app
        .send(
            Method::DELETE,
            &format!("/api/v2.0/projects/signed/trust/keys/{id}"),
            Some((owner.0, owner.1.as_str())),
            None,
            &[],
        )
        .await;
    assert_eq!(del.status, StatusCode::OK, "{}", del.body);

    // System anchors: system administrators only; they count in every project.
    let sys = |who| {
        post_anchor(
            &f.app,
            "/api/v2.0/system/trust/keys",
            who,
            key("org-release", &public),
        )
    };
    assert_eq!(
        sys(Some((owner.0, owner.1.as_str()))).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(sys(None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(sys(ADMIN).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn system_anchors_verify_in_every_project_and_changes_take_effect_at_once() {
    let f = Fixture::new(json!({"enable_content_trust_cosign": "true"})).await;
    let (key, public) = keygen(f.work.path(), "ec-p256");
    let (_, digest) = f.app.push_image("signed/app", "v1", "sys").await;
    let layer = f.cosign_layer("signed/app", &key, &digest, false).await;
    f.sign_by_tag("signed/app", &digest, vec![layer]).await;
    assert_refused(
        &f.pull("signed/app", "v1", f.dev()).await,
        "no cosign key is trusted",
    );
    let res = f
        .app
        .send(
            Method::POST,
            "/api/v2.0/system/trust/keys",
            ADMIN,
            Some(json!({"name": "org", "kind": "cosign", "public_key": public})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.json()["id"].as_i64().unwrap();
    assert_eq!(
        f.pull("signed/app", "v1", f.dev()).await.status,
        StatusCode::OK
    );
    // Removing the anchor invalidates the stored verdict.
    let del = f
        .app
        .send(
            Method::DELETE,
            &format!("/api/v2.0/system/trust/keys/{id}"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(del.status, StatusCode::OK);
    assert_refused(
        &f.pull("signed/app", "v1", f.dev()).await,
        "no cosign key is trusted",
    );
}

#[tokio::test]
async fn deleting_a_signed_artifact_deletes_its_signatures() {
    let f = Fixture::new(json!({"enable_content_trust_cosign": "true"})).await;
    let (key, public) = keygen(f.work.path(), "ec-p256");
    assert_eq!(
        f.trust_key("release", &public).await.status,
        StatusCode::CREATED
    );
    let (manifest, digest) = f.app.push_image("signed/app", "v1", "del").await;
    let layer = f.cosign_layer("signed/app", &key, &digest, false).await;
    let mut signature_blobs = vec![layer["digest"].as_str().unwrap().to_string()];
    let by_tag = f.sign_by_tag("signed/app", &digest, vec![layer]).await;
    let layer = f.cosign_layer("signed/app", &key, &digest, true).await;
    signature_blobs.push(layer["digest"].as_str().unwrap().to_string());
    let referrer = f
        .referrer(
            "signed/app",
            Fixture::subject(&digest, manifest.len()),
            COSIGN_SIG_TYPE,
            layer,
        )
        .await;
    let refs = f
        .app
        .send(
            Method::GET,
            &format!("/v2/signed/app/referrers/{digest}"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert!(refs.body.contains(&referrer), "{}", refs.body);

    let res = f
        .app
        .send(
            Method::DELETE,
            &format!("/v2/signed/app/manifests/{digest}"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    let refs = f
        .app
        .send(
            Method::GET,
            &format!("/v2/signed/app/referrers/{digest}"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(
        refs.json()["manifests"].as_array().map(Vec::len),
        Some(0),
        "{}",
        refs.body
    );
    let sig_tag = format!("sha256-{}.sig", digest.trim_start_matches("sha256:"));
    for gone in [sig_tag.as_str(), by_tag.as_str(), referrer.as_str()] {
        let res = f
            .app
            .send(
                Method::HEAD,
                &format!("/v2/signed/app/manifests/{gone}"),
                ADMIN,
                None,
                &[],
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{gone} is still there");
    }

    // Garbage collection then frees the signatures' blobs (and their manifests).
    signature_blobs.extend([by_tag, referrer]);
    let store = &f.app.state.registry.store;
    for d in &signature_blobs {
        let d = domain::types::Digest::parse(d).unwrap();
        assert!(
            store.stat(&d).await.unwrap().is_some(),
            "{d} is stored before GC"
        );
    }
    f.app
        .state
        .registry
        .collect_garbage(&domain::service::registry::gc::GcOptions {
            window: chrono::Duration::zero(),
            ..Default::default()
        })
        .await
        .unwrap();
    for d in &signature_blobs {
        let d = domain::types::Digest::parse(d).unwrap();
        assert!(
            store.stat(&d).await.unwrap().is_none(),
            "{d} is freed by GC"
        );
    }
}

fn run_in(program: &str, args: &[String]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} must be installed (scripts/test.sh installs it): {e}")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podman_pull_of_an_unsigned_image_fails_with_the_reason_and_works_once_signed() {
    let f = Fixture::new(json!({"enable_content_trust_cosign": "true"})).await;
    let layer = common::tar_layer(&[("hello.txt", b"signed images only\n")]);
    let digest = f.app.push_layers("signed/pod", "v1", &[layer]).await;
    let server = common::LiveServer::start(&f.app.state);
    let host = server.host();
    let root = f.work.path().join("podman");
    let podman = move |rest: &[&str]| {
        let mut a: Vec<String> = [
            "--storage-driver=vfs",
            "--root",
            root.join("root").to_str().unwrap(),
            "--runroot",
            root.join("run").to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(rest.iter().map(|s| s.to_string()));
        async move {
            tokio::task::spawn_blocking(move || run_in("podman", &a))
                .await
                .unwrap()
        }
    };
    let image = format!("{host}/signed/pod:v1");
    let creds = format!("dev:{}", f.dev.1);
    let pull = [
        "pull",
        "--tls-verify=false",
        "--creds",
        creds.as_str(),
        image.as_str(),
    ];

    let refused = podman(&pull).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "podman pulled an unsigned image");
    assert!(
        stderr.contains("requires a trusted signature") && stderr.contains("unsigned"),
        "podman shows Berth's reason: {stderr}"
    );

    let (key, public) = keygen(f.work.path(), "ec-p256");
    assert_eq!(
        f.trust_key("release", &public).await.status,
        StatusCode::CREATED
    );
    let layer = f.cosign_layer("signed/pod", &key, &digest, false).await;
    f.sign_by_tag("signed/pod", &digest, vec![layer]).await;
    let pulled = podman(&pull).await;
    assert!(
        pulled.status.success(),
        "podman pulls once signed: {}",
        String::from_utf8_lossy(&pulled.stderr)
    );
}

#[tokio::test]
async fn a_signed_index_covers_its_children_only_when_the_project_says_so() {
    const INDEX: &str = "application/vnd.oci.image.index.v1+json";
    for covers in [false, true] {
        let metadata = json!({"enable_content_trust_cosign": "true",
            "signature_covers_children": if covers { "true" } else { "false" }});
        let f = Fixture::new(metadata).await;
        let (key, public) = keygen(f.work.path(), "ec-p256");
        assert_eq!(
            f.trust_key("release", &public).await.status,
            StatusCode::CREATED
        );
        let (amd, amd_digest) = f.app.push_image("signed/multi", "amd64", "amd").await;
        let (arm, arm_digest) = f.app.push_image("signed/multi", "arm64", "arm").await;
        let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": amd_digest, "size": amd.len(), "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": arm_digest, "size": arm.len(), "platform": {"architecture": "arm64", "os": "linux"}},
        ]}))
        .unwrap();
        let res = f
            .app
            .send_bytes(
                Method::PUT,
                "/v2/signed/multi/manifests/v1",
                ADMIN,
                index.clone(),
                &[("content-type", INDEX)],
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let index_digest = sha(&index);
        let layer = f
            .cosign_layer("signed/multi", &key, &index_digest, false)
            .await;
        f.sign_by_tag("signed/multi", &index_digest, vec![layer])
            .await;

        let index_pull = f
            .app
            .send(
                Method::GET,
                "/v2/signed/multi/manifests/v1",
                f.dev(),
                None,
                &[("accept", INDEX)],
            )
            .await;
        assert_eq!(index_pull.status, StatusCode::OK, "{}", index_pull.body);
        let child = f.pull("signed/multi", &arm_digest, f.dev()).await;
        if covers {
            assert_eq!(child.status, StatusCode::OK, "{}", child.body);
        } else {
            assert_refused(&child, "unsigned");
        }
    }
}

#[tokio::test]
async fn signatures_themselves_are_pullable_under_enforce_but_runnable_referrers_are_not() {
    let f = Fixture::new(json!({"enable_content_trust_cosign": "true"})).await;
    let (manifest, digest) = f.app.push_image("signed/app", "v1", "accessory").await;
    let (key, _) = keygen(f.work.path(), "ec-p256");
    // `cosign verify` reads the `.sig` manifest before anything is trusted: it is served.
    let layer = f.cosign_layer("signed/app", &key, &digest, false).await;
    let sig = f.sign_by_tag("signed/app", &digest, vec![layer]).await;
    let tag = format!("sha256-{}.sig", digest.trim_start_matches("sha256:"));
    for reference in [tag.as_str(), sig.as_str()] {
        let res = f.pull("signed/app", reference, f.dev()).await;
        assert_eq!(res.status, StatusCode::OK, "{reference}: {}", res.body);
    }
    // An OCI 1.1 referrer carrying a filesystem layer is an image that names a subject: it
    // gets no pass, under a signature artifact type or any other.
    let tar = f
        .blob_layer(
            "signed/app",
            "application/vnd.oci.image.layer.v1.tar",
            b"not really a tar",
        )
        .await;
    let sneaky = f
        .referrer(
            "signed/app",
            Fixture::subject(&digest, manifest.len()),
            COSIGN_SIG_TYPE,
            tar,
        )
        .await;
    assert_refused(&f.pull("signed/app", &sneaky, f.dev()).await, "unsigned");
}
