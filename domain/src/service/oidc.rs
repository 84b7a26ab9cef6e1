//! Users who sign in through OpenID Connect: onboarding, keeping their profile, groups and
//! system-admin flag in step with the provider, and their CLI secret for registry clients.
//! The protocol itself (discovery, code exchange, ID token checks) is in the server; this
//! module receives an identity that has already been verified.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};

use super::audit::{self, Outcome, Record};
use super::users::validate_username;
use super::{rfc3339, Actor, DomainError, DomainResult, Principal, Services, UserPrincipal};
use crate::entities::{user, user_group, user_group_member};
use crate::password;
use crate::policy::authz::Action;
use crate::types::{CliSecretView, OidcIdentity};

/// Length of generated CLI secrets (alphanumeric, ~190 bits).
pub const CLI_SECRET_LEN: usize = 32;

/// How a single sign-on ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OidcSignIn {
    SignedIn(UserPrincipal),
    /// A first-time user who must pick a username (`auto_onboard: false`).
    NeedsOnboarding,
}

fn principal(u: &user::Model) -> UserPrincipal {
    UserPrincipal {
        id: u.id,
        username: u.username.clone(),
        is_admin: u.is_admin,
    }
}

/// Makes the user's OIDC group memberships exactly `groups` (creating groups that do not exist
/// yet); local groups are left alone.
async fn sync_groups(
    conn: &impl ConnectionTrait,
    user_id: i64,
    groups: &[String],
) -> DomainResult<()> {
    let mut wanted = Vec::new();
    for name in groups {
        let found = user_group::Entity::find()
            .filter(user_group::Column::Name.eq(name.as_str()))
            .filter(user_group::Column::GroupType.eq("oidc"))
            .one(conn)
            .await?;
        let group = match found {
            Some(g) => g,
            None => {
                user_group::ActiveModel {
                    name: Set(name.clone()),
                    group_type: Set("oidc".into()),
                    created_at: Set(Utc::now()),
                    ..Default::default()
                }
                .insert(conn)
                .await?
            }
        };
        wanted.push(group.id);
    }
    let oidc_groups: Vec<i64> = user_group::Entity::find()
        .filter(user_group::Column::GroupType.eq("oidc"))
        .all(conn)
        .await?
        .into_iter()
        .map(|g| g.id)
        .collect();
    user_group_member::Entity::delete_many()
        .filter(user_group_member::Column::UserId.eq(user_id))
        .filter(user_group_member::Column::GroupId.is_in(oidc_groups))
        .exec(conn)
        .await?;
    wanted.sort_unstable();
    wanted.dedup();
    for group_id in wanted {
        user_group_member::ActiveModel {
            user_id: Set(user_id),
            group_id: Set(group_id),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

impl Services {
    /// Signs in a verified identity. A known identity (same issuer and subject) has its email,
    /// display name, groups and admin flag refreshed. An unknown one is created as `create_as`
    /// when given (auto-onboarding or the onboarding form), otherwise the caller must ask the
    /// person for a username.
    pub async fn oidc_sign_in(
        &self,
        identity: &OidcIdentity,
        create_as: Option<&str>,
        source_ip: &str,
    ) -> DomainResult<OidcSignIn> {
        let txn = crate::db::begin_write(&self.db).await?;
        let found = user::Entity::find()
            .filter(user::Column::OidcIssuer.eq(identity.issuer.as_str()))
            .filter(user::Column::OidcSubject.eq(identity.subject.as_str()))
            .one(&txn)
            .await?;
        let now = Utc::now();
        let (account, operation) = match found {
            Some(existing) => {
                if existing.disabled {
                    audit::record_with_detail(
                        &txn,
                        "user",
                        &existing.username,
                        source_ip,
                        Record {
                            operation: "login",
                            resource_type: "session",
                            resource: &existing.username,
                            project_id: None,
                            outcome: Outcome::Failure,
                        },
                        "single sign-on of a disabled account",
                    )
                    .await?;
                    txn.commit().await?;
                    return Err(DomainError::Unauthorized("this account is disabled".into()));
                }
                let mut active = existing.into_active_model();
                active.email = Set(identity.email.clone());
                if let Some(name) = identity.display_name.clone().filter(|n| !n.is_empty()) {
                    active.display_name = Set(name);
                }
                if let Some(is_admin) = identity.is_admin {
                    active.is_admin = Set(is_admin);
                }
                active.updated_at = Set(now);
                (active.update(&txn).await?, "login")
            }
            None => {
                let Some(username) = create_as else {
                    return Ok(OidcSignIn::NeedsOnboarding);
                };
                validate_username(username)?;
                if user::Entity::find()
                    .filter(user::Column::Username.eq(username))
                    .one(&txn)
                    .await?
                    .is_some()
                {
                    return Err(DomainError::Conflict(format!(
                        "the username `{username}` is already taken in Berth; choose another"
                    )));
                }
                let created = user::ActiveModel {
                    username: Set(username.to_string()),
                    email: Set(identity.email.clone()),
                    display_name: Set(identity
                        .display_name
                        .clone()
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| username.to_string())),
                    password_hash: Set(None),
                    is_admin: Set(identity.is_admin.unwrap_or(false)),
                    disabled: Set(false),
                    created_at: Set(now),
                    updated_at: Set(now),
                    oidc_issuer: Set(Some(identity.issuer.clone())),
                    oidc_subject: Set(Some(identity.subject.clone())),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                audit::record_as(
                    &txn,
                    "user",
                    &created.username,
                    source_ip,
                    Record {
                        operation: "onboard",
                        resource_type: "user",
                        resource: &created.username,
                        project_id: None,
                        outcome: Outcome::Success,
                    },
                )
                .await?;
                (created, "login")
            }
        };
        sync_groups(&txn, account.id, &identity.groups).await?;
        audit::record_with_detail(
            &txn,
            "user",
            &account.username,
            source_ip,
            Record {
                operation,
                resource_type: "session",
                resource: &account.username,
                project_id: None,
                outcome: Outcome::Success,
            },
            "single sign-on",
        )
        .await?;
        txn.commit().await?;
        Ok(OidcSignIn::SignedIn(principal(&account)))
    }

    /// Records a refused single sign-on with its reason.
    pub async fn oidc_refused(&self, who: &str, source_ip: &str, reason: &str) -> DomainResult<()> {
        audit::record_with_detail_now(
            &self.db,
            "user",
            who,
            source_ip,
            Record {
                operation: "login",
                resource_type: "session",
                resource: who,
                project_id: None,
                outcome: Outcome::Failure,
            },
            reason,
        )
        .await
    }

    async fn oidc_user(&self, actor: &Actor) -> DomainResult<user::Model> {
        let Principal::User(u) = &actor.principal else {
            return Err(DomainError::Unauthorized("sign in first".into()));
        };
        let found = user::Entity::find_by_id(u.id)
            .one(&self.db)
            .await?
            .ok_or_else(|| DomainError::NotFound("user not found".into()))?;
        if found.oidc_subject.is_none() {
            return Err(DomainError::Invalid(
                "CLI secrets are for users who sign in through OpenID Connect; local users use \
                 their password"
                    .into(),
            ));
        }
        Ok(found)
    }

    /// The signed-in OIDC user's CLI secret: its expiry, never the secret.
    pub async fn cli_secret(&self, actor: &Actor) -> DomainResult<CliSecretView> {
        let u = self.oidc_user(actor).await?;
        Ok(CliSecretView {
            expires_at: u
                .cli_secret_hash
                .as_ref()
                .and(u.cli_secret_expires_at)
                .map(rfc3339),
            secret: None,
        })
    }

    /// Creates a new CLI secret for the signed-in OIDC user, replacing the old one. The secret
    /// is returned once and stored hashed.
    pub async fn regenerate_cli_secret(&self, actor: &Actor) -> DomainResult<CliSecretView> {
        let found = self.oidc_user(actor).await?;
        let secret = password::generate(CLI_SECRET_LEN);
        let expires = Utc::now() + self.settings.cli_secret_lifetime;
        let username = found.username.clone();
        let txn = crate::db::begin_write(&self.db).await?;
        let mut active = found.into_active_model();
        active.cli_secret_hash = Set(Some(password::hash(&secret)));
        active.cli_secret_expires_at = Set(Some(expires));
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?;
        audit::record(
            &txn,
            actor,
            Record {
                operation: "regenerate",
                resource_type: "cli_secret",
                resource: &username,
                project_id: None,
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(CliSecretView {
            expires_at: Some(rfc3339(expires)),
            secret: Some(secret),
        })
    }

    /// Revokes a user's CLI secret (the provider refused to refresh their session, say).
    pub async fn revoke_cli_secret(&self, user_id: i64, reason: &str) -> DomainResult<()> {
        let txn = crate::db::begin_write(&self.db).await?;
        let Some(found) = user::Entity::find_by_id(user_id).one(&txn).await? else {
            return Ok(());
        };
        let username = found.username.clone();
        let mut active = found.into_active_model();
        active.cli_secret_hash = Set(None);
        active.cli_secret_expires_at = Set(None);
        active.oidc_refresh_token = Set(None);
        active.update(&txn).await?;
        audit::record_with_detail(
            &txn,
            "system",
            "berth",
            "",
            Record {
                operation: "revoke",
                resource_type: "cli_secret",
                resource: &username,
                project_id: None,
                outcome: Outcome::Success,
            },
            reason,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Keeps the provider's (already encrypted) refresh token of a user, and when it last
    /// worked.
    pub async fn store_oidc_refresh_token(
        &self,
        user_id: i64,
        encrypted: Option<String>,
    ) -> DomainResult<()> {
        if let Some(found) = user::Entity::find_by_id(user_id).one(&self.db).await? {
            let mut active = found.into_active_model();
            active.oidc_refresh_token = Set(encrypted);
            active.oidc_checked_at = Set(Some(Utc::now()));
            active.update(&self.db).await?;
        }
        Ok(())
    }

    /// Instance settings (the identity provider's, say) are a system resource.
    pub async fn require_configuration(&self, actor: &Actor, action: Action) -> DomainResult<()> {
        super::require_configuration(&self.db, actor, action).await
    }

    /// The user row, for the server's refresh check.
    pub async fn user_model(&self, user_id: i64) -> DomainResult<Option<user::Model>> {
        Ok(user::Entity::find_by_id(user_id).one(&self.db).await?)
    }
}
