//! The registry API (`/v2/`): OCI Distribution adapters. Each handler parses the request,
//! calls one `domain::service::registry` operation and shapes the response.

pub mod error;
mod path;
mod responses;
mod routes;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use domain::service::registry::{OciCode, RegistryCaller, RegistryError};

use crate::auth::{AuthFailure, AuthState};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/", get(routes::base))
        .route("/v2", get(routes::base))
        .route("/v2/{*path}", any(routes::dispatch))
        .layer(axum::middleware::map_response(
            |mut res: Response| async move {
                res.headers_mut().insert(
                    "docker-distribution-api-version",
                    HeaderValue::from_static("registry/2.0"),
                );
                res
            },
        ))
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

/// The caller of a registry request, or the response refusing their credentials.
pub fn caller(
    state: &AppState,
    auth: AuthState,
    host: Option<&str>,
) -> Result<RegistryCaller, Box<Response>> {
    match auth.failure {
        None => Ok(RegistryCaller {
            actor: auth.actor,
            token_access: auth.token_access,
        }),
        Some(failure) => Err(Box::new(credentials_refused(state, host, &failure))),
    }
}

fn credentials_refused(state: &AppState, host: Option<&str>, failure: &AuthFailure) -> Response {
    let (code, message, status) = match failure {
        AuthFailure::Throttled(wait) => (
            "TOOMANYREQUESTS",
            format!("too many failed sign-in attempts; try again in {wait} seconds"),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        AuthFailure::Invalid(message) => {
            ("UNAUTHORIZED", message.clone(), StatusCode::UNAUTHORIZED)
        }
    };
    let mut response = error::oci_response(status, code, &message);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, challenge(state, host, None));
    response
}

/// The HTTP status the distribution specification gives an error code.
pub fn status_of(code: OciCode) -> StatusCode {
    match code {
        OciCode::BlobUnknown
        | OciCode::BlobUploadUnknown
        | OciCode::ManifestUnknown
        | OciCode::NameUnknown => StatusCode::NOT_FOUND,
        OciCode::Unauthorized => StatusCode::UNAUTHORIZED,
        OciCode::Denied => StatusCode::FORBIDDEN,
        OciCode::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
        OciCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        OciCode::TagImmutable | OciCode::Vulnerable | OciCode::Unsigned => {
            StatusCode::PRECONDITION_FAILED
        }
        OciCode::Unsupported => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        OciCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        OciCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        OciCode::BlobUploadInvalid
        | OciCode::DigestInvalid
        | OciCode::ManifestBlobUnknown
        | OciCode::ManifestInvalid
        | OciCode::NameInvalid
        | OciCode::SizeInvalid
        | OciCode::PaginationNumberInvalid => StatusCode::BAD_REQUEST,
    }
}

/// A domain registry error as the OCI error response, with the challenge on 401.
pub fn registry_error(state: &AppState, host: Option<&str>, e: RegistryError) -> Response {
    let status = status_of(e.code);
    let mut response = error::oci_response(status, e.code.as_str(), &e.message);
    if e.code == OciCode::Unavailable {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if e.code == OciCode::Unauthorized {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            challenge(state, host, e.scope.as_deref()),
        );
    }
    response
}

pub fn host_of(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
}

pub fn unauthorized(state: &AppState, request: &Request) -> Response {
    let mut response = error::oci_response(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "authentication required",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        challenge(state, host_of(request).as_deref(), None),
    );
    response.into_response()
}
