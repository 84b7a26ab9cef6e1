//! The account menu in the top bar; opens in place, without a page load.

use leptos::prelude::*;

use super::icons;
use super::session::{hard_navigate, use_current_user};
use super::toast::use_toasts;
use crate::api::logout;

#[component]
pub fn UserMenu() -> impl IntoView {
    let open = RwSignal::new(false);
    let user = use_current_user();
    let toasts = use_toasts();
    let sign_out = Action::new(move |_: &()| async move {
        match logout().await {
            Ok(()) => hard_navigate("/login?signed_out=1"),
            Err(e) => toasts.error(e.to_string()),
        }
    });
    let name = move || {
        user.get()
            .map(|u| u.username)
            .unwrap_or_else(|| "Not signed in".into())
    };
    let initial = move || {
        user.get()
            .and_then(|u| u.username.chars().next())
            .map(|c| c.to_string())
            .unwrap_or_else(|| "?".into())
    };
    view! {
        <div class="relative">
            <button
                type="button"
                id="user-menu-button"
                class="flex items-center gap-2 rounded-full py-1 pl-1 pr-2 text-sm text-white/85 hover:bg-white/10 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                <span class="flex h-7 w-7 items-center justify-center rounded-full bg-white/20 text-xs font-semibold uppercase">
                    <Transition fallback=|| "?">{initial}</Transition>
                </span>
                <span data-testid="current-user"><Transition fallback=|| "…">{name}</Transition></span>
                {icons::chevron_down_icon()}
            </button>
            <Show when=move || open.get()>
                // A transparent layer behind the menu: a click anywhere else closes it.
                <div class="fixed inset-0 z-40" on:click=move |_| open.set(false) />
                <div
                    role="menu"
                    id="user-menu"
                    aria-labelledby="user-menu-button"
                    class="absolute right-0 z-50 mt-2 w-56 origin-top-right overflow-hidden rounded-lg border border-slate-200 bg-surface py-1 text-sm text-slate-700 shadow-lg"
                >
                    {move || match user.get() {
                        Some(u) => view! {
                            <div class="border-b border-slate-100 px-4 py-2.5 text-xs text-slate-500">
                                "Signed in as " <span class="font-medium text-slate-800">{u.username.clone()}</span>
                                {u.is_admin.then_some(" · system admin")}
                            </div>
                            <a role="menuitem" href="/profile" class="block px-4 py-2 hover:bg-slate-50">"User profile"</a>
                            <a role="menuitem" href="/settings" class="block px-4 py-2 hover:bg-slate-50">"About this registry"</a>
                            <button role="menuitem" type="button" class="block w-full px-4 py-2 text-left hover:bg-slate-50"
                                on:click=move |_| { sign_out.dispatch(()); }>
                                "Sign out"
                            </button>
                        }.into_any(),
                        None => view! {
                            <div class="border-b border-slate-100 px-4 py-2.5 text-xs text-slate-500">
                                "You are browsing anonymously."
                            </div>
                            <a role="menuitem" href="/login" class="block px-4 py-2 hover:bg-slate-50">"Sign in"</a>
                            <a role="menuitem" href="/settings" class="block px-4 py-2 hover:bg-slate-50">"About this registry"</a>
                        }.into_any(),
                    }}
                </div>
            </Show>
        </div>
    }
}
