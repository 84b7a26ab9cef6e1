//! Signatures on the registry's side: finding an artifact's signatures and other accessories
//! (by cosign's `sha256-<hex>.sig` tags and as OCI 1.1 referrers), verifying them against the
//! trust anchors of its project and the system, storing the verdict, and checking it on pulls.
//! A stored verdict is valid while its epoch equals the project's plus the system's trust epoch;
//! whatever can change a verdict bumps an epoch in its own transaction ([`bump_epoch`]).

use std::collections::BTreeMap;

use chrono::Utc;
use futures::StreamExt;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::Value;

use super::{OciCode, Registry, RegistryCaller, RegistryError, RegistryResult};
use crate::entities::{artifact, tag, trust_anchor};
use crate::service::audit::Outcome;
use crate::signing::{self, cosign, notation, Anchor, AnchorKind, SignedSubject, Verdict};
use crate::types::{Digest, Reference, RepoName};

/// The largest signature, bundle or envelope blob Berth reads to verify.
const MAX_SIGNATURE_BLOB: usize = 1 << 20;

/// Project metadata keys of the signature policy (Harbor's two, and Berth's mode).
pub const CONTENT_TRUST_COSIGN: &str = "enable_content_trust_cosign";
pub const CONTENT_TRUST_NOTATION: &str = "enable_content_trust";
pub const SIGNATURE_POLICY: &str = "signature_policy";
/// Opt-in: a signed image index covers the manifests it lists (a multi-arch pull by child
/// digest is served when the index's signature verifies).
pub const COVERS_CHILDREN: &str = "signature_covers_children";

/// A tag cosign writes for an accessory of `sha256:<hex>`: `.sig`, `.att` or `.sbom`.
pub fn accessory_tag(tag: &str) -> Option<(&str, &str)> {
    let rest = tag.strip_prefix("sha256-")?;
    let (hex, suffix) = rest.split_once('.')?;
    (hex.len() == 64
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && matches!(suffix, "sig" | "att" | "sbom"))
    .then_some((hex, suffix))
}

/// Whether a manifest is a pure accessory: an image manifest none of whose layers is a
/// filesystem (no tar), so that nothing pulled through it can run.
pub fn inert_accessory(manifest: &[u8]) -> bool {
    let Ok(json) = serde_json::from_slice::<Value>(manifest) else {
        return false;
    };
    if json.get("manifests").is_some() {
        return false;
    }
    json["layers"].as_array().is_some_and(|layers| {
        layers.iter().all(|l| {
            let t = l["mediaType"].as_str().unwrap_or("");
            !(t.contains("tar") || t.contains("rootfs") || t.contains("layer") || t.is_empty())
        })
    })
}

/// Marks every stored verdict of `project_id` (0: of every project) stale.
pub(crate) async fn bump_epoch(
    conn: &impl ConnectionTrait,
    project_id: i64,
) -> Result<(), sea_orm::DbErr> {
    let backend = conn.get_database_backend();
    let p = match backend {
        sea_orm::DatabaseBackend::Postgres => "$1",
        _ => "?",
    };
    conn.execute(Statement::from_sql_and_values(
        backend,
        format!(
            "INSERT INTO signature_epochs (project_id, epoch) VALUES ({p}, 1) \
             ON CONFLICT (project_id) DO UPDATE SET epoch = signature_epochs.epoch + 1"
        ),
        [project_id.into()],
    ))
    .await?;
    Ok(())
}

/// The trust epoch a verdict of `project_id` is computed at.
pub(crate) async fn current_epoch(
    conn: &impl ConnectionTrait,
    project_id: i64,
) -> Result<i64, sea_orm::DbErr> {
    let backend = conn.get_database_backend();
    let p = match backend {
        sea_orm::DatabaseBackend::Postgres => "$1",
        _ => "?",
    };
    let row = conn
        .query_one(Statement::from_sql_and_values(
            backend,
            format!(
                // PostgreSQL sums BIGINT as NUMERIC, which does not read as an i64: cast it.
                "SELECT CAST(COALESCE(SUM(epoch), 0) AS BIGINT) AS epoch FROM signature_epochs \
                 WHERE project_id = {p} OR project_id = 0"
            ),
            [project_id.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<i64>("", "epoch")?,
        None => 0,
    })
}

/// The anchors that apply in a project: its own and the system's.
pub async fn anchors_for(
    conn: &impl ConnectionTrait,
    project_id: i64,
) -> Result<Vec<Anchor>, sea_orm::DbErr> {
    use sea_orm::Condition;
    let rows = trust_anchor::Entity::find()
        .filter(
            Condition::any()
                .add(trust_anchor::Column::ProjectId.eq(project_id))
                .add(trust_anchor::Column::ProjectId.is_null()),
        )
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Anchor {
                id: r.id,
                kind: AnchorKind::parse(&r.kind)?,
                der: signing::anchors::der_of(&r.pem)?,
                name: r.name,
            })
        })
        .collect())
}

/// The artifact whose signatures are wanted.
#[derive(Clone, Debug)]
pub struct SubjectFacts {
    pub artifact_id: i64,
    pub repository_id: i64,
    pub project_id: i64,
    pub digest: String,
    pub media_type: String,
    pub size: u64,
}

/// What the project's metadata asks of pulls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignaturePolicy {
    pub kinds: Vec<AnchorKind>,
    /// `enforce` (refuse), `audit` (serve and record) or `off`.
    pub mode: String,
    pub covers_children: bool,
}

impl SignaturePolicy {
    pub fn of(metadata: &BTreeMap<String, String>) -> Option<Self> {
        let on = |k: &str| metadata.get(k).map(String::as_str) == Some("true");
        let mut kinds = Vec::new();
        if on(CONTENT_TRUST_COSIGN) {
            kinds.push(AnchorKind::Cosign);
        }
        if on(CONTENT_TRUST_NOTATION) {
            kinds.push(AnchorKind::Notation);
        }
        let mode = metadata
            .get(SIGNATURE_POLICY)
            .cloned()
            .unwrap_or_else(|| "enforce".into());
        let covers_children = on(COVERS_CHILDREN);
        (!kinds.is_empty() && mode != "off").then_some(Self {
            kinds,
            mode,
            covers_children,
        })
    }
}

/// One layer of an accessory manifest.
struct Layer {
    media_type: String,
    digest: Digest,
    size: u64,
    annotations: BTreeMap<String, String>,
}

fn layers_of(manifest: &Value) -> Vec<Layer> {
    manifest["layers"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|l| {
                    Some(Layer {
                        media_type: l["mediaType"].as_str()?.to_string(),
                        digest: Digest::parse(l["digest"].as_str()?).ok()?,
                        size: l["size"].as_u64()?,
                        annotations: l["annotations"]
                            .as_object()
                            .map(|o| {
                                o.iter()
                                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn is_sbom(artifact_type: &str) -> bool {
    artifact_type.starts_with("application/vnd.cyclonedx")
        || artifact_type.starts_with("application/spdx")
        || artifact_type == "application/vnd.goharbor.harbor.sbom.v1"
        || artifact_type == "text/spdx"
}

fn is_attestation(artifact_type: &str) -> bool {
    artifact_type.contains("in-toto") || artifact_type == "application/vnd.dsse.envelope.v1+json"
}

impl Registry {
    /// A blob of an accessory, bounded.
    async fn small_blob(&self, layer: &Layer) -> Result<Vec<u8>, String> {
        if layer.size as usize > MAX_SIGNATURE_BLOB {
            return Err(format!(
                "the signature blob is {} bytes, above Berth's limit of {MAX_SIGNATURE_BLOB}",
                layer.size
            ));
        }
        let mut stream = self
            .store
            .read(&layer.digest, None)
            .await
            .map_err(|e| format!("the signature blob cannot be read: {e}"))?;
        let mut out = Vec::with_capacity(layer.size as usize);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| format!("the signature blob cannot be read: {e}"))?;
            if out.len() + chunk.len() > MAX_SIGNATURE_BLOB {
                return Err("the signature blob is larger than its descriptor says".into());
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The accessories of `subject`: (artifact, the `.sig`/`.att`/`.sbom` suffix of its tag).
    pub(super) async fn accessories(
        &self,
        subject: &SubjectFacts,
    ) -> RegistryResult<Vec<(artifact::Model, Option<String>)>> {
        let mut found: Vec<(artifact::Model, Option<String>)> = artifact::Entity::find()
            .filter(artifact::Column::RepositoryId.eq(subject.repository_id))
            .filter(artifact::Column::SubjectDigest.eq(subject.digest.as_str()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| (a, None))
            .collect();
        let hex = subject
            .digest
            .strip_prefix("sha256:")
            .unwrap_or(&subject.digest);
        let tags = tag::Entity::find()
            .filter(tag::Column::RepositoryId.eq(subject.repository_id))
            .filter(tag::Column::Name.starts_with(format!("sha256-{hex}.")))
            .all(&self.db)
            .await?;
        for t in tags {
            let Some((_, suffix)) = accessory_tag(&t.name) else {
                continue;
            };
            if found.iter().any(|(a, _)| a.id == t.artifact_id) {
                continue;
            }
            if let Some(a) = artifact::Entity::find_by_id(t.artifact_id)
                .one(&self.db)
                .await?
            {
                found.push((a, Some(suffix.to_string())));
            }
        }
        Ok(found)
    }

    /// Verifies every signature of `subject` against the anchors that apply now, and stores the
    /// verdict for pulls to check.
    pub async fn compute_signature_verdict(
        &self,
        subject: &SubjectFacts,
    ) -> RegistryResult<Verdict> {
        // The epoch first: anything that changes while this runs bumps it past what is stored.
        let epoch = current_epoch(&self.db, subject.project_id).await?;
        let anchors = anchors_for(&self.db, subject.project_id).await?;
        let of_kind = |k: AnchorKind| anchors.iter().filter(|a| a.kind == k).collect::<Vec<_>>();
        let (cosign_keys, notation_roots) =
            (of_kind(AnchorKind::Cosign), of_kind(AnchorKind::Notation));
        let signed = SignedSubject {
            digest: &subject.digest,
            media_type: &subject.media_type,
            size: subject.size,
        };
        let now = Utc::now().timestamp();
        let mut verdict = Verdict::default();
        for (accessory, tag_suffix) in self.accessories(subject).await? {
            let artifact_type = accessory.artifact_type.clone().unwrap_or_default();
            let Ok(digest) = Digest::parse(&accessory.digest) else {
                continue;
            };
            match tag_suffix.as_deref() {
                Some("att") => {
                    verdict.attestations.push(accessory.digest.clone());
                    continue;
                }
                Some("sbom") => {
                    verdict.sboms.push(accessory.digest.clone());
                    continue;
                }
                _ => {}
            }
            if is_sbom(&artifact_type) {
                verdict.sboms.push(accessory.digest.clone());
                continue;
            }
            let is_cosign_sig = tag_suffix.as_deref() == Some("sig")
                || artifact_type == cosign::SIGNATURE_ARTIFACT_TYPE;
            let is_notation = artifact_type == notation::ARTIFACT_TYPE;
            let is_bundle = cosign::is_bundle(&artifact_type);
            if !(is_cosign_sig || is_notation || is_bundle) {
                if is_attestation(&artifact_type) {
                    verdict.attestations.push(accessory.digest.clone());
                }
                continue;
            }
            let manifest = self
                .manifest_bytes(&digest, accessory.manifest_size as usize)
                .await?;
            let manifest: Value = serde_json::from_slice(&manifest).unwrap_or(Value::Null);
            for layer in layers_of(&manifest) {
                let fail = |kind, format: &str, why: String| {
                    signing::SignatureCheck::failed(kind, format, &accessory.digest, why)
                };
                if is_cosign_sig && layer.media_type == cosign::SIMPLE_SIGNING {
                    let check = match self.small_blob(&layer).await {
                        Ok(payload) => cosign::verify_simple_signing(
                            &subject.digest,
                            &accessory.digest,
                            &payload,
                            layer
                                .annotations
                                .get(cosign::SIGNATURE_ANNOTATION)
                                .map(String::as_str),
                            &cosign_keys,
                        ),
                        Err(why) => fail(AnchorKind::Cosign, "cosign", why),
                    };
                    verdict.signatures.push(check);
                } else if is_bundle && cosign::is_bundle(&layer.media_type) {
                    match self.small_blob(&layer).await {
                        Ok(bundle) => match cosign::verify_bundle(
                            &subject.digest,
                            &accessory.digest,
                            &bundle,
                            &cosign_keys,
                        ) {
                            cosign::BundleContent::Signature(check) => {
                                verdict.signatures.push(check)
                            }
                            cosign::BundleContent::Attestation { .. } => {
                                verdict.attestations.push(accessory.digest.clone())
                            }
                        },
                        Err(why) => {
                            verdict
                                .signatures
                                .push(fail(AnchorKind::Cosign, "cosign-bundle", why))
                        }
                    }
                } else if is_notation
                    && (layer.media_type == notation::JWS || layer.media_type == notation::COSE)
                {
                    let check = match self.small_blob(&layer).await {
                        Ok(envelope) => notation::verify(
                            signed,
                            &accessory.digest,
                            &layer.media_type,
                            &envelope,
                            &notation_roots,
                            now,
                        ),
                        Err(why) => fail(AnchorKind::Notation, "notation", why),
                    };
                    verdict.signatures.push(check);
                }
            }
        }
        self.store_verdict(subject.artifact_id, epoch, &verdict)
            .await?;
        Ok(verdict)
    }

    async fn store_verdict(
        &self,
        artifact_id: i64,
        epoch: i64,
        verdict: &Verdict,
    ) -> RegistryResult<()> {
        let backend = self.db.get_database_backend();
        let ps: Vec<String> = (1..=5)
            .map(|i| match backend {
                sea_orm::DatabaseBackend::Postgres => format!("${i}"),
                _ => "?".into(),
            })
            .collect();
        // A verdict computed at an older epoch never replaces a newer one.
        let sql = format!(
            "INSERT INTO signature_verdicts (artifact_id, epoch, status, detail, computed_at) \
             VALUES ({}, {}, {}, {}, {}) ON CONFLICT (artifact_id) DO UPDATE SET \
             epoch = excluded.epoch, status = excluded.status, detail = excluded.detail, \
             computed_at = excluded.computed_at WHERE signature_verdicts.epoch <= excluded.epoch",
            ps[0], ps[1], ps[2], ps[3], ps[4]
        );
        let detail = serde_json::to_string(verdict).expect("a verdict serialises");
        let write = self.write_gate().await?;
        let txn = write.begin(&self.db).await?;
        let result = txn
            .execute(Statement::from_sql_and_values(
                backend,
                sql,
                [
                    artifact_id.into(),
                    epoch.into(),
                    verdict.status().as_str().into(),
                    detail.into(),
                    Utc::now().into(),
                ],
            ))
            .await;
        match result {
            Ok(_) => txn.commit().await?,
            // The artifact went away meanwhile, or the row is held: the verdict is recomputed
            // by the next pull.
            Err(e) => tracing::debug!(error = %e, artifact_id, "signature verdict not stored"),
        }
        Ok(())
    }

    /// The stored verdict when it is current, else a fresh one.
    pub async fn signature_verdict(
        &self,
        subject: &SubjectFacts,
        stored: Option<(i64, &str)>,
        current_epoch: i64,
    ) -> RegistryResult<Verdict> {
        if let Some((epoch, detail)) = stored {
            if epoch == current_epoch {
                if let Ok(v) = serde_json::from_str::<Verdict>(detail) {
                    return Ok(v);
                }
            }
        }
        self.compute_signature_verdict(subject).await
    }

    /// The verdict of `a` (of project `project_id`, whose trust epoch is `epoch` now) for
    /// listings: the stored one when current, else computed now.
    pub(crate) async fn verdict_of(
        &self,
        a: &artifact::Model,
        project_id: i64,
        epoch: i64,
    ) -> RegistryResult<Verdict> {
        use crate::entities::signature_verdict;
        let stored = signature_verdict::Entity::find_by_id(a.id)
            .one(&self.db)
            .await?;
        let subject = SubjectFacts {
            artifact_id: a.id,
            repository_id: a.repository_id,
            project_id,
            digest: a.digest.clone(),
            media_type: a.media_type.clone(),
            size: a.manifest_size.max(0) as u64,
        };
        self.signature_verdict(
            &subject,
            stored.as_ref().map(|s| (s.epoch, s.detail.as_str())),
            epoch,
        )
        .await
    }

    /// Whether an image index of the same repository that lists `subject` satisfies the policy.
    async fn covered_by_signed_index(
        &self,
        subject: &SubjectFacts,
        policy: &SignaturePolicy,
    ) -> RegistryResult<bool> {
        use crate::entities::artifact_ref;
        let parents: Vec<i64> = artifact_ref::Entity::find()
            .filter(artifact_ref::Column::Kind.eq("manifest"))
            .filter(artifact_ref::Column::Digest.eq(subject.digest.as_str()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| r.artifact_id)
            .collect();
        if parents.is_empty() {
            return Ok(false);
        }
        let indexes = artifact::Entity::find()
            .filter(artifact::Column::Id.is_in(parents))
            .filter(artifact::Column::RepositoryId.eq(subject.repository_id))
            .all(&self.db)
            .await?;
        let epoch = current_epoch(&self.db, subject.project_id).await?;
        for index in indexes {
            if self
                .verdict_of(&index, subject.project_id, epoch)
                .await?
                .satisfies(&policy.kinds)
                .is_ok()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The pull gate: under `enforce`, an artifact without a signature that verifies against a
    /// trusted anchor is refused (412); under `audit` it is served and the reason recorded.
    /// System administrators pull anyway, audited. Nothing about the request exempts anyone.
    pub(super) async fn check_signature(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        reference: &Reference,
        policy: &SignaturePolicy,
        verdict: &Verdict,
        subject: &SubjectFacts,
    ) -> RegistryResult<()> {
        let Err(reason) = verdict.satisfies(&policy.kinds) else {
            return Ok(());
        };
        if policy.covers_children && self.covered_by_signed_index(subject, policy).await? {
            return Ok(());
        }
        let exempt = self.exempt_from_vulnerability_rule(caller).await?;
        let (outcome, detail) = if exempt {
            (
                Outcome::Success,
                format!("served to a system administrator despite the signature policy: {reason}"),
            )
        } else if policy.mode == "audit" {
            (
                Outcome::Success,
                format!("served under signature_policy audit: {reason}"),
            )
        } else {
            (Outcome::Failure, format!("refused: {reason}"))
        };
        let resource = format!("{repo}:{reference}@{}", subject.digest);
        self.audit_pull_gate(caller, &resource, subject.project_id, outcome, &detail)
            .await?;
        if exempt || policy.mode == "audit" {
            return Ok(());
        }
        Err(RegistryError::new(
            OciCode::Unsigned,
            format!(
                "`{repo}:{reference}` cannot be pulled: project `{}` requires a trusted signature \
                 ({}): {reason}",
                repo.project(),
                policy
                    .kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ))
    }
}

/// Deletes `artifact` and its accessories with it (its referrers, the artifacts of its
/// `sha256-<hex>.sig|.att|.sbom` tags, and theirs), in the caller's transaction, and marks the
/// project's verdicts stale when a signature went. Returns the accessories' digests.
pub(crate) async fn delete_with_accessories(
    conn: &impl ConnectionTrait,
    project_id: i64,
    doomed: &artifact::Model,
) -> Result<Vec<String>, sea_orm::DbErr> {
    use sea_orm::QuerySelect;
    let mut ids = vec![doomed.id];
    let mut accessories = Vec::new();
    let mut work = vec![doomed.digest.clone()];
    while let Some(digest) = work.pop() {
        let mut next: Vec<artifact::Model> = artifact::Entity::find()
            .filter(artifact::Column::RepositoryId.eq(doomed.repository_id))
            .filter(artifact::Column::SubjectDigest.eq(digest.as_str()))
            .all(conn)
            .await?;
        let hex = digest.strip_prefix("sha256:").unwrap_or(&digest);
        let tagged: Vec<i64> = tag::Entity::find()
            .filter(tag::Column::RepositoryId.eq(doomed.repository_id))
            .filter(tag::Column::Name.starts_with(format!("sha256-{hex}.")))
            .all(conn)
            .await?
            .into_iter()
            .filter(|t| accessory_tag(&t.name).is_some())
            .map(|t| t.artifact_id)
            .collect();
        if !tagged.is_empty() {
            next.extend(
                artifact::Entity::find()
                    .filter(artifact::Column::Id.is_in(tagged))
                    .limit(10_000)
                    .all(conn)
                    .await?,
            );
        }
        for a in next {
            if !ids.contains(&a.id) {
                ids.push(a.id);
                accessories.push(a.digest.clone());
                work.push(a.digest);
            }
        }
    }
    crate::entities::signature_verdict::Entity::delete_many()
        .filter(crate::entities::signature_verdict::Column::ArtifactId.is_in(ids.clone()))
        .exec(conn)
        .await?;
    artifact::Entity::delete_many()
        .filter(artifact::Column::Id.is_in(ids))
        .exec(conn)
        .await?;
    if !accessories.is_empty() || doomed.subject_digest.is_some() {
        bump_epoch(conn, project_id).await?;
    }
    Ok(accessories)
}
