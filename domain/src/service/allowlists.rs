//! CVE allowlists as people change them: a project's (project administrators) and the
//! system's (system administrators), audited.

use super::audit::{self, Outcome, Record};
use super::projects::find_project;
use super::scans::{allowlist, set_allowlist, CveAllowlist};
use super::{authorize, Actor, DomainResult, Services};
use crate::policy::authz::{Action, Resource};

impl Services {
    /// A project's allowlist (readable by whoever may read the project).
    pub async fn project_allowlist(
        &self,
        actor: &Actor,
        project: &str,
    ) -> DomainResult<CveAllowlist> {
        let p = find_project(&self.db, project).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Project,
            Action::Read,
        )
        .await?;
        Ok(allowlist(&self.db, p.id).await?)
    }

    pub async fn set_project_allowlist(
        &self,
        actor: &Actor,
        project: &str,
        list: &CveAllowlist,
    ) -> DomainResult<()> {
        let p = find_project(&self.db, project).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Project,
            Action::Update,
        )
        .await?;
        set_allowlist(&self.db, p.id, list).await?;
        audit::record(
            &self.db,
            actor,
            Record {
                operation: "update",
                resource_type: "cve_allowlist",
                resource: &format!("{}: {}", p.name, list.items.join(",")),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await
    }

    pub async fn system_allowlist(&self) -> DomainResult<CveAllowlist> {
        Ok(allowlist(&self.db, 0).await?)
    }

    pub async fn set_system_allowlist(
        &self,
        actor: &Actor,
        list: &CveAllowlist,
    ) -> DomainResult<()> {
        self.require_configuration(actor, Action::Update).await?;
        set_allowlist(&self.db, 0, list).await?;
        audit::record(
            &self.db,
            actor,
            Record {
                operation: "update",
                resource_type: "cve_allowlist",
                resource: &format!("system: {}", list.items.join(",")),
                project_id: None,
                outcome: Outcome::Success,
            },
        )
        .await
    }
}
