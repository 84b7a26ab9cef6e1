//! Labels, as Harbor has them: global labels (scope `g`) that system administrators manage and
//! everyone signed in sees, and project labels (scope `p`) that the project's administrators
//! and maintainers manage; attached to artifacts by developers and up. Artifacts carry their
//! labels in every view, lists filter by them, and retention rules select by them.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::audit::{self, Outcome, Record};
use super::projects::find_project;
use super::{authorize, page_bounds, rfc3339, Actor, DomainError, DomainResult, Services};
use crate::entities::{artifact_label, label, project};
use crate::policy::authz::{Action, Resource};
use crate::types::dto::{LabelView, Page};

/// Global labels.
pub const GLOBAL: &str = "g";
/// Labels of one project.
pub const PROJECT: &str = "p";

/// A new label, or the changes to one (`None`: unchanged).
#[derive(Clone, Debug, Default)]
pub struct LabelInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub color: Option<String>,
}

fn validate_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::field("name", "a label needs a name"));
    }
    if name.chars().count() > 128 {
        return Err(DomainError::field(
            "name",
            "a label's name has at most 128 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::field(
            "name",
            "a label's name must not contain control characters",
        ));
    }
    Ok(name.to_string())
}

/// `#rgb`, `#rrggbb`, or empty.
fn validate_color(color: &str) -> DomainResult<String> {
    let color = color.trim();
    let ok = color.is_empty()
        || (color.starts_with('#')
            && matches!(color.len(), 4 | 7)
            && color[1..].chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(color.to_lowercase())
    } else {
        Err(DomainError::field(
            "color",
            format!("`{color}` is not a colour such as #0369a1"),
        ))
    }
}

fn view(m: label::Model) -> LabelView {
    LabelView {
        id: m.id,
        name: m.name,
        description: m.description,
        color: m.color,
        scope: m.scope,
        project_id: m.project_id,
        creation_time: rfc3339(m.created_at),
        update_time: rfc3339(m.updated_at),
    }
}

/// The labels of each of `artifacts`, by artifact id, in name order.
pub(crate) async fn labels_of(
    conn: &impl ConnectionTrait,
    artifacts: &[i64],
) -> Result<HashMap<i64, Vec<LabelView>>, sea_orm::DbErr> {
    let mut out: HashMap<i64, Vec<LabelView>> = HashMap::new();
    if artifacts.is_empty() {
        return Ok(out);
    }
    let links = artifact_label::Entity::find()
        .filter(artifact_label::Column::ArtifactId.is_in(artifacts.iter().copied()))
        .all(conn)
        .await?;
    if links.is_empty() {
        return Ok(out);
    }
    let labels: HashMap<i64, label::Model> = label::Entity::find()
        .filter(label::Column::Id.is_in(links.iter().map(|l| l.label_id)))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    for link in links {
        if let Some(l) = labels.get(&link.label_id) {
            out.entry(link.artifact_id)
                .or_default()
                .push(view(l.clone()));
        }
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(out)
}

/// The ids of the artifacts carrying the label `label_id`.
pub(crate) async fn artifacts_with(
    conn: &impl ConnectionTrait,
    label_id: i64,
) -> Result<Vec<i64>, sea_orm::DbErr> {
    artifact_label::Entity::find()
        .filter(artifact_label::Column::LabelId.eq(label_id))
        .select_only()
        .column(artifact_label::Column::ArtifactId)
        .into_tuple::<i64>()
        .all(conn)
        .await
}

impl Services {
    /// Authorizes `action` on the label `l` (global: system scope; project: that project).
    async fn authorize_label(
        &self,
        actor: &Actor,
        l: &label::Model,
        action: Action,
    ) -> DomainResult<Option<project::Model>> {
        let p = match l.project_id {
            Some(id) => Some(
                project::Entity::find_by_id(id)
                    .one(&self.db)
                    .await?
                    .ok_or_else(|| DomainError::NotFound(format!("label {} not found", l.id)))?,
            ),
            None => None,
        };
        authorize(
            &self.db,
            &actor.principal,
            p.as_ref(),
            Resource::Label,
            action,
        )
        .await?;
        Ok(p)
    }

    /// Harbor's `GET /labels?scope=g|p&project_id=…&name=…`.
    pub async fn list_labels(
        &self,
        actor: &Actor,
        scope: &str,
        project_id: Option<i64>,
        name: Option<&str>,
        page: Option<u64>,
        page_size: Option<u64>,
    ) -> DomainResult<Page<LabelView>> {
        let (page, size) = page_bounds(page, page_size);
        let mut query = label::Entity::find();
        match scope {
            GLOBAL => {
                authorize(
                    &self.db,
                    &actor.principal,
                    None,
                    Resource::Label,
                    Action::List,
                )
                .await?;
                query = query.filter(label::Column::Scope.eq(GLOBAL));
            }
            PROJECT => {
                let id = project_id.ok_or_else(|| {
                    DomainError::field("project_id", "project labels are listed per project")
                })?;
                let p = find_project(&self.db, &id.to_string()).await?;
                authorize(
                    &self.db,
                    &actor.principal,
                    Some(&p),
                    Resource::Label,
                    Action::List,
                )
                .await?;
                query = query
                    .filter(label::Column::Scope.eq(PROJECT))
                    .filter(label::Column::ProjectId.eq(p.id));
            }
            other => {
                return Err(DomainError::field(
                    "scope",
                    format!("`{other}` is not a label scope (g for global, p for a project)"),
                ))
            }
        }
        if let Some(n) = name.map(str::trim).filter(|n| !n.is_empty()) {
            query = query.filter(label::Column::Name.contains(n));
        }
        let total = query.clone().count(&self.db).await?;
        let items = query
            .order_by_asc(label::Column::Name)
            .offset((page - 1) * size)
            .limit(size)
            .all(&self.db)
            .await?
            .into_iter()
            .map(view)
            .collect();
        Ok(Page {
            items,
            total,
            page,
            page_size: size,
        })
    }

    /// The labels an artifact of `project` may carry: every global label and the project's.
    pub async fn labels_for_project(
        &self,
        actor: &Actor,
        project: &str,
    ) -> DomainResult<Vec<LabelView>> {
        let p = find_project(&self.db, project).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Label,
            Action::List,
        )
        .await?;
        Ok(label::Entity::find()
            .filter(
                Condition::any()
                    .add(label::Column::Scope.eq(GLOBAL))
                    .add(label::Column::ProjectId.eq(p.id)),
            )
            .order_by_asc(label::Column::Scope)
            .order_by_asc(label::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    pub async fn get_label(&self, actor: &Actor, id: i64) -> DomainResult<LabelView> {
        let l = self.label_model(id).await?;
        self.authorize_label(actor, &l, Action::Read).await?;
        Ok(view(l))
    }

    async fn label_model(&self, id: i64) -> DomainResult<label::Model> {
        label::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("label {id} not found")))
    }

    /// Creates a global label (`project` empty; system administrators) or one of `project`.
    pub async fn create_label(
        &self,
        actor: &Actor,
        scope: &str,
        project_id: Option<i64>,
        input: LabelInput,
    ) -> DomainResult<LabelView> {
        let name = validate_name(input.name.as_deref().unwrap_or_default())?;
        let color = validate_color(input.color.as_deref().unwrap_or_default())?;
        let p = match scope {
            GLOBAL => None,
            PROJECT => {
                let id = project_id.ok_or_else(|| {
                    DomainError::field("project_id", "a project label needs its project_id")
                })?;
                Some(find_project(&self.db, &id.to_string()).await?)
            }
            other => {
                return Err(DomainError::field(
                    "scope",
                    format!("`{other}` is not a label scope (g for global, p for a project)"),
                ))
            }
        };
        authorize(
            &self.db,
            &actor.principal,
            p.as_ref(),
            Resource::Label,
            Action::Create,
        )
        .await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let scope_key = p.as_ref().map_or(0, |p| p.id);
        let taken = label::Entity::find()
            .filter(label::Column::Scope.eq(scope))
            .filter(label::Column::ScopeKey.eq(scope_key))
            .filter(label::Column::Name.eq(name.clone()))
            .one(&txn)
            .await?;
        if taken.is_some() {
            return Err(DomainError::Conflict(format!(
                "a label named `{name}` already exists here"
            )));
        }
        let now = Utc::now();
        let created = label::ActiveModel {
            name: Set(name.clone()),
            description: Set(input.description.unwrap_or_default()),
            color: Set(color),
            scope: Set(scope.to_string()),
            project_id: Set(p.as_ref().map(|p| p.id)),
            scope_key: Set(scope_key),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "create",
                resource_type: "label",
                resource: &name,
                project_id: p.as_ref().map(|p| p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(view(created))
    }

    pub async fn update_label(
        &self,
        actor: &Actor,
        id: i64,
        input: LabelInput,
    ) -> DomainResult<LabelView> {
        let name = input.name.as_deref().map(validate_name).transpose()?;
        let color = input.color.as_deref().map(validate_color).transpose()?;
        let l = self.label_model(id).await?;
        self.authorize_label(actor, &l, Action::Update).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        if let Some(n) = name.as_ref().filter(|n| **n != l.name) {
            let taken = label::Entity::find()
                .filter(label::Column::Scope.eq(l.scope.clone()))
                .filter(label::Column::ScopeKey.eq(l.scope_key))
                .filter(label::Column::Name.eq(n.clone()))
                .one(&txn)
                .await?;
            if taken.is_some() {
                return Err(DomainError::Conflict(format!(
                    "a label named `{n}` already exists here"
                )));
            }
        }
        let project_id = l.project_id;
        let mut active = l.into_active_model();
        if let Some(n) = name {
            active.name = Set(n);
        }
        if let Some(c) = color {
            active.color = Set(c);
        }
        if let Some(d) = input.description {
            active.description = Set(d);
        }
        active.updated_at = Set(Utc::now());
        let updated = active.update(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "update",
                resource_type: "label",
                resource: &updated.name,
                project_id,
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(view(updated))
    }

    /// Deletes a label; it comes off every artifact that carried it.
    pub async fn delete_label(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        let l = self.label_model(id).await?;
        self.authorize_label(actor, &l, Action::Delete).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        artifact_label::Entity::delete_many()
            .filter(artifact_label::Column::LabelId.eq(id))
            .exec(&txn)
            .await?;
        label::Entity::delete_by_id(id).exec(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "delete",
                resource_type: "label",
                resource: &l.name,
                project_id: l.project_id,
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The project and artifact `reference` names, once `action` on the project's artifact
    /// labels is allowed.
    async fn labelled_artifact(
        &self,
        actor: &Actor,
        project: &str,
        repo: &str,
        reference: &str,
        action: Action,
    ) -> DomainResult<(project::Model, String, crate::entities::artifact::Model)> {
        let p = find_project(&self.db, project).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::ArtifactLabel,
            action,
        )
        .await?;
        let r = super::registry::find_repository(&self.db, &p, repo).await?;
        let a = super::registry::find_artifact(&self.db, &r, reference).await?;
        Ok((p, r.name, a))
    }

    /// Harbor's `POST …/artifacts/{reference}/labels {"id": …}`: a global label, or one of
    /// the artifact's own project.
    pub async fn add_artifact_label(
        &self,
        actor: &Actor,
        project: &str,
        repo: &str,
        reference: &str,
        label_id: i64,
    ) -> DomainResult<()> {
        let (p, repo_name, a) = self
            .labelled_artifact(actor, project, repo, reference, Action::Create)
            .await?;
        let l = self.label_model(label_id).await?;
        if l.project_id.is_some_and(|owner| owner != p.id) {
            return Err(DomainError::field(
                "id",
                format!("label `{}` belongs to another project", l.name),
            ));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let exists = artifact_label::Entity::find_by_id((a.id, l.id))
            .one(&txn)
            .await?;
        if exists.is_some() {
            return Err(DomainError::Conflict(format!(
                "the artifact already carries the label `{}`",
                l.name
            )));
        }
        artifact_label::ActiveModel {
            artifact_id: Set(a.id),
            label_id: Set(l.id),
            created_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "create",
                resource_type: "artifact_label",
                resource: &format!("{repo_name}@{} {}", a.digest, l.name),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn remove_artifact_label(
        &self,
        actor: &Actor,
        project: &str,
        repo: &str,
        reference: &str,
        label_id: i64,
    ) -> DomainResult<()> {
        let (p, repo_name, a) = self
            .labelled_artifact(actor, project, repo, reference, Action::Delete)
            .await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let removed = artifact_label::Entity::delete_by_id((a.id, label_id))
            .exec(&txn)
            .await?;
        if removed.rows_affected == 0 {
            return Err(DomainError::NotFound(format!(
                "the artifact does not carry label {label_id}"
            )));
        }
        audit::record(
            &txn,
            actor,
            Record {
                operation: "delete",
                resource_type: "artifact_label",
                resource: &format!("{repo_name}@{} #{label_id}", a.digest),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_colours_are_checked() {
        assert!(validate_name("  ").is_err());
        assert_eq!(validate_name(" approved ").unwrap(), "approved");
        assert!(validate_color("#0369A1").is_ok());
        assert!(validate_color("#abc").is_ok());
        assert!(validate_color("").is_ok());
        assert!(validate_color("blue").is_err());
        assert!(validate_color("#12345").is_err());
    }
}
