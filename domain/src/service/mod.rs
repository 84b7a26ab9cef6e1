//! Services: every operation of Berth. Each method takes the acting `Actor` first, checks the
//! policy, does its work in one transaction and writes the audit record in that transaction.

pub mod allowlists;
pub mod audit;
pub mod bootstrap;
pub mod events;
pub mod groups;
pub mod immutability;
pub mod labels;
pub mod limiter;
pub mod login;
pub mod members;
pub mod oidc;
pub mod projects;
pub mod registry;
pub mod replication;
pub mod retention;
pub mod robots;
pub mod scans;
pub mod tokens;
pub mod trust;
pub mod users;
pub mod vulndb;

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

/// The runtime a background job (garbage collection started from the console) runs on.
pub use tokio::runtime::Handle as RuntimeHandle;

use crate::entities::{project, project_member, user_group_member};
use crate::policy::authz::{self, Action, ProjectFacts, Resource, RobotGrant, Subject};
use crate::types::Role;

/// Who is acting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    User(UserPrincipal),
    Robot(RobotPrincipal),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPrincipal {
    pub id: i64,
    pub username: String,
    pub is_admin: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RobotPrincipal {
    pub id: i64,
    pub name: String,
    pub grants: Vec<RobotGrant>,
}

impl Principal {
    pub fn name(&self) -> &str {
        match self {
            Principal::Anonymous => "anonymous",
            Principal::User(u) => &u.username,
            Principal::Robot(r) => &r.name,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Principal::Anonymous => "anonymous",
            Principal::User(_) => "user",
            Principal::Robot(_) => "robot",
        }
    }

    fn subject(&self) -> Subject<'_> {
        match self {
            Principal::Anonymous => Subject::Anonymous,
            Principal::User(u) => Subject::User {
                is_admin: u.is_admin,
            },
            Principal::Robot(r) => Subject::Robot { grants: &r.grants },
        }
    }
}

/// The principal and where the request came from: what the audit log records.
#[derive(Clone, Debug)]
pub struct Actor {
    pub principal: Principal,
    pub source_ip: String,
}

impl Actor {
    pub fn new(principal: Principal, source_ip: impl Into<String>) -> Self {
        Self {
            principal,
            source_ip: source_ip.into(),
        }
    }

    /// Berth itself, for scheduled jobs: a system administrator named `system` that no one can
    /// sign in as (there is no user row with id 0).
    pub fn system() -> Self {
        Self::new(
            Principal::User(UserPrincipal {
                id: 0,
                username: "system".into(),
                is_admin: true,
            }),
            "scheduler",
        )
    }

    /// Berth replicating for policy `policy`: a system administrator named `replication`
    /// that no one can sign in as, so the audit log tells copies from people.
    pub fn replication(policy: &str) -> Self {
        Self::new(
            Principal::User(UserPrincipal {
                id: 0,
                username: "replication".into(),
                is_admin: true,
            }),
            format!("replication policy {policy}"),
        )
    }
}

/// Errors of the domain layer; each edge (registry, REST, console) maps them to its own format.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// A value the caller gave for one field is not acceptable (400): `field` names it as the
    /// request spells it (`project_name`, `rules[0].tags`), so that forms can show the message
    /// next to that field.
    #[error("{field}: {message}")]
    Field { field: String, message: String },
    #[error("{0}")]
    TooManyRequests(String),
    /// An immutable tag rule protects what the request would change (412).
    #[error("{0}")]
    Immutable(String),
    /// The request would break what something else relies on (412): a registry a policy
    /// uses, a policy that is running.
    #[error("{0}")]
    Precondition(String),
    /// A part Berth depends on (the database, the blob store) is busy or down for now: the
    /// caller may retry (503 with `Retry-After`).
    #[error("{0}")]
    Unavailable(String),
    /// A fault of Berth's, never of the caller's (500); the message is for the log.
    #[error("{0}")]
    Internal(String),
    #[error("database error")]
    Database(#[from] DbErr),
}

pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    /// A refusal of the value given for `field`.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Field {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Settings the services take from the configuration.
#[derive(Clone, Debug)]
pub struct ServiceSettings {
    /// Storage limit of new projects in bytes; -1 unlimited.
    pub default_storage_limit: i64,
    /// How long a CLI secret stays valid after it is generated.
    pub cli_secret_lifetime: chrono::Duration,
    /// Local user creation is off under `oidc_auth`, as in Harbor.
    pub local_user_creation: bool,
    /// The configuration file's `retention` rules: the policy of projects without their own.
    pub default_retention: Vec<crate::policy::retention::Rule>,
    /// When the configuration file's retention rules run by themselves (`retention_schedule`).
    pub default_retention_schedule: Option<String>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            default_storage_limit: -1,
            cli_secret_lifetime: chrono::Duration::days(90),
            local_user_creation: true,
            default_retention: Vec::new(),
            default_retention_schedule: None,
        }
    }
}

/// Entry point to every service, cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub db: DatabaseConnection,
    pub settings: std::sync::Arc<ServiceSettings>,
    pub login_limiter: std::sync::Arc<limiter::LoginLimiter>,
}

impl Services {
    pub fn new(db: DatabaseConnection, settings: ServiceSettings) -> Self {
        Self {
            db,
            settings: std::sync::Arc::new(settings),
            login_limiter: std::sync::Arc::new(limiter::LoginLimiter::default()),
        }
    }
}

/// A user's effective role in a project: the highest of their direct and group memberships.
pub async fn effective_role(
    conn: &impl ConnectionTrait,
    principal: &Principal,
    project_id: i64,
) -> Result<Option<Role>, DbErr> {
    let Principal::User(user) = principal else {
        return Ok(None);
    };
    let group_ids: Vec<i64> = user_group_member::Entity::find()
        .filter(user_group_member::Column::UserId.eq(user.id))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| m.group_id)
        .collect();
    let memberships = project_member::Entity::find()
        .filter(project_member::Column::ProjectId.eq(project_id))
        .filter(
            project_member::Column::UserId
                .eq(user.id)
                .or(project_member::Column::GroupId.is_in(group_ids)),
        )
        .all(conn)
        .await?;
    Ok(memberships
        .iter()
        .filter_map(|m| m.role.parse::<Role>().ok())
        .max_by_key(|r| r.rank()))
}

/// The one authorization check of the domain: loads the facts the policy needs and asks it.
/// Callers that cannot even see the project get "not found", so private names do not leak.
/// Refuses unless `actor` may `action` the instance's configuration: users, settings,
/// scanners, garbage collection, events (system administrators).
pub async fn require_configuration(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    action: Action,
) -> DomainResult<()> {
    authorize(
        conn,
        &actor.principal,
        None,
        Resource::Configuration,
        action,
    )
    .await
}

pub async fn authorize(
    conn: &impl ConnectionTrait,
    principal: &Principal,
    project: Option<&project::Model>,
    resource: Resource,
    action: Action,
) -> DomainResult<()> {
    if is_allowed(conn, principal, project, resource, action).await? {
        return Ok(());
    }
    if matches!(principal, Principal::Anonymous) {
        return Err(DomainError::Unauthorized("authentication required".into()));
    }
    if let Some(p) = project {
        if !is_allowed(conn, principal, Some(p), Resource::Project, Action::Read).await? {
            return Err(DomainError::NotFound(format!(
                "project `{}` not found",
                p.name
            )));
        }
    }
    Err(DomainError::Forbidden(format!(
        "{} `{}` may not {} {}",
        principal.kind(),
        principal.name(),
        action_verb(action),
        resource_noun(resource, project)
    )))
}

pub async fn is_allowed(
    conn: &impl ConnectionTrait,
    principal: &Principal,
    project: Option<&project::Model>,
    resource: Resource,
    action: Action,
) -> Result<bool, DbErr> {
    let role = match project {
        Some(p) => effective_role(conn, principal, p.id).await?,
        None => None,
    };
    let facts = project.map(|p| ProjectFacts {
        name: &p.name,
        public: p.public,
    });
    Ok(authz::allows(
        principal.subject(),
        facts,
        role,
        resource,
        action,
    ))
}

fn action_verb(action: Action) -> &'static str {
    match action {
        Action::Read => "read",
        Action::List => "list",
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::Pull => "pull",
        Action::Push => "push",
    }
}

fn resource_noun(resource: Resource, project: Option<&project::Model>) -> String {
    let what = serde_json::to_string(&resource)
        .unwrap_or_default()
        .trim_matches('"')
        .replace('-', " ");
    match project {
        Some(p) => format!("{what} in project `{}`", p.name),
        None => format!("{what}s"),
    }
}

/// Page numbers start at 1; sizes are clamped to 1..=100 (Harbor's limit).
pub fn page_bounds(page: Option<u64>, page_size: Option<u64>) -> (u64, u64) {
    (
        page.unwrap_or(1).max(1),
        page_size.unwrap_or(10).clamp(1, 100),
    )
}

pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
