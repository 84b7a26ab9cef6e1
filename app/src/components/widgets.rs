//! Small shared pieces: buttons, badges, modal dialog, pager, form fields.

use leptos::prelude::*;

pub const BUTTON_PRIMARY: &str = "inline-flex items-center gap-2 rounded-md bg-sky-600 px-3.5 py-2 text-sm font-semibold text-white shadow-sm hover:bg-sky-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400 disabled:cursor-not-allowed disabled:opacity-50";
pub const BUTTON_SECONDARY: &str = "inline-flex items-center gap-2 rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 shadow-sm hover:bg-slate-50 disabled:cursor-not-allowed disabled:opacity-50";
pub const BUTTON_DANGER: &str = "inline-flex items-center gap-2 rounded-md border border-red-200 bg-white px-3 py-1.5 text-sm font-medium text-red-700 hover:bg-red-50 disabled:cursor-not-allowed disabled:opacity-50";
pub const INPUT: &str = "block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-sky-500 focus:outline-none focus:ring-2 focus:ring-sky-200";
pub const TABLE: &str = "min-w-full divide-y divide-slate-200 text-sm";
pub const TH: &str =
    "px-4 py-3 text-left text-xs font-semibold uppercase tracking-wide text-slate-500";
pub const TD: &str = "px-4 py-3 text-slate-700";

#[component]
pub fn Badge(#[prop(into)] text: String, #[prop(optional)] tone: &'static str) -> impl IntoView {
    let class = match tone {
        "green" => "rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 ring-1 ring-emerald-200",
        "red" => "rounded-full bg-red-50 px-2 py-0.5 text-xs font-medium text-red-700 ring-1 ring-red-200",
        "amber" => "rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800 ring-1 ring-amber-200",
        "blue" => "rounded-full bg-sky-50 px-2 py-0.5 text-xs font-medium text-sky-700 ring-1 ring-sky-200",
        _ => "rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-600 ring-1 ring-slate-200",
    };
    view! { <span class=class>{text}</span> }
}

/// A centred dialog over a dimmed page.
#[component]
pub fn Modal(title: &'static str, open: RwSignal<bool>, children: ChildrenFn) -> impl IntoView {
    view! {
        <Show when=move || open.get()>
            <div class="fixed inset-0 z-40 bg-slate-900/40" on:click=move |_| open.set(false) />
            <div role="dialog" aria-modal="true" aria-label=title
                class="fixed left-1/2 top-24 z-50 w-full max-w-lg -translate-x-1/2 rounded-xl bg-white p-6 shadow-2xl">
                <h2 class="mb-4 text-lg font-semibold text-slate-900">{title}</h2>
                {children()}
            </div>
        </Show>
    }
}

/// Previous / next with "page X of Y"; the page lives in the URL's query string.
#[component]
pub fn Pager(
    state: super::query::QueryState,
    #[prop(into)] total: Signal<u64>,
    page_size: u64,
) -> impl IntoView {
    let pages = move || total.get().div_ceil(page_size).max(1);
    view! {
        <div class="flex items-center justify-between border-t border-slate-200 px-4 py-3 text-sm text-slate-600">
            <span>{move || format!("{} total", total.get())}</span>
            <div class="flex items-center gap-3">
                <button class=BUTTON_SECONDARY disabled=move || { state.page() <= 1 }
                    on:click=move |_| state.set_page(state.page().saturating_sub(1).max(1))>"Previous"</button>
                <span>{move || format!("Page {} of {}", state.page(), pages())}</span>
                <button class=BUTTON_SECONDARY disabled=move || { state.page() >= pages() }
                    on:click=move |_| state.set_page(state.page() + 1)>"Next"</button>
            </div>
        </div>
    }
}

/// Reads an input's current value in an event handler.
pub fn input_value(ev: &leptos::ev::Event) -> String {
    event_target_value(ev)
}

/// `1.5 MiB`-style sizes.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `sha256:0123456789ab` — enough of a digest to recognise it.
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) => format!("{alg}:{}", &hex[..hex.len().min(12)]),
        None => digest.to_string(),
    }
}

/// "Managed by a policy file" on a project's policy tabs, when a configured file declares it.
#[component]
pub fn ManagedNote(project: String) -> impl IntoView {
    let policies = Resource::new(|| (), |_| crate::api::config_policies());
    view! {
        <Transition fallback=|| ()>
            {move || policies.get().and_then(|r| r.ok()).and_then(|c| {
                c.managed_projects.into_iter().find(|(p, _)| *p == project).map(|(_, file)| view! {
                    <p class="rounded-md border border-sky-200 bg-sky-50 px-4 py-2 text-sm text-sky-800" data-testid="managed-note">
                        {format!("From configuration: the policy file {file} declares this project's policies; changes made here are replaced at the next start.")}
                    </p>
                })
            })}
        </Transition>
    }
}
