//! First single sign-on with `auto_onboard: false`: the person picks their Berth username,
//! prefilled from the provider's `user_claim`.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{oidc_onboard, oidc_pending};
use crate::components::icons;
use crate::components::session::hard_navigate;
use crate::components::widgets::server_message;
use crate::components::widgets::INPUT;

#[component]
pub fn OnboardPage() -> impl IntoView {
    let pending = Resource::new(|| (), |_| oidc_pending());
    let username = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = Action::new(move |name: &String| {
        let name = name.clone();
        async move {
            match oidc_onboard(name).await {
                Ok(()) => hard_navigate("/projects"),
                Err(e) => error.set(Some(server_message(&e))),
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(Some(identity))) = pending.get() {
            if username.get_untracked().is_empty() {
                username.set(identity.username);
            }
        }
    });
    view! {
        <Title text="Choose your username" />
        <div class="flex min-h-full items-center justify-center bg-chrome px-4 py-12">
            <div class="w-full max-w-sm">
                <div class="mb-8 flex items-center justify-center gap-3 text-white">
                    {icons::logo()}
                    <span class="text-2xl font-semibold tracking-tight">"Berth"</span>
                </div>
                <Suspense fallback=|| ()>
                    {move || pending.get().map(|p| match p {
                        Ok(Some(identity)) => view! {
                            <form method="post" class="space-y-5 rounded-xl bg-surface p-8 shadow-xl" data-testid="onboard-form"
                                on:submit=move |ev| { ev.prevent_default(); submit.dispatch(username.get()); }>
                                <h1 class="text-lg font-semibold text-slate-900">"Welcome to Berth"</h1>
                                <p class="text-sm text-slate-600">
                                    "This is your first sign-in"
                                    {identity.email.map(|e| format!(" as {e}"))}
                                    ". Choose the username you will use with Berth and with "
                                    <code>"podman login"</code>"."
                                </p>
                                {move || error.get().map(|e| view! {
                                    <p role="alert" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">{e}</p>
                                })}
                                <label class="block text-sm font-medium text-slate-700">
                                    "Username"
                                    <input name="username" type="text" required class=format!("mt-1 {INPUT}") bind:value=username />
                                </label>
                                <button type="submit" disabled=move || submit.pending().get()
                                    class="w-full rounded-md bg-accent px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-accent-hover disabled:opacity-60">
                                    "Continue"
                                </button>
                            </form>
                        }.into_any(),
                        _ => view! {
                            <div class="space-y-3 rounded-xl bg-surface p-8 text-sm text-slate-700 shadow-xl">
                                <p>"No sign-in is waiting for a username."</p>
                                <a href="/login" class="font-medium text-sky-700 hover:underline">"Go to the sign-in page"</a>
                            </div>
                        }.into_any(),
                    })}
                </Suspense>
            </div>
        </div>
    }
}
