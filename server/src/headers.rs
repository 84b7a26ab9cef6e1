//! Response headers that protect browsers: `nosniff` everywhere; on HTML pages a frame policy,
//! a Content-Security-Policy, a referrer policy, an opener policy and `no-store`; cache rules
//! for the console's compiled assets.
//!
//! The console's pages carry a per-response script nonce (Leptos puts it on its hydration and
//! resource scripts); the page renderer sets the policy with that nonce through
//! [`console_csp`]. Any other HTML response (an error page that bypassed the renderer) gets the
//! same policy without a nonce, so no inline script can run in it.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The console's Content-Security-Policy. `wasm-unsafe-eval` lets the browser compile the
/// hydration bundle (nothing else may evaluate code); inline `style` attributes are allowed for
/// the severity bars, inline `<style>` elements are not.
pub fn console_csp(nonce: Option<&str>) -> String {
    let scripts = match nonce {
        Some(n) => format!("'self' 'nonce-{n}' 'wasm-unsafe-eval'"),
        None => "'self' 'wasm-unsafe-eval'".to_string(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self'; style-src-attr 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"))
}

/// The compiled console assets (`/pkg/…`): their names do not change between builds, so
/// browsers keep them but revalidate (`Last-Modified` → 304) before each use.
fn is_site_asset(path: &str) -> bool {
    path.starts_with("/pkg/")
}

/// Middleware over every response of the application.
pub async fn protect(request: Request, next: Next) -> Response {
    let asset = is_site_asset(request.uri().path());
    let console_call = request.uri().path().starts_with(app::api::SERVER_FN_PREFIX);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    if is_html(headers) {
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(&console_csp(None)).expect("ascii policy"),
            );
        }
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        headers.insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("same-origin"),
        );
        // Back after sign-out must not show the previous user's pages from the cache.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else if console_call {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else if asset && response.status().is_success() {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, no-cache"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_nonce_only_when_there_is_one() {
        let with = console_csp(Some("abc"));
        assert!(with.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"));
        assert!(with.contains("frame-ancestors 'none'"));
        let without = console_csp(None);
        assert!(without.contains("script-src 'self' 'wasm-unsafe-eval';"));
        for policy in [with, without] {
            let scripts = policy
                .split(';')
                .find(|d| d.contains("script-src"))
                .unwrap();
            assert!(!scripts.contains("'unsafe-inline'") && !scripts.contains(" 'unsafe-eval'"));
        }
    }
}
