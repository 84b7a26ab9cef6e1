//! The single sign-on routes: `GET /c/oidc/login` starts the authorization-code flow,
//! `GET /c/oidc/callback` finishes it, `GET /c/oidc/provider-logout` ends the provider's
//! session; and what the console shows administrators of the provider.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use domain::service::Actor;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge, Scope};
use tower_sessions::Session;

use super::{CallbackQuery, Flow, Oidc, FLOW};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/c/oidc/login", get(login))
        .route("/c/oidc/callback", get(callback))
        .route("/c/oidc/provider-logout", get(provider_logout))
}

fn to_login_page(message: &str) -> Response {
    Redirect::to(&format!("/login?error={}", urlencoding::encode(message))).into_response()
}

fn not_configured() -> Response {
    to_login_page("single sign-on is not configured (auth_mode is db_auth)")
}

async fn login(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    session: Session,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return not_configured();
    };
    let metadata = match oidc.discover().await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "single sign-on cannot start");
            if let Err(e) = state
                .services
                .oidc_refused("oidc", &actor.source_ip, &e)
                .await
            {
                tracing::error!(error = %e, "cannot audit a refused sign-in");
            }
            return to_login_page(&e);
        }
    };
    let client = oidc.client(metadata);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in oidc
        .config
        .scope
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "openid")
    {
        request = request.add_scope(Scope::new(scope.to_string()));
    }
    for (k, v) in &oidc.config.extra_redirect_params {
        request = request.add_extra_param(k.clone(), v.clone());
    }
    let (url, csrf, nonce) = request.url();
    let flow = Flow {
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        started_at: chrono::Utc::now().timestamp(),
    };
    if let Err(e) = session.insert(FLOW, flow).await {
        tracing::error!(error = %e, "cannot store the sign-in flow");
        return to_login_page("cannot start the sign-in; see the server log");
    }
    Redirect::to(url.as_str()).into_response()
}

async fn callback(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    session: Session,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return not_configured();
    };
    match oidc.finish(&state, &session, query, &actor.source_ip).await {
        Ok(next) => Redirect::to(next).into_response(),
        Err(refusal) => {
            tracing::info!(who = %refusal.who, reason = %refusal.reason, "single sign-on refused");
            if !refusal.who.is_empty() {
                if let Err(e) = state
                    .services
                    .oidc_refused(&refusal.who, &actor.source_ip, &refusal.reason)
                    .await
                {
                    tracing::error!(error = %e, "cannot audit a refused sign-in");
                }
            }
            to_login_page(&refusal.reason)
        }
    }
}

/// RP-initiated logout: the Berth session is already over (the console's sign-out); this
/// sends the browser to the provider so that it ends its own.
async fn provider_logout(State(state): State<AppState>) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return not_configured();
    };
    let metadata = match oidc.discover().await {
        Ok(m) => m,
        Err(e) => return to_login_page(&e),
    };
    let Some(end) = metadata.additional_metadata().end_session_endpoint.as_ref() else {
        return to_login_page(&format!(
            "{} does not support signing out from Berth; sign out at the provider",
            oidc.name()
        ));
    };
    let mut url = end.url().clone();
    url.query_pairs_mut()
        .append_pair(
            "client_id",
            oidc.config.client_id.as_deref().unwrap_or_default(),
        )
        .append_pair(
            "post_logout_redirect_uri",
            &format!("{}/login", oidc.external_url),
        );
    Redirect::to(url.as_str()).into_response()
}

/// What the console shows system administrators, and its "Test OIDC server" button.
pub fn console_port(oidc: &Option<Arc<Oidc>>) -> Option<app::api::ctx::OidcPort> {
    let oidc = oidc.clone()?;
    let c = &oidc.config;
    let settings = domain::types::OidcSettingsView {
        name: c.name.clone(),
        endpoint: c.endpoint.clone().unwrap_or_default(),
        client_id: c.client_id.clone().unwrap_or_default(),
        client_secret_set: c
            .client_secret
            .as_ref()
            .is_some_and(|s| !s.expose().is_empty()),
        scope: c.scope.clone(),
        verify_cert: c.verify_cert,
        auto_onboard: c.auto_onboard,
        user_claim: c
            .user_claim
            .clone()
            .unwrap_or_else(|| "preferred_username".into()),
        groups_claim: c.groups_claim.clone().unwrap_or_default(),
        admin_group: c.admin_group.clone().unwrap_or_default(),
        group_filter: c.group_filter.clone().unwrap_or_default(),
        extra_redirect_params: c
            .extra_redirect_params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        cli_secret_lifetime_days: c.cli_secret_lifetime.0.as_secs() / 86_400,
    };
    let ping: app::api::ctx::OidcPing = Arc::new(move || {
        let oidc = oidc.clone();
        Box::pin(async move { oidc.ping().await })
    });
    Some(app::api::ctx::OidcPort { settings, ping })
}
