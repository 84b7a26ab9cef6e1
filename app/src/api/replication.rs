//! Server functions for replication (system administrators): the registries, policies,
//! executions and tasks as the console lists them. Changes go to the REST API from the
//! browser (they carry secrets the server seals).

use domain::types::replication::{ExecutionView, PolicyView, RegistryView, TaskView};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx::{self, fail};

#[server(prefix = "/console/fn", endpoint = "list_registries")]
pub async fn list_registries() -> Result<Vec<RegistryView>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .list_registries(&actor, None)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "list_replication_policies")]
pub async fn list_replication_policies() -> Result<Vec<PolicyView>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .list_replication_policies(&actor, None)
        .await
        .map_err(fail)
}

/// The ten latest executions of every policy.
#[server(prefix = "/console/fn", endpoint = "list_replication_executions")]
pub async fn list_replication_executions() -> Result<Vec<ExecutionView>, ServerFnError> {
    let actor = ctx::actor().await?;
    Ok(ctx::services()?
        .list_replication_executions(&actor, None, Some(1), Some(10))
        .await
        .map_err(fail)?
        .0)
}

#[server(prefix = "/console/fn", endpoint = "list_replication_tasks")]
pub async fn list_replication_tasks(execution: i64) -> Result<Vec<TaskView>, ServerFnError> {
    let actor = ctx::actor().await?;
    Ok(ctx::services()?
        .list_replication_tasks(&actor, execution, Some(1), Some(100))
        .await
        .map_err(fail)?
        .0)
}
