//! The page for any path the console does not know; answers with status 404.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Page not found" />
        <div class="flex min-h-full flex-col items-center justify-center px-6 py-24 text-center">
            <p class="text-sm font-semibold uppercase tracking-wide text-sky-600">"404"</p>
            <h1 class="mt-2 text-3xl font-semibold tracking-tight text-slate-900">"Page not found"</h1>
            <p class="mt-3 text-sm text-slate-500">"The page you asked for is not part of the Berth console."</p>
            <a href="/" class="mt-8 rounded-md bg-accent px-4 py-2 text-sm font-semibold text-white hover:bg-accent-hover">
                "Back to projects"
            </a>
        </div>
    }
}
