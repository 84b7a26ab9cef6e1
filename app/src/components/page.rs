//! Page header and empty-state card, so every page has the same rhythm.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn PageHeader(title: &'static str, #[prop(optional)] subtitle: &'static str) -> impl IntoView {
    view! {
        <Title text=title />
        <div class="mb-6 flex items-end justify-between border-b border-slate-200 pb-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight text-slate-900">{title}</h1>
                {(!subtitle.is_empty()).then(|| view! { <p class="mt-1 text-sm text-slate-500">{subtitle}</p> })}
            </div>
        </div>
    }
}

#[component]
pub fn EmptyState(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="rounded-lg border border-dashed border-slate-300 bg-surface px-6 py-16 text-center">
            <h2 class="text-base font-semibold text-slate-900">{title}</h2>
            <div class="mx-auto mt-2 max-w-md text-sm text-slate-500">{children()}</div>
        </div>
    }
}
