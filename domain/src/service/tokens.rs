//! Registry token grants (Docker token spec): what the caller asked for, intersected with
//! what the policy allows. A partial grant is not an error.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::audit::{self, Outcome, Record};
use super::{is_allowed, Actor, DomainResult, Principal, Services};
use crate::entities::project;
use crate::policy::authz::{Action, Resource};

/// One requested scope: `repository:library/alpine:pull,push` or `registry:catalog:*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeRequest {
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl ScopeRequest {
    pub fn parse(scope: &str) -> Option<Self> {
        let (kind, rest) = scope.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        // `repository(plugin)` is an old Docker form; the type before `(` is what matters.
        let kind = kind.split('(').next().unwrap_or(kind);
        Some(Self {
            kind: kind.into(),
            name: name.into(),
            actions: actions
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }
}

pub use crate::policy::authz::GrantedAccess;

fn repository_action(action: &str) -> Option<Action> {
    match action {
        "pull" => Some(Action::Pull),
        "push" => Some(Action::Push),
        "delete" => Some(Action::Delete),
        _ => None,
    }
}

impl Services {
    pub async fn grant_access(
        &self,
        actor: &Actor,
        requested: &[ScopeRequest],
    ) -> DomainResult<Vec<GrantedAccess>> {
        let mut granted = Vec::new();
        for scope in requested {
            let actions = match scope.kind.as_str() {
                "repository" => self.grant_repository(actor, scope).await?,
                "registry"
                    if scope.name == "catalog"
                        && is_allowed(
                            &self.db,
                            &actor.principal,
                            None,
                            Resource::Catalog,
                            Action::List,
                        )
                        .await? =>
                {
                    vec!["*".to_string()]
                }
                _ => Vec::new(),
            };
            granted.push(GrantedAccess {
                kind: scope.kind.clone(),
                name: scope.name.clone(),
                actions,
            });
        }
        if !matches!(actor.principal, Principal::Anonymous) {
            // Looked up before the transaction: a query on the pool while holding one of its
            // connections deadlocks once every connection is held by a concurrent grant.
            let mut project_ids = Vec::with_capacity(granted.len());
            for g in &granted {
                project_ids.push(self.project_of(&g.name).await?.map(|p| p.id));
            }
            let txn = crate::db::begin_write(&self.db).await?;
            if granted.is_empty() {
                audit::record(
                    &txn,
                    actor,
                    Record {
                        operation: "login",
                        resource_type: "token",
                        resource: "registry",
                        project_id: None,
                        outcome: Outcome::Success,
                    },
                )
                .await?;
            }
            for (g, project_id) in granted.iter().zip(project_ids) {
                let resource = format!("{}:{}:{}", g.kind, g.name, g.actions.join(","));
                audit::record(
                    &txn,
                    actor,
                    Record {
                        operation: "grant",
                        resource_type: "token",
                        resource: &resource,
                        project_id,
                        outcome: if g.actions.is_empty() {
                            Outcome::Failure
                        } else {
                            Outcome::Success
                        },
                    },
                )
                .await?;
            }
            txn.commit().await?;
        }
        Ok(granted)
    }

    async fn project_of(&self, repository: &str) -> DomainResult<Option<project::Model>> {
        let name = repository.split('/').next().unwrap_or_default();
        Ok(project::Entity::find()
            .filter(project::Column::Name.eq(name))
            .one(&self.db)
            .await?)
    }

    async fn grant_repository(
        &self,
        actor: &Actor,
        scope: &ScopeRequest,
    ) -> DomainResult<Vec<String>> {
        // A repository lives inside a project: `project/name[/more]`.
        if !scope.name.contains('/') {
            return Ok(Vec::new());
        }
        let Some(project) = self.project_of(&scope.name).await? else {
            return Ok(Vec::new());
        };
        let wanted: Vec<&str> = if scope.actions.iter().any(|a| a == "*") {
            vec!["pull", "push", "delete"]
        } else {
            scope.actions.iter().map(String::as_str).collect()
        };
        let mut out = Vec::new();
        for a in wanted {
            let Some(action) = repository_action(a) else {
                continue;
            };
            if is_allowed(
                &self.db,
                &actor.principal,
                Some(&project),
                Resource::Repository,
                action,
            )
            .await?
                && !out.iter().any(|x: &String| x == a)
            {
                out.push(a.to_string());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scopes() {
        assert_eq!(
            ScopeRequest::parse("repository:library/alpine:pull,push"),
            Some(ScopeRequest {
                kind: "repository".into(),
                name: "library/alpine".into(),
                actions: vec!["pull".into(), "push".into()]
            })
        );
        assert_eq!(
            ScopeRequest::parse("registry:catalog:*").unwrap().actions,
            vec!["*"]
        );
        assert_eq!(
            ScopeRequest::parse("repository(plugin):a/b:pull")
                .unwrap()
                .kind,
            "repository"
        );
        assert_eq!(
            ScopeRequest::parse("repository:localhost:5000/a:pull")
                .unwrap()
                .name,
            "localhost:5000/a"
        );
        assert_eq!(ScopeRequest::parse("nonsense"), None);
        assert_eq!(ScopeRequest::parse("repository::pull"), None);
    }
}
