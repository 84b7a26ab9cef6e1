//! Tag retention in a project: its policy (its own rules, or the configuration file's), a
//! preview of unsaved rules, dry runs and real runs recorded as executions. Every decision is
//! made by `policy::retention::evaluate`; this module only gathers the candidates and acts.
//!
//! Candidates are the project's artifacts except those that belong to another artifact: the
//! children of an image index and referrers (signatures, SBOMs) attached to a subject follow
//! their parent and are never deleted by retention directly.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::audit::{self, Outcome, Record};
use super::{rfc3339, Actor, DomainError, DomainResult, Services};
use crate::entities::{
    artifact, artifact_ref, project, repository, retention_execution, retention_policy, tag,
};
use crate::policy::authz::{Action, Resource};
use crate::policy::immutability::protecting;
use crate::policy::retention::{deletion_order, evaluate, Candidate, Decision, Rule, Verdict};
use crate::types::dto::{RetentionExecutionView, RetentionPolicyView};

/// What an execution row stores.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Stored {
    decisions: Vec<Decision>,
    errors: Vec<String>,
}

fn execution_view(m: retention_execution::Model, project: &str) -> RetentionExecutionView {
    let stored: Stored = serde_json::from_str(&m.result).unwrap_or_default();
    RetentionExecutionView {
        id: m.id,
        project: project.to_string(),
        dry_run: m.dry_run,
        trigger: m.trigger,
        status: m.status,
        started_at: rfc3339(m.started_at),
        finished_at: m.finished_at.map(rfc3339),
        decisions: stored.decisions,
        errors: stored.errors,
    }
}

fn validate(rules: &[Rule]) -> DomainResult<()> {
    if rules.len() > 15 {
        return Err(DomainError::Invalid(
            "a retention policy has at most 15 rules".into(),
        ));
    }
    for (i, r) in rules.iter().enumerate() {
        for (key, what, s) in [
            ("repositories", "repository pattern", &r.repositories),
            ("tags", "tag pattern", &r.tags),
        ] {
            crate::policy::selector::validate_pattern(&s.pattern).map_err(|why| {
                DomainError::field(
                    format!("rules[{i}].{key}"),
                    format!("{what} `{}`: {why}", s.pattern),
                )
            })?;
        }
        r.template.validate().map_err(|why| {
            // The template's own messages start with the parameter they refuse (`count: …`).
            let (key, why) = why.split_once(": ").unwrap_or(("template", why.as_str()));
            DomainError::field(format!("rules[{i}].{key}"), why)
        })?;
    }
    Ok(())
}

impl Services {
    async fn retention_project(
        &self,
        actor: &Actor,
        name: &str,
        action: Action,
    ) -> DomainResult<project::Model> {
        self.project_for(actor, name, Resource::TagRetention, action)
            .await
    }

    async fn policy_of(&self, p: &project::Model) -> DomainResult<RetentionPolicyView> {
        let own = retention_policy::Entity::find_by_id(p.id)
            .one(&self.db)
            .await?;
        Ok(match own {
            Some(row) => RetentionPolicyView {
                rules: serde_json::from_str(&row.rules).map_err(|e| {
                    DomainError::Invalid(format!("stored retention rules are unreadable: {e}"))
                })?,
                source: "project".into(),
                schedule: row.schedule,
            },
            None if !self.settings.default_retention.is_empty() => RetentionPolicyView {
                rules: self.settings.default_retention.clone(),
                source: "config".into(),
                schedule: self.settings.default_retention_schedule.clone(),
            },
            None => RetentionPolicyView {
                rules: Vec::new(),
                source: "none".into(),
                schedule: None,
            },
        })
    }

    pub async fn get_retention_policy(
        &self,
        actor: &Actor,
        project: &str,
    ) -> DomainResult<RetentionPolicyView> {
        let p = self.retention_project(actor, project, Action::Read).await?;
        self.policy_of(&p).await
    }

    /// Replaces the project's own rules; an empty list removes them (the configuration file's
    /// rules apply again, if any).
    pub async fn set_retention_policy(
        &self,
        actor: &Actor,
        project: &str,
        rules: Vec<Rule>,
        schedule: Option<String>,
    ) -> DomainResult<RetentionPolicyView> {
        validate(&rules)?;
        let schedule = schedule.filter(|s| !s.trim().is_empty());
        if let Some(s) = &schedule {
            crate::policy::cron::Schedule::parse(s)
                .map_err(|e| DomainError::field("schedule", e.to_string()))?;
        }
        if schedule.is_some() && rules.is_empty() {
            return Err(DomainError::field(
                "schedule",
                "a schedule needs at least one rule",
            ));
        }
        let p = self
            .retention_project(actor, project, Action::Update)
            .await?;
        let txn = crate::db::begin_write(&self.db).await?;
        retention_policy::Entity::delete_by_id(p.id)
            .exec(&txn)
            .await?;
        if !rules.is_empty() {
            retention_policy::ActiveModel {
                project_id: Set(p.id),
                rules: Set(serde_json::to_string(&rules).expect("rules serialise")),
                schedule: Set(schedule),
                updated_at: Set(Utc::now()),
            }
            .insert(&txn)
            .await?;
        }
        audit::record(
            &txn,
            actor,
            Record {
                operation: "update",
                resource_type: "retention_policy",
                resource: &p.name,
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        self.policy_of(&p).await
    }

    /// The project's artifacts as retention sees them.
    async fn candidates(&self, p: &project::Model) -> DomainResult<Vec<Candidate>> {
        let repos: HashMap<i64, String> = repository::Entity::find()
            .filter(repository::Column::ProjectId.eq(p.id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| {
                let path = r
                    .name
                    .split_once('/')
                    .map_or(String::new(), |(_, rest)| rest.to_string());
                (r.id, path)
            })
            .collect();
        let repo_ids: Vec<i64> = repos.keys().copied().collect();
        let artifacts = artifact::Entity::find()
            .filter(artifact::Column::RepositoryId.is_in(repo_ids.clone()))
            .order_by_asc(artifact::Column::Id)
            .all(&self.db)
            .await?;
        let ids: Vec<i64> = artifacts.iter().map(|a| a.id).collect();
        // The manifests each index references; the policy keeps them while the index stays.
        let mut children: HashMap<i64, Vec<String>> = HashMap::new();
        for r in artifact_ref::Entity::find()
            .filter(artifact_ref::Column::ArtifactId.is_in(ids))
            .filter(artifact_ref::Column::Kind.eq("manifest"))
            .all(&self.db)
            .await?
        {
            children.entry(r.artifact_id).or_default().push(r.digest);
        }
        let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
        for t in tag::Entity::find()
            .filter(tag::Column::RepositoryId.is_in(repo_ids))
            .order_by_asc(tag::Column::Name)
            .all(&self.db)
            .await?
        {
            tags.entry(t.artifact_id).or_default().push(t.name);
        }
        let rules = super::immutability::rules_for(&self.db, p.id).await?;
        let ids: Vec<i64> = artifacts.iter().map(|a| a.id).collect();
        let mut labels = super::labels::labels_of(&self.db, &ids).await?;
        // cosign's `sha256-<hex>.sig|.att|.sbom` artifacts follow their subject too.
        let tagged_accessories: std::collections::HashSet<i64> = tags
            .iter()
            .filter(|(_, names)| {
                names
                    .iter()
                    .all(|t| super::registry::signatures::accessory_tag(t).is_some())
            })
            .map(|(id, _)| *id)
            .collect();
        Ok(artifacts
            .into_iter()
            .filter(|a| a.subject_digest.is_none() && !tagged_accessories.contains(&a.id))
            .map(|a| {
                let repository = repos.get(&a.repository_id).cloned().unwrap_or_default();
                let tags = tags.remove(&a.id).unwrap_or_default();
                let immutable_tags = tags
                    .iter()
                    .filter(|t| protecting(&rules, &repository, t).is_some())
                    .cloned()
                    .collect();
                Candidate {
                    id: a.id,
                    repository,
                    digest: a.digest,
                    tags,
                    push_time: a.push_time,
                    pull_time: a.pull_time,
                    immutable_tags,
                    children: children.remove(&a.id).unwrap_or_default(),
                    labels: labels
                        .remove(&a.id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|l| l.name)
                        .collect(),
                }
            })
            .collect())
    }

    /// What `rules` would do now, without saving or changing anything (the console's preview).
    pub async fn preview_retention(
        &self,
        actor: &Actor,
        project: &str,
        rules: Vec<Rule>,
    ) -> DomainResult<Vec<Decision>> {
        validate(&rules)?;
        let p = self.retention_project(actor, project, Action::Read).await?;
        let candidates = self.candidates(&p).await?;
        Ok(evaluate(&rules, &candidates, Utc::now()))
    }

    /// Runs the project's policy: a dry run records what would be deleted; a real run deletes
    /// it. Either way the execution is recorded with every decision, and audited.
    pub async fn run_retention(
        &self,
        actor: &Actor,
        project: &str,
        dry_run: bool,
        trigger: &str,
    ) -> DomainResult<RetentionExecutionView> {
        // Runs, dry or not, are for maintainers and above (Harbor's rule); anyone who may read
        // the policy may preview it.
        let p = self
            .retention_project(actor, project, Action::Create)
            .await?;
        let policy = self.policy_of(&p).await?;
        let started = Utc::now();
        let row = retention_execution::ActiveModel {
            project_id: Set(p.id),
            dry_run: Set(dry_run),
            trigger: Set(trigger.into()),
            status: Set("running".into()),
            started_at: Set(started),
            finished_at: Set(None),
            result: Set("{}".into()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        let candidates = self.candidates(&p).await?;
        let mut decisions = evaluate(&policy.rules, &candidates, started);
        let mut errors = Vec::new();
        if !dry_run {
            for i in deletion_order(&candidates, &decisions) {
                let d = &mut decisions[i];
                if let Err(e) = self.retention_delete(actor, &p, d).await {
                    d.verdict = Verdict::Skip;
                    d.reason = format!("not deleted: {e}");
                    errors.push(format!("{}@{}: {e}", d.repository, d.digest));
                }
            }
        }
        let status = if errors.is_empty() {
            "success"
        } else {
            "error"
        };
        let stored = Stored { decisions, errors };
        let mut active: retention_execution::ActiveModel = row.into();
        active.status = Set(status.into());
        active.finished_at = Set(Some(Utc::now()));
        active.result = Set(serde_json::to_string(&stored).expect("decisions serialise"));
        let txn = crate::db::begin_write(&self.db).await?;
        let done = active.update(&*txn).await?;
        audit::record_with(
            &*txn,
            actor,
            Record {
                operation: if dry_run { "dry_run" } else { "run" },
                resource_type: "retention",
                resource: &format!("{}#{}", p.name, done.id),
                project_id: Some(p.id),
                outcome: if status == "success" {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
            },
            serde_json::json!({ "execution_id": done.id, "dry_run": dry_run, "status": status }),
        )
        .await?;
        txn.commit().await?;
        Ok(execution_view(done, &p.name))
    }

    /// Deletes one artifact chosen by retention, unless a tag became immutable meanwhile.
    async fn retention_delete(
        &self,
        actor: &Actor,
        p: &project::Model,
        d: &Decision,
    ) -> DomainResult<()> {
        let txn = crate::db::begin_write(&self.db).await?;
        let Some(a) = artifact::Entity::find_by_id(d.id).one(&txn).await? else {
            return Ok(()); // already gone
        };
        let tags: Vec<String> = tag::Entity::find()
            .filter(tag::Column::ArtifactId.eq(a.id))
            .all(&txn)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        let rules = super::immutability::rules_for(&txn, p.id).await?;
        if let Some(t) = tags
            .iter()
            .find(|t| protecting(&rules, &d.repository, t).is_some())
        {
            return Err(DomainError::Immutable(format!("tag `{t}` is immutable")));
        }
        // An index pushed since the evaluation may reference it now: never from under it.
        let parents: Vec<i64> = artifact_ref::Entity::find()
            .filter(artifact_ref::Column::Kind.eq("manifest"))
            .filter(artifact_ref::Column::Digest.eq(a.digest.clone()))
            .all(&txn)
            .await?
            .into_iter()
            .map(|r| r.artifact_id)
            .collect();
        if let Some(parent) = artifact::Entity::find()
            .filter(artifact::Column::Id.is_in(parents))
            .filter(artifact::Column::RepositoryId.eq(a.repository_id))
            .one(&txn)
            .await?
        {
            return Err(DomainError::Conflict(format!(
                "index {} still references it",
                parent.digest
            )));
        }
        super::registry::signatures::delete_with_accessories(&txn, p.id, &a).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "delete",
                resource_type: "artifact",
                resource: &format!("{}/{}@{} (retention)", p.name, d.repository, d.digest),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn list_retention_executions(
        &self,
        actor: &Actor,
        project: &str,
    ) -> DomainResult<Vec<RetentionExecutionView>> {
        let p = self.retention_project(actor, project, Action::Read).await?;
        Ok(retention_execution::Entity::find()
            .filter(retention_execution::Column::ProjectId.eq(p.id))
            .order_by_desc(retention_execution::Column::Id)
            .limit(50)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| execution_view(m, &p.name))
            .collect())
    }

    pub async fn get_retention_execution(
        &self,
        actor: &Actor,
        project: &str,
        id: i64,
    ) -> DomainResult<RetentionExecutionView> {
        let p = self.retention_project(actor, project, Action::Read).await?;
        retention_execution::Entity::find_by_id(id)
            .filter(retention_execution::Column::ProjectId.eq(p.id))
            .one(&self.db)
            .await?
            .map(|m| execution_view(m, &p.name))
            .ok_or_else(|| DomainError::NotFound(format!("retention execution {id} not found")))
    }
}

impl Services {
    /// Every project whose retention policy runs on a schedule, with that schedule: projects
    /// with their own scheduled policy, and, under `retention_schedule`, those following the
    /// configuration file's rules.
    pub async fn retention_schedules(&self) -> DomainResult<Vec<(String, String)>> {
        let own: HashMap<i64, Option<String>> = retention_policy::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.project_id, p.schedule))
            .collect();
        let default = self
            .settings
            .default_retention_schedule
            .clone()
            .filter(|_| !self.settings.default_retention.is_empty());
        Ok(project::Entity::find()
            .order_by_asc(project::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|p| {
                let schedule = match own.get(&p.id) {
                    Some(own) => own.clone(),
                    None => default.clone(),
                }?;
                Some((p.name, schedule))
            })
            .collect())
    }

    /// Claims one occurrence of a scheduled job for this replica; `false` when another replica
    /// (or an earlier tick) already has it.
    pub async fn claim_schedule(
        &self,
        job: &str,
        fire_time: chrono::DateTime<Utc>,
    ) -> DomainResult<bool> {
        use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
        let backend = self.db.get_database_backend();
        let sql = match backend {
            DatabaseBackend::Postgres => {
                "INSERT INTO schedule_claims (job, fire_time, claimed_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING"
            }
            _ => {
                "INSERT INTO schedule_claims (job, fire_time, claimed_at) VALUES (?, ?, ?) \
                 ON CONFLICT DO NOTHING"
            }
        };
        let res = self
            .db
            .execute(Statement::from_sql_and_values(
                backend,
                sql,
                vec![job.into(), fire_time.into(), Utc::now().into()],
            ))
            .await?;
        Ok(res.rows_affected() == 1)
    }
}
