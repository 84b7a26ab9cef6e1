//! The console frame every signed-in page lives in: top bar, side navigation, content area.

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use super::icons;
use super::session::use_current_user;
use super::user_menu::UserMenu;

/// Whether the side navigation is open on a narrow screen (below `lg` it is a drawer).
#[derive(Clone, Copy)]
struct NavDrawer(RwSignal<bool>);

#[component]
pub fn ConsoleLayout() -> impl IntoView {
    provide_context(NavDrawer(RwSignal::new(false)));
    view! {
        <div class="flex min-h-full flex-col">
            <TopBar />
            <div class="mx-auto flex w-full max-w-screen-2xl flex-1">
                <SideNav />
                <main class="min-w-0 flex-1 px-4 py-6 sm:px-6 lg:px-8 lg:py-8">
                    <Outlet />
                </main>
            </div>
        </div>
    }
}

#[component]
fn TopBar() -> impl IntoView {
    let drawer = expect_context::<NavDrawer>().0;
    view! {
        <header class="sticky top-0 z-30 border-b border-white/10 bg-chrome text-white">
            <div class="mx-auto flex h-14 max-w-screen-2xl items-center justify-between px-4 lg:px-6">
                <div class="flex items-center gap-2">
                <button type="button" id="nav-toggle" class="rounded-md p-2 text-white/75 hover:bg-white/10 hover:text-white lg:hidden"
                    aria-label="Menu" aria-controls="side-nav" aria-expanded=move || drawer.get().to_string()
                    on:click=move |_| drawer.update(|open| *open = !*open)>
                    <svg class="h-5 w-5" viewBox="0 0 20 20" fill="currentColor" aria-hidden="true">
                        <path fill-rule="evenodd" d="M2 4.75A.75.75 0 0 1 2.75 4h14.5a.75.75 0 0 1 0 1.5H2.75A.75.75 0 0 1 2 4.75Zm0 5.25a.75.75 0 0 1 .75-.75h14.5a.75.75 0 0 1 0 1.5H2.75A.75.75 0 0 1 2 10Zm0 5.25a.75.75 0 0 1 .75-.75h14.5a.75.75 0 0 1 0 1.5H2.75a.75.75 0 0 1-.75-.75Z" clip-rule="evenodd" />
                    </svg>
                </button>
                <a href="/" class="flex items-center gap-2.5 font-semibold tracking-tight">
                    {icons::logo()}
                    <span class="text-lg">"Berth"</span>
                    <span class="hidden rounded bg-white/10 px-1.5 py-0.5 text-xs font-medium text-white/75 sm:inline">
                        "registry"
                    </span>
                </a>
                </div>
                <div class="flex items-center gap-3">
                    <super::theme::ThemeSwitch />
                    <UserMenu />
                </div>
            </div>
        </header>
    }
}

#[component]
fn SideNav() -> impl IntoView {
    let user = use_current_user();
    let drawer = expect_context::<NavDrawer>().0;
    // From `lg` up a column beside the content; below it a drawer over the page, opened from
    // the top bar's menu button.
    view! {
        <Show when=move || drawer.get()>
            <div class="fixed inset-0 top-14 z-20 bg-black/50 lg:hidden" on:click=move |_| drawer.set(false) />
        </Show>
        <nav id="side-nav" aria-label="Main"
            class=move || format!(
                "w-60 shrink-0 border-r border-slate-200 bg-surface px-3 py-6 lg:static lg:block {}",
                if drawer.get() { "fixed bottom-0 left-0 top-14 z-30 block overflow-y-auto shadow-xl" } else { "hidden" }
            )>
            <ul class="space-y-1">
                <NavItem href="/projects" label="Projects" icon=icons::projects_icon />
                // Only system administrators administer; the page itself refuses others too.
                <Transition fallback=|| ()>
                    <Show when=move || crate::components::permissions::may_administer(user.is_admin())>
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
    // Choosing a destination closes the drawer (on narrow screens).
    let drawer = expect_context::<NavDrawer>().0;
    view! {
        <li on:click=move |_| drawer.set(false)>
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
