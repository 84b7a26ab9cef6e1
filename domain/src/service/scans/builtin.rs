//! The built-in scanner: layers streamed from the blob store into `scan::layers`, packages
//! matched against the imported vulnerability database.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use chrono::Utc;
use futures::StreamExt;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::{builtin_info, scannable, Scans};
use crate::entities::{artifact, artifact_ref, repository};
use crate::scan::layers::ImageFiles;
use crate::scan::packages::Installed;
use crate::scan::report::{Cvss, Report, ReportArtifact, ScannerInfo, Vulnerability};
use crate::scan::severity::{self, Severity};
use crate::service::registry::media;
use crate::service::vulndb::VulnDb;
use crate::storage::ByteStream;
use crate::types::Digest;

impl Scans {
    /// Runs the built-in scanner over an artifact: an image's layers in order, or each image of
    /// an index (the index's report is the union of its images').
    pub async fn scan_builtin(&self, artifact_id: i64) -> Result<Report, String> {
        let a = artifact::Entity::find_by_id(artifact_id)
            .one(&self.db)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("artifact is gone")?;
        let repository = repository::Entity::find_by_id(a.repository_id)
            .one(&self.db)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("repository is gone")?
            .name;
        let inventory = inventory_of(&self.db, &self.store, &a).await?;
        let vulnerabilities = findings(&self.vulndb, &inventory, self.ignore_unfixed)
            .await
            .map_err(|e| e.to_string())?;
        Ok(make_report(
            ReportArtifact {
                repository,
                digest: a.digest.clone(),
                mime_type: a.media_type.clone(),
            },
            builtin_info(),
            vulnerabilities,
        ))
    }
}

/// Every package installed in an artifact: an image's layers applied in order, or each image
/// of an index (the union of its images'). What scans match and SBOMs list.
pub async fn inventory_of(
    db: &impl ConnectionTrait,
    store: &std::sync::Arc<dyn crate::storage::BlobStore>,
    a: &artifact::Model,
) -> Result<Vec<Installed>, String> {
    let mut inventory = Vec::new();
    for image in images_of(db, a).await.map_err(|e| e.to_string())? {
        let digest = Digest::parse(&image.digest)?;
        let manifest = read_all(
            store
                .read(&digest, None)
                .await
                .map_err(|e| format!("manifest {}: {e}", image.digest))?,
        )
        .await?;
        let layers = layer_digests(&manifest)?;
        let store = store.clone();
        let files = read_image(layers, move |d| {
            let store = store.clone();
            async move {
                let digest = Digest::parse(&d)?;
                store
                    .read(&digest, None)
                    .await
                    .map_err(|e| format!("layer {d}: {e}"))
            }
        })
        .await?;
        inventory.extend(files.inventory());
    }
    inventory.sort();
    inventory.dedup();
    Ok(inventory)
}

/// The layer digests of an image manifest, bottom first.
pub fn layer_digests(manifest: &[u8]) -> Result<Vec<String>, String> {
    let json: serde_json::Value =
        serde_json::from_slice(manifest).map_err(|e| format!("manifest is not JSON: {e}"))?;
    Ok(json
        .get("layers")
        .and_then(|l| l.as_array())
        .map(|layers| {
            layers
                .iter()
                .filter_map(|l| l.get("digest").and_then(|d| d.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

async fn read_all(mut stream: ByteStream) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// Applies the layers in order, each streamed from `open(digest)` into the blocking pool:
/// nothing of a layer is held beyond the decompressor's window and the package databases kept.
pub async fn read_image<F, Fut>(layers: Vec<String>, open: F) -> Result<ImageFiles, String>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<ByteStream, String>>,
{
    let mut files = ImageFiles::new();
    for digest in layers {
        let stream = open(digest.clone()).await?;
        let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
        files = tokio::task::spawn_blocking(move || {
            let mut files = files;
            files
                .apply_layer(reader)
                .map(|()| files)
                .map_err(|e| format!("layer {digest}: {e}"))
        })
        .await
        .map_err(|e| format!("layer reader stopped: {e}"))??;
    }
    Ok(files)
}

/// Matches an inventory against the database, one lookup per distinct package.
pub async fn findings(
    vulndb: &VulnDb,
    inventory: &[Installed],
    ignore_unfixed: bool,
) -> Result<Vec<Vulnerability>, DbErr> {
    let mut by_package: BTreeMap<(String, String), Vec<&Installed>> = BTreeMap::new();
    for p in inventory {
        by_package
            .entry((p.ecosystem.clone(), p.name.clone()))
            .or_default()
            .push(p);
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for ((ecosystem, name), installed) in by_package {
        let records = vulndb.records_for(&ecosystem, &name).await?;
        if records.is_empty() {
            continue;
        }
        for p in installed {
            for r in &records {
                let Some(hit) = r.affects(&p.ecosystem, &p.name, &p.version) else {
                    continue;
                };
                if ignore_unfixed && hit.fixed.is_none() {
                    continue;
                }
                let package = p.binary.clone().unwrap_or_else(|| p.name.clone());
                if !seen.insert((r.id.clone(), package.clone(), p.version.clone())) {
                    continue;
                }
                let (sev, score) = severity::of_record(r);
                let vector = r
                    .severity
                    .iter()
                    .chain(r.affected.iter().flat_map(|a| a.severity.iter()))
                    .find(|s| s.kind.starts_with("CVSS_V3"))
                    .map(|s| s.score.clone());
                let mut links = vec![format!("https://osv.dev/vulnerability/{}", r.id)];
                links.extend(r.references.iter().map(|x| x.url.clone()).take(8));
                out.push(Vulnerability {
                    id: r.id.clone(),
                    package,
                    version: p.version.clone(),
                    fix_version: hit.fixed.unwrap_or_default(),
                    severity: sev.as_str().into(),
                    description: r
                        .summary
                        .clone()
                        .filter(|s| !s.is_empty())
                        .or_else(|| r.details.clone())
                        .unwrap_or_default(),
                    links,
                    preferred_cvss: vector.map(|v| Cvss {
                        score_v3: score,
                        vector_v3: v,
                    }),
                    cwe_ids: Vec::new(),
                    vendor_attributes: serde_json::json!({
                        "aliases": aliases_of(r),
                        "ecosystem": p.ecosystem,
                        "source_package": p.name,
                    }),
                });
            }
        }
    }
    out.sort_by(|a, b| {
        let sa = Severity::of_word(&a.severity).unwrap_or(Severity::Unknown);
        let sb = Severity::of_word(&b.severity).unwrap_or(Severity::Unknown);
        sb.cmp(&sa)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.package.cmp(&b.package))
    });
    Ok(out)
}

/// A record's aliases, plus the CVE id that ids such as `ALPINE-CVE-2025-26519` or
/// `DEBCL-curl-CVE-2023-27534` embed, so that allowlists can name CVEs.
fn aliases_of(r: &crate::scan::osv::Record) -> Vec<String> {
    let mut out = r.aliases.clone();
    if let Some(at) = r.id.find("CVE-") {
        let cve = &r.id[at..];
        let parts: Vec<&str> = cve.splitn(3, '-').collect();
        let valid = parts.len() == 3
            && parts[1].len() == 4
            && parts[1].bytes().all(|b| b.is_ascii_digit())
            && !parts[2].is_empty()
            && parts[2].bytes().all(|b| b.is_ascii_digit());
        if valid && cve != r.id && !out.iter().any(|a| a == cve) {
            out.push(cve.to_string());
        }
    }
    out
}

pub fn make_report(
    artifact: ReportArtifact,
    scanner: ScannerInfo,
    vulnerabilities: Vec<Vulnerability>,
) -> Report {
    let mut report = Report {
        generated_at: crate::service::rfc3339(Utc::now()),
        artifact,
        scanner,
        severity: String::new(),
        vulnerabilities,
    };
    report.severity = report.highest().as_str().into();
    report
}

/// What a scan of `a` reads: the image itself, or each image an index lists (in the same
/// repository; nested indexes and non-image artifacts are left out).
pub async fn images_of(
    conn: &impl ConnectionTrait,
    a: &artifact::Model,
) -> Result<Vec<artifact::Model>, DbErr> {
    if !media::is_index(&a.media_type) {
        return Ok(vec![a.clone()]);
    }
    let children: Vec<String> = artifact_ref::Entity::find()
        .filter(artifact_ref::Column::ArtifactId.eq(a.id))
        .filter(artifact_ref::Column::Kind.eq("manifest"))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| r.digest)
        .collect();
    Ok(artifact::Entity::find()
        .filter(artifact::Column::RepositoryId.eq(a.repository_id))
        .filter(artifact::Column::Digest.is_in(children))
        .all(conn)
        .await?
        .into_iter()
        .filter(|c| scannable(c) && !media::is_index(&c.media_type))
        .collect())
}
