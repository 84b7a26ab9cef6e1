//! What a push-mode policy finds on this registry: the top-level artifacts of the
//! repositories its filters keep, with their tags and labels. Children of an index and
//! accessories (referrers, cosign's `sha256-<hex>.sig/.att/.sbom` tags) are not candidates of
//! their own: they travel with what they belong to.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::policies::Policy;
use crate::entities::{artifact, artifact_label, artifact_ref, label, repository, tag};
use crate::policy::replication::{selects_artifact, selects_repository};
use crate::service::registry::signatures::accessory_tag;
use crate::service::{DomainResult, Services};

/// One artifact to replicate: where it is, and the tags the filters kept (empty: by digest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub repository: String,
    pub digest: String,
    pub tags: Vec<String>,
}

/// Whether a manifest's media type makes it an image (or an index of images).
pub fn is_image(media_type: &str, artifact_type: Option<&str>) -> bool {
    use crate::service::registry::media::{is_image_manifest, is_index};
    (is_image_manifest(media_type) || is_index(media_type))
        && artifact_type.is_none_or(|t| {
            t == crate::service::registry::media::OCI_IMAGE_CONFIG
                || t == crate::service::registry::media::DOCKER_IMAGE_CONFIG
        })
}

impl Services {
    /// The artifacts of this registry that `policy` selects, repository by repository.
    pub async fn local_candidates(&self, policy: &Policy) -> DomainResult<Vec<Candidate>> {
        let repos = repository::Entity::find()
            .order_by_asc(repository::Column::Name)
            .all(&self.db)
            .await?;
        let labels: HashMap<i64, String> = label::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|l| (l.id, l.name))
            .collect();
        let mut out = Vec::new();
        for r in repos
            .into_iter()
            .filter(|r| selects_repository(&policy.filters, &r.name))
        {
            let artifacts = artifact::Entity::find()
                .filter(artifact::Column::RepositoryId.eq(r.id))
                .order_by_asc(artifact::Column::Id)
                .all(&self.db)
                .await?;
            let ids: Vec<i64> = artifacts.iter().map(|a| a.id).collect();
            let children: HashSet<String> = artifact_ref::Entity::find()
                .filter(artifact_ref::Column::ArtifactId.is_in(ids.clone()))
                .filter(artifact_ref::Column::Kind.eq("manifest"))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|c| c.digest)
                .collect();
            let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
            for t in tag::Entity::find()
                .filter(tag::Column::RepositoryId.eq(r.id))
                .order_by_asc(tag::Column::Name)
                .all(&self.db)
                .await?
            {
                tags.entry(t.artifact_id).or_default().push(t.name);
            }
            let mut names: HashMap<i64, Vec<String>> = HashMap::new();
            for l in artifact_label::Entity::find()
                .filter(artifact_label::Column::ArtifactId.is_in(ids))
                .all(&self.db)
                .await?
            {
                if let Some(n) = labels.get(&l.label_id) {
                    names.entry(l.artifact_id).or_default().push(n.clone());
                }
            }
            for a in artifacts {
                let own_tags = tags.remove(&a.id).unwrap_or_default();
                let accessory = a.subject_digest.is_some()
                    || (!own_tags.is_empty()
                        && own_tags.iter().all(|t| accessory_tag(t).is_some()));
                if accessory || children.contains(&a.digest) {
                    continue;
                }
                let image = is_image(&a.media_type, a.artifact_type.as_deref());
                let own_labels = names.remove(&a.id).unwrap_or_default();
                if let Some(kept) = selects_artifact(&policy.filters, image, &own_tags, &own_labels)
                {
                    out.push(Candidate {
                        repository: r.name.clone(),
                        digest: a.digest,
                        tags: kept,
                    });
                }
            }
        }
        Ok(out)
    }
}
