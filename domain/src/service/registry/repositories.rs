//! Repositories, artifacts and tags as the console and the REST API see them.

use std::collections::HashMap;

use futures::StreamExt;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use super::media::is_index;
use super::Registry;
use crate::entities::{artifact, artifact_ref, project, repository, tag};
use crate::policy::authz::{Action, Resource};
use crate::service::audit::{self, Outcome, Record};
use crate::service::projects::find_project;
use crate::service::{authorize, page_bounds, rfc3339, Actor, DomainError, DomainResult};
use crate::types::dto::{
    ArtifactDetail, ArtifactRef, ArtifactView, LayerView, Page, RepositoryView, TagView,
};
use crate::types::{Digest, Reference};

impl Registry {
    pub(super) async fn repository_in(
        &self,
        actor: &Actor,
        project: &str,
        name: &str,
        action: Action,
    ) -> DomainResult<(project::Model, repository::Model)> {
        let p = find_project(&self.db, project).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Repository,
            action,
        )
        .await?;
        let r = find_repository(&self.db, &p, name).await?;
        Ok((p, r))
    }

    /// The artifact a scan request or report read names, once `action` on the project's scans
    /// is allowed.
    pub async fn artifact_for_scan(
        &self,
        actor: &Actor,
        project: &str,
        repo: &str,
        reference: &str,
        action: Action,
    ) -> DomainResult<(project::Model, repository::Model, artifact::Model)> {
        let (p, r) = self
            .repository_in(actor, project, repo, Action::Read)
            .await?;
        authorize(&self.db, &actor.principal, Some(&p), Resource::Scan, action).await?;
        let a = self.artifact_in(&r, reference).await?;
        Ok((p, r, a))
    }

    async fn repository_view(&self, r: repository::Model) -> DomainResult<RepositoryView> {
        let artifacts = artifact::Entity::find()
            .filter(artifact::Column::RepositoryId.eq(r.id))
            .all(&self.db)
            .await?;
        let updated = artifacts
            .iter()
            .map(|a| a.push_time)
            .max()
            .unwrap_or(r.updated_at);
        Ok(RepositoryView {
            id: r.id,
            name: r.name,
            project_id: r.project_id,
            artifact_count: artifacts.len() as u64,
            pull_count: artifacts.iter().map(|a| a.pull_count.max(0) as u64).sum(),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(updated),
        })
    }

    pub async fn list_repositories(
        &self,
        actor: &Actor,
        project: &str,
        query: Option<&str>,
        page: Option<u64>,
        page_size: Option<u64>,
    ) -> DomainResult<Page<RepositoryView>> {
        let p = find_project(&self.db, project).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Repository,
            Action::List,
        )
        .await?;
        let (page, size) = page_bounds(page, page_size);
        let mut q = repository::Entity::find()
            .filter(repository::Column::ProjectId.eq(p.id))
            .order_by_asc(repository::Column::Name);
        if let Some(text) = query.filter(|s| !s.is_empty()) {
            q = q.filter(repository::Column::Name.contains(text));
        }
        let paginator = q.paginate(&self.db, size);
        let total = paginator.num_items().await?;
        let mut items = Vec::new();
        for r in paginator.fetch_page(page - 1).await? {
            items.push(self.repository_view(r).await?);
        }
        Ok(Page {
            items,
            total,
            page,
            page_size: size,
        })
    }

    pub async fn get_repository(
        &self,
        actor: &Actor,
        project: &str,
        name: &str,
    ) -> DomainResult<RepositoryView> {
        let (_, r) = self
            .repository_in(actor, project, name, Action::Read)
            .await?;
        self.repository_view(r).await
    }

    /// Deletes a repository with its artifacts and tags; blobs are freed by garbage collection.
    /// The REST API's version of the registry's immutability check.
    pub(super) async fn refuse_immutable_tags(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        project_id: i64,
        repo_full: &str,
        tags: &[String],
        what: &str,
    ) -> DomainResult<()> {
        let repo = crate::types::RepoName::parse(repo_full).map_err(DomainError::Invalid)?;
        match self
            .refuse_immutable(conn, project_id, &repo, tags, what)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.code == super::OciCode::TagImmutable => {
                Err(DomainError::Immutable(e.message))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn tags_of(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        column: tag::Column,
        id: i64,
    ) -> DomainResult<Vec<String>> {
        Ok(tag::Entity::find()
            .filter(column.eq(id))
            .all(conn)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect())
    }

    pub async fn delete_repository(
        &self,
        actor: &Actor,
        project: &str,
        name: &str,
    ) -> DomainResult<()> {
        let (p, r) = self
            .repository_in(actor, project, name, Action::Delete)
            .await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let tags = self.tags_of(&txn, tag::Column::RepositoryId, r.id).await?;
        self.refuse_immutable_tags(&txn, p.id, &r.name, &tags, "cannot delete the repository")
            .await?;
        repository::Entity::delete_by_id(r.id).exec(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "delete",
                resource_type: "repository",
                resource: &r.name,
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// One artifact as the API shows it; `epoch` is its project's trust epoch, read once per
    /// page ([`super::signatures::current_epoch`]).
    async fn artifact_view(
        &self,
        a: artifact::Model,
        r: &repository::Model,
        epoch: i64,
    ) -> DomainResult<ArtifactView> {
        let repo_name = r.name.as_str();
        let tags = tag::Entity::find()
            .filter(tag::Column::ArtifactId.eq(a.id))
            .order_by_asc(tag::Column::Name)
            .all(&self.db)
            .await?;
        let referrers = artifact::Entity::find()
            .filter(artifact::Column::RepositoryId.eq(a.repository_id))
            .filter(artifact::Column::SubjectDigest.eq(a.digest.clone()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| ArtifactRef {
                digest: r.digest,
                artifact_type: r.artifact_type,
            })
            .collect();
        let platforms = if is_index(&a.media_type) {
            self.platforms_of(&a).await.unwrap_or_default()
        } else {
            Vec::new()
        };
        let labels = crate::service::labels::labels_of(&self.db, &[a.id])
            .await?
            .remove(&a.id)
            .unwrap_or_default();
        let is_accessory = a.subject_digest.is_some()
            || tags
                .iter()
                .any(|t| super::signatures::accessory_tag(&t.name).is_some());
        let verdict = if is_accessory {
            None
        } else {
            Some(self.verdict_of(&a, r.project_id, epoch).await?)
        };
        Ok(ArtifactView {
            labels,
            signed: verdict
                .as_ref()
                .map(|v| v.status().as_str().to_string())
                .unwrap_or_default(),
            signatures: verdict
                .as_ref()
                .map(|v| {
                    v.signatures
                        .iter()
                        .map(|c| crate::types::dto::SignatureView {
                            kind: c.kind.as_str().into(),
                            format: c.format.clone(),
                            digest: c.digest.clone(),
                            key: c.key.clone(),
                            verified: c.verified,
                            reason: c.reason.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            attestations: verdict
                .as_ref()
                .map(|v| v.attestations.clone())
                .unwrap_or_default(),
            sboms: verdict.map(|v| v.sboms).unwrap_or_default(),
            id: a.id,
            repository: repo_name.to_string(),
            digest: a.digest,
            media_type: a.media_type,
            artifact_type: a.artifact_type,
            size: a.size.max(0) as u64,
            push_time: rfc3339(a.push_time),
            pull_time: a.pull_time.map(rfc3339),
            pull_count: a.pull_count.max(0) as u64,
            pushed_by: a.pushed_by,
            tags: tags
                .into_iter()
                .map(|t| TagView {
                    name: t.name,
                    push_time: rfc3339(t.push_time),
                })
                .collect(),
            platforms,
            referrers,
            scan: None,
        })
    }

    async fn stored_json(&self, digest: &str) -> DomainResult<Value> {
        let d = Digest::parse(digest).map_err(DomainError::Invalid)?;
        let mut stream = self
            .store
            .read(&d, None)
            .await
            .map_err(|e| DomainError::NotFound(e.to_string()))?;
        let mut buf = Vec::new();
        while let Some(chunk) = stream.next().await {
            buf.extend_from_slice(&chunk.map_err(|e| DomainError::NotFound(e.to_string()))?);
        }
        serde_json::from_slice(&buf).map_err(|e| DomainError::Invalid(e.to_string()))
    }

    async fn platforms_of(&self, a: &artifact::Model) -> DomainResult<Vec<String>> {
        let index = self.stored_json(&a.digest).await?;
        Ok(index["manifests"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .filter_map(|m| {
                        let p = m.get("platform")?;
                        Some(format!(
                            "{}/{}",
                            p["os"].as_str().unwrap_or("?"),
                            p["architecture"].as_str().unwrap_or("?")
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn list_artifacts(
        &self,
        actor: &Actor,
        project: &str,
        repo: &str,
        filter: ArtifactFilter,
        page: Option<u64>,
        page_size: Option<u64>,
    ) -> DomainResult<Page<ArtifactView>> {
        let (_, r) = self
            .repository_in(actor, project, repo, Action::List)
            .await?;
        let (page, size) = page_bounds(page, page_size);
        let all = artifact::Entity::find()
            .filter(artifact::Column::RepositoryId.eq(r.id))
            .order_by_desc(artifact::Column::PushTime)
            .order_by_desc(artifact::Column::Id)
            .all(&self.db)
            .await?;
        let repo_tags = tag::Entity::find()
            .filter(tag::Column::RepositoryId.eq(r.id))
            .all(&self.db)
            .await?;
        let tagged: std::collections::HashSet<i64> =
            repo_tags.iter().map(|t| t.artifact_id).collect();
        // Accessories (signatures, SBOMs, attestations) are listed under their subject, as
        // Harbor lists them, not as artifacts of their own.
        let digests: std::collections::HashSet<String> =
            all.iter().map(|a| a.digest.clone()).collect();
        // cosign's `sha256-<hex>.sig|.att|.sbom` artifacts too, while their subject is here.
        let tag_accessories: std::collections::HashSet<i64> = repo_tags
            .iter()
            .filter(|t| {
                super::signatures::accessory_tag(&t.name)
                    .is_some_and(|(hex, _)| digests.contains(&format!("sha256:{hex}")))
            })
            .map(|t| t.artifact_id)
            .collect();
        let ArtifactFilter { only_tagged, label } = filter;
        let labelled: Option<std::collections::HashSet<i64>> = match label {
            Some(id) => Some(
                crate::service::labels::artifacts_with(&self.db, id)
                    .await?
                    .into_iter()
                    .collect(),
            ),
            None => None,
        };
        let selected: Vec<artifact::Model> = all
            .into_iter()
            .filter(|a| !only_tagged || tagged.contains(&a.id))
            .filter(|a| labelled.as_ref().is_none_or(|l| l.contains(&a.id)))
            .filter(|a| {
                a.subject_digest
                    .as_ref()
                    .is_none_or(|s| !digests.contains(s))
                    && !tag_accessories.contains(&a.id)
            })
            .collect();
        let total = selected.len() as u64;
        let epoch = super::signatures::current_epoch(&self.db, r.project_id).await?;
        let mut items = Vec::new();
        for a in selected
            .into_iter()
            .skip(((page - 1) * size) as usize)
            .take(size as usize)
        {
            items.push(self.artifact_view(a, &r, epoch).await?);
        }
        Ok(Page {
            items,
            total,
            page,
            page_size: size,
        })
    }

    pub(super) async fn artifact_in(
        &self,
        r: &repository::Model,
        reference: &str,
    ) -> DomainResult<artifact::Model> {
        find_artifact(&self.db, r, reference).await
    }

    pub async fn get_artifact(
        &self,
        actor: &Actor,
        project: &str,
        repo: &str,
        reference: &str,
    ) -> DomainResult<ArtifactDetail> {
        let (_, r) = self
            .repository_in(actor, project, repo, Action::Read)
            .await?;
        let a = self.artifact_in(&r, reference).await?;
        let manifest = self.stored_json(&a.digest).await?;
        let refs = artifact_ref::Entity::find()
            .filter(artifact_ref::Column::ArtifactId.eq(a.id))
            .all(&self.db)
            .await?;
        let order: HashMap<&str, usize> = [("config", 0), ("layer", 1), ("manifest", 2)]
            .into_iter()
            .collect();
        let mut references: Vec<LayerView> = refs
            .iter()
            .map(|x| LayerView {
                digest: x.digest.clone(),
                size: x.size.max(0) as u64,
                kind: x.kind.clone(),
            })
            .collect();
        references.sort_by_key(|l| order.get(l.kind.as_str()).copied().unwrap_or(9));
        let config_json = match refs.iter().find(|x| x.kind == "config") {
            Some(c) => self.stored_blob_json(&c.digest).await,
            None => None,
        };
        let build_history = config_json
            .as_ref()
            .map(crate::types::image::history)
            .unwrap_or_default();
        let layers = crate::types::image::layers(&manifest, &build_history);
        let epoch = super::signatures::current_epoch(&self.db, r.project_id).await?;
        let mut accessories = Vec::new();
        for x in artifact::Entity::find()
            .filter(artifact::Column::RepositoryId.eq(r.id))
            .filter(artifact::Column::SubjectDigest.eq(a.digest.clone()))
            .order_by_asc(artifact::Column::PushTime)
            .all(&self.db)
            .await?
        {
            accessories.push(self.artifact_view(x, &r, epoch).await?);
        }
        Ok(ArtifactDetail {
            manifest: serde_json::to_string_pretty(&manifest).unwrap_or_default(),
            artifact: self.artifact_view(a, &r, epoch).await?,
            references,
            config: config_json
                .as_ref()
                .map(|c| serde_json::to_string_pretty(c).unwrap_or_default()),
            history: build_history
                .iter()
                .map(|h| h.created_by.clone())
                .filter(|h| !h.is_empty())
                .collect(),
            image: config_json.as_ref().map(crate::types::image::summary),
            layers,
            build_history,
            accessories,
        })
    }

    /// A small JSON blob (image configs), if it is stored and parses.
    async fn stored_blob_json(&self, digest: &str) -> Option<Value> {
        let d = Digest::parse(digest).ok()?;
        if self.store.stat(&d).await.ok()?? > 4 << 20 {
            return None;
        }
        self.stored_json(digest).await.ok()
    }

    pub async fn delete_artifact(
        &self,
        actor: &Actor,
        project: &str,
        repo: &str,
        reference: &str,
    ) -> DomainResult<()> {
        let (p, r) = self
            .repository_in(actor, project, repo, Action::Delete)
            .await?;
        let a = self.artifact_in(&r, reference).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let tags = self.tags_of(&txn, tag::Column::ArtifactId, a.id).await?;
        self.refuse_immutable_tags(&txn, p.id, &r.name, &tags, "cannot delete the artifact")
            .await?;
        let accessories = super::signatures::delete_with_accessories(&*txn, p.id, &a).await?;
        audit::record_with(
            &*txn,
            actor,
            Record {
                operation: "delete",
                resource_type: "artifact",
                resource: &format!("{}@{}", r.name, a.digest),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
            serde_json::json!({
                "artifact_id": a.id, "digest": a.digest, "media_type": a.media_type, "tags": tags,
                "accessories": accessories,
            }),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

/// The artifact `reference` (a digest or a tag) names in the repository `r`.
pub(crate) async fn find_artifact(
    conn: &impl sea_orm::ConnectionTrait,
    r: &repository::Model,
    reference: &str,
) -> DomainResult<artifact::Model> {
    let reference = Reference::parse(reference).map_err(DomainError::Invalid)?;
    let found = match &reference {
        Reference::Digest(d) => {
            artifact::Entity::find()
                .filter(artifact::Column::RepositoryId.eq(r.id))
                .filter(artifact::Column::Digest.eq(d.to_string()))
                .one(conn)
                .await?
        }
        Reference::Tag(t) => match tag::Entity::find()
            .filter(tag::Column::RepositoryId.eq(r.id))
            .filter(tag::Column::Name.eq(t.as_str()))
            .one(conn)
            .await?
        {
            Some(tag) => {
                artifact::Entity::find_by_id(tag.artifact_id)
                    .one(conn)
                    .await?
            }
            None => None,
        },
    };
    found.ok_or_else(|| {
        DomainError::NotFound(format!("artifact `{reference}` not found in `{}`", r.name))
    })
}

/// Which artifacts of a repository a list shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArtifactFilter {
    /// Only artifacts with at least one tag.
    pub only_tagged: bool,
    /// Only artifacts carrying this label.
    pub label: Option<i64>,
}

/// The repository `name` (with or without the project's prefix) of the project `p`.
pub(crate) async fn find_repository(
    conn: &impl sea_orm::ConnectionTrait,
    p: &project::Model,
    name: &str,
) -> DomainResult<repository::Model> {
    let full = if name.starts_with(&format!("{}/", p.name)) {
        name.to_string()
    } else {
        format!("{}/{name}", p.name)
    };
    repository::Entity::find()
        .filter(repository::Column::Name.eq(&full))
        .one(conn)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("repository `{full}` not found")))
}
