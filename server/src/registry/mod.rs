//! The registry API (`/v2/`): OCI Distribution adapters over the domain services.

pub mod error;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::auth::{AuthFailure, AuthState};
use crate::AppState;
use domain::service::Principal;
use error::{OciCode, OciError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/", get(base))
        .route("/v2", get(base))
}

/// The `WWW-Authenticate` challenge pointing clients at the token service. The realm is the
/// configured `external_url`, or else the host the client used.
pub fn challenge(state: &AppState, request_host: Option<&str>, scope: Option<&str>) -> HeaderValue {
    let base = if state
        .config
        .external_url
        .as_deref()
        .is_some_and(|u| !u.is_empty())
    {
        state.instance.external_url.clone()
    } else {
        let scheme = if state.config.https.is_some() {
            "https"
        } else {
            "http"
        };
        match request_host {
            Some(host) => format!("{scheme}://{host}"),
            None => state.instance.external_url.clone(),
        }
    };
    let mut value = format!(
        "Bearer realm=\"{base}/service/token\",service=\"{}\"",
        crate::auth::token::SERVICE
    );
    if let Some(scope) = scope {
        value.push_str(&format!(",scope=\"{scope}\""));
    }
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer realm=\"/service/token\""))
}

/// The response for missing, wrong or insufficient credentials.
pub fn unauthorized(
    state: &AppState,
    request: &Request,
    failure: Option<&AuthFailure>,
    scope: Option<&str>,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let (status, code, message) = match failure {
        Some(AuthFailure::Throttled(wait)) => (
            StatusCode::TOO_MANY_REQUESTS,
            OciCode::TooManyRequests,
            format!("too many failed sign-in attempts; try again in {wait} seconds"),
        ),
        Some(AuthFailure::Invalid(message)) => (
            StatusCode::UNAUTHORIZED,
            OciCode::Unauthorized,
            message.clone(),
        ),
        None => (
            StatusCode::UNAUTHORIZED,
            OciCode::Unauthorized,
            "authentication required".into(),
        ),
    };
    let mut response = OciError::new(status, code, message).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, challenge(state, host, scope));
    response
}

/// `GET /v2/`: 200 for any authenticated caller, otherwise the challenge.
async fn base(State(state): State<AppState>, auth: AuthState, request: Request) -> Response {
    if auth.failure.is_some() || matches!(auth.actor.principal, Principal::Anonymous) {
        return unauthorized(&state, &request, auth.failure.as_ref(), None);
    }
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        "{}",
    )
        .into_response();
    response.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    response
}
