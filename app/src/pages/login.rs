//! The sign-in page for local users.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::login;
use crate::components::icons;
use crate::components::session::hard_navigate;
use crate::components::toast::use_toasts;
use crate::components::widgets::INPUT;

#[component]
pub fn LoginPage() -> impl IntoView {
    let toasts = use_toasts();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submit = Action::new(move |(u, p): &(String, String)| {
        let (u, p) = (u.clone(), p.clone());
        async move {
            match login(u, p).await {
                Ok(_) => hard_navigate("/projects"),
                Err(e) => toasts.error(server_message(&e)),
            }
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit.dispatch((username.get(), password.get()));
    };
    view! {
        <Title text="Sign in" />
        <div class="flex min-h-full items-center justify-center bg-slate-900 px-4 py-12">
            <div class="w-full max-w-sm">
                <div class="mb-8 flex items-center justify-center gap-3 text-white">
                    {icons::logo()}
                    <span class="text-2xl font-semibold tracking-tight">"Berth"</span>
                </div>
                <form class="space-y-5 rounded-xl bg-white p-8 shadow-xl" on:submit=on_submit>
                    <h1 class="text-lg font-semibold text-slate-900">"Sign in to your registry"</h1>
                    <label class="block text-sm font-medium text-slate-700">
                        "Username"
                        <input name="username" type="text" autocomplete="username" required class=format!("mt-1 {INPUT}")
                            bind:value=username />
                    </label>
                    <label class="block text-sm font-medium text-slate-700">
                        "Password"
                        <input name="password" type="password" autocomplete="current-password" required class=format!("mt-1 {INPUT}")
                            bind:value=password />
                    </label>
                    <button type="submit" disabled=move || submit.pending().get()
                        class="w-full rounded-md bg-sky-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-sky-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400 focus-visible:ring-offset-2 disabled:opacity-60">
                        {move || if submit.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </form>
            </div>
        </div>
    }
}

/// The message of a server function error, without the "error running server function" frame.
pub fn server_message(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    }
}
