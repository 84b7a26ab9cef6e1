//! The registry's rules through its service, without HTTP: quotas refuse what does not fit and
//! record the refusal, immutable tags cannot be moved or deleted, retention selects through the
//! service what its policy says.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use domain::policy::retention::{Rule, Template, Verdict};
use domain::policy::selector::Selector;
use domain::service::immutability::RuleInput;
use domain::service::projects::NewProject;
use domain::service::registry::{OciCode, Registry, RegistryCaller, RegistrySettings};
use domain::service::{events, Services};
use domain::storage::fs::FsBlobStore;
use domain::storage::ByteStream;
use domain::types::{Digest, Reference, RepoName};
use sha2::{Digest as _, Sha256};

use super::{admin, services};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn sha(bytes: &[u8]) -> Digest {
    Digest::parse(&format!("sha256:{}", hex::encode(Sha256::digest(bytes)))).unwrap()
}

fn one_chunk(bytes: Vec<u8>) -> ByteStream {
    Box::pin(futures::stream::iter([Ok::<_, std::io::Error>(
        Bytes::from(bytes),
    )]))
}

struct Fixture {
    s: Services,
    registry: Registry,
    caller: RegistryCaller,
    _dir: tempfile::TempDir,
}

async fn fixture(project: &str, storage_limit: Option<i64>) -> Fixture {
    let s = services().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsBlobStore::new(dir.path()).unwrap());
    let registry = Registry::new(s.db.clone(), store, RegistrySettings::default());
    s.create_project(
        &admin(),
        NewProject {
            name: project.into(),
            public: false,
            metadata: BTreeMap::new(),
            storage_limit,
        },
    )
    .await
    .unwrap();
    Fixture {
        s,
        registry,
        caller: RegistryCaller {
            actor: admin(),
            token_access: None,
        },
        _dir: dir,
    }
}

impl Fixture {
    async fn blob(&self, repo: &str, bytes: Vec<u8>) -> Result<Digest, OciCode> {
        let name = RepoName::parse(repo).unwrap();
        let d = sha(&bytes);
        let session = self
            .registry
            .start_upload(&self.caller, &name)
            .await
            .map_err(|e| e.code)?;
        self.registry
            .finish_upload(
                &self.caller,
                &name,
                &session.id,
                &d,
                Some((Some(0), one_chunk(bytes))),
            )
            .await
            .map_err(|e| e.code)?;
        Ok(d)
    }

    /// Pushes a one-layer image under `tag`; returns its digest.
    async fn image(&self, repo: &str, tag: &str, seed: &str) -> Result<Digest, OciCode> {
        let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
        let layer = format!("layer of {seed}").into_bytes();
        let cd = self.blob(repo, config.clone().into_bytes()).await?;
        let ld = self.blob(repo, layer.clone()).await?;
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld.to_string(), "size": layer.len()}],
        }))
        .unwrap();
        let pushed = self
            .registry
            .put_manifest(
                &self.caller,
                &RepoName::parse(repo).unwrap(),
                &Reference::parse(tag).unwrap(),
                Some(OCI_MANIFEST),
                Bytes::from(manifest),
            )
            .await
            .map_err(|e| e.code)?;
        Ok(pushed.digest)
    }
}

#[tokio::test]
async fn a_blob_over_the_quota_is_refused_recorded_and_not_counted() {
    let f = fixture("small", Some(1_000)).await;
    f.blob("small/app", vec![1u8; 900]).await.unwrap();
    let head = events::head(&f.s.db).await.unwrap();
    assert_eq!(
        f.blob("small/app", vec![2u8; 200]).await,
        Err(OciCode::Denied)
    );
    let refused = events::after(&f.s.db, head, 10).await.unwrap();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(
        (refused[0].kind.as_str(), refused[0].outcome.as_str()),
        ("quota.exceeded", "failure")
    );
    let quota = f.s.project_quota(&admin(), "small").await.unwrap();
    assert_eq!(quota.used, 900, "the refused blob is not counted");
    // What the project already holds costs nothing again.
    f.blob("small/other", vec![1u8; 900]).await.unwrap();
    assert_eq!(
        f.s.project_quota(&admin(), "small").await.unwrap().used,
        900
    );
}

#[tokio::test]
async fn an_immutable_tag_is_neither_moved_by_a_push_nor_deleted() {
    let f = fixture("frozen", None).await;
    f.s.create_immutable_rule(
        &admin(),
        "frozen",
        RuleInput {
            repositories: Selector::everything(),
            tags: Selector::matches("v*"),
            disabled: false,
        },
    )
    .await
    .unwrap();
    let first = f.image("frozen/app", "v1", "one").await.unwrap();
    // The same digest again is idempotent, even under an immutable tag.
    assert_eq!(f.image("frozen/app", "v1", "one").await, Ok(first.clone()));
    assert_eq!(
        f.image("frozen/app", "v1", "two").await,
        Err(OciCode::TagImmutable)
    );
    let refused = f
        .registry
        .delete_manifest(
            &f.caller,
            &RepoName::parse("frozen/app").unwrap(),
            &Reference::parse("v1").unwrap(),
        )
        .await;
    assert_eq!(refused.map_err(|e| e.code), Err(OciCode::TagImmutable));
    // Tags the rule does not match move freely.
    f.image("frozen/app", "latest", "one").await.unwrap();
    f.image("frozen/app", "latest", "two").await.unwrap();
}

#[tokio::test]
async fn retention_keeps_what_its_rules_select_through_the_service() {
    let f = fixture("kept", None).await;
    for (i, tag) in ["1.0", "1.1", "1.2"].iter().enumerate() {
        f.image("kept/app", tag, &format!("image {i}"))
            .await
            .unwrap();
        // Push times must differ for "most recently pushed" to order them.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let rules = vec![Rule {
        repositories: Selector::everything(),
        tags: Selector::matches("**"),
        untagged: false,
        template: Template::LatestPushedK(1),
        disabled: false,
        labels: Vec::new(),
    }];
    let decisions =
        f.s.preview_retention(&admin(), "kept", rules.clone())
            .await
            .unwrap();
    let mut verdicts: Vec<(String, Verdict)> = decisions
        .iter()
        .map(|d| (d.tags.join(","), d.verdict))
        .collect();
    verdicts.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        verdicts,
        vec![
            ("1.0".to_string(), Verdict::Delete),
            ("1.1".to_string(), Verdict::Delete),
            ("1.2".to_string(), Verdict::Keep),
        ]
    );
    // Someone without a role in the project sees none of it.
    let outsider = super::user(&f.s, "outsider").await;
    assert!(f
        .s
        .preview_retention(&outsider, "kept", rules)
        .await
        .is_err());
}
