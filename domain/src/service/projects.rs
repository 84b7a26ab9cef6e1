//! Projects: create, list what the caller may see, read, update, delete when empty.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};

use super::audit::{self, Outcome, Record};
use super::{
    authorize, effective_role, is_allowed, page_bounds, rfc3339, Actor, DomainError, DomainResult,
    Principal, Services,
};
use crate::entities::{project, project_member, repository, user};
use crate::policy::authz::{Action, Resource};
use crate::types::dto::{Page, ProjectView};
use crate::types::{ProjectName, Role};

/// Metadata keys a project may carry (stored now, enforced by later features).
pub const METADATA_KEYS: [&str; 10] = [
    "public",
    "auto_scan",
    // Generate a CycloneDX SBOM of every image pushed (Harbor's key).
    "auto_sbom_generation",
    "prevent_vul",
    "severity",
    "reuse_sys_cve_allowlist",
    // Pulls need a signature verified by a trusted cosign key / Notation CA.
    "enable_content_trust_cosign",
    "enable_content_trust",
    // `enforce` (default), `audit` or `off`.
    "signature_policy",
    // A signed image index covers the manifests it lists.
    "signature_covers_children",
];

#[derive(Clone, Debug, Default)]
pub struct NewProject {
    pub name: String,
    pub public: bool,
    pub metadata: BTreeMap<String, String>,
    /// Bytes, -1 unlimited; `None` takes the configured default.
    pub storage_limit: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct ProjectUpdate {
    pub public: Option<bool>,
    pub metadata: BTreeMap<String, String>,
    pub storage_limit: Option<i64>,
}

fn validate_metadata(metadata: &BTreeMap<String, String>) -> DomainResult<()> {
    for (key, value) in metadata {
        if !METADATA_KEYS.contains(&key.as_str()) {
            return Err(DomainError::Invalid(format!(
                "unknown project metadata `{key}` (expected one of {METADATA_KEYS:?})"
            )));
        }
        let ok = match key.as_str() {
            "severity" => ["none", "low", "medium", "high", "critical"].contains(&value.as_str()),
            "signature_policy" => ["enforce", "audit", "off"].contains(&value.as_str()),
            _ => value == "true" || value == "false",
        };
        if !ok {
            return Err(DomainError::Invalid(format!(
                "invalid value `{value}` for project metadata `{key}`"
            )));
        }
    }
    Ok(())
}

/// Finds a project by numeric id or by name.
pub async fn find_project(
    conn: &impl ConnectionTrait,
    name_or_id: &str,
) -> DomainResult<project::Model> {
    let found = match name_or_id.parse::<i64>() {
        Ok(id) => project::Entity::find_by_id(id).one(conn).await?,
        Err(_) => {
            project::Entity::find()
                .filter(project::Column::Name.eq(name_or_id))
                .one(conn)
                .await?
        }
    };
    found.ok_or_else(|| DomainError::NotFound(format!("project `{name_or_id}` not found")))
}

impl Services {
    async fn project_view(&self, actor: &Actor, p: project::Model) -> DomainResult<ProjectView> {
        let owner = match p.owner_id {
            Some(id) => user::Entity::find_by_id(id)
                .one(&self.db)
                .await?
                .map(|u| u.username),
            None => None,
        };
        let repo_count = repository::Entity::find()
            .filter(repository::Column::ProjectId.eq(p.id))
            .count(&self.db)
            .await?;
        let mut metadata: BTreeMap<String, String> =
            serde_json::from_str(&p.metadata).unwrap_or_default();
        metadata.insert("public".into(), p.public.to_string());
        Ok(ProjectView {
            id: p.id,
            current_role: effective_role(&self.db, &actor.principal, p.id).await?,
            name: p.name,
            public: p.public,
            owner,
            created_at: rfc3339(p.created_at),
            repo_count,
            storage_limit: p.storage_limit,
            metadata,
        })
    }

    /// Creates a project; the creator becomes its project admin.
    pub async fn create_project(
        &self,
        actor: &Actor,
        new: NewProject,
    ) -> DomainResult<ProjectView> {
        authorize(
            &self.db,
            &actor.principal,
            None,
            Resource::Project,
            Action::Create,
        )
        .await?;
        let name =
            ProjectName::parse(&new.name).map_err(|why| DomainError::field("project_name", why))?;
        validate_metadata(&new.metadata)?;
        if let Some(limit) = new.storage_limit {
            crate::policy::limits::storage_limit("storage_limit", limit)
                .map_err(|why| DomainError::field("storage_limit", why))?;
        }
        let mut metadata = new.metadata.clone();
        let public = metadata
            .remove("public")
            .map(|v| v == "true")
            .unwrap_or(new.public);
        let txn = crate::db::begin_write(&self.db).await?;
        if project::Entity::find()
            .filter(project::Column::Name.eq(name.as_str()))
            .one(&txn)
            .await?
            .is_some()
        {
            return Err(DomainError::Conflict(format!(
                "project `{name}` already exists"
            )));
        }
        let owner_id = match &actor.principal {
            Principal::User(u) => Some(u.id),
            _ => None,
        };
        let now = Utc::now();
        let created = project::ActiveModel {
            name: Set(name.to_string()),
            public: Set(public),
            owner_id: Set(owner_id),
            metadata: Set(serde_json::to_string(&metadata).expect("string map serialises")),
            storage_limit: Set(new
                .storage_limit
                .unwrap_or(self.settings.default_storage_limit)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        if let Some(user_id) = owner_id {
            project_member::ActiveModel {
                project_id: Set(created.id),
                user_id: Set(Some(user_id)),
                group_id: Set(None),
                role: Set(Role::ProjectAdmin.as_str().into()),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
        audit::record(
            &txn,
            actor,
            Record {
                operation: "create",
                resource_type: "project",
                resource: name.as_str(),
                project_id: Some(created.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        self.project_view(actor, created).await
    }

    /// Projects the caller may see: public ones, and those they are a member of (all for admins).
    pub async fn list_projects(
        &self,
        actor: &Actor,
        name_filter: Option<&str>,
        public_filter: Option<bool>,
        page: Option<u64>,
        page_size: Option<u64>,
    ) -> DomainResult<Page<ProjectView>> {
        let (page, size) = page_bounds(page, page_size);
        let mut q = project::Entity::find().order_by_asc(project::Column::Name);
        if let Some(text) = name_filter.filter(|s| !s.is_empty()) {
            q = q.filter(project::Column::Name.contains(text));
        }
        if let Some(public) = public_filter {
            q = q.filter(project::Column::Public.eq(public));
        }
        let all = q.all(&self.db).await?;
        let mut visible = Vec::new();
        for p in all {
            if is_allowed(
                &self.db,
                &actor.principal,
                Some(&p),
                Resource::Project,
                Action::Read,
            )
            .await?
            {
                visible.push(p);
            }
        }
        let total = visible.len() as u64;
        let mut items = Vec::new();
        for p in visible
            .into_iter()
            .skip(((page - 1) * size) as usize)
            .take(size as usize)
        {
            items.push(self.project_view(actor, p).await?);
        }
        Ok(Page {
            items,
            total,
            page,
            page_size: size,
        })
    }

    pub async fn get_project(&self, actor: &Actor, name_or_id: &str) -> DomainResult<ProjectView> {
        let p = find_project(&self.db, name_or_id).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Project,
            Action::Read,
        )
        .await?;
        self.project_view(actor, p).await
    }

    pub async fn project_exists(&self, name: &str) -> DomainResult<bool> {
        Ok(project::Entity::find()
            .filter(project::Column::Name.eq(name))
            .one(&self.db)
            .await?
            .is_some())
    }

    pub async fn update_project(
        &self,
        actor: &Actor,
        name_or_id: &str,
        update: ProjectUpdate,
    ) -> DomainResult<ProjectView> {
        let p = find_project(&self.db, name_or_id).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Project,
            Action::Update,
        )
        .await?;
        validate_metadata(&update.metadata)?;
        if let Some(limit) = update.storage_limit {
            crate::policy::limits::storage_limit("storage_limit", limit)
                .map_err(|why| DomainError::field("storage_limit", why))?;
        }
        if update.storage_limit.is_some()
            && !is_allowed(
                &self.db,
                &actor.principal,
                None,
                Resource::Quota,
                Action::Update,
            )
            .await?
        {
            return Err(DomainError::Forbidden(
                "only system administrators may change a project's storage limit".into(),
            ));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let mut metadata: BTreeMap<String, String> =
            serde_json::from_str(&p.metadata).unwrap_or_default();
        let mut public = update.public.unwrap_or(p.public);
        for (k, v) in update.metadata {
            if k == "public" {
                public = v == "true";
            } else {
                metadata.insert(k, v);
            }
        }
        let name = p.name.clone();
        let mut active = p.into_active_model();
        active.public = Set(public);
        active.metadata = Set(serde_json::to_string(&metadata).expect("string map serialises"));
        if let Some(limit) = update.storage_limit {
            active.storage_limit = Set(limit);
        }
        active.updated_at = Set(Utc::now());
        let updated = active.update(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "update",
                resource_type: "project",
                resource: &name,
                project_id: Some(updated.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        self.project_view(actor, updated).await
    }

    /// Deletes an empty project. A project that still holds repositories is refused.
    pub async fn delete_project(&self, actor: &Actor, name_or_id: &str) -> DomainResult<()> {
        let p = find_project(&self.db, name_or_id).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Project,
            Action::Delete,
        )
        .await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let repos = repository::Entity::find()
            .filter(repository::Column::ProjectId.eq(p.id))
            .count(&txn)
            .await?;
        if repos > 0 {
            return Err(DomainError::Conflict(format!(
                "project `{}` still holds {repos} repositor{}; delete {} first",
                p.name,
                if repos == 1 { "y" } else { "ies" },
                if repos == 1 { "it" } else { "them" }
            )));
        }
        project::Entity::delete_by_id(p.id).exec(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "delete",
                resource_type: "project",
                resource: &p.name,
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

pub use crate::types::dto::QuotaView;

impl Services {
    /// The project named (or numbered) `name_or_id`, once the policy allows `actor` to perform
    /// `action` on `resource` in it.
    pub(crate) async fn project_for(
        &self,
        actor: &Actor,
        name_or_id: &str,
        resource: Resource,
        action: Action,
    ) -> DomainResult<project::Model> {
        let p = find_project(&self.db, name_or_id).await?;
        authorize(&self.db, &actor.principal, Some(&p), resource, action).await?;
        Ok(p)
    }

    pub async fn project_quota(&self, actor: &Actor, name_or_id: &str) -> DomainResult<QuotaView> {
        let p = self
            .project_for(actor, name_or_id, Resource::Quota, Action::Read)
            .await?;
        let used = super::registry::quota::project_usage(&self.db, p.id)
            .await
            .map_err(DomainError::from)?;
        let repositories = super::registry::quota::usage_by_repository(&self.db, p.id)
            .await
            .map_err(DomainError::from)?
            .into_iter()
            .map(|(name, used)| crate::types::dto::RepositoryUsage { name, used })
            .collect();
        Ok(QuotaView {
            limit: p.storage_limit,
            used,
            repositories,
        })
    }

    /// Usage and limits of every project and of the whole registry (system administrators).
    pub async fn system_quota(
        &self,
        actor: &Actor,
        global_limit: i64,
    ) -> DomainResult<crate::types::dto::SystemQuotaView> {
        use crate::types::dto::{ProjectUsage, SystemQuotaView};
        self.require_configuration(actor, Action::Read).await?;
        let db_err = DomainError::from;
        let usage = super::registry::quota::usage_by_project(&self.db)
            .await
            .map_err(db_err)?;
        let global_used = super::registry::quota::global_usage(&self.db)
            .await
            .map_err(db_err)?;
        let mut projects: Vec<ProjectUsage> = project::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| ProjectUsage {
                used: usage.get(&p.id).copied().unwrap_or(0),
                name: p.name,
                limit: p.storage_limit,
            })
            .collect();
        projects.sort_by(|a, b| b.used.cmp(&a.used).then_with(|| a.name.cmp(&b.name)));
        Ok(SystemQuotaView {
            global_limit,
            global_used,
            default_project_limit: self.settings.default_storage_limit,
            projects,
        })
    }
}
