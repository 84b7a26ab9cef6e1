//! Content discovery: tags, the catalog, and referrers.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{json, Value};

use super::{OciCode, Registry, RegistryCaller, RegistryError, RegistryResult, RepoAction};
use crate::entities::{artifact, project, repository, tag};
use crate::policy::authz::{Action, Resource};
use crate::service::{is_allowed, Principal, RobotPrincipal, UserPrincipal};
use crate::types::{Digest, RepoName};

pub struct TagsPage {
    pub tags: Vec<String>,
    /// The `last` of the next page, when there is one.
    pub next_last: Option<String>,
}

pub struct CatalogPage {
    pub repositories: Vec<String>,
    pub next_last: Option<String>,
}

/// Cap on `n` so that one request cannot ask for everything at once.
const MAX_PAGE: u64 = 10_000;

impl Registry {
    /// `GET /v2/<name>/tags/list?n=&last=`: lexical order.
    pub async fn list_tags(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        n: Option<u64>,
        last: Option<&str>,
    ) -> RegistryResult<TagsPage> {
        self.authorize(caller, repo, RepoAction::Pull).await?;
        let repository = self.require_repository(repo).await?;
        let limit = n.unwrap_or(MAX_PAGE).min(MAX_PAGE);
        if limit == 0 {
            return Ok(TagsPage {
                tags: Vec::new(),
                next_last: None,
            });
        }
        let mut q = tag::Entity::find()
            .filter(tag::Column::RepositoryId.eq(repository.id))
            .order_by_asc(tag::Column::Name);
        if let Some(last) = last {
            q = q.filter(tag::Column::Name.gt(last));
        }
        let mut tags: Vec<String> = q
            .limit(limit + 1)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        // Byte-wise lexical order whatever the database collation.
        tags.sort();
        let next_last = if tags.len() as u64 > limit {
            tags.truncate(limit as usize);
            tags.last().cloned()
        } else {
            None
        };
        Ok(TagsPage { tags, next_last })
    }

    /// `GET /v2/_catalog?n=&last=`: the repositories the caller may read.
    pub async fn catalog(
        &self,
        caller: &RegistryCaller,
        n: Option<u64>,
        last: Option<&str>,
    ) -> RegistryResult<CatalogPage> {
        // Anonymous callers are asked for credentials (as distribution does with token auth):
        // a client that holds some only sends them after a challenge, and would otherwise see
        // an empty catalog. Public repositories stay readable by name.
        let Some(principal) = self.principal_now(caller).await? else {
            return Err(RegistryError {
                scope: Some("registry:catalog:*".into()),
                ..RegistryError::new(
                    OciCode::Unauthorized,
                    "authentication required to list repositories",
                )
            });
        };
        let limit = n.unwrap_or(MAX_PAGE).min(MAX_PAGE);
        if limit == 0 {
            return Ok(CatalogPage {
                repositories: Vec::new(),
                next_last: None,
            });
        }
        let full_catalog =
            caller.token_access.as_ref().is_some_and(|access| {
                crate::policy::authz::token_grants(access, "registry", "catalog", None)
            }) || is_allowed(&self.db, &principal, None, Resource::Catalog, Action::List).await?;
        let mut q = repository::Entity::find().order_by_asc(repository::Column::Name);
        if let Some(last) = last {
            q = q.filter(repository::Column::Name.gt(last));
        }
        let projects: std::collections::HashMap<i64, project::Model> = project::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let mut readable: std::collections::HashMap<i64, bool> = std::collections::HashMap::new();
        let mut out = Vec::new();
        for r in q.all(&self.db).await? {
            let allowed = if full_catalog {
                true
            } else {
                match readable.get(&r.project_id) {
                    Some(v) => *v,
                    None => {
                        let p = projects.get(&r.project_id);
                        let v = match p {
                            Some(p) => {
                                is_allowed(
                                    &self.db,
                                    &principal,
                                    Some(p),
                                    Resource::Repository,
                                    Action::Pull,
                                )
                                .await?
                            }
                            None => false,
                        };
                        readable.insert(r.project_id, v);
                        v
                    }
                }
            };
            if allowed {
                out.push(r.name);
                if out.len() as u64 > limit {
                    break;
                }
            }
        }
        out.sort();
        let next_last = if out.len() as u64 > limit {
            out.truncate(limit as usize);
            out.last().cloned()
        } else {
            None
        };
        Ok(CatalogPage {
            repositories: out,
            next_last,
        })
    }

    /// The caller as the database knows them now, `None` for anonymous (or an account that
    /// was disabled, deleted or expired since its token was issued). A bearer token names its
    /// subject but carries neither the administrator flag nor a robot's permissions.
    async fn principal_now(&self, caller: &RegistryCaller) -> RegistryResult<Option<Principal>> {
        use crate::entities::{robot, user};
        let principal = &caller.actor.principal;
        if caller.token_access.is_none() || matches!(principal, Principal::Anonymous) {
            return Ok(Some(principal.clone()).filter(|p| !matches!(p, Principal::Anonymous)));
        }
        Ok(match principal {
            Principal::User(u) => user::Entity::find_by_id(u.id)
                .one(&self.db)
                .await?
                .filter(|row| !row.disabled)
                .map(|row| {
                    Principal::User(UserPrincipal {
                        id: row.id,
                        username: row.username,
                        is_admin: row.is_admin,
                    })
                }),
            Principal::Robot(r) => robot::Entity::find_by_id(r.id)
                .one(&self.db)
                .await?
                .filter(|row| !row.disabled)
                .filter(|row| row.expires_at.is_none_or(|e| e > chrono::Utc::now()))
                .map(|row| {
                    Principal::Robot(RobotPrincipal {
                        id: row.id,
                        name: row.name,
                        grants: serde_json::from_str(&row.permissions).unwrap_or_default(),
                    })
                }),
            Principal::Anonymous => None,
        })
    }

    /// `GET /v2/<name>/referrers/<digest>`: an OCI index of the manifests whose subject is
    /// `digest`, optionally only those of one artifact type. The subject need not exist.
    pub async fn referrers(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> RegistryResult<Value> {
        self.authorize(caller, repo, RepoAction::Pull).await?;
        let manifests: Vec<Value> = match self.find_repository(&self.db, repo).await? {
            None => Vec::new(),
            Some(repository) => {
                let mut q = artifact::Entity::find()
                    .filter(artifact::Column::RepositoryId.eq(repository.id))
                    .filter(artifact::Column::SubjectDigest.eq(subject.to_string()))
                    .order_by_asc(artifact::Column::Id);
                if let Some(t) = artifact_type {
                    q = q.filter(artifact::Column::ArtifactType.eq(t));
                }
                q.all(&self.db)
                    .await?
                    .into_iter()
                    .map(|a| {
                        let annotations: Value = serde_json::from_str(&a.annotations).unwrap_or(json!({}));
                        let mut d = json!({"mediaType": a.media_type, "digest": a.digest, "size": a.manifest_size});
                        if let Some(t) = a.artifact_type {
                            d["artifactType"] = json!(t);
                        }
                        if annotations.as_object().is_some_and(|o| !o.is_empty()) {
                            d["annotations"] = annotations;
                        }
                        d
                    })
                    .collect()
            }
        };
        Ok(
            json!({"schemaVersion": 2, "mediaType": super::media::OCI_INDEX, "manifests": manifests}),
        )
    }
}
