//! The sign-in page. The form posts to the session endpoint added with access control.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::icons;
use crate::components::toast::use_toasts;

#[component]
pub fn LoginPage() -> impl IntoView {
    let toasts = use_toasts();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        toasts.error("Local sign-in is not enabled in this build yet.");
    };
    view! {
        <Title text="Sign in" />
        <div class="flex min-h-full items-center justify-center bg-slate-900 px-4 py-12">
            <div class="w-full max-w-sm">
                <div class="mb-8 flex items-center justify-center gap-3 text-white">
                    {icons::logo()}
                    <span class="text-2xl font-semibold tracking-tight">"Berth"</span>
                </div>
                <form
                    class="space-y-5 rounded-xl bg-white p-8 shadow-xl"
                    method="post"
                    action="/login"
                    on:submit=on_submit
                >
                    <h1 class="text-lg font-semibold text-slate-900">"Sign in to your registry"</h1>
                    <label class="block text-sm font-medium text-slate-700">
                        "Username"
                        <input name="username" type="text" autocomplete="username" required
                            class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-sky-500 focus:outline-none focus:ring-2 focus:ring-sky-200" />
                    </label>
                    <label class="block text-sm font-medium text-slate-700">
                        "Password"
                        <input name="password" type="password" autocomplete="current-password" required
                            class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-sky-500 focus:outline-none focus:ring-2 focus:ring-sky-200" />
                    </label>
                    <button type="submit"
                        class="w-full rounded-md bg-sky-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-sky-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400 focus-visible:ring-offset-2">
                        "Sign in"
                    </button>
                </form>
            </div>
        </div>
    }
}
