//! Trust anchors: the cosign public keys and Notation CA certificates a project (or the whole
//! instance) trusts for image signatures. Project administrators manage their project's, system
//! administrators the system-wide ones; every change is audited and marks the verdicts it can
//! change stale in the same transaction.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::audit::{self, Outcome, Record};
use super::registry::signatures::bump_epoch;
use super::{require_configuration, rfc3339, Actor, DomainError, DomainResult, Services};
use crate::entities::{project, trust_anchor};
use crate::policy::authz::{Action, Resource};
use crate::signing::{anchors, AnchorKind};
use crate::types::dto::TrustAnchorView;

/// Whose anchors: a project's (by name or id) or the system's.
#[derive(Clone, Copy, Debug)]
pub enum AnchorScope<'a> {
    Project(&'a str),
    System,
}

/// An anchor as it is added.
#[derive(Clone, Debug, Default)]
pub struct AnchorInput {
    pub name: String,
    pub kind: String,
    pub public_key: Option<String>,
    pub certificate: Option<String>,
}

fn view(m: trust_anchor::Model, project: Option<&str>) -> TrustAnchorView {
    let (public_key, certificate) = match m.kind.as_str() {
        "cosign" => (Some(m.pem), None),
        _ => (None, Some(m.pem)),
    };
    TrustAnchorView {
        id: m.id,
        name: m.name,
        kind: m.kind,
        scope: if m.project_id.is_some() {
            "project"
        } else {
            "system"
        }
        .into(),
        project: project.map(str::to_string),
        fingerprint: m.fingerprint,
        algorithm: m.algorithm,
        subject: m.subject,
        not_after: m.not_after.map(rfc3339),
        public_key,
        certificate,
        creation_time: rfc3339(m.created_at),
        created_by: m.created_by,
    }
}

impl Services {
    async fn anchor_scope(
        &self,
        actor: &Actor,
        scope: AnchorScope<'_>,
        action: Action,
    ) -> DomainResult<Option<project::Model>> {
        match scope {
            AnchorScope::Project(name) => Ok(Some(
                self.project_for(actor, name, Resource::TrustAnchor, action)
                    .await?,
            )),
            AnchorScope::System => {
                let read = matches!(action, Action::Read | Action::List);
                require_configuration(
                    &self.db,
                    actor,
                    if read { Action::Read } else { Action::Update },
                )
                .await?;
                Ok(None)
            }
        }
    }

    pub async fn list_trust_anchors(
        &self,
        actor: &Actor,
        scope: AnchorScope<'_>,
    ) -> DomainResult<Vec<TrustAnchorView>> {
        let p = self.anchor_scope(actor, scope, Action::List).await?;
        let rows = trust_anchor::Entity::find()
            .filter(match &p {
                Some(p) => trust_anchor::Column::ProjectId.eq(p.id),
                None => trust_anchor::Column::ProjectId.is_null(),
            })
            .order_by_asc(trust_anchor::Column::Id)
            .all(&self.db)
            .await?;
        let name = p.as_ref().map(|p| p.name.as_str());
        Ok(rows.into_iter().map(|m| view(m, name)).collect())
    }

    pub async fn create_trust_anchor(
        &self,
        actor: &Actor,
        scope: AnchorScope<'_>,
        input: AnchorInput,
    ) -> DomainResult<TrustAnchorView> {
        let p = self.anchor_scope(actor, scope, Action::Create).await?;
        let name = input.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 128 {
            return Err(DomainError::field(
                "name",
                "give the anchor a name of 1 to 128 characters",
            ));
        }
        let kind = AnchorKind::parse(input.kind.trim()).ok_or_else(|| {
            DomainError::field(
                "kind",
                format!("kind must be `cosign` or `notation`, not `{}`", input.kind),
            )
        })?;
        let field = match kind {
            AnchorKind::Cosign => "public_key",
            AnchorKind::Notation => "certificate",
        };
        let parsed = anchors::parse(
            kind,
            input.public_key.as_deref(),
            input.certificate.as_deref(),
        )
        .map_err(|why| DomainError::field(field, why))?;
        let project_id = p.as_ref().map(|p| p.id);
        let txn = crate::db::begin_write(&self.db).await?;
        let same_scope = match project_id {
            Some(id) => trust_anchor::Column::ProjectId.eq(id),
            None => trust_anchor::Column::ProjectId.is_null(),
        };
        let existing = trust_anchor::Entity::find()
            .filter(same_scope)
            .all(&*txn)
            .await?;
        if existing.iter().any(|a| a.name == name) {
            return Err(DomainError::Conflict(format!(
                "an anchor named `{name}` exists already"
            )));
        }
        if let Some(a) = existing
            .iter()
            .find(|a| a.fingerprint == parsed.fingerprint)
        {
            return Err(DomainError::Conflict(format!(
                "this {} is trusted already, as `{}`",
                if kind == AnchorKind::Cosign {
                    "key"
                } else {
                    "certificate"
                },
                a.name
            )));
        }
        let created = trust_anchor::ActiveModel {
            project_id: Set(project_id),
            name: Set(name.clone()),
            kind: Set(kind.as_str().into()),
            pem: Set(parsed.pem),
            fingerprint: Set(parsed.fingerprint),
            algorithm: Set(parsed.algorithm),
            subject: Set(parsed.subject),
            not_after: Set(parsed
                .not_after
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))),
            created_at: Set(Utc::now()),
            created_by: Set(actor.principal.name().into()),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        bump_epoch(&*txn, project_id.unwrap_or(0)).await?;
        audit::record_with(
            &*txn,
            actor,
            Record {
                operation: "create",
                resource_type: "trust_anchor",
                resource: &format!(
                    "{}:{name}",
                    p.as_ref().map(|p| p.name.as_str()).unwrap_or("system")
                ),
                project_id,
                outcome: Outcome::Success,
            },
            serde_json::json!({
                "id": created.id, "kind": created.kind, "fingerprint": created.fingerprint,
                "algorithm": created.algorithm,
            }),
        )
        .await?;
        txn.commit().await?;
        Ok(view(created, p.as_ref().map(|p| p.name.as_str())))
    }

    pub async fn delete_trust_anchor(
        &self,
        actor: &Actor,
        scope: AnchorScope<'_>,
        id: i64,
    ) -> DomainResult<()> {
        let p = self.anchor_scope(actor, scope, Action::Delete).await?;
        let project_id = p.as_ref().map(|p| p.id);
        let txn = crate::db::begin_write(&self.db).await?;
        let anchor = trust_anchor::Entity::find_by_id(id)
            .one(&*txn)
            .await?
            .filter(|a| a.project_id == project_id)
            .ok_or_else(|| DomainError::NotFound(format!("trust anchor {id} not found")))?;
        trust_anchor::Entity::delete_by_id(id).exec(&*txn).await?;
        bump_epoch(&*txn, project_id.unwrap_or(0)).await?;
        audit::record_with(
            &*txn,
            actor,
            Record {
                operation: "delete",
                resource_type: "trust_anchor",
                resource: &format!(
                    "{}:{}",
                    p.as_ref().map(|p| p.name.as_str()).unwrap_or("system"),
                    anchor.name
                ),
                project_id,
                outcome: Outcome::Success,
            },
            serde_json::json!({ "id": id, "kind": anchor.kind, "fingerprint": anchor.fingerprint }),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
