//! Server functions: thin adapters from the console to the domain services. Each gets the
//! caller, calls one service, and maps the error.

mod accounts;
mod artifacts;
#[cfg(feature = "ssr")]
pub mod ctx;
pub mod replication;
pub mod scanning;
#[cfg(feature = "ssr")]
pub mod sign_in;

use domain::types::dto::{AuditEntry, AuditFilter, MemberKind, MemberView, Page, ProjectView};
use domain::types::{
    CliSecretView, InstanceInfo, OidcIdentity, OidcSettingsView, Role, SessionUser,
};
use leptos::prelude::*;

pub use accounts::*;
pub use artifacts::*;

/// The prefix for every server function, kept clear of the registry (`/v2`) and the
/// Harbor-compatible REST API (`/api/v2.0`).
pub const SERVER_FN_PREFIX: &str = "/console/fn";

#[cfg(feature = "ssr")]
use ctx::fail;

/// How the refusal of one field travels in a server function's error message: `[field] why`.
pub fn field_message(field: &str, message: &str) -> String {
    format!("[{field}] {message}")
}

/// The field a server function's error refuses and why, when it refuses one.
pub fn refused_field(e: &ServerFnError) -> Option<(String, String)> {
    let ServerFnError::ServerError(m) = e else {
        return None;
    };
    let rest = m.strip_prefix('[')?;
    let (field, message) = rest.split_once("] ")?;
    Some((field.to_string(), message.to_string()))
}

#[server(prefix = "/console/fn", endpoint = "instance_info")]
pub async fn load_instance_info() -> Result<InstanceInfo, ServerFnError> {
    ctx::instance_info()
}

#[cfg(feature = "ssr")]
fn session_user(p: &domain::service::Principal) -> Option<SessionUser> {
    match p {
        domain::service::Principal::User(u) => Some(SessionUser {
            username: u.username.clone(),
            display_name: u.username.clone(),
            is_admin: u.is_admin,
        }),
        _ => None,
    }
}

#[server(prefix = "/console/fn", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<SessionUser>, ServerFnError> {
    Ok(session_user(&ctx::actor().await?.principal))
}

#[server(prefix = "/console/fn", endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<SessionUser, ServerFnError> {
    let services = ctx::services()?;
    let actor = ctx::actor().await?;
    let session = ctx::session().await?;
    let user = sign_in::sign_in(&services, &actor, &session, &username, &password)
        .await
        .map_err(|e| {
            if let sign_in::SignInError::Internal(why) = &e {
                tracing::error!(error = %why, "cannot store a console session");
            }
            match e {
                sign_in::SignInError::Internal(_) => ctx::refuse(e.status(), e.message()),
                _ => ctx::refuse(e.status(), field_message("password", &e.message())),
            }
        })?;
    Ok(session_user(&domain::service::Principal::User(user)).expect("a user"))
}

#[server(prefix = "/console/fn", endpoint = "logout")]
pub async fn logout() -> Result<(), ServerFnError> {
    let services = ctx::services()?;
    let actor = ctx::actor().await?;
    if !matches!(actor.principal, domain::service::Principal::Anonymous) {
        services.record_logout(&actor).await.map_err(fail)?;
    }
    ctx::session()
        .await?
        .flush()
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    Ok(())
}

#[server(prefix = "/console/fn", endpoint = "list_projects")]
pub async fn list_projects(query: String, page: u64) -> Result<Page<ProjectView>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .list_projects(&actor, Some(&query), None, Some(page), Some(15))
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "create_project")]
pub async fn create_project(name: String, public: bool) -> Result<ProjectView, ServerFnError> {
    let actor = ctx::actor().await?;
    let new = domain::service::projects::NewProject {
        name,
        public,
        ..Default::default()
    };
    ctx::services()?
        .create_project(&actor, new)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "get_project")]
pub async fn get_project(name: String) -> Result<ProjectView, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .get_project(&actor, &name)
        .await
        .map_err(fail)
}

/// Changes a project's visibility and (system administrators) its storage limit, given as
/// people write sizes (`10GB`, `-1` for unlimited; empty leaves it as it is).
#[server(prefix = "/console/fn", endpoint = "update_project_settings")]
pub async fn update_project_settings(
    name: String,
    public: bool,
    storage_limit: String,
) -> Result<ProjectView, ServerFnError> {
    let actor = ctx::actor().await?;
    let storage_limit = match storage_limit.trim() {
        "" => None,
        text => Some(
            domain::policy::limits::parse_size(text)
                .map(|b| b.map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX)))
                .map_err(|why| fail(domain::service::DomainError::field("storage_limit", why)))?,
        ),
    };
    ctx::services()?
        .update_project(
            &actor,
            &name,
            domain::service::projects::ProjectUpdate {
                public: Some(public),
                storage_limit,
                ..Default::default()
            },
        )
        .await
        .map_err(fail)
}

/// Deletes an empty project.
#[server(prefix = "/console/fn", endpoint = "delete_project")]
pub async fn delete_project(name: String) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .delete_project(&actor, &name)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "list_members")]
pub async fn list_members(project: String) -> Result<Vec<MemberView>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .list_members(&actor, &project, None)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "add_member")]
pub async fn add_member(
    project: String,
    kind: MemberKind,
    name: String,
    role: Role,
) -> Result<MemberView, ServerFnError> {
    use domain::service::members::MemberRef;
    let actor = ctx::actor().await?;
    let who = match kind {
        MemberKind::User => MemberRef::User(name),
        MemberKind::Group => MemberRef::Group(name),
    };
    ctx::services()?
        .add_member(&actor, &project, who, role)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "update_member")]
pub async fn update_member(
    project: String,
    id: i64,
    role: Role,
) -> Result<MemberView, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .update_member(&actor, &project, id, role)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "remove_member")]
pub async fn remove_member(project: String, id: i64) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .remove_member(&actor, &project, id)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "list_audit")]
pub async fn list_audit(
    // With every filter empty nothing of `filter` is in the form: it must default, not fail.
    #[server(default)] filter: AuditFilter,
    page: u64,
) -> Result<Page<AuditEntry>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .list_audit(&actor, &filter, Some(page), Some(25))
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "oidc_pending")]
pub async fn oidc_pending() -> Result<Option<OidcIdentity>, ServerFnError> {
    Ok(ctx::session()
        .await?
        .get::<OidcIdentity>(ctx::OIDC_PENDING)
        .await
        .ok()
        .flatten())
}

/// Finishes a first single sign-on: creates the user with the chosen name and signs them in.
#[server(prefix = "/console/fn", endpoint = "oidc_onboard")]
pub async fn oidc_onboard(username: String) -> Result<(), ServerFnError> {
    use domain::service::login::SESSION_USER_ID;
    use domain::service::oidc::OidcSignIn;
    let session = ctx::session().await?;
    let Some(identity) = session
        .get::<OidcIdentity>(ctx::OIDC_PENDING)
        .await
        .ok()
        .flatten()
    else {
        return Err(ctx::refuse(
            http::StatusCode::BAD_REQUEST,
            "no single sign-on is waiting for a username; sign in again",
        ));
    };
    let actor = ctx::actor().await?;
    let services = ctx::services()?;
    let username = username.trim().to_string();
    match services
        .oidc_sign_in(&identity, Some(&username), &actor.source_ip)
        .await
        .map_err(fail)?
    {
        OidcSignIn::SignedIn(user) => {
            let refresh = session
                .remove::<Option<String>>(ctx::OIDC_PENDING_REFRESH)
                .await
                .ok()
                .flatten()
                .flatten();
            let _ = session.remove::<OidcIdentity>(ctx::OIDC_PENDING).await;
            session
                .cycle_id()
                .await
                .map_err(|e| ServerFnError::new(e.to_string()))?;
            session
                .insert(SESSION_USER_ID, user.id)
                .await
                .map_err(|e| ServerFnError::new(e.to_string()))?;
            services
                .store_oidc_refresh_token(user.id, refresh)
                .await
                .map_err(fail)?;
            Ok(())
        }
        OidcSignIn::NeedsOnboarding => Err(ctx::refuse(
            http::StatusCode::BAD_REQUEST,
            "username: choose a username",
        )),
    }
}

/// The signed-in user's CLI secret (its expiry); `None` for local users, who use passwords.
#[server(prefix = "/console/fn", endpoint = "my_cli_secret")]
pub async fn my_cli_secret() -> Result<Option<CliSecretView>, ServerFnError> {
    let actor = ctx::actor().await?;
    let services = ctx::services()?;
    let domain::service::Principal::User(u) = &actor.principal else {
        return Ok(None);
    };
    let is_oidc = services
        .user_model(u.id)
        .await
        .map_err(fail)?
        .is_some_and(|m| m.oidc_subject.is_some());
    if !is_oidc {
        return Ok(None);
    }
    services.cli_secret(&actor).await.map(Some).map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "regenerate_cli_secret")]
pub async fn regenerate_cli_secret() -> Result<CliSecretView, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .regenerate_cli_secret(&actor)
        .await
        .map_err(fail)
}

/// The identity provider settings, for system administrators; `None` under `db_auth`.
#[server(prefix = "/console/fn", endpoint = "oidc_settings")]
pub async fn oidc_settings() -> Result<Option<OidcSettingsView>, ServerFnError> {
    use domain::policy::authz::Action;
    let actor = ctx::actor().await?;
    ctx::services()?
        .require_configuration(&actor, Action::Read)
        .await
        .map_err(fail)?;
    Ok(ctx::oidc().map(|o| o.settings))
}

/// "Test OIDC server": discovery and the key set are reachable.
#[server(prefix = "/console/fn", endpoint = "oidc_ping")]
pub async fn oidc_ping() -> Result<String, ServerFnError> {
    use domain::policy::authz::Action;
    let actor = ctx::actor().await?;
    ctx::services()?
        .require_configuration(&actor, Action::Read)
        .await
        .map_err(fail)?;
    let Some(oidc) = ctx::oidc() else {
        return Err(ctx::refuse(
            http::StatusCode::NOT_FOUND,
            "single sign-on is not configured",
        ));
    };
    (oidc.ping)()
        .await
        .map_err(|e| ctx::refuse(http::StatusCode::BAD_GATEWAY, e))
}

#[server(prefix = "/console/fn", endpoint = "project_quota")]
pub async fn project_quota(name: String) -> Result<domain::types::dto::QuotaView, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .project_quota(&actor, &name)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "get_retention_policy")]
pub async fn get_retention_policy(
    project: String,
) -> Result<domain::types::dto::RetentionPolicyView, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .get_retention_policy(&actor, &project)
        .await
        .map_err(fail)
}

#[cfg(feature = "ssr")]
fn parse_rules(json: &str) -> Result<Vec<domain::policy::retention::Rule>, ServerFnError> {
    serde_json::from_str(json)
        .map_err(|e| ctx::refuse(http::StatusCode::BAD_REQUEST, format!("invalid rules: {e}")))
}

/// Rules travel as JSON text: they nest deeper than form encoding carries well.
#[server(prefix = "/console/fn", endpoint = "save_retention_policy")]
pub async fn save_retention_policy(
    project: String,
    rules_json: String,
    #[server(default)] schedule: String,
) -> Result<domain::types::dto::RetentionPolicyView, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .set_retention_policy(&actor, &project, parse_rules(&rules_json)?, Some(schedule))
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "preview_retention")]
pub async fn preview_retention(
    project: String,
    rules_json: String,
) -> Result<Vec<domain::policy::retention::Decision>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .preview_retention(&actor, &project, parse_rules(&rules_json)?)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "run_retention")]
pub async fn run_retention(
    project: String,
    dry_run: bool,
) -> Result<domain::types::dto::RetentionExecutionView, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .run_retention(&actor, &project, dry_run, "manual")
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "list_retention_executions")]
pub async fn list_retention_executions(
    project: String,
) -> Result<Vec<domain::types::dto::RetentionExecutionView>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .list_retention_executions(&actor, &project)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "get_retention_execution")]
pub async fn get_retention_execution(
    project: String,
    id: i64,
) -> Result<domain::types::dto::RetentionExecutionView, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .get_retention_execution(&actor, &project, id)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "system_quota")]
pub async fn system_quota() -> Result<domain::types::dto::SystemQuotaView, ServerFnError> {
    let actor = ctx::actor().await?;
    let global = ctx::registry()?.settings.global_storage_limit;
    ctx::services()?
        .system_quota(&actor, global)
        .await
        .map_err(fail)
}

/// Recorded garbage collection runs, newest first (system administrators).
#[server(prefix = "/console/fn", endpoint = "list_gc_runs")]
pub async fn list_gc_runs() -> Result<Vec<domain::types::dto::GcRun>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::registry()?
        .list_gc_runs(&actor, 20)
        .await
        .map_err(fail)
}

/// Starts garbage collection in the background; returns the run's id.
#[server(prefix = "/console/fn", endpoint = "start_gc")]
pub async fn start_gc(dry_run: bool, delete_untagged: bool) -> Result<i64, ServerFnError> {
    let actor = ctx::actor().await?;
    let settings = use_context::<ctx::GcSettings>()
        .ok_or_else(|| ServerFnError::new("server context is missing the GC settings"))?;
    let options = domain::service::registry::gc::GcOptions {
        dry_run,
        delete_untagged,
        window: settings.window,
        run: None,
    };
    ctx::registry()?
        .start_gc_in_background(&actor, options, "manual", settings.runtime.as_ref())
        .await
        .map_err(fail)
}

/// The domain events' consumers with their lag (system administrators).
#[server(prefix = "/console/fn", endpoint = "event_consumers")]
pub async fn event_consumers() -> Result<domain::types::dto::EventConsumersView, ServerFnError> {
    let actor = ctx::actor().await?;
    let (head, consumers) = ctx::services()?
        .event_consumers(&actor)
        .await
        .map_err(fail)?;
    Ok(domain::types::dto::EventConsumersView { head, consumers })
}

/// The policies the configuration file declares, for the console to show as such.
#[server(prefix = "/console/fn", endpoint = "config_policies")]
pub async fn config_policies() -> Result<domain::types::dto::ConfigPoliciesView, ServerFnError> {
    let _ = ctx::actor().await?;
    use_context::<domain::types::dto::ConfigPoliciesView>()
        .ok_or_else(|| ServerFnError::new("server context is missing the configuration"))
}

#[server(prefix = "/console/fn", endpoint = "list_immutable_rules")]
pub async fn list_immutable_rules(
    project: String,
) -> Result<Vec<domain::types::dto::ImmutableRuleView>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .list_immutable_rules(&actor, &project)
        .await
        .map_err(fail)
}

/// Adds a rule to the project: tags matching (or, with `tag_excludes`, not matching)
/// `tag_pattern` in repositories matching `repo_pattern` can no longer move or be deleted.
#[server(prefix = "/console/fn", endpoint = "add_immutable_rule")]
pub async fn add_immutable_rule(
    project: String,
    repo_pattern: String,
    tag_pattern: String,
    #[server(default)] tag_excludes: bool,
) -> Result<domain::types::dto::ImmutableRuleView, ServerFnError> {
    use domain::policy::selector::Selector;
    use domain::service::immutability::RuleInput;
    let actor = ctx::actor().await?;
    let tags = if tag_excludes {
        Selector::excludes(tag_pattern)
    } else {
        Selector::matches(tag_pattern)
    };
    ctx::services()?
        .create_immutable_rule(
            &actor,
            &project,
            RuleInput {
                repositories: Selector::matches(repo_pattern),
                tags,
                disabled: false,
            },
        )
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "delete_immutable_rule")]
pub async fn delete_immutable_rule(project: String, id: i64) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .delete_immutable_rule(&actor, &project, id)
        .await
        .map_err(fail)
}

/// The project's trust anchors (cosign keys, Notation CA certificates); public material only.
#[server(prefix = "/console/fn", endpoint = "list_trust_anchors")]
pub async fn list_trust_anchors(
    project: String,
) -> Result<Vec<domain::types::dto::TrustAnchorView>, ServerFnError> {
    use domain::service::trust::AnchorScope;
    let actor = ctx::actor().await?;
    ctx::services()?
        .list_trust_anchors(&actor, AnchorScope::Project(&project))
        .await
        .map_err(fail)
}

/// Trusts a cosign public key (`kind` `cosign`) or a Notation CA certificate (`notation`),
/// given as PEM in `pem`.
#[server(prefix = "/console/fn", endpoint = "add_trust_anchor")]
pub async fn add_trust_anchor(
    project: String,
    name: String,
    kind: String,
    pem: String,
) -> Result<domain::types::dto::TrustAnchorView, ServerFnError> {
    use domain::service::trust::{AnchorInput, AnchorScope};
    let actor = ctx::actor().await?;
    let (public_key, certificate) = if kind == "notation" {
        (None, Some(pem))
    } else {
        (Some(pem), None)
    };
    ctx::services()?
        .create_trust_anchor(
            &actor,
            AnchorScope::Project(&project),
            AnchorInput {
                name,
                kind,
                public_key,
                certificate,
            },
        )
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "delete_trust_anchor")]
pub async fn delete_trust_anchor(project: String, id: i64) -> Result<(), ServerFnError> {
    use domain::service::trust::AnchorScope;
    let actor = ctx::actor().await?;
    ctx::services()?
        .delete_trust_anchor(&actor, AnchorScope::Project(&project), id)
        .await
        .map_err(fail)
}

/// The project's signature policy: which signatures a pull needs (`cosign`, `notation`) and
/// what happens without one (`enforce`, `audit`, `off`).
#[server(prefix = "/console/fn", endpoint = "set_signature_policy")]
pub async fn set_signature_policy(
    project: String,
    #[server(default)] cosign: bool,
    #[server(default)] notation: bool,
    mode: String,
) -> Result<(), ServerFnError> {
    use domain::service::projects::ProjectUpdate;
    let actor = ctx::actor().await?;
    let word = |b: bool| if b { "true" } else { "false" }.to_string();
    let metadata = [
        ("enable_content_trust_cosign", word(cosign)),
        ("enable_content_trust", word(notation)),
        ("signature_policy", mode),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    ctx::services()?
        .update_project(
            &actor,
            &project,
            ProjectUpdate {
                metadata,
                ..Default::default()
            },
        )
        .await
        .map(|_| ())
        .map_err(fail)
}
