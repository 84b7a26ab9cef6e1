//! Immutable tag rules: stored per project (or, from the configuration file, for every
//! project), managed by project admins and maintainers, enforced by the registry and the REST
//! API on every push and delete, and honoured by retention.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Set,
};

use super::audit::{self, Outcome, Record};
use super::{Actor, DomainError, DomainResult, Services};
use crate::entities::{immutable_rule, project};
use crate::policy::authz::{Action, Resource};
use crate::policy::immutability::ImmutableRule;
use crate::policy::selector::{Decoration, Selector};
use crate::types::dto::ImmutableRuleView;

fn decoration(text: &str) -> Decoration {
    if text == "excludes" {
        Decoration::Excludes
    } else {
        Decoration::Matches
    }
}

fn decoration_name(d: Decoration) -> &'static str {
    match d {
        Decoration::Matches => "matches",
        Decoration::Excludes => "excludes",
    }
}

pub fn rule_of(m: &immutable_rule::Model) -> ImmutableRule {
    ImmutableRule {
        id: m.id,
        repositories: Selector {
            pattern: m.repo_pattern.clone(),
            decoration: decoration(&m.repo_decoration),
        },
        tags: Selector {
            pattern: m.tag_pattern.clone(),
            decoration: decoration(&m.tag_decoration),
        },
        disabled: m.disabled,
        from_config: m.source == "config",
    }
}

/// The rules that apply in a project: its own and those of the configuration file.
pub async fn rules_for(
    conn: &impl ConnectionTrait,
    project_id: i64,
) -> Result<Vec<ImmutableRule>, sea_orm::DbErr> {
    Ok(immutable_rule::Entity::find()
        .filter(
            Condition::any()
                .add(immutable_rule::Column::ProjectId.eq(project_id))
                .add(immutable_rule::Column::ProjectId.is_null()),
        )
        .order_by_asc(immutable_rule::Column::Id)
        .all(conn)
        .await?
        .iter()
        .map(rule_of)
        .collect())
}

/// A rule as it is created or changed.
#[derive(Clone, Debug)]
pub struct RuleInput {
    pub repositories: Selector,
    pub tags: Selector,
    pub disabled: bool,
}

fn validate(input: &RuleInput) -> DomainResult<()> {
    for (key, what, s) in [
        ("repositories", "repository pattern", &input.repositories),
        ("tags", "tag pattern", &input.tags),
    ] {
        crate::policy::selector::validate_pattern(&s.pattern)
            .map_err(|why| DomainError::field(key, format!("{what} `{}`: {why}", s.pattern)))?;
    }
    Ok(())
}

fn view(m: immutable_rule::Model, project: Option<String>) -> ImmutableRuleView {
    ImmutableRuleView {
        id: m.id,
        project,
        repo_pattern: m.repo_pattern,
        repo_decoration: m.repo_decoration,
        tag_pattern: m.tag_pattern,
        tag_decoration: m.tag_decoration,
        disabled: m.disabled,
        source: m.source,
    }
}

impl Services {
    async fn project_for_rules(
        &self,
        actor: &Actor,
        name: &str,
        action: Action,
    ) -> DomainResult<project::Model> {
        self.project_for(actor, name, Resource::ImmutableTag, action)
            .await
    }

    /// The project's rules, then the configuration file's (which apply to every project).
    pub async fn list_immutable_rules(
        &self,
        actor: &Actor,
        project_name: &str,
    ) -> DomainResult<Vec<ImmutableRuleView>> {
        let p = self
            .project_for_rules(actor, project_name, Action::List)
            .await?;
        let rows = immutable_rule::Entity::find()
            .filter(
                Condition::any()
                    .add(immutable_rule::Column::ProjectId.eq(p.id))
                    .add(immutable_rule::Column::ProjectId.is_null()),
            )
            .order_by_asc(immutable_rule::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| {
                let owner = m.project_id.map(|_| p.name.clone());
                view(m, owner)
            })
            .collect())
    }

    pub async fn create_immutable_rule(
        &self,
        actor: &Actor,
        project_name: &str,
        input: RuleInput,
    ) -> DomainResult<ImmutableRuleView> {
        validate(&input)?;
        let p = self
            .project_for_rules(actor, project_name, Action::Create)
            .await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let created = immutable_rule::ActiveModel {
            project_id: Set(Some(p.id)),
            repo_pattern: Set(input.repositories.pattern.trim().to_string()),
            repo_decoration: Set(decoration_name(input.repositories.decoration).into()),
            tag_pattern: Set(input.tags.pattern.trim().to_string()),
            tag_decoration: Set(decoration_name(input.tags.decoration).into()),
            disabled: Set(input.disabled),
            source: Set("api".into()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "create",
                resource_type: "immutable_rule",
                resource: &format!("{}#{}", p.name, created.id),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(view(created, Some(p.name)))
    }

    async fn own_rule(&self, p: &project::Model, id: i64) -> DomainResult<immutable_rule::Model> {
        let rule = immutable_rule::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("immutable rule {id} not found")))?;
        match rule.project_id {
            Some(owner) if owner == p.id => Ok(rule),
            None => Err(DomainError::Forbidden(format!(
                "immutable rule {id} comes from the configuration file; change it there"
            ))),
            Some(_) => Err(DomainError::NotFound(format!(
                "immutable rule {id} not found in `{}`",
                p.name
            ))),
        }
    }

    pub async fn update_immutable_rule(
        &self,
        actor: &Actor,
        project_name: &str,
        id: i64,
        input: RuleInput,
    ) -> DomainResult<ImmutableRuleView> {
        validate(&input)?;
        let p = self
            .project_for_rules(actor, project_name, Action::Update)
            .await?;
        let rule = self.own_rule(&p, id).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let mut active = rule.into_active_model();
        active.repo_pattern = Set(input.repositories.pattern.trim().to_string());
        active.repo_decoration = Set(decoration_name(input.repositories.decoration).into());
        active.tag_pattern = Set(input.tags.pattern.trim().to_string());
        active.tag_decoration = Set(decoration_name(input.tags.decoration).into());
        active.disabled = Set(input.disabled);
        let updated = active.update(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "update",
                resource_type: "immutable_rule",
                resource: &format!("{}#{id}", p.name),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(view(updated, Some(p.name)))
    }

    pub async fn delete_immutable_rule(
        &self,
        actor: &Actor,
        project_name: &str,
        id: i64,
    ) -> DomainResult<()> {
        let p = self
            .project_for_rules(actor, project_name, Action::Delete)
            .await?;
        let rule = self.own_rule(&p, id).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        immutable_rule::Entity::delete_by_id(rule.id)
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "delete",
                resource_type: "immutable_rule",
                resource: &format!("{}#{id}", p.name),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Makes the configuration file's rules (for every project) exactly `wanted`; returns a
    /// description of what changed, empty when nothing did. Idempotent.
    pub async fn reconcile_config_immutable_rules(
        &self,
        wanted: &[(Selector, Selector)],
    ) -> DomainResult<Vec<String>> {
        let txn = crate::db::begin_write(&self.db).await?;
        let existing = immutable_rule::Entity::find()
            .filter(immutable_rule::Column::ProjectId.is_null())
            .filter(immutable_rule::Column::Source.eq("config"))
            .order_by_asc(immutable_rule::Column::Id)
            .all(&txn)
            .await?;
        let key = |repo: &Selector, tag: &Selector| {
            format!(
                "repositories {} `{}`, tags {} `{}`",
                decoration_name(repo.decoration),
                repo.pattern,
                decoration_name(tag.decoration),
                tag.pattern
            )
        };
        let have: Vec<(i64, String)> = existing
            .iter()
            .map(|m| {
                let r = rule_of(m);
                (m.id, key(&r.repositories, &r.tags))
            })
            .collect();
        let want: Vec<String> = wanted.iter().map(|(r, t)| key(r, t)).collect();
        let mut diff = Vec::new();
        for (id, k) in &have {
            if !want.contains(k) {
                immutable_rule::Entity::delete_by_id(*id).exec(&txn).await?;
                diff.push(format!("- immutable rule: {k}"));
            }
        }
        for ((repo, tag), k) in wanted.iter().zip(&want) {
            if !have.iter().any(|(_, h)| h == k) {
                immutable_rule::ActiveModel {
                    project_id: Set(None),
                    repo_pattern: Set(repo.pattern.clone()),
                    repo_decoration: Set(decoration_name(repo.decoration).into()),
                    tag_pattern: Set(tag.pattern.clone()),
                    tag_decoration: Set(decoration_name(tag.decoration).into()),
                    disabled: Set(false),
                    source: Set("config".into()),
                    created_at: Set(Utc::now()),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                diff.push(format!("+ immutable rule: {k}"));
            }
        }
        if !diff.is_empty() {
            audit::record_with_detail(
                &txn,
                "system",
                "berth",
                "",
                Record {
                    operation: "apply",
                    resource_type: "immutable_rule",
                    resource: "configuration",
                    project_id: None,
                    outcome: Outcome::Success,
                },
                &diff.join("; "),
            )
            .await?;
        }
        txn.commit().await?;
        Ok(diff)
    }
}
