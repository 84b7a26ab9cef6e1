//! Berth's console: the application shell, routes and pages, rendered on the server and
//! hydrated in the browser.

pub mod api;
pub mod components;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

use crate::components::layout::ConsoleLayout;
use crate::components::session::provide_current_user;
use crate::components::toast::{provide_toasts, ToastHost};
use crate::pages::{
    admin::AdminPage, audit::AuditPage, login::LoginPage, not_found::NotFound,
    onboard::OnboardPage, profile::ProfilePage, project::ProjectPage, projects::ProjectsPage,
    repository::RepositoryRoute, retention::RetentionExecutionPage, settings::SettingsPage,
};

/// The HTML document around the app; rendered on the server only.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos_meta::MetaTags;
    let theme = crate::components::theme::html_class(crate::components::theme::current());
    view! {
        <!DOCTYPE html>
        <html lang="en" class=format!("h-full bg-slate-50 {theme}")>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="h-full text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_toasts();
    crate::components::widgets::provide_confirm();
    provide_current_user();

    // Runs only in the browser, once hydration has attached the event handlers; end-to-end
    // tests wait for this marker before they interact.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="berth" href="/pkg/berth.css" />
        <Title formatter=|page: String| {
            if page.is_empty() { "Berth".to_string() } else { format!("{page} · Berth") }
        } />
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/oidc-onboard") view=OnboardPage />
                <ParentRoute path=path!("") view=ConsoleLayout>
                    <Route path=path!("") view=ProjectsPage />
                    <Route path=path!("/projects") view=ProjectsPage />
                    <Route path=path!("/projects/:name") view=ProjectPage />
                    <Route path=path!("/projects/:name/:tab") view=ProjectPage />
                    <Route path=path!("/projects/:name/repositories/*repo") view=RepositoryRoute />
                    <Route path=path!("/projects/:name/retention/:id") view=RetentionExecutionPage />
                    <Route path=path!("/admin") view=AdminPage />
                    <Route path=path!("/audit") view=AuditPage />
                    <Route path=path!("/settings") view=SettingsPage />
                    <Route path=path!("/profile") view=ProfilePage />
                </ParentRoute>
            </Routes>
        </Router>
        <ToastHost />
        <crate::components::widgets::ConfirmHost />
    }
}
