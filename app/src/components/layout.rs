//! The console frame every signed-in page lives in: top bar, side navigation, content area.

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use super::icons;
use super::session::use_current_user;
use super::user_menu::UserMenu;

#[component]
pub fn ConsoleLayout() -> impl IntoView {
    view! {
        <div class="flex min-h-full flex-col">
            <TopBar />
            <div class="mx-auto flex w-full max-w-screen-2xl flex-1">
                <SideNav />
                <main class="min-w-0 flex-1 px-8 py-8">
                    <Outlet />
                </main>
            </div>
        </div>
    }
}

#[component]
fn TopBar() -> impl IntoView {
    view! {
        <header class="sticky top-0 z-30 border-b border-slate-800 bg-slate-900 text-white">
            <div class="mx-auto flex h-14 max-w-screen-2xl items-center justify-between px-6">
                <a href="/" class="flex items-center gap-2.5 font-semibold tracking-tight">
                    {icons::logo()}
                    <span class="text-lg">"Berth"</span>
                    <span class="hidden rounded bg-slate-800 px-1.5 py-0.5 text-xs font-medium text-slate-300 sm:inline">
                        "registry"
                    </span>
                </a>
                <UserMenu />
            </div>
        </header>
    }
}

#[component]
fn SideNav() -> impl IntoView {
    let user = use_current_user();
    view! {
        <nav aria-label="Main" class="w-60 shrink-0 border-r border-slate-200 bg-white px-3 py-6">
            <ul class="space-y-1">
                <NavItem href="/projects" label="Projects" icon=icons::projects_icon />
                // Only system administrators administer; the page itself refuses others too.
                <Transition fallback=|| ()>
                    <Show when=move || user.is_admin()>
                        <NavItem href="/admin" label="Administration" icon=icons::admin_icon />
                    </Show>
                </Transition>
                <NavItem href="/audit" label="Audit log" icon=icons::audit_icon />
                <NavItem href="/settings" label="Settings" icon=icons::settings_icon />
            </ul>
        </nav>
    }
}

#[component]
fn NavItem<I, V>(href: &'static str, label: &'static str, icon: I) -> impl IntoView
where
    I: Fn() -> V + Send + 'static,
    V: IntoView + 'static,
{
    view! {
        <li>
            <A
                href=href
                attr:class="flex items-center gap-3 rounded-md px-3 py-2 text-sm font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 aria-[current=page]:bg-sky-50 aria-[current=page]:text-sky-700"
            >
                {icon()}
                {label}
            </A>
        </li>
    }
}
