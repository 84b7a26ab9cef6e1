//! Facts about this Berth instance, loaded through a server function.

use leptos::prelude::*;

use crate::api::load_instance_info;
use crate::components::page::PageHeader;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let info = Resource::new(|| (), |_| load_instance_info());
    view! {
        <PageHeader title="Settings" subtitle="How this registry is configured." />
        <div class="rounded-lg border border-slate-200 bg-surface">
            <Suspense fallback=|| view! { <p class="p-6 text-sm text-slate-500">"Loading…"</p> }>
                {move || info.get().map(|result| match result {
                    Ok(info) => view! {
                        <dl class="divide-y divide-slate-100 text-sm">
                            <Fact label="Version" value=info.version />
                            <Fact label="Authentication" value=info.auth_mode />
                            <Fact label="Database" value=info.database_backend />
                            <Fact label="External URL" value=info.external_url />
                        </dl>
                    }.into_any(),
                    Err(e) => view! {
                        <p class="p-6 text-sm text-red-600">{format!("Could not load settings: {e}")}</p>
                    }.into_any(),
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn Fact(label: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="grid grid-cols-3 gap-4 px-6 py-4">
            <dt class="font-medium text-slate-500">{label}</dt>
            <dd class="col-span-2 font-mono text-slate-900" data-fact=label>{value}</dd>
        </div>
    }
}
