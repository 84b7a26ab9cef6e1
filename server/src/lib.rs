//! The Berth server: configuration, state, router and listeners. `main.rs` is a thin CLI over
//! this library so that tests build exactly the same application.

#![recursion_limit = "256"]

pub mod config;
pub mod health;
pub mod observability;
pub mod serve;
pub mod state;

use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};

pub use state::AppState;

/// The whole HTTP application: operational endpoints, console pages and server functions.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let leptos_options = state.leptos.clone();
    let instance = state.instance.clone();
    let operational = Router::new()
        .route("/healthz", axum::routing::get(health::healthz))
        .route("/readyz", axum::routing::get(health::readyz))
        .route("/metrics", axum::routing::get(observability::scrape));
    let console = Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(instance.clone()),
            move || app::shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ));
    let hsts = state.config.https.as_ref().map(|h| h.hsts_max_age);
    let app = operational.merge(console).with_state(state.clone());
    observability::apply(app, state.metrics.clone(), hsts)
}
