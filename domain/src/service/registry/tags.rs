//! Tags as the console and the REST API change them: added to an artifact, moved to another
//! (what a push of that tag would do), deleted — each refused where an immutable tag rule
//! protects it, each one event.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::Registry;
use crate::entities::{repository, tag};
use crate::policy::authz::Action;
use crate::service::audit::{self, Outcome, Record};
use crate::service::{Actor, DomainError, DomainResult};
use crate::types::Tag;

impl Registry {
    pub async fn add_tag(
        &self,
        actor: &Actor,
        project: &str,
        repo: &str,
        reference: &str,
        name: &str,
    ) -> DomainResult<()> {
        let (p, r) = self
            .repository_in(actor, project, repo, Action::Push)
            .await?;
        let t = Tag::parse(name).map_err(|why| DomainError::field("tag", why))?;
        let a = self.artifact_in(&r, reference).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        if tag_named(&txn, &r, &t).await?.is_some() {
            return Err(DomainError::Conflict(format!(
                "tag `{t}` already exists in `{}`",
                r.name
            )));
        }
        tag::ActiveModel {
            repository_id: Set(r.id),
            name: Set(t.to_string()),
            artifact_id: Set(a.id),
            push_time: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        audit::record_with(
            &*txn,
            actor,
            Record {
                operation: "create",
                resource_type: "tag",
                resource: &format!("{}:{t}", r.name),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
            serde_json::json!({ "tag": t.as_str(), "artifact_id": a.id, "digest": a.digest }),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Points the existing tag `name` of the repository at the artifact `reference` (what a
    /// push of that tag would do), unless an immutable tag rule protects it.
    pub async fn move_tag(
        &self,
        actor: &Actor,
        project: &str,
        repo: &str,
        reference: &str,
        name: &str,
    ) -> DomainResult<()> {
        let (p, r) = self
            .repository_in(actor, project, repo, Action::Push)
            .await?;
        let t = Tag::parse(name).map_err(|why| DomainError::field("tag", why))?;
        let a = self.artifact_in(&r, reference).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let existing = tag_named(&txn, &r, &t)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("tag `{t}` not found in `{}`", r.name)))?;
        if existing.artifact_id == a.id {
            return Ok(());
        }
        self.refuse_immutable_tags(&txn, p.id, &r.name, &[t.to_string()], "cannot move")
            .await?;
        let from = existing.artifact_id;
        let mut moved: tag::ActiveModel = existing.into();
        moved.artifact_id = Set(a.id);
        moved.push_time = Set(Utc::now());
        moved.update(&txn).await?;
        audit::record_with(
            &*txn,
            actor,
            Record {
                operation: "move",
                resource_type: "tag",
                resource: &format!("{}:{t}", r.name),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
            serde_json::json!({
                "tag": t.as_str(), "artifact_id": a.id, "digest": a.digest,
                "from_artifact_id": from,
            }),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn delete_tag(
        &self,
        actor: &Actor,
        project: &str,
        repo: &str,
        reference: &str,
        name: &str,
    ) -> DomainResult<()> {
        let (p, r) = self
            .repository_in(actor, project, repo, Action::Delete)
            .await?;
        let a = self.artifact_in(&r, reference).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        self.refuse_immutable_tags(&txn, p.id, &r.name, &[name.to_string()], "cannot delete")
            .await?;
        let res = tag::Entity::delete_many()
            .filter(tag::Column::ArtifactId.eq(a.id))
            .filter(tag::Column::Name.eq(name))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            return Err(DomainError::NotFound(format!(
                "tag `{name}` not found on that artifact"
            )));
        }
        audit::record_with(
            &*txn,
            actor,
            Record {
                operation: "delete",
                resource_type: "tag",
                resource: &format!("{}:{name}", r.name),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
            serde_json::json!({ "tag": name, "artifact_id": a.id, "digest": a.digest }),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

/// The tag `t` of the repository `r`, if it exists.
async fn tag_named(
    conn: &impl sea_orm::ConnectionTrait,
    r: &repository::Model,
    t: &Tag,
) -> DomainResult<Option<tag::Model>> {
    Ok(tag::Entity::find()
        .filter(tag::Column::RepositoryId.eq(r.id))
        .filter(tag::Column::Name.eq(t.as_str()))
        .one(conn)
        .await?)
}
