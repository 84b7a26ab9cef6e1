//! SBOMs as accessories: generated from the scanner's inventory of an image (on demand, or on
//! push with the project's `auto_sbom_generation`) and attached as an OCI 1.1 referrer of it,
//! pushed through the registry like any client's push (so quota, events and audit apply); and
//! read back — Berth's own and the ones users push (CycloneDX, SPDX, Harbor's, cosign's
//! `.sbom` tags).

use bytes::Bytes;
use futures::StreamExt;
use sea_orm::EntityTrait;
use serde::Serialize;

use super::{OciCode, Registry, RegistryCaller, RegistryError, RegistryResult};
use crate::entities::{artifact, repository};
use crate::policy::authz::Action;
use crate::scan::sbom::{self, SbomFormat, SbomProvenance, SbomSubject};
use crate::service::{Actor, DomainError, DomainResult};
use crate::storage::ByteStream;
use crate::types::dto::SbomView;
use crate::types::{Digest, Reference, RepoName};

/// The annotation Berth puts on the SBOMs it generates (its value: the generator's version).
pub const GENERATOR_ANNOTATION: &str = "dev.berth.sbom.generator";
/// The scan-queue job that generates an SBOM in `format` is the scanner `sbom:<format>`.
pub const JOB_PREFIX: &str = "sbom:";
/// The largest SBOM the console's package list reads (the download streams any size).
const MAX_PARSED_SBOM: usize = 32 << 20;
/// The OCI empty config (`{}`).
const EMPTY_CONFIG: &[u8] = b"{}";
const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";

/// The job name (`scanner` of a `scans` row) of an SBOM generation in `format`.
pub fn job_name(format: SbomFormat) -> String {
    format!("{JOB_PREFIX}{}", format.as_str())
}

/// One SBOM attached to an artifact.
#[derive(Clone, Debug, Serialize)]
pub struct SbomDocument {
    /// The referrer (or `.sbom` tag) manifest's digest.
    pub digest: String,
    /// The document's media type (its layer's), e.g. `application/vnd.cyclonedx+json`.
    pub media_type: String,
    /// `cyclonedx` or `spdx` when recognised (Harbor's wrapper: the format inside is not known
    /// until read).
    pub format: Option<SbomFormat>,
    /// Berth's version, when Berth generated it.
    pub generated_by: Option<String>,
    pub size: u64,
    pub push_time: String,
    #[serde(skip)]
    blob: Digest,
}

fn body(bytes: Vec<u8>) -> ByteStream {
    Box::pin(futures::stream::once(async move {
        Ok::<_, std::io::Error>(Bytes::from(bytes))
    }))
}

fn sha256(bytes: &[u8]) -> Digest {
    use sha2::Digest as _;
    Digest::parse(&format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(bytes))
    ))
    .expect("a sha256 digest")
}

impl Registry {
    /// Uploads `bytes` as a blob of `repo` for `caller` (one monolithic upload).
    async fn put_small_blob(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        bytes: Vec<u8>,
    ) -> RegistryResult<Digest> {
        let digest = sha256(&bytes);
        let upload = self.start_upload(caller, repo).await?;
        self.finish_upload(caller, repo, &upload.id, &digest, Some((None, body(bytes))))
            .await?;
        Ok(digest)
    }

    /// Generates an SBOM of `a` in `format` and attaches it as a referrer, as Berth (the
    /// system actor). An SBOM Berth generated earlier in the same format is replaced. Returns
    /// the new referrer's digest.
    pub async fn generate_sbom(
        &self,
        a: &artifact::Model,
        format: SbomFormat,
    ) -> RegistryResult<String> {
        let r = repository::Entity::find_by_id(a.repository_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| RegistryError::new(OciCode::NameUnknown, "the repository is gone"))?;
        let repo =
            RepoName::parse(&r.name).map_err(|e| RegistryError::new(OciCode::Internal, e))?;
        let inventory = crate::service::scans::builtin::inventory_of(&self.db, &self.store, a)
            .await
            .map_err(|e| RegistryError::new(OciCode::Unavailable, e))?;
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let serial = uuid::Uuid::new_v4().to_string();
        let subject = SbomSubject {
            repository: &r.name,
            digest: &a.digest,
            registry: &self.settings.hostname,
        };
        let provenance = SbomProvenance {
            tool_version: env!("CARGO_PKG_VERSION"),
            timestamp: &now,
            serial: &serial,
        };
        let doc = match format {
            SbomFormat::CycloneDx => sbom::cyclonedx(&subject, &provenance, &inventory),
            SbomFormat::Spdx => sbom::spdx(&subject, &provenance, &inventory),
        };
        let doc = serde_json::to_vec_pretty(&doc).expect("an SBOM serializes");
        let caller = RegistryCaller {
            actor: Actor::system(),
            token_access: None,
        };
        let previous: Vec<String> = self
            .sboms_of(a)
            .await?
            .into_iter()
            .filter(|d| d.generated_by.is_some() && d.format == Some(format))
            .map(|d| d.digest)
            .collect();
        let doc_size = doc.len();
        let doc_digest = self.put_small_blob(&caller, &repo, doc).await?;
        let config = self
            .put_small_blob(&caller, &repo, EMPTY_CONFIG.to_vec())
            .await?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": format.media_type(),
            "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": config.to_string(), "size": EMPTY_CONFIG.len()},
            "layers": [{
                "mediaType": format.media_type(),
                "digest": doc_digest.to_string(),
                "size": doc_size,
                "annotations": {"org.opencontainers.image.title": format!("sbom.{}.json", format.as_str())},
            }],
            "subject": {"mediaType": a.media_type, "digest": a.digest, "size": a.manifest_size},
            "annotations": {
                "org.opencontainers.image.created": now,
                GENERATOR_ANNOTATION: format!("Berth {}", env!("CARGO_PKG_VERSION")),
            },
        });
        let bytes = Bytes::from(serde_json::to_vec(&manifest).expect("a manifest serializes"));
        let digest = sha256(&bytes);
        self.put_manifest(
            &caller,
            &repo,
            &Reference::Digest(digest.clone()),
            Some("application/vnd.oci.image.manifest.v1+json"),
            bytes,
        )
        .await?;
        for old in previous {
            if let Ok(d) = Digest::parse(&old) {
                // Best effort: a concurrent delete got there first, or the old one stays
                // listed beside the new one.
                let _ = self
                    .delete_manifest(&caller, &repo, &Reference::Digest(d))
                    .await;
            }
        }
        Ok(digest.to_string())
    }

    /// `POST …/artifacts/{reference}/sbom`: generates an SBOM now, for those who may scan
    /// the project's artifacts; audited.
    pub async fn request_sbom(
        &self,
        actor: &Actor,
        project: &str,
        repo: &str,
        reference: &str,
        format: SbomFormat,
    ) -> DomainResult<SbomDocument> {
        let (p, r, a) = self
            .artifact_for_scan(actor, project, repo, reference, Action::Create)
            .await?;
        if !crate::service::scans::scannable(&a) {
            return Err(DomainError::Invalid(format!(
                "artifact {} is not an image (media type `{}`); SBOMs describe images and image \
                 indexes",
                a.digest, a.media_type
            )));
        }
        let digest = self.generate_sbom(&a, format).await?;
        crate::service::audit::record_now(
            &self.db,
            actor,
            crate::service::audit::Record {
                operation: "generate",
                resource_type: "sbom",
                resource: &format!("{}@{}", r.name, a.digest),
                project_id: Some(p.id),
                outcome: crate::service::audit::Outcome::Success,
            },
        )
        .await?;
        self.sboms_of(&a)
            .await?
            .into_iter()
            .find(|d| d.digest == digest)
            .ok_or_else(|| DomainError::Conflict("the SBOM was deleted as it was made".into()))
    }

    /// Every SBOM attached to `a`, newest first.
    pub async fn sboms_of(&self, a: &artifact::Model) -> RegistryResult<Vec<SbomDocument>> {
        let project_id = repository::Entity::find_by_id(a.repository_id)
            .one(&self.db)
            .await?
            .map(|r| r.project_id)
            .unwrap_or(0);
        let subject = super::signatures::SubjectFacts {
            artifact_id: a.id,
            repository_id: a.repository_id,
            project_id,
            digest: a.digest.clone(),
            media_type: a.media_type.clone(),
            size: a.manifest_size.max(0) as u64,
        };
        let mut out = Vec::new();
        for (x, suffix) in self.accessories(&subject).await? {
            let by_type = x
                .artifact_type
                .as_deref()
                .is_some_and(super::signatures::is_sbom);
            if !(by_type || suffix.as_deref() == Some("sbom")) {
                continue;
            }
            let Ok(digest) = Digest::parse(&x.digest) else {
                continue;
            };
            let manifest = self
                .manifest_bytes(&digest, x.manifest_size.max(0) as usize)
                .await?;
            let json: serde_json::Value = serde_json::from_slice(&manifest).unwrap_or_default();
            let Some(layer) = json["layers"].as_array().and_then(|l| l.first()) else {
                continue;
            };
            let (Some(media_type), Some(blob), Some(size)) = (
                layer["mediaType"].as_str(),
                layer["digest"].as_str().and_then(|d| Digest::parse(d).ok()),
                layer["size"].as_u64(),
            ) else {
                continue;
            };
            let format = SbomFormat::of_media_type(media_type).or_else(|| {
                x.artifact_type
                    .as_deref()
                    .and_then(SbomFormat::of_media_type)
            });
            out.push((
                x.push_time,
                SbomDocument {
                    digest: x.digest.clone(),
                    media_type: media_type.to_string(),
                    format,
                    generated_by: json["annotations"][GENERATOR_ANNOTATION]
                        .as_str()
                        .map(str::to_string),
                    size,
                    push_time: crate::service::rfc3339(x.push_time),
                    blob,
                },
            ));
        }
        out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.digest.cmp(&a.1.digest)));
        Ok(out.into_iter().map(|(_, d)| d).collect())
    }

    /// The SBOM of an artifact (the newest, or the newest in `format`) for those who may read
    /// the project's scan results: the document and a stream of its bytes.
    pub async fn sbom_addition(
        &self,
        actor: &Actor,
        project: &str,
        repo: &str,
        reference: &str,
        format: Option<SbomFormat>,
    ) -> DomainResult<(SbomDocument, ByteStream)> {
        let (_, r, a) = self
            .artifact_for_scan(actor, project, repo, reference, Action::Read)
            .await?;
        let doc = self
            .sboms_of(&a)
            .await?
            .into_iter()
            .find(|d| format.is_none() || d.format == format)
            .ok_or_else(|| {
                DomainError::NotFound(format!(
                    "`{}@{}` has no {}SBOM; generate one with POST \
                     /api/v2.0/projects/{project}/repositories/…/artifacts/{reference}/sbom",
                    r.name,
                    a.digest,
                    format
                        .map(|f| format!("{} ", f.as_str()))
                        .unwrap_or_default()
                ))
            })?;
        let stream = self
            .store
            .read(&doc.blob, None)
            .await
            .map_err(RegistryError::from)?;
        Ok((doc, stream))
    }

    /// The newest SBOM of an artifact and the packages it lists; `None` without one.
    pub async fn sbom_listing(
        &self,
        actor: &Actor,
        project: &str,
        repo: &str,
        reference: &str,
    ) -> DomainResult<Option<SbomView>> {
        let (_, _, a) = self
            .artifact_for_scan(actor, project, repo, reference, Action::Read)
            .await?;
        let Some(document) = self.sboms_of(&a).await?.into_iter().next() else {
            return Ok(None);
        };
        let mut packages = Vec::new();
        if document.size as usize <= MAX_PARSED_SBOM {
            let mut stream = self
                .store
                .read(&document.blob, None)
                .await
                .map_err(RegistryError::from)?;
            let mut bytes = Vec::with_capacity(document.size as usize);
            while let Some(chunk) = stream.next().await {
                bytes.extend_from_slice(
                    &chunk.map_err(|e| DomainError::Unavailable(e.to_string()))?,
                );
                if bytes.len() > MAX_PARSED_SBOM {
                    break;
                }
            }
            if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                packages = sbom::packages_in(&doc);
            }
        }
        Ok(Some(SbomView {
            digest: document.digest,
            media_type: document.media_type,
            format: document.format.map(|f| f.as_str().to_string()),
            generated_by: document.generated_by,
            size: document.size,
            push_time: document.push_time,
            packages,
        }))
    }
}
