//! Server functions for accounts: robot accounts (project and system), local users and one's
//! own password.

use domain::types::dto::{Page, RobotSecret, RobotView, UserView};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx::{self, fail};

#[server(prefix = "/console/fn", endpoint = "list_robots")]
pub async fn list_robots(project: String) -> Result<Vec<RobotView>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .list_robots(&actor, Some(&project))
        .await
        .map_err(fail)
}

/// Creates a robot of `project`, or (system administrators, no project) a system robot whose
/// permissions apply in every project. `permissions` are (resource, action) pairs.
#[server(prefix = "/console/fn", endpoint = "create_robot", input = leptos::server_fn::codec::Json)]
pub async fn create_robot(
    project: Option<String>,
    name: String,
    description: String,
    duration_days: i64,
    permissions: Vec<(
        domain::policy::authz::Resource,
        domain::policy::authz::Action,
    )>,
) -> Result<RobotSecret, ServerFnError> {
    let actor = ctx::actor().await?;
    let namespace = project.clone().unwrap_or_else(|| "*".into());
    let new = domain::service::robots::NewRobot {
        name,
        description,
        project,
        duration_days,
        permissions: grants(&namespace, permissions),
        disabled: false,
    };
    ctx::services()?
        .create_robot(&actor, new)
        .await
        .map_err(fail)
}

#[cfg(feature = "ssr")]
fn grants(
    namespace: &str,
    pairs: Vec<(
        domain::policy::authz::Resource,
        domain::policy::authz::Action,
    )>,
) -> Vec<domain::policy::authz::RobotGrant> {
    pairs
        .into_iter()
        .map(|(resource, action)| domain::policy::authz::RobotGrant {
            namespace: namespace.to_string(),
            resource,
            action,
        })
        .collect()
}

/// Changes a robot's description and permissions.
#[server(prefix = "/console/fn", endpoint = "edit_robot", input = leptos::server_fn::codec::Json)]
pub async fn edit_robot(
    id: i64,
    description: String,
    permissions: Vec<(
        domain::policy::authz::Resource,
        domain::policy::authz::Action,
    )>,
) -> Result<RobotView, ServerFnError> {
    let actor = ctx::actor().await?;
    let services = ctx::services()?;
    let robot = services.get_robot(&actor, id).await.map_err(fail)?;
    let namespace = robot.project.unwrap_or_else(|| "*".into());
    services
        .update_robot(
            &actor,
            id,
            domain::service::robots::RobotUpdate {
                description: Some(description),
                permissions: Some(grants(&namespace, permissions)),
                ..Default::default()
            },
        )
        .await
        .map_err(fail)
}

/// Issues a robot a new secret (shown once); the old one stops working.
#[server(prefix = "/console/fn", endpoint = "refresh_robot")]
pub async fn refresh_robot(id: i64) -> Result<RobotSecret, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .refresh_robot_secret(&actor, id)
        .await
        .map_err(fail)
}

/// Every system robot (system administrators).
#[server(prefix = "/console/fn", endpoint = "list_system_robots")]
pub async fn list_system_robots() -> Result<Vec<RobotView>, ServerFnError> {
    let actor = ctx::actor().await?;
    Ok(ctx::services()?
        .list_robots(&actor, None)
        .await
        .map_err(fail)?
        .into_iter()
        .filter(|r| r.project.is_none())
        .collect())
}

#[server(prefix = "/console/fn", endpoint = "set_robot_disabled")]
pub async fn set_robot_disabled(id: i64, disabled: bool) -> Result<RobotView, ServerFnError> {
    let actor = ctx::actor().await?;
    let update = domain::service::robots::RobotUpdate {
        disabled: Some(disabled),
        ..Default::default()
    };
    ctx::services()?
        .update_robot(&actor, id, update)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "delete_robot")]
pub async fn delete_robot(id: i64) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .delete_robot(&actor, id)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "list_users")]
pub async fn list_users(query: String, page: u64) -> Result<Page<UserView>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .list_users(&actor, Some(&query), Some(page), Some(20))
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "create_user")]
pub async fn create_user(
    username: String,
    email: String,
    password: String,
    is_admin: bool,
) -> Result<UserView, ServerFnError> {
    let actor = ctx::actor().await?;
    let new = domain::service::users::NewUser {
        username,
        email: Some(email),
        display_name: None,
        password,
        is_admin,
    };
    ctx::services()?
        .create_user(&actor, new)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "set_user_admin")]
pub async fn set_user_admin(id: i64, is_admin: bool) -> Result<UserView, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .set_admin(&actor, id, is_admin)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "set_user_disabled")]
pub async fn set_user_disabled(id: i64, disabled: bool) -> Result<UserView, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .set_disabled(&actor, id, disabled)
        .await
        .map_err(fail)
}

/// Deletes a local user (system administrators; never one's own account).
#[server(prefix = "/console/fn", endpoint = "delete_user")]
pub async fn delete_user(id: i64) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?.delete_user(&actor, id).await.map_err(fail)
}

/// Sets another user's password (system administrators).
#[server(prefix = "/console/fn", endpoint = "reset_user_password")]
pub async fn reset_user_password(id: i64, password: String) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .change_password(&actor, id, None, &password)
        .await
        .map_err(fail)
}

/// Changes the signed-in user's own password, given the current one.
#[server(prefix = "/console/fn", endpoint = "change_my_password")]
pub async fn change_my_password(
    old_password: String,
    new_password: String,
) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    let domain::service::Principal::User(me) = &actor.principal else {
        return Err(ctx::refuse(
            http::StatusCode::UNAUTHORIZED,
            "sign in to change your password",
        ));
    };
    let id = me.id;
    ctx::services()?
        .change_password(&actor, id, Some(&old_password), &new_password)
        .await
        .map_err(fail)
}
