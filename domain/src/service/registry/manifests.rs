//! Manifests: validated on push, stored byte-exact, served with their pushed media type.

use bytes::Bytes;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};

use super::manifest_json::parse;
use super::{OciCode, Registry, RegistryCaller, RegistryError, RegistryResult, RepoAction};
use crate::entities::{artifact, artifact_ref, tag};
use crate::service::audit::{self, Outcome, Record};
use crate::storage::digest_of;
use crate::types::{Digest, DigestAlgorithm, Reference, RepoName};

#[derive(Debug, sea_orm::FromQueryResult)]
struct ManifestRow {
    id: i64,
    digest: String,
    media_type: String,
    manifest_size: i64,
    project_id: i64,
    repository_id: i64,
    /// The project's metadata (JSON), for the vulnerability rule and the signature policy.
    project_metadata: String,
    /// The stored signature verdict, and the trust epoch it must have to be current.
    verdict_epoch: Option<i64>,
    verdict_detail: Option<String>,
    trust_epoch: i64,
    /// Set for an OCI 1.1 referrer (a signature, attestation or SBOM of another manifest).
    subject_digest: Option<String>,
}

type Metadata = std::collections::BTreeMap<String, String>;

/// Subjects of the short-lived tokens Berth hands to scanners start with this.
pub const SCANNER_PREFIX: &str = "scanner@";

fn urlencoding_path(repository: &str) -> String {
    repository.replace('/', "%2F")
}

/// A manifest ready to serve.
pub struct ManifestRead {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    /// Empty for `HEAD`.
    pub bytes: Bytes,
}

pub struct PushedManifest {
    pub digest: Digest,
    /// The `subject` of the manifest, for the `OCI-Subject` response header.
    pub subject: Option<Digest>,
}

impl Registry {
    async fn find_artifact(
        &self,
        conn: &impl ConnectionTrait,
        repository_id: i64,
        reference: &Reference,
    ) -> RegistryResult<Option<artifact::Model>> {
        match reference {
            Reference::Digest(d) => Ok(artifact::Entity::find()
                .filter(artifact::Column::RepositoryId.eq(repository_id))
                .filter(artifact::Column::Digest.eq(d.to_string()))
                .one(conn)
                .await?),
            Reference::Tag(t) => {
                let Some(tag) = tag::Entity::find()
                    .filter(tag::Column::RepositoryId.eq(repository_id))
                    .filter(tag::Column::Name.eq(t.as_str()))
                    .one(conn)
                    .await?
                else {
                    return Ok(None);
                };
                Ok(artifact::Entity::find_by_id(tag.artifact_id)
                    .one(conn)
                    .await?)
            }
        }
    }

    /// `GET`/`HEAD /v2/<name>/manifests/<reference>`.
    pub async fn read_manifest(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        reference: &Reference,
        with_body: bool,
    ) -> RegistryResult<ManifestRead> {
        self.authorize_read(caller, repo).await?;
        let unknown = || {
            RegistryError::new(
                OciCode::ManifestUnknown,
                format!("manifest `{reference}` is not in `{repo}`"),
            )
        };
        let found = self
            .lookup_manifest(repo, reference)
            .await?
            .ok_or_else(unknown)?;
        let digest =
            Digest::parse(&found.digest).map_err(|e| RegistryError::new(OciCode::Internal, e))?;
        let gated = with_body
            && (found.project_metadata.contains("prevent_vul")
                || found.project_metadata.contains("enable_content_trust"));
        if gated {
            // Parsed once for both pull rules.
            let metadata: Metadata =
                serde_json::from_str(&found.project_metadata).unwrap_or_default();
            self.check_vulnerabilities(caller, repo, reference, &found, &metadata)
                .await?;
            self.check_signature_policy(caller, repo, reference, &found, &metadata)
                .await?;
        }
        let bytes = if with_body {
            let bytes = self
                .manifest_bytes(&digest, found.manifest_size as usize)
                .await?;
            self.pulls.record(
                found.id,
                &caller.actor,
                found.project_id,
                format!("{repo}:{reference}"),
            );
            bytes
        } else {
            Bytes::new()
        };
        Ok(ManifestRead {
            digest,
            media_type: found.media_type,
            size: found.manifest_size as u64,
            bytes,
        })
    }

    /// One query from repository name and reference to the artifact: the pull hot path.
    async fn lookup_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> RegistryResult<Option<ManifestRow>> {
        use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
        let backend = self.db.get_database_backend();
        let (p1, p2) = match backend {
            sea_orm::DatabaseBackend::Postgres => ("$1", "$2"),
            _ => ("?", "?"),
        };
        let (join, condition, value) = match reference {
            Reference::Tag(t) => (
                "JOIN tags t ON t.artifact_id = a.id",
                format!("t.name = {p2}"),
                t.to_string(),
            ),
            Reference::Digest(d) => ("", format!("a.digest = {p2}"), d.to_string()),
        };
        let sql = format!(
            "SELECT a.id, a.digest, a.media_type, a.manifest_size, r.project_id, a.repository_id, \
             p.metadata AS project_metadata, v.epoch AS verdict_epoch, v.detail AS verdict_detail, \
             COALESCE(pe.epoch, 0) + COALESCE(se.epoch, 0) AS trust_epoch, a.subject_digest \
             FROM artifacts a JOIN repositories r ON r.id = a.repository_id \
             JOIN projects p ON p.id = r.project_id {join} \
             LEFT JOIN signature_verdicts v ON v.artifact_id = a.id \
             LEFT JOIN signature_epochs pe ON pe.project_id = r.project_id \
             LEFT JOIN signature_epochs se ON se.project_id = 0 \
             WHERE r.name = {p1} AND {condition}"
        );
        let stmt =
            Statement::from_sql_and_values(backend, sql, [repo.to_string().into(), value.into()]);
        Ok(ManifestRow::find_by_statement(stmt).one(&self.db).await?)
    }

    /// The signature policy of the artifact's project, against its stored verdict (computed
    /// now when there is none for the current trust epoch).
    async fn check_signature_policy(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        reference: &Reference,
        found: &ManifestRow,
        metadata: &Metadata,
    ) -> RegistryResult<()> {
        use super::signatures::{SignaturePolicy, SubjectFacts};
        let Some(policy) = SignaturePolicy::of(metadata) else {
            return Ok(());
        };

        let subject = SubjectFacts {
            artifact_id: found.id,
            repository_id: found.repository_id,
            project_id: found.project_id,
            digest: found.digest.clone(),
            media_type: found.media_type.clone(),
            size: found.manifest_size as u64,
        };
        let stored = found.verdict_epoch.zip(found.verdict_detail.as_deref());
        let verdict = self
            .signature_verdict(&subject, stored, found.trust_epoch)
            .await?;
        // Signatures, attestations and SBOMs are what verification reads (`cosign verify`
        // pulls the `.sig` manifest), so they are not themselves held to the policy — but only
        // while nothing in them can run: a "referrer" with filesystem layers is an image.
        if verdict.satisfies(&policy.kinds).is_err() && self.is_accessory(reference, found).await? {
            let digest = Digest::parse(&found.digest)
                .map_err(|e| RegistryError::new(OciCode::Internal, e))?;
            let bytes = self
                .manifest_bytes(&digest, found.manifest_size as usize)
                .await?;
            if super::signatures::inert_accessory(&bytes) {
                return Ok(());
            }
        }
        self.check_signature(caller, repo, reference, &policy, &verdict, &subject)
            .await
    }

    /// Whether the manifest is an accessory of another: a referrer, or cosign's
    /// `sha256-<hex>.sig|.att|.sbom` tag (pulled by that tag, or by digest).
    async fn is_accessory(
        &self,
        reference: &Reference,
        found: &ManifestRow,
    ) -> RegistryResult<bool> {
        use super::signatures::accessory_tag;
        if found.subject_digest.is_some() {
            return Ok(true);
        }
        Ok(match reference {
            Reference::Tag(t) => accessory_tag(t.as_str()).is_some(),
            Reference::Digest(_) => tag::Entity::find()
                .filter(tag::Column::ArtifactId.eq(found.id))
                .all(&self.db)
                .await?
                .iter()
                .any(|t| accessory_tag(&t.name).is_some()),
        })
    }

    /// A project that prevents vulnerable images refuses the pull (412) when the artifact's
    /// latest report has findings at or above its severity that neither its CVE allowlist nor
    /// (with `reuse_sys_cve_allowlist`) the system's covers; system administrators and the
    /// scanners' own tokens are exempt. Refusals are audited.
    async fn check_vulnerabilities(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        reference: &Reference,
        found: &ManifestRow,
        metadata: &Metadata,
    ) -> RegistryResult<()> {
        use crate::service::scans;
        if metadata.get("prevent_vul").map(String::as_str) != Some("true") {
            return Ok(());
        }
        if self.exempt_from_vulnerability_rule(caller).await? {
            return Ok(());
        }
        let threshold = metadata
            .get("severity")
            .cloned()
            .unwrap_or_else(|| "low".into());
        let report = scans::reports::latest_report_for_pull(
            &self.db,
            found.id,
            found.repository_id,
            &found.digest,
        )
        .await?;
        let refusal = match report {
            None if self.settings.block_unscanned => Some(format!(
                "`{repo}:{reference}` has not been scanned yet and project `{}` prevents \
                 vulnerable images from being pulled; scan it first \
                 (POST /api/v2.0/projects/{}/repositories/{}/artifacts/{}/scan)",
                repo.project(),
                repo.project(),
                urlencoding_path(repo.path()),
                found.digest
            )),
            None => None,
            Some(report) => {
                let now = Utc::now().timestamp();
                let mut allowed = scans::reports::allowlist(&self.db, found.project_id)
                    .await?
                    .active_at(now);
                if metadata.get("reuse_sys_cve_allowlist").map(String::as_str) == Some("true") {
                    allowed.extend(scans::reports::allowlist(&self.db, 0).await?.active_at(now));
                }
                let ids = scans::reports::blocking(&report, &threshold, &allowed);
                (!ids.is_empty()).then(|| {
                    let shown: Vec<&str> = ids.iter().take(20).map(String::as_str).collect();
                    format!(
                        "`{repo}:{reference}` has {} vulnerabilit{} of severity `{threshold}` or \
                         higher and project `{}` prevents vulnerable images from being pulled: \
                         {}{}. To pull it anyway, a project administrator adds these ids to the \
                         project's CVE allowlist (console: project → Vulnerability, or PUT \
                         /api/v2.0/projects/{} with cve_allowlist.items)",
                        ids.len(),
                        if ids.len() == 1 { "y" } else { "ies" },
                        repo.project(),
                        shown.join(", "),
                        if ids.len() > shown.len() { ", …" } else { "" },
                        repo.project()
                    )
                })
            }
        };
        let Some(message) = refusal else {
            return Ok(());
        };
        let resource = format!("{repo}:{reference}@{}", found.digest);
        self.audit_pull_gate(
            caller,
            &resource,
            found.project_id,
            Outcome::Failure,
            "refused: vulnerable (prevent_vul)",
        )
        .await?;
        Err(RegistryError::new(OciCode::Vulnerable, message))
    }

    /// The audit row of a pull gate's decision (a refusal, an exemption, an audit-mode serve).
    pub(super) async fn audit_pull_gate(
        &self,
        caller: &RegistryCaller,
        resource: &str,
        project_id: i64,
        outcome: Outcome,
        detail: &str,
    ) -> RegistryResult<()> {
        audit::record_with_detail_now(
            &self.db,
            caller.actor.principal.kind(),
            caller.actor.principal.name(),
            &caller.actor.source_ip,
            Record {
                operation: "pull",
                resource_type: "artifact",
                resource,
                project_id: Some(project_id),
                outcome,
            },
            detail,
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot audit a pull gate's decision");
            RegistryError::new(OciCode::Internal, "internal error")
        })
    }

    /// System administrators (also through a token) and scanners pulling what they scan.
    pub(super) async fn exempt_from_vulnerability_rule(
        &self,
        caller: &RegistryCaller,
    ) -> RegistryResult<bool> {
        use crate::policy::authz::{exempt_from_pull_gates, Subject};
        use crate::service::Principal;
        Ok(match &caller.actor.principal {
            // The token may predate a promotion: the account as it is now decides.
            Principal::User(u) => {
                let is_admin = u.is_admin
                    || crate::entities::user::Entity::find_by_id(u.id)
                        .one(&self.db)
                        .await?
                        .is_some_and(|row| row.is_admin);
                exempt_from_pull_gates(Subject::User { is_admin })
            }
            Principal::Robot(r) => r.id == 0 && r.name.starts_with(SCANNER_PREFIX),
            Principal::Anonymous => false,
        })
    }

    /// Manifest bytes, from the in-memory cache when possible (content-addressed, so a cached
    /// entry can never be stale).
    pub(super) async fn manifest_bytes(
        &self,
        digest: &Digest,
        size_hint: usize,
    ) -> RegistryResult<Bytes> {
        let key = digest.to_string();
        if let Some(hit) = self.manifest_cache.lock().expect("cache lock").get(&key) {
            return Ok(hit.clone());
        }
        let mut stream = self.store.read(digest, None).await?;
        let mut buf = Vec::with_capacity(size_hint);
        use futures::StreamExt;
        while let Some(chunk) = stream.next().await {
            buf.extend_from_slice(&chunk.map_err(crate::storage::StorageError::Io)?);
        }
        let bytes = Bytes::from(buf);
        self.manifest_cache
            .lock()
            .expect("cache lock")
            .insert(key, bytes.clone());
        Ok(bytes)
    }

    /// `PUT /v2/<name>/manifests/<reference>`.
    pub async fn put_manifest(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        reference: &Reference,
        content_type: Option<&str>,
        bytes: Bytes,
    ) -> RegistryResult<PushedManifest> {
        let project = self.authorize(caller, repo, RepoAction::Push).await?;
        if bytes.len() > self.settings.max_manifest_bytes {
            return Err(RegistryError::new(
                OciCode::TooLarge,
                format!(
                    "manifest of {} bytes exceeds the limit of {} bytes",
                    bytes.len(),
                    self.settings.max_manifest_bytes
                ),
            ));
        }
        let algorithm = match reference {
            Reference::Digest(d) => d.algorithm(),
            Reference::Tag(_) => DigestAlgorithm::Sha256,
        };
        let digest = digest_of(algorithm, &bytes);
        if let Reference::Digest(expected) = reference {
            if expected != &digest {
                return Err(RegistryError::new(
                    OciCode::DigestInvalid,
                    format!("manifest digest is {digest}, not {expected}"),
                ));
            }
        }
        let parsed = parse(&bytes, content_type)?;

        let write = self.write_gate().await?;
        // One transaction from the reference check to the tag, holding off garbage collection
        // (`gc::hold_off`), so that nothing checked here can be swept before it is referenced.
        let txn = write.begin(&self.db).await?;
        super::gc::hold_off(&txn).await?;
        // Everything the manifest references must already be in this repository.
        let repository = self.ensure_repository(&txn, &project, repo).await?;
        let mut unique_size: u64 = bytes.len() as u64;
        let mut seen = std::collections::HashSet::new();
        for (d, size, kind) in &parsed.refs {
            let present = if *kind == "manifest" {
                self.find_artifact(&txn, repository.id, &Reference::Digest(d.clone()))
                    .await?
                    .is_some()
            } else {
                self.linked_blob_size(&txn, repository.id, d)
                    .await?
                    .is_some()
            };
            if !present {
                return Err(RegistryError::new(
                    OciCode::ManifestBlobUnknown,
                    format!("{kind} {d} referenced by the manifest is not in `{repo}`"),
                ));
            }
            if seen.insert(d.clone()) {
                unique_size += size;
            }
        }

        // Bytes first, durably; then the metadata that makes them visible.
        self.store.put(&digest, bytes.clone()).await?;
        let now = Utc::now();
        let txn = self
            .link_or_refuse(caller, txn, repository.id, &digest, bytes.len() as u64)
            .await?;
        let existing = self
            .find_artifact(&txn, repository.id, &Reference::Digest(digest.clone()))
            .await?;
        let existing_was_none = existing.is_none();
        let artifact_id = match existing {
            Some(a) => a.id,
            None => {
                let created = artifact::ActiveModel {
                    repository_id: Set(repository.id),
                    digest: Set(digest.to_string()),
                    media_type: Set(parsed.media_type.clone()),
                    artifact_type: Set(parsed.artifact_type.clone()),
                    manifest_size: Set(bytes.len() as i64),
                    size: Set(unique_size as i64),
                    subject_digest: Set(parsed.subject.as_ref().map(|s| s.to_string())),
                    annotations: Set(
                        serde_json::to_string(&parsed.annotations).expect("string map")
                    ),
                    push_time: Set(now),
                    pull_time: Set(None),
                    pull_count: Set(0),
                    pushed_by: Set(caller.actor.principal.name().into()),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                let mut inserted = std::collections::HashSet::new();
                for (d, size, kind) in &parsed.refs {
                    if inserted.insert(d.to_string()) {
                        artifact_ref::ActiveModel {
                            artifact_id: Set(created.id),
                            digest: Set(d.to_string()),
                            kind: Set((*kind).into()),
                            size: Set(*size as i64),
                        }
                        .insert(&txn)
                        .await?;
                    }
                }
                created.id
            }
        };
        let mut moved_from: Option<i64> = None;
        if let Reference::Tag(t) = reference {
            let current = tag::Entity::find()
                .filter(tag::Column::RepositoryId.eq(repository.id))
                .filter(tag::Column::Name.eq(t.as_str()))
                .one(&txn)
                .await?;
            match current {
                Some(existing) if existing.artifact_id == artifact_id => {
                    // The same digest again: idempotent, also for immutable tags.
                    let mut active = existing.into_active_model();
                    active.push_time = Set(now);
                    active.update(&txn).await?;
                }
                Some(existing) => {
                    // cosign adds a signature by moving its `.sig` tag: a protected artifact
                    // can still be signed.
                    if super::signatures::accessory_tag(t.as_str()).is_none() {
                        self.refuse_immutable(
                            &txn,
                            project.id,
                            repo,
                            &[t.to_string()],
                            "cannot push",
                        )
                        .await?;
                    }
                    moved_from = Some(existing.artifact_id);
                    let mut active = existing.into_active_model();
                    active.artifact_id = Set(artifact_id);
                    active.push_time = Set(now);
                    active.update(&txn).await?;
                }
                None => {
                    tag::ActiveModel {
                        repository_id: Set(repository.id),
                        name: Set(t.to_string()),
                        artifact_id: Set(artifact_id),
                        push_time: Set(now),
                        ..Default::default()
                    }
                    .insert(&txn)
                    .await?;
                }
            }
        }
        let accessory = parsed.subject.is_some()
            || matches!(reference, Reference::Tag(t) if super::signatures::accessory_tag(t.as_str()).is_some());
        if accessory {
            super::signatures::bump_epoch(&*txn, project.id).await?;
        }
        audit::record_with(
            &*txn,
            &caller.actor,
            Record {
                operation: "push",
                resource_type: "artifact",
                resource: &format!("{repo}:{reference}@{digest}"),
                project_id: Some(project.id),
                outcome: Outcome::Success,
            },
            serde_json::json!({
                "artifact_id": artifact_id,
                "digest": digest.to_string(),
                "tag": match reference { Reference::Tag(t) => Some(t.as_str()), _ => None },
                "media_type": parsed.media_type,
                "artifact_type": parsed.artifact_type,
                "manifest_size": bytes.len(),
                "size": unique_size,
                "subject": parsed.subject.as_ref().map(|s| s.to_string()),
                "created": existing_was_none,
                "tag_moved_from_artifact": moved_from,
                "pusher": caller.actor.principal.name(),
            }),
        )
        .await?;
        txn.commit().await?;
        Ok(PushedManifest {
            digest,
            subject: parsed.subject,
        })
    }

    /// `DELETE /v2/<name>/manifests/<digest>` removes the artifact and its tags;
    /// `DELETE …/manifests/<tag>` removes only the tag.
    pub async fn delete_manifest(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        reference: &Reference,
    ) -> RegistryResult<()> {
        let project = self.authorize(caller, repo, RepoAction::Delete).await?;
        let unknown = || {
            RegistryError::new(
                OciCode::ManifestUnknown,
                format!("manifest `{reference}` is not in `{repo}`"),
            )
        };
        let repository = self
            .find_repository(&self.db, repo)
            .await?
            .ok_or_else(unknown)?;
        let write = self.write_gate().await?;
        let txn = write.begin(&self.db).await?;
        let payload = match reference {
            Reference::Tag(t) => {
                self.refuse_immutable(&txn, project.id, repo, &[t.to_string()], "cannot delete")
                    .await?;
                let row = tag::Entity::find()
                    .filter(tag::Column::RepositoryId.eq(repository.id))
                    .filter(tag::Column::Name.eq(t.as_str()))
                    .one(&txn)
                    .await?
                    .ok_or_else(unknown)?;
                let res = tag::Entity::delete_by_id(row.id).exec(&txn).await?;
                if res.rows_affected == 0 {
                    return Err(unknown());
                }
                if super::signatures::accessory_tag(t.as_str()).is_some() {
                    super::signatures::bump_epoch(&*txn, project.id).await?;
                }
                // What the tag named, for the event's consumers (replication deletes it there).
                let digest = crate::entities::artifact::Entity::find_by_id(row.artifact_id)
                    .one(&txn)
                    .await?
                    .map(|a| a.digest);
                serde_json::json!({ "tag": t.as_str(), "artifact_id": row.artifact_id, "digest": digest })
            }
            Reference::Digest(_) => {
                let a = self
                    .find_artifact(&txn, repository.id, reference)
                    .await?
                    .ok_or_else(unknown)?;
                let tags: Vec<String> = tag::Entity::find()
                    .filter(tag::Column::ArtifactId.eq(a.id))
                    .all(&txn)
                    .await?
                    .into_iter()
                    .map(|t| t.name)
                    .collect();
                self.refuse_immutable(&txn, project.id, repo, &tags, "cannot delete the artifact")
                    .await?;
                let accessories =
                    super::signatures::delete_with_accessories(&*txn, project.id, &a).await?;
                serde_json::json!({
                    "artifact_id": a.id,
                    "digest": a.digest,
                    "media_type": a.media_type,
                    "tags": tags,
                    "accessories": accessories,
                })
            }
        };
        audit::record_with(
            &*txn,
            &caller.actor,
            Record {
                operation: "delete",
                resource_type: if matches!(reference, Reference::Tag(_)) {
                    "tag"
                } else {
                    "artifact"
                },
                resource: &format!("{repo}:{reference}"),
                project_id: Some(project.id),
                outcome: Outcome::Success,
            },
            payload,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
