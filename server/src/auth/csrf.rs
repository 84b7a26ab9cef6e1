//! Cross-site request forgery protection for the console. Browsers send `Origin` with every
//! cross-origin and same-origin POST, and a cross-site form cannot forge it: a state-changing
//! request that relies on the session cookie (or signs in) must come from Berth's own origin.

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::AppState;

pub const SESSION_COOKIE: &str = "berth_session";

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn has_session_cookie(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(';')
                .any(|c| c.trim_start().starts_with(&format!("{SESSION_COOKIE}=")))
        })
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    ))
}

fn same_origin(request: &Request, external_url: &str) -> bool {
    let claimed = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|v| *v != "null")
        .map(str::to_string)
        .or_else(|| {
            request
                .headers()
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(origin_of)
        });
    let Some(claimed) = claimed.as_deref().and_then(origin_of) else {
        return false;
    };
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let claimed_host = claimed
        .split_once("://")
        .map(|(_, h)| h)
        .unwrap_or_default();
    claimed_host.eq_ignore_ascii_case(host) || origin_of(external_url).is_some_and(|o| o == claimed)
}

pub async fn protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    // The sign-in form too: a cross-site form must not sign a victim in as someone else.
    let console_call = path.starts_with(app::api::SERVER_FN_PREFIX) || path == "/login";
    let needs_check = !is_safe(request.method()) && (console_call || has_session_cookie(&request));
    if needs_check && !same_origin(&request, &state.instance.external_url) {
        tracing::warn!(path, "refused a cross-site state-changing request");
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"errors": [{"code": "FORBIDDEN", "message": "cross-site request refused: the Origin of this request is not this registry"}]})),
        )
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://Reg.example.com:8443/x?y").as_deref(),
            Some("https://reg.example.com:8443")
        );
        assert_eq!(origin_of("nonsense"), None);
    }
}
