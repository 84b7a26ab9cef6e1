//! The REST API under `/api/v2.0`, shaped after Harbor's so existing automation can point at
//! Berth. Handlers are adapters: actor → one service call → JSON or an error.

mod audit;
mod events;
pub mod extract;
pub mod gc;
mod immutable;
mod labels;
mod projects;
mod replication;
mod repositories;
mod retention;
mod robots;
mod sbom;
pub mod scans;
mod trust;
mod users;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use domain::service::{Actor, DomainError};
use domain::types::dto::Page;
use serde::Deserialize;
use serde_json::json;
use utoipa::OpenApi;

use crate::auth::{AuthFailure, AuthState};
use crate::AppState;

pub const PREFIX: &str = "/api/v2.0";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/systeminfo", get(users::systeminfo))
        .merge(projects::routes())
        .merge(robots::routes())
        .merge(repositories::routes())
        .merge(users::routes())
        .merge(audit::routes())
        .merge(immutable::routes())
        .merge(labels::routes())
        .merge(retention::routes())
        .merge(gc::routes())
        .merge(events::routes())
        .merge(scans::routes())
        .merge(trust::routes())
        .merge(sbom::routes())
        .merge(replication::routes())
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such API endpoint")
        })
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Berth API", description = "Harbor-compatible REST API of the Berth registry.", version = "2.0"),
    paths(
        users::systeminfo,
        projects::list_projects, projects::create_project, projects::head_project, projects::get_project,
        projects::update_project, projects::delete_project,
        projects::list_members, projects::add_member, projects::get_member, projects::update_member,
        projects::remove_member, projects::project_logs, projects::project_summary,
        robots::list_robots, robots::create_robot, robots::get_robot, robots::update_robot,
        robots::refresh_robot, robots::delete_robot,
        users::list_users, users::create_user, users::current_user, users::get_user, users::update_user,
        users::delete_user, users::set_sysadmin,
        users::set_disabled, users::change_password,
        users::list_groups, users::create_group, users::delete_group,
        audit::list_audit_logs,
        repositories::list_repositories, repositories::get_repository, repositories::delete_repository,
        repositories::list_artifacts, repositories::get_artifact, repositories::delete_artifact,
        repositories::list_tags, repositories::create_tag, repositories::delete_tag,
        immutable::list_rules, immutable::create_rule, immutable::update_rule, immutable::delete_rule,
        labels::list_labels, labels::create_label, labels::get_label, labels::update_label,
        labels::delete_label, labels::add_artifact_label, labels::remove_artifact_label,
        scans::scan_artifact, scans::vulnerabilities, scans::get_scan_all, scans::set_scan_all,
        scans::scan_metrics, scans::list_scanners, scans::create_scanner, scans::ping_scanner,
        scans::get_scanner, scans::update_scanner, scans::set_default_scanner, scans::delete_scanner,
        scans::scanner_metadata, scans::get_project_scanner, scans::set_project_scanner,
        scans::get_system_allowlist, scans::set_system_allowlist, scans::vulndb_status,
        scans::vulndb_import,
        events::list_consumers,
        trust::list_project_anchors, trust::create_project_anchor, trust::delete_project_anchor,
        trust::list_system_anchors, trust::create_system_anchor, trust::delete_system_anchor,
        sbom::generate_sbom, sbom::get_sbom,
        replication::list_registries, replication::create_registry, replication::ping_registry,
        replication::get_registry, replication::update_registry, replication::delete_registry,
        replication::registry_info, replication::list_adapters,
        replication::list_policies, replication::create_policy, replication::get_policy,
        replication::update_policy, replication::delete_policy,
        replication::list_executions, replication::start_execution, replication::get_execution,
        replication::stop_execution, replication::list_tasks, replication::task_log,
    ),
    components(schemas(ErrorBody, ErrorItem)),
    modifiers(&BasicAuth),
    security(("basic" = []))
)]
pub struct ApiDoc;

struct BasicAuth;

impl utoipa::Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The error body of every API error.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub errors: Vec<ErrorItem>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorItem {
    pub code: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Unauthorized(m) => Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", m),
            DomainError::Forbidden(m) => Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", m),
            DomainError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", m),
            DomainError::Conflict(m) => Self::new(StatusCode::CONFLICT, "CONFLICT", m),
            DomainError::Invalid(m) => Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", m),
            e @ DomainError::Field { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", e.to_string())
            }
            DomainError::Immutable(m) | DomainError::Precondition(m) => {
                Self::new(StatusCode::PRECONDITION_FAILED, "PRECONDITION", m)
            }
            DomainError::TooManyRequests(m) => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", m)
            }
            DomainError::Unavailable(m) => Self {
                retry_after: Some(1),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", m)
            },
            DomainError::Internal(m) => {
                tracing::error!(error = %m, "fault in the REST API");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_SERVER_ERROR",
                    "internal error",
                )
            }
            DomainError::Database(e) if domain::db::is_busy(&e) => {
                tracing::warn!(error = %e, "the database is busy; the client is asked to retry");
                Self {
                    retry_after: Some(1),
                    ..Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "SERVICE_UNAVAILABLE",
                        "Berth is busy; retry in a moment",
                    )
                }
            }
            DomainError::Database(e) => {
                tracing::error!(error = %e, "database error in the REST API");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_SERVER_ERROR",
                    "internal error",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            Json(json!({"errors": [{"code": self.code, "message": self.message}]})),
        )
            .into_response();
        if let Some(wait) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The authenticated (or anonymous) caller of an API request; refused credentials are a 401.
pub struct ApiActor(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = AuthState::from_request_parts(parts, state)
            .await
            .expect("infallible");
        match auth.failure {
            None => Ok(ApiActor(auth.actor)),
            Some(AuthFailure::Invalid(m)) => {
                Err(ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", m))
            }
            Some(AuthFailure::Throttled(wait)) => Err(ApiError {
                retry_after: Some(wait),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TOO_MANY_REQUESTS",
                    format!("too many failed sign-in attempts; try again in {wait} seconds"),
                )
            }),
        }
    }
}

/// `page`, `page_size` and Harbor's `q` query (`q=name=~abc,public=true`).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    pub page: Option<u64>,
    pub page_size: Option<u64>,
    pub q: Option<String>,
    /// Shorthand filter by name, as Harbor's `name` parameter.
    pub name: Option<String>,
}

impl ListQuery {
    /// The value of one `q` term: `q=name=~ab` → `q_term("name") == Some("ab")`.
    pub fn q_term(&self, key: &str) -> Option<String> {
        let q = self.q.as_deref()?;
        q.split(',').find_map(|term| {
            let (k, v) = term.split_once('=')?;
            (k.trim() == key).then(|| v.trim_start_matches('~').trim().to_string())
        })
    }
}

/// A JSON list with `X-Total-Count` and `Link` headers.
pub fn paged<T, U: serde::Serialize>(
    path: &str,
    query: &ListQuery,
    page: Page<T>,
    map: impl Fn(T) -> U,
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("x-total-count", HeaderValue::from(page.total));
    let mut extra = String::new();
    if let Some(q) = &query.q {
        extra.push_str(&format!("&q={}", urlencoding::encode(q)));
    }
    let mut links = Vec::new();
    if page.page > 1 {
        links.push(format!(
            "<{path}?page={}&page_size={}{extra}>; rel=\"prev\"",
            page.page - 1,
            page.page_size
        ));
    }
    if page.page * page.page_size < page.total {
        links.push(format!(
            "<{path}?page={}&page_size={}{extra}>; rel=\"next\"",
            page.page + 1,
            page.page_size
        ));
    }
    if !links.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
            headers.insert(header::LINK, v);
        }
    }
    let items: Vec<U> = page.items.into_iter().map(map).collect();
    (headers, Json(items)).into_response()
}
