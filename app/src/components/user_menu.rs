//! The account menu in the top bar; opens in place, without a page load.

use leptos::prelude::*;

use super::icons;

#[component]
pub fn UserMenu() -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <div class="relative">
            <button
                type="button"
                id="user-menu-button"
                class="flex items-center gap-2 rounded-full py-1 pl-1 pr-2 text-sm text-slate-200 hover:bg-slate-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                <span class="flex h-7 w-7 items-center justify-center rounded-full bg-slate-700 text-xs font-semibold uppercase">
                    "?"
                </span>
                <span>"Not signed in"</span>
                {icons::chevron_down_icon()}
            </button>
            <Show when=move || open.get()>
                // A transparent layer behind the menu: a click anywhere else closes it.
                <div class="fixed inset-0 z-40" on:click=move |_| open.set(false) />
                <div
                    role="menu"
                    id="user-menu"
                    aria-labelledby="user-menu-button"
                    class="absolute right-0 z-50 mt-2 w-56 origin-top-right overflow-hidden rounded-lg border border-slate-200 bg-white py-1 text-sm text-slate-700 shadow-lg"
                >
                    <div class="border-b border-slate-100 px-4 py-2.5 text-xs text-slate-500">
                        "You are browsing anonymously."
                    </div>
                    <a role="menuitem" href="/login" class="block px-4 py-2 hover:bg-slate-50">
                        "Sign in"
                    </a>
                    <a role="menuitem" href="/settings" class="block px-4 py-2 hover:bg-slate-50">
                        "About this registry"
                    </a>
                </div>
            </Show>
        </div>
    }
}
