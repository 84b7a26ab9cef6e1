//! The Berth server: configuration, state, router and listeners. `main.rs` is a thin CLI over
//! this library so that tests build exactly the same application.

#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod config;
pub mod headers;
pub mod health;
pub mod jobs;
pub mod keys;
pub mod observability;
pub mod oidc;
pub mod outbound;
pub mod policies;
pub mod policy_files;
pub mod registry;
pub mod render;
pub mod replication;
pub mod scanning;
pub mod sealed;
pub mod sendfile;
pub mod serve;
pub mod state;

use axum::Router;
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{generate_route_list, LeptosRoutes};

pub use state::AppState;

/// The whole HTTP application: operational endpoints, console pages and server functions.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let leptos_options = state.leptos.clone();
    let instance = state.instance.clone();
    let services = state.services.clone();
    let registry = state.registry.clone();
    let oidc_port = oidc::routes::console_port(&state.oidc);
    let config_policies = policies::config_view(&state.config);
    let gc_settings = gc_settings(&state);
    let scans = state.scans.clone();
    let operational = Router::new()
        .route("/healthz", axum::routing::get(health::healthz))
        .route("/readyz", axum::routing::get(health::readyz))
        .route("/metrics", axum::routing::get(observability::scrape));
    let console_context = move || {
        provide_context(instance.clone());
        provide_context(services.clone());
        provide_context(registry.clone());
        provide_context(oidc_port.clone());
        provide_context(config_policies.clone());
        provide_context(gc_settings.clone());
        provide_context(scans.clone());
        // The page's scripts carry this response's nonce; the policy names it.
        if let (Some(nonce), Some(response)) = (
            use_context::<leptos::nonce::Nonce>(),
            use_context::<leptos_axum::ResponseOptions>(),
        ) {
            if let Ok(policy) =
                axum::http::HeaderValue::from_str(&headers::console_csp(Some(&nonce)))
            {
                response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, policy);
            }
        }
    };
    // The compiled bundle, with its precompressed copies and conditional requests (a 304 when
    // the browser's copy is current); Leptos's own file fallback passes neither on.
    let bundle = tower_http::services::ServeDir::new(
        std::path::Path::new(&*state.leptos.site_root).join(&*state.leptos.site_pkg_dir),
    )
    .precompressed_br()
    .precompressed_gzip();
    let console = Router::new()
        .route("/login", axum::routing::post(auth::sign_in::form_sign_in))
        .leptos_routes_with_context(&state, routes, console_context.clone(), move || {
            app::shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(console_context, app::shell))
        .layer(axum::middleware::from_fn_with_state(
            render::RenderPool::shared(),
            render::confine,
        ));
    let hsts = state.config.https.as_ref().map(|h| h.hsts_max_age);
    let token = Router::new().route(
        "/service/token",
        axum::routing::get(auth::token::token_endpoint),
    );
    let app = operational
        .merge(token)
        .merge(registry::routes())
        .merge(oidc::routes::routes())
        .merge(scanning::adapter::routes())
        .nest(api::PREFIX, api::routes())
        .nest_service("/pkg", bundle)
        .merge(console)
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::csrf::protect,
        ))
        .layer(session_layer(&state))
        .layer(axum::middleware::from_fn(headers::protect));
    observability::apply(app, state.metrics.clone(), hsts)
}

/// How the console's garbage collection runs: the configured window, on the runtime the
/// router is built on (the server's), not the console's render threads.
fn gc_settings(state: &AppState) -> app::api::ctx::GcSettings {
    app::api::ctx::GcSettings {
        window: api::gc::configured_options(state, false, false).window,
        runtime: tokio::runtime::Handle::try_current().ok(),
    }
}

/// Console sessions: database-backed, `HttpOnly`, `SameSite=Lax`, `Secure` over TLS, expiring
/// after `session_timeout` minutes without activity.
fn session_layer(
    state: &AppState,
) -> tower_sessions::SessionManagerLayer<auth::session_store::DbSessionStore> {
    use tower_sessions::cookie::SameSite;
    use tower_sessions::{Expiry, SessionManagerLayer};
    let idle = time::Duration::minutes(i64::from(state.config.session_timeout));
    SessionManagerLayer::new(auth::session_store::DbSessionStore::new(state.db.clone()))
        .with_name(auth::csrf::SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.https.is_some())
        .with_expiry(Expiry::OnInactivity(idle))
}
