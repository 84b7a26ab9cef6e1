//! The sign-in page for local users.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{load_instance_info, login};
use crate::components::icons;
use crate::components::session::hard_navigate;
use crate::components::widgets::{field_error_id, FormAlert, FormError, INPUT};

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let error = move || query.read().get("error").filter(|e| !e.is_empty());
    let signed_out = move || query.read().get("signed_out").is_some();
    let info = Resource::new(|| (), |_| load_instance_info());
    let oidc_name = move || info.get().and_then(|r| r.ok()).and_then(|i| i.oidc_name);
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let form = FormError::new();
    let submit = Action::new(move |(u, p): &(String, String)| {
        let (u, p) = (u.clone(), p.clone());
        async move {
            match login(u, p).await {
                Ok(_) => hard_navigate("/projects"),
                Err(e) => form.set(&e),
            }
        }
    });
    // The refusal of the password, from this page's own call or from the form posted without
    // JavaScript (`/login?error=…`).
    let password_error = move || {
        form.for_field("password")
            .or_else(|| form.general(|_| false).is_none().then(error).flatten())
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        form.clear();
        submit.dispatch((username.get(), password.get()));
    };
    view! {
        <Title text="Sign in" />
        <div class="flex min-h-full items-center justify-center bg-chrome px-4 py-12">
            <div class="w-full max-w-sm">
                <div class="mb-8 flex items-center justify-center gap-3 text-white">
                    {icons::logo()}
                    <span class="text-2xl font-semibold tracking-tight">"Berth"</span>
                </div>
                <form method="post" action="/login" class="space-y-5 rounded-xl bg-surface p-8 shadow-xl" on:submit=on_submit>
                    <h1 class="text-lg font-semibold text-slate-900">"Sign in to your registry"</h1>
                    <FormAlert form shown=|f| f == "password" />
                    <Transition fallback=|| ()>
                        {move || oidc_name().map(|name| view! {
                            <a href="/c/oidc/login" rel="external" data-testid="oidc-login"
                                class="flex w-full items-center justify-center rounded-md bg-accent px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-accent-hover">
                                {format!("Login via {name}")}
                            </a>
                            {signed_out().then(|| view! {
                                <p class="text-center text-xs text-slate-500">
                                    "You are signed out of Berth. "
                                    <a href="/c/oidc/provider-logout" rel="external" class="font-medium text-sky-700 hover:underline">
                                        {format!("Also sign out of {name}")}
                                    </a>
                                </p>
                            })}
                            <p class="text-center text-xs uppercase tracking-wide text-slate-500">"or, local administrator"</p>
                        })}
                    </Transition>
                    <label class="block text-sm font-medium text-slate-700">
                        "Username"
                        <input name="username" type="text" autocomplete="username" required class=format!("mt-1 {INPUT}")
                            bind:value=username />
                    </label>
                    <label class="block text-sm font-medium text-slate-700">
                        "Password"
                        <input name="password" type="password" autocomplete="current-password" required class=format!("mt-1 {INPUT}")
                            aria-invalid=move || password_error().is_some().then_some("true")
                            aria-describedby=move || password_error().map(|_| field_error_id("password"))
                            bind:value=password />
                    </label>
                    {move || password_error().map(|m| view! {
                        <p id=field_error_id("password") role="alert" data-field-error="password" data-testid="login-error"
                            class="-mt-3 text-sm text-red-700">{m}</p>
                    })}
                    <button type="submit" disabled=move || submit.pending().get()
                        class="w-full rounded-md bg-accent px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-accent-hover focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400 focus-visible:ring-offset-2 disabled:opacity-60">
                        {move || if submit.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </form>
            </div>
        </div>
    }
}
