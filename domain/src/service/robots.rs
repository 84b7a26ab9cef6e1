//! Robot accounts: named credentials with explicit permissions, a secret shown once, expiry.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};

use super::audit::{self, Outcome, Record};
use super::projects::find_project;
use super::{
    authorize, rfc3339, Actor, DomainError, DomainResult, Principal, RobotPrincipal, Services,
};
use crate::entities::{project, robot};
use crate::password;
use crate::policy::authz::{Action, Resource, RobotGrant};
use crate::types::dto::{RobotSecret, RobotView};

pub const ROBOT_PREFIX: &str = "robot$";

/// What a robot may be granted (the policy's list).
pub use crate::policy::authz::ROBOT_GRANTABLE as GRANTABLE;

#[derive(Clone, Debug)]
pub struct NewRobot {
    /// The short name; the prefix and project are added.
    pub name: String,
    pub description: String,
    /// `Some(project)` for a project robot, `None` for a system robot.
    pub project: Option<String>,
    /// Days until expiry; -1 never expires.
    pub duration_days: i64,
    pub permissions: Vec<RobotGrant>,
    pub disabled: bool,
}

#[derive(Clone, Debug, Default)]
pub struct RobotUpdate {
    pub description: Option<String>,
    pub disabled: Option<bool>,
    /// Replaces every permission (Harbor's `PUT /robots/{id}` with `permissions`).
    pub permissions: Option<Vec<RobotGrant>>,
}

/// Refuses permissions a robot cannot hold, or that reach outside its project.
fn validate_grants(grants: &[RobotGrant], project: Option<&project::Model>) -> DomainResult<()> {
    if grants.is_empty() {
        return Err(DomainError::field(
            "permissions",
            "a robot needs at least one permission",
        ));
    }
    for g in grants {
        if !GRANTABLE.contains(&(g.resource, g.action)) {
            return Err(DomainError::field(
                "permissions",
                format!(
                    "robots cannot be granted {:?} on {:?}",
                    g.action, g.resource
                ),
            ));
        }
        if let Some(p) = project {
            if g.namespace != p.name {
                return Err(DomainError::field(
                    "permissions",
                    format!(
                        "a robot of project `{}` can only hold permissions in that project, not `{}`",
                        p.name, g.namespace
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn view(r: robot::Model, project_name: Option<String>) -> RobotView {
    RobotView {
        id: r.id,
        name: r.name,
        description: r.description,
        project: project_name,
        permissions: serde_json::from_str(&r.permissions).unwrap_or_default(),
        disabled: r.disabled,
        expires_at: r.expires_at.map(rfc3339),
        created_by: r.created_by,
        created_at: rfc3339(r.created_at),
    }
}

fn validate_short_name(name: &str) -> DomainResult<()> {
    let ok = (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(DomainError::field(
            "name",
            format!(
                "invalid robot name `{name}`: use 1-128 lower-case letters, digits, '.', '_' or '-'"
            ),
        ))
    }
}

impl Services {
    async fn robot_scope(&self, r: &robot::Model) -> DomainResult<Option<project::Model>> {
        Ok(match r.project_id {
            Some(id) => project::Entity::find_by_id(id).one(&self.db).await?,
            None => None,
        })
    }

    async fn authorize_robot(
        &self,
        actor: &Actor,
        project: Option<&project::Model>,
        action: Action,
    ) -> DomainResult<()> {
        if matches!(actor.principal, Principal::Robot(_)) {
            return Err(DomainError::Forbidden(
                "robot accounts cannot manage robot accounts".into(),
            ));
        }
        authorize(&self.db, &actor.principal, project, Resource::Robot, action).await
    }

    pub async fn create_robot(&self, actor: &Actor, new: NewRobot) -> DomainResult<RobotSecret> {
        validate_short_name(&new.name)?;
        let project = match &new.project {
            Some(p) => Some(find_project(&self.db, p).await?),
            None => None,
        };
        self.authorize_robot(actor, project.as_ref(), Action::Create)
            .await?;
        validate_grants(&new.permissions, project.as_ref())?;
        let now = Utc::now();
        let expires_at = match new.duration_days {
            -1 => None,
            days => Some(
                crate::policy::limits::days_after("duration", now, days).map_err(|why| {
                    DomainError::Invalid(format!("{why} (or -1 for never expiring)"))
                })?,
            ),
        };
        let full_name = match &project {
            Some(p) => format!("{ROBOT_PREFIX}{}+{}", p.name, new.name),
            None => format!("{ROBOT_PREFIX}{}", new.name),
        };
        let secret = password::generate(32);
        let txn = crate::db::begin_write(&self.db).await?;
        if robot::Entity::find()
            .filter(robot::Column::Name.eq(&full_name))
            .one(&txn)
            .await?
            .is_some()
        {
            return Err(DomainError::Conflict(format!(
                "robot `{full_name}` already exists"
            )));
        }
        let created = robot::ActiveModel {
            name: Set(full_name.clone()),
            description: Set(new.description),
            project_id: Set(project.as_ref().map(|p| p.id)),
            secret_hash: Set(password::hash(&secret)),
            permissions: Set(serde_json::to_string(&new.permissions).expect("grants serialise")),
            disabled: Set(new.disabled),
            expires_at: Set(expires_at),
            created_by: Set(actor.principal.name().into()),
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
                resource_type: "robot",
                resource: &full_name,
                project_id: project.as_ref().map(|p| p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(RobotSecret {
            id: created.id,
            name: full_name,
            secret,
            expires_at: expires_at.map(rfc3339),
        })
    }

    /// Robots of a project, or (for system admins, with `project = None`) every robot.
    pub async fn list_robots(
        &self,
        actor: &Actor,
        project: Option<&str>,
    ) -> DomainResult<Vec<RobotView>> {
        let scope = match project {
            Some(p) => Some(find_project(&self.db, p).await?),
            None => None,
        };
        self.authorize_robot(actor, scope.as_ref(), Action::List)
            .await?;
        let mut q = robot::Entity::find().order_by_asc(robot::Column::Name);
        if let Some(p) = &scope {
            q = q.filter(robot::Column::ProjectId.eq(p.id));
        }
        let mut out = Vec::new();
        for r in q.all(&self.db).await? {
            let project_name = self.robot_scope(&r).await?.map(|p| p.name);
            out.push(view(r, project_name));
        }
        Ok(out)
    }

    async fn find_robot(
        &self,
        actor: &Actor,
        id: i64,
        action: Action,
    ) -> DomainResult<(robot::Model, Option<project::Model>)> {
        let r = robot::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("robot {id} not found")))?;
        let scope = self.robot_scope(&r).await?;
        self.authorize_robot(actor, scope.as_ref(), action).await?;
        Ok((r, scope))
    }

    pub async fn get_robot(&self, actor: &Actor, id: i64) -> DomainResult<RobotView> {
        let (r, scope) = self.find_robot(actor, id, Action::Read).await?;
        Ok(view(r, scope.map(|p| p.name)))
    }

    pub async fn update_robot(
        &self,
        actor: &Actor,
        id: i64,
        update: RobotUpdate,
    ) -> DomainResult<RobotView> {
        let (r, scope) = self.find_robot(actor, id, Action::Update).await?;
        if let Some(grants) = &update.permissions {
            validate_grants(grants, scope.as_ref())?;
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let name = r.name.clone();
        let operation = match update.disabled {
            Some(true) if !r.disabled => "disable",
            Some(false) if r.disabled => "enable",
            _ => "update",
        };
        let mut active = r.into_active_model();
        if let Some(d) = update.description {
            active.description = Set(d);
        }
        if let Some(disabled) = update.disabled {
            active.disabled = Set(disabled);
        }
        if let Some(grants) = update.permissions {
            active.permissions = Set(serde_json::to_string(&grants).expect("grants serialise"));
        }
        active.updated_at = Set(Utc::now());
        let updated = active.update(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation,
                resource_type: "robot",
                resource: &name,
                project_id: scope.as_ref().map(|p| p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(view(updated, scope.map(|p| p.name)))
    }

    /// Issues a new secret; the old one stops working at once.
    pub async fn refresh_robot_secret(&self, actor: &Actor, id: i64) -> DomainResult<RobotSecret> {
        let (r, scope) = self.find_robot(actor, id, Action::Update).await?;
        let secret = password::generate(32);
        let txn = crate::db::begin_write(&self.db).await?;
        let (name, expires_at) = (r.name.clone(), r.expires_at);
        let mut active = r.into_active_model();
        active.secret_hash = Set(password::hash(&secret));
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "refresh_secret",
                resource_type: "robot",
                resource: &name,
                project_id: scope.as_ref().map(|p| p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(RobotSecret {
            id,
            name,
            secret,
            expires_at: expires_at.map(rfc3339),
        })
    }

    pub async fn delete_robot(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        let (r, scope) = self.find_robot(actor, id, Action::Delete).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        robot::Entity::delete_by_id(r.id).exec(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "delete",
                resource_type: "robot",
                resource: &r.name,
                project_id: scope.as_ref().map(|p| p.id),
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Checks a robot's name and secret. Disabled and expired robots are refused.
    pub async fn authenticate_robot(
        &self,
        name: &str,
        secret: &str,
        source_ip: &str,
    ) -> DomainResult<RobotPrincipal> {
        let found = robot::Entity::find()
            .filter(robot::Column::Name.eq(name))
            .one(&self.db)
            .await?;
        let failure = match &found {
            None => Some("invalid robot name or secret"),
            Some(r) if !password::verify(secret, &r.secret_hash) => {
                Some("invalid robot name or secret")
            }
            Some(r) if r.disabled => Some("this robot account is disabled"),
            Some(r) if r.expires_at.is_some_and(|e| e <= Utc::now()) => {
                Some("this robot account has expired")
            }
            Some(_) => None,
        };
        if let Some(message) = failure {
            audit::record_as_now(
                &self.db,
                "robot",
                name,
                source_ip,
                Record {
                    operation: "login",
                    resource_type: "session",
                    resource: name,
                    project_id: found.as_ref().and_then(|r| r.project_id),
                    outcome: Outcome::Failure,
                },
            )
            .await?;
            return Err(DomainError::Unauthorized(message.into()));
        }
        let r = found.expect("no failure implies found");
        Ok(RobotPrincipal {
            id: r.id,
            name: r.name,
            grants: serde_json::from_str(&r.permissions).unwrap_or_default(),
        })
    }
}
