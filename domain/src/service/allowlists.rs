//! CVE allowlists as people change them: a project's (project administrators) and the
//! system's (system administrators), audited.

use super::audit::{self, Outcome, Record};
use super::projects::find_project;
use super::scans::reports::{allowlist, set_allowlist, CveAllowlist};
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
        validate_ids(&list.items)?;
        let txn = crate::db::begin_write(&self.db).await?;
        set_allowlist(&*txn, p.id, list).await?;
        audit::record(
            &*txn,
            actor,
            Record {
                operation: "update",
                resource_type: "cve_allowlist",
                resource: &format!("{}: {}", p.name, list.items.join(",")),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        Ok(txn.commit().await?)
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
        validate_ids(&list.items)?;
        let txn = crate::db::begin_write(&self.db).await?;
        set_allowlist(&*txn, 0, list).await?;
        audit::record(
            &*txn,
            actor,
            Record {
                operation: "update",
                resource_type: "cve_allowlist",
                resource: &format!("system: {}", list.items.join(",")),
                project_id: None,
                outcome: Outcome::Success,
            },
        )
        .await?;
        Ok(txn.commit().await?)
    }
}

/// Every entry of an allowlist is one vulnerability id (`CVE-2024-1234`, `GHSA-xxxx-…`,
/// `RUSTSEC-2021-0003`): a line of free text is refused, not split into words.
fn validate_ids(items: &[String]) -> DomainResult<()> {
    for (i, id) in items.iter().enumerate() {
        let ok = id.len() <= 128
            && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if !ok {
            return Err(super::DomainError::field(
                "items",
                format!(
                    "entry {}: `{id}` is not a vulnerability id (one id per line, such as CVE-2024-1234)",
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn allowlist_entries_are_ids_not_words() {
        assert!(
            super::validate_ids(&["CVE-2024-1234".into(), "GHSA-abcd-efgh-ijkl".into()]).is_ok()
        );
        assert!(super::validate_ids(&["CVE-1 accepted risk".into()]).is_err());
        assert!(super::validate_ids(&["-x".into()]).is_err());
    }
}
