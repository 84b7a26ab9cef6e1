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

/// A refusal: `status` goes on the response (a client's mistake is a 4xx, never a 500), the
/// message to the console.
pub fn refuse(status: http::StatusCode, message: impl Into<String>) -> ServerFnError {
    // Only when answering a server-function request: a page that calls server functions while
    // it renders keeps its own status (it may already be on its way, streaming).
    let answering_call = use_context::<http::request::Parts>()
        .is_some_and(|p| p.uri.path().starts_with(super::SERVER_FN_PREFIX));
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>().filter(|_| answering_call)
    {
        response.set_status(status);
        if status == http::StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
        }
    }
    ServerFnError::new(message.into())
}

/// The status a domain error is answered with, on every door (REST, console).
pub fn status_of(e: &DomainError) -> http::StatusCode {
    use http::StatusCode;
    match e {
        DomainError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
        DomainError::NotFound(_) => StatusCode::NOT_FOUND,
        DomainError::Conflict(_) => StatusCode::CONFLICT,
        DomainError::Invalid(_) | DomainError::Field { .. } => StatusCode::BAD_REQUEST,
        DomainError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
        DomainError::Immutable(_) | DomainError::Precondition(_) => StatusCode::PRECONDITION_FAILED,
        DomainError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        DomainError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        DomainError::Database(e) if domain::db::is_busy(e) => StatusCode::SERVICE_UNAVAILABLE,
        DomainError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Domain errors become messages the console shows, with their status; database details never
/// leave the server.
pub fn fail(e: DomainError) -> ServerFnError {
    let status = status_of(&e);
    match e {
        DomainError::Database(db) if status == http::StatusCode::SERVICE_UNAVAILABLE => {
            tracing::warn!(error = %db, "the database is busy; the console is asked to retry");
            refuse(status, "Berth is busy; try again in a moment")
        }
        DomainError::Database(db) => {
            tracing::error!(error = %db, "database error in a console call");
            refuse(status, "internal error; see the server log")
        }
        DomainError::Field { field, message } => {
            refuse(status, super::field_message(&field, &message))
        }
        DomainError::Internal(m) => {
            tracing::error!(error = %m, "fault in a console call");
            refuse(status, "internal error; see the server log")
        }
        other => refuse(status, other.to_string()),
    }
}

/// A registry error told as the domain error it is.
pub fn registry_fail(e: domain::service::registry::RegistryError) -> ServerFnError {
    fail(e.into())
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

/// How the console's garbage collection runs: the configured window (`gc.window`), and the
/// server's runtime, on which a run outlives the request that started it.
#[derive(Clone)]
pub struct GcSettings {
    pub window: chrono::Duration,
    pub runtime: Option<domain::service::RuntimeHandle>,
}
