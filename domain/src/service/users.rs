//! Local users: sign-in, creation, administration, password changes.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use super::audit::{self, Outcome, Record};
use super::authorize;
use super::{
    page_bounds, rfc3339, Actor, DomainError, DomainResult, Principal, Services, UserPrincipal,
};
use crate::entities::user;
use crate::password;
use crate::policy::authz::{Action, Resource};
use crate::types::dto::{Page, UserView};

pub const MIN_PASSWORD_LEN: usize = 8;

#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub password: String,
    pub is_admin: bool,
}

pub fn view(u: user::Model) -> UserView {
    UserView {
        id: u.id,
        username: u.username,
        email: u.email,
        display_name: u.display_name,
        is_admin: u.is_admin,
        disabled: u.disabled,
        created_at: rfc3339(u.created_at),
        oidc: u.oidc_subject.is_some(),
    }
}

pub(crate) fn validate_username(name: &str) -> DomainResult<()> {
    let ok = (1..=255).contains(&name.len())
        && !name.starts_with("robot$")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(DomainError::field(
            "username",
            format!(
                "invalid username `{name}`: use letters, digits and . _ - @ (not the robot$ prefix)"
            ),
        ))
    }
}

/// A plausible address: one `@` with something on both sides, a dot in the domain, no spaces.
fn validate_email(email: &str) -> DomainResult<()> {
    let ok = email.len() <= 255
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if ok {
        Ok(())
    } else {
        Err(DomainError::field(
            "email",
            format!("`{email}` is not an email address"),
        ))
    }
}

fn validate_password(password: &str) -> DomainResult<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(DomainError::field(
            "password",
            format!("a password must have at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// The user with `id`, or "not found".
async fn user_by_id(conn: &impl sea_orm::ConnectionTrait, id: i64) -> DomainResult<user::Model> {
    user::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("user {id} not found")))
}

/// User administration is a system resource: the policy grants it to system administrators.
async fn require_user_admin(
    services: &Services,
    actor: &Actor,
    action: Action,
) -> DomainResult<()> {
    authorize(&services.db, &actor.principal, None, Resource::User, action).await
}

impl Services {
    /// Checks a username and password. Unknown users, wrong passwords and disabled accounts all
    /// fail with the same message; the audit log records which.
    pub async fn authenticate_password(
        &self,
        username: &str,
        password_attempt: &str,
        source_ip: &str,
        audit_success: bool,
    ) -> DomainResult<UserPrincipal> {
        let found = user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(&self.db)
            .await?;
        // Local users present their password; users of single sign-on their CLI secret,
        // while it has not expired.
        let verified = found
            .as_ref()
            .is_some_and(|u| match u.password_hash.as_deref() {
                Some(hash) => password::verify(password_attempt, hash),
                None => match (u.cli_secret_hash.as_deref(), u.cli_secret_expires_at) {
                    (Some(hash), Some(expires)) if expires > Utc::now() => {
                        password::verify(password_attempt, hash)
                    }
                    _ => false,
                },
            });
        let failure = match &found {
            _ if !verified => Some("invalid username or password"),
            Some(u) if u.disabled => Some("this account is disabled"),
            _ => None,
        };
        if let Some(message) = failure {
            audit::record_as_now(
                &self.db,
                "user",
                username,
                source_ip,
                Record {
                    operation: "login",
                    resource_type: "session",
                    resource: username,
                    project_id: None,
                    outcome: Outcome::Failure,
                },
            )
            .await?;
            return Err(DomainError::Unauthorized(message.into()));
        }
        let u = found.expect("verified implies found");
        if audit_success {
            audit::record_as_now(
                &self.db,
                "user",
                &u.username,
                source_ip,
                Record {
                    operation: "login",
                    resource_type: "session",
                    resource: &u.username,
                    project_id: None,
                    outcome: Outcome::Success,
                },
            )
            .await?;
        }
        Ok(UserPrincipal {
            id: u.id,
            username: u.username,
            is_admin: u.is_admin,
        })
    }

    /// Re-reads a signed-in user: sessions must not outlive a disable or lose a revoked role.
    pub async fn current_user(&self, id: i64) -> DomainResult<Option<UserPrincipal>> {
        Ok(user::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .filter(|u| !u.disabled)
            .map(|u| UserPrincipal {
                id: u.id,
                username: u.username,
                is_admin: u.is_admin,
            }))
    }

    pub async fn record_logout(&self, actor: &Actor) -> DomainResult<()> {
        audit::record_now(
            &self.db,
            actor,
            Record {
                operation: "logout",
                resource_type: "session",
                resource: actor.principal.name(),
                project_id: None,
                outcome: Outcome::Success,
            },
        )
        .await
    }

    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> DomainResult<UserView> {
        require_user_admin(self, actor, Action::Create).await?;
        if !self.settings.local_user_creation {
            return Err(DomainError::Invalid(
                "local users cannot be created while auth_mode is oidc_auth: people sign in \
                 through the identity provider and are onboarded at their first sign-in"
                    .into(),
            ));
        }
        validate_username(&new.username)?;
        validate_password(&new.password)?;
        if let Some(email) = new.email.as_deref() {
            validate_email(email)?;
        }
        // Hashed before the write transaction: argon2 takes tens of milliseconds, which no
        // other writer should wait for.
        let password_hash = password::hash(&new.password);
        let txn = crate::db::begin_write(&self.db).await?;
        if user::Entity::find()
            .filter(user::Column::Username.eq(&new.username))
            .one(&txn)
            .await?
            .is_some()
        {
            return Err(DomainError::Conflict(format!(
                "user `{}` already exists",
                new.username
            )));
        }
        let now = Utc::now();
        let created = user::ActiveModel {
            username: Set(new.username.clone()),
            email: Set(new.email.filter(|e| !e.is_empty())),
            display_name: Set(new
                .display_name
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| new.username.clone())),
            password_hash: Set(Some(password_hash)),
            is_admin: Set(new.is_admin),
            disabled: Set(false),
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
                resource_type: "user",
                resource: &created.username,
                project_id: None,
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(view(created))
    }

    pub async fn list_users(
        &self,
        actor: &Actor,
        query: Option<&str>,
        page: Option<u64>,
        page_size: Option<u64>,
    ) -> DomainResult<Page<UserView>> {
        require_user_admin(self, actor, Action::Update).await?;
        let (page, size) = page_bounds(page, page_size);
        let mut q = user::Entity::find().order_by_asc(user::Column::Username);
        if let Some(text) = query.filter(|s| !s.is_empty()) {
            q = q.filter(user::Column::Username.contains(text));
        }
        let paginator = q.paginate(&self.db, size);
        let total = paginator.num_items().await?;
        let items = paginator
            .fetch_page(page - 1)
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

    pub async fn get_user(&self, actor: &Actor, id: i64) -> DomainResult<UserView> {
        let is_self = matches!(&actor.principal, Principal::User(u) if u.id == id);
        if !is_self {
            require_user_admin(self, actor, Action::Update).await?;
        }
        user_by_id(&self.db, id).await.map(view)
    }

    async fn update_user_flag(
        &self,
        actor: &Actor,
        id: i64,
        operation: &str,
        apply: impl FnOnce(&mut user::ActiveModel),
    ) -> DomainResult<UserView> {
        require_user_admin(self, actor, Action::Update).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let found = user_by_id(&txn, id).await?;
        let username = found.username.clone();
        let mut active = found.into_active_model();
        apply(&mut active);
        active.updated_at = Set(Utc::now());
        let updated = active.update(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation,
                resource_type: "user",
                resource: &username,
                project_id: None,
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(view(updated))
    }

    pub async fn set_admin(
        &self,
        actor: &Actor,
        id: i64,
        is_admin: bool,
    ) -> DomainResult<UserView> {
        if matches!(&actor.principal, Principal::User(u) if u.id == id) && !is_admin {
            return Err(DomainError::Invalid(
                "you cannot revoke your own administrator role".into(),
            ));
        }
        let op = if is_admin {
            "grant_admin"
        } else {
            "revoke_admin"
        };
        self.update_user_flag(actor, id, op, |u| u.is_admin = Set(is_admin))
            .await
    }

    pub async fn set_disabled(
        &self,
        actor: &Actor,
        id: i64,
        disabled: bool,
    ) -> DomainResult<UserView> {
        if matches!(&actor.principal, Principal::User(u) if u.id == id) {
            return Err(DomainError::Invalid(
                "you cannot disable your own account".into(),
            ));
        }
        let op = if disabled { "disable" } else { "enable" };
        self.update_user_flag(actor, id, op, |u| {
            u.disabled = Set(disabled);
            if disabled {
                // A disabled user's CLI secret dies with the account; re-enabling does not
                // revive it.
                u.cli_secret_hash = Set(None);
                u.cli_secret_expires_at = Set(None);
                u.oidc_refresh_token = Set(None);
            }
        })
        .await
    }

    /// Users change their own password (old one required); admins may reset anyone's.
    pub async fn change_password(
        &self,
        actor: &Actor,
        id: i64,
        old_password: Option<&str>,
        new_password: &str,
    ) -> DomainResult<()> {
        let is_self = matches!(&actor.principal, Principal::User(u) if u.id == id);
        if !is_self {
            require_user_admin(self, actor, Action::Update).await?;
        }
        validate_password(new_password)?;
        let new_hash = password::hash(new_password);
        let txn = crate::db::begin_write(&self.db).await?;
        let found = user_by_id(&txn, id).await?;
        if found.oidc_subject.is_some() {
            return Err(DomainError::Invalid(
                "this user signs in through OpenID Connect and has no Berth password".into(),
            ));
        }
        if is_self {
            let ok = match (old_password, found.password_hash.as_deref()) {
                (Some(old), Some(hash)) => password::verify(old, hash),
                _ => false,
            };
            if !ok {
                return Err(DomainError::field(
                    "old_password",
                    "the current password is not correct",
                ));
            }
        }
        let username = found.username.clone();
        let mut active = found.into_active_model();
        active.password_hash = Set(Some(new_hash));
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "change_password",
                resource_type: "user",
                resource: &username,
                project_id: None,
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

impl Services {
    /// Changes a user's profile (Harbor's `PUT /users/{id}`: email, real name); users change
    /// their own, administrators anyone's.
    pub async fn update_profile(
        &self,
        actor: &Actor,
        id: i64,
        email: Option<String>,
        display_name: Option<String>,
    ) -> DomainResult<UserView> {
        let is_self = matches!(&actor.principal, Principal::User(u) if u.id == id);
        if !is_self {
            require_user_admin(self, actor, Action::Update).await?;
        }
        let email = email.map(|e| e.trim().to_string());
        if let Some(e) = email.as_deref().filter(|e| !e.is_empty()) {
            validate_email(e)?;
        }
        let display_name = display_name.map(|d| d.trim().to_string());
        if display_name
            .as_deref()
            .is_some_and(|d| d.chars().count() > 255)
        {
            return Err(DomainError::Invalid(
                "realname: must have at most 255 characters".into(),
            ));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let found = user_by_id(&txn, id).await?;
        let username = found.username.clone();
        let mut active = found.into_active_model();
        if let Some(e) = email {
            active.email = Set(Some(e).filter(|e| !e.is_empty()));
        }
        if let Some(d) = display_name {
            active.display_name = Set(if d.is_empty() { username.clone() } else { d });
        }
        active.updated_at = Set(Utc::now());
        let updated = active.update(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "update",
                resource_type: "user",
                resource: &username,
                project_id: None,
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(view(updated))
    }

    /// Deletes a user (system administrators; not oneself). Their memberships go with them
    /// (the schema cascades), their CLI secret with the row, and their sessions end at their
    /// next request, which finds no user; audit rows keep the name they were written with.
    pub async fn delete_user(&self, actor: &Actor, id: i64) -> DomainResult<()> {
        require_user_admin(self, actor, Action::Delete).await?;
        if matches!(&actor.principal, Principal::User(u) if u.id == id) {
            return Err(DomainError::Invalid(
                "you cannot delete your own account".into(),
            ));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let found = user_by_id(&txn, id).await?;
        user::Entity::delete_by_id(id).exec(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "delete",
                resource_type: "user",
                resource: &found.username,
                project_id: None,
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The oldest enabled system administrator, as (id, username): whom configuration-as-code
    /// acts for.
    pub async fn first_admin(&self) -> DomainResult<Option<(i64, String)>> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        Ok(crate::entities::user::Entity::find()
            .filter(crate::entities::user::Column::IsAdmin.eq(true))
            .filter(crate::entities::user::Column::Disabled.eq(false))
            .order_by_asc(crate::entities::user::Column::Id)
            .one(&self.db)
            .await?
            .map(|u| (u.id, u.username)))
    }
}
