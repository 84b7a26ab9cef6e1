//! The one way server functions reach server state: values the server put into Leptos context
//! and the request's extensions.

use domain::service::{Actor, DomainError, Services};
use domain::types::InstanceInfo;
use leptos::prelude::*;

/// Session keys shared with the server's OIDC routes.
pub const OIDC_PENDING: &str = "oidc_pending";
pub const OIDC_PENDING_REFRESH: &str = "oidc_pending_refresh";

/// Instance facts provided by the server for every request.
pub fn instance_info() -> Result<InstanceInfo, ServerFnError> {
    use_context::<InstanceInfo>()
        .ok_or_else(|| ServerFnError::new("server context is missing instance information"))
}

pub fn registry() -> Result<domain::service::registry::Registry, ServerFnError> {
    use_context::<domain::service::registry::Registry>()
        .ok_or_else(|| ServerFnError::new("server context is missing the registry"))
}

pub fn scans() -> Result<domain::service::scans::Scans, ServerFnError> {
    use_context::<domain::service::scans::Scans>()
        .ok_or_else(|| ServerFnError::new("server context is missing the scanner"))
}

pub fn services() -> Result<Services, ServerFnError> {
    use_context::<Services>()
        .ok_or_else(|| ServerFnError::new("server context is missing services"))
}

/// The caller, as resolved by the server's authentication middleware.
pub async fn actor() -> Result<Actor, ServerFnError> {
    let axum::Extension(actor) = leptos_axum::extract::<axum::Extension<Actor>>().await?;
    Ok(actor)
}

pub async fn session() -> Result<tower_sessions::Session, ServerFnError> {
    Ok(leptos_axum::extract::<tower_sessions::Session>().await?)
}

/// Domain errors become messages the console shows; database details never leave the server.
pub fn fail(e: DomainError) -> ServerFnError {
    match e {
        DomainError::Database(_) => ServerFnError::new("internal error; see the server log"),
        other => ServerFnError::new(other.to_string()),
    }
}

/// Checks that the identity provider is reachable ("Test OIDC server").
pub type OidcPing = std::sync::Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send>>
        + Send
        + Sync,
>;

/// What the server tells the console about single sign-on, when it is configured.
#[derive(Clone)]
pub struct OidcPort {
    pub settings: domain::types::OidcSettingsView,
    pub ping: OidcPing,
}

pub fn oidc() -> Option<OidcPort> {
    use_context::<Option<OidcPort>>().flatten()
}

/// The future a [`GcStarter`] returns: the run's id, or why it could not start.
pub type GcStart = std::pin::Pin<Box<dyn std::future::Future<Output = Result<i64, String>> + Send>>;

/// Starts a garbage collection run in the background (the server records, runs and audits it):
/// `(dry_run, delete_untagged, actor)`.
#[derive(Clone)]
pub struct GcStarter(pub std::sync::Arc<dyn Fn(bool, bool, Actor) -> GcStart + Send + Sync>);
