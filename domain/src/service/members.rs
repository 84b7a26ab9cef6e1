//! Project members: users and groups with a role.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};

use super::audit::{self, Outcome, Record};
use super::projects::find_project;
use super::{authorize, Actor, DomainError, DomainResult, Services};
use crate::entities::{project_member, user, user_group};
use crate::policy::authz::{Action, Resource};
use crate::types::dto::{MemberKind, MemberView};
use crate::types::Role;

/// Who to add: a user by name, or a group by name (created on demand as an OIDC group, the
/// way Harbor adds OIDC groups by name).
#[derive(Clone, Debug)]
pub enum MemberRef {
    User(String),
    Group(String),
}

impl Services {
    async fn member_view(&self, m: project_member::Model) -> DomainResult<MemberView> {
        let (kind, name) = match (m.user_id, m.group_id) {
            (Some(uid), _) => (
                MemberKind::User,
                user::Entity::find_by_id(uid)
                    .one(&self.db)
                    .await?
                    .map(|u| u.username)
                    .unwrap_or_default(),
            ),
            (_, Some(gid)) => (
                MemberKind::Group,
                user_group::Entity::find_by_id(gid)
                    .one(&self.db)
                    .await?
                    .map(|g| g.name)
                    .unwrap_or_default(),
            ),
            _ => (MemberKind::User, String::new()),
        };
        let role = m.role.parse().unwrap_or(Role::LimitedGuest);
        Ok(MemberView {
            id: m.id,
            kind,
            name,
            role,
        })
    }

    pub async fn list_members(
        &self,
        actor: &Actor,
        project: &str,
        name_filter: Option<&str>,
    ) -> DomainResult<Vec<MemberView>> {
        let p = find_project(&self.db, project).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Member,
            Action::List,
        )
        .await?;
        let rows = project_member::Entity::find()
            .filter(project_member::Column::ProjectId.eq(p.id))
            .order_by_asc(project_member::Column::Id)
            .all(&self.db)
            .await?;
        let mut out = Vec::new();
        for m in rows {
            let v = self.member_view(m).await?;
            if name_filter.is_none_or(|f| v.name.contains(f)) {
                out.push(v);
            }
        }
        Ok(out)
    }

    pub async fn get_member(
        &self,
        actor: &Actor,
        project: &str,
        member_id: i64,
    ) -> DomainResult<MemberView> {
        let p = find_project(&self.db, project).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Member,
            Action::Read,
        )
        .await?;
        let m = project_member::Entity::find_by_id(member_id)
            .filter(project_member::Column::ProjectId.eq(p.id))
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                DomainError::NotFound(format!(
                    "member {member_id} not found in project `{}`",
                    p.name
                ))
            })?;
        self.member_view(m).await
    }

    pub async fn add_member(
        &self,
        actor: &Actor,
        project: &str,
        who: MemberRef,
        role: Role,
    ) -> DomainResult<MemberView> {
        let p = find_project(&self.db, project).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Member,
            Action::Create,
        )
        .await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let (user_id, group_id, label) = match &who {
            MemberRef::User(name) => {
                let u = user::Entity::find()
                    .filter(user::Column::Username.eq(name.as_str()))
                    .one(&txn)
                    .await?
                    .ok_or_else(|| DomainError::NotFound(format!("user `{name}` not found")))?;
                (Some(u.id), None, format!("user:{name}"))
            }
            MemberRef::Group(name) => {
                let existing = user_group::Entity::find()
                    .filter(user_group::Column::Name.eq(name.as_str()))
                    .one(&txn)
                    .await?;
                let g = match existing {
                    Some(g) => g,
                    None => {
                        user_group::ActiveModel {
                            name: Set(name.clone()),
                            group_type: Set("oidc".into()),
                            created_at: Set(Utc::now()),
                            ..Default::default()
                        }
                        .insert(&txn)
                        .await?
                    }
                };
                (None, Some(g.id), format!("group:{name}"))
            }
        };
        let duplicate = project_member::Entity::find()
            .filter(project_member::Column::ProjectId.eq(p.id))
            .filter(match (user_id, group_id) {
                (Some(u), _) => project_member::Column::UserId.eq(u),
                (_, g) => project_member::Column::GroupId.eq(g),
            })
            .one(&txn)
            .await?;
        if duplicate.is_some() {
            return Err(DomainError::Conflict(format!(
                "{label} is already a member of `{}`",
                p.name
            )));
        }
        let m = project_member::ActiveModel {
            project_id: Set(p.id),
            user_id: Set(user_id),
            group_id: Set(group_id),
            role: Set(role.as_str().into()),
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
                resource_type: "member",
                resource: &format!("{}/{label} ({role})", p.name),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        self.member_view(m).await
    }

    pub async fn update_member(
        &self,
        actor: &Actor,
        project: &str,
        member_id: i64,
        role: Role,
    ) -> DomainResult<MemberView> {
        let p = find_project(&self.db, project).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Member,
            Action::Update,
        )
        .await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let m = project_member::Entity::find_by_id(member_id)
            .filter(project_member::Column::ProjectId.eq(p.id))
            .one(&txn)
            .await?
            .ok_or_else(|| {
                DomainError::NotFound(format!(
                    "member {member_id} not found in project `{}`",
                    p.name
                ))
            })?;
        let mut active = m.into_active_model();
        active.role = Set(role.as_str().into());
        let updated = active.update(&txn).await?;
        let view = self.member_view(updated).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "update",
                resource_type: "member",
                resource: &format!("{}/{} ({role})", p.name, view.name),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(view)
    }

    pub async fn remove_member(
        &self,
        actor: &Actor,
        project: &str,
        member_id: i64,
    ) -> DomainResult<()> {
        let p = find_project(&self.db, project).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Member,
            Action::Delete,
        )
        .await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let m = project_member::Entity::find_by_id(member_id)
            .filter(project_member::Column::ProjectId.eq(p.id))
            .one(&txn)
            .await?
            .ok_or_else(|| {
                DomainError::NotFound(format!(
                    "member {member_id} not found in project `{}`",
                    p.name
                ))
            })?;
        let view = self.member_view(m).await?;
        project_member::Entity::delete_by_id(member_id)
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "delete",
                resource_type: "member",
                resource: &format!("{}/{}", p.name, view.name),
                project_id: Some(p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
