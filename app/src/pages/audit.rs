//! The audit log: who did what, when, from where; filterable and paged.

use domain::types::dto::AuditFilter;
use leptos::prelude::*;

use super::login::server_message;
use crate::api::list_audit;
use crate::components::page::{EmptyState, PageHeader};
use crate::components::widgets::{Badge, Pager, INPUT, TABLE, TD, TH};

fn some(s: String) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.trim().to_string())
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let actor = RwSignal::new(String::new());
    let operation = RwSignal::new(String::new());
    let resource_type = RwSignal::new(String::new());
    let project = RwSignal::new(String::new());
    let page = RwSignal::new(1u64);
    let filter = move || AuditFilter {
        actor: some(actor.get()),
        operation: some(operation.get()),
        resource_type: some(resource_type.get()),
        resource: None,
        project: some(project.get()),
    };
    let entries = Resource::new(move || (filter(), page.get()), |(f, p)| list_audit(f, p));
    let field = |label: &'static str, signal: RwSignal<String>| {
        view! {
            <label class="text-xs font-medium text-slate-600">{label}
                <input class=format!("mt-1 {INPUT}") aria-label=label
                    on:change=move |ev| { signal.set(event_target_value(&ev)); page.set(1); } />
            </label>
        }
    };
    view! {
        <PageHeader title="Audit log" subtitle="Every sign-in, change and token grant, with its actor and source address." />
        <div class="mb-4 grid grid-cols-4 gap-3">
            {field("User", actor)}
            {field("Operation", operation)}
            {field("Resource type", resource_type)}
            {field("Project", project)}
        </div>
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || entries.get().map(|r| match r {
                Err(e) => view! {
                    <EmptyState title="Not available">{server_message(&e)}</EmptyState>
                }.into_any(),
                Ok(p) => view! {
                    <div class="overflow-hidden rounded-lg border border-slate-200 bg-white">
                        <table class=TABLE>
                            <thead class="bg-slate-50"><tr>
                                <th class=TH>"Time (UTC)"</th><th class=TH>"User"</th><th class=TH>"Operation"</th>
                                <th class=TH>"Resource"</th><th class=TH>"Source"</th><th class=TH>"Result"</th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100">
                                {p.items.into_iter().map(|e| view! {
                                    <tr data-operation=e.operation.clone() data-resource-type=e.resource_type.clone()>
                                        <td class=format!("{TD} whitespace-nowrap font-mono text-xs")>{e.op_time.replace('T', " ").trim_end_matches('Z').to_string()}</td>
                                        <td class=TD>{e.actor.clone()}<span class="ml-1 text-xs text-slate-400">{format!("({})", e.actor_type)}</span></td>
                                        <td class=TD>{format!("{} {}", e.operation, e.resource_type)}</td>
                                        <td class=format!("{TD} font-mono text-xs")>{e.resource.clone()}</td>
                                        <td class=format!("{TD} font-mono text-xs")>{e.source_ip.clone()}</td>
                                        <td class=TD>{if e.result == "success" { view! { <Badge text="success" tone="green" /> } } else { view! { <Badge text="failure" tone="red" /> } }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Pager page total=p.total page_size=25 />
                    </div>
                }.into_any(),
            })}
        </Transition>
    }
}
