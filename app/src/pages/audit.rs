//! The audit log: who did what, when, from where; filterable and paged.

use domain::types::dto::AuditFilter;
use leptos::prelude::*;

use crate::api::list_audit;
use crate::components::page::{EmptyState, PageHeader};
use crate::components::query::use_query_state;
use crate::components::widgets::server_message;
use crate::components::widgets::{
    Badge, Pager, RefreshButton, BUTTON_SECONDARY, INPUT, TABLE, TD, TH,
};

/// The filters, each a query parameter: `?actor=…&operation=…&resource_type=…&project=…`.
const FILTERS: [(&str, &str); 4] = [
    ("actor", "User"),
    ("operation", "Operation"),
    ("resource_type", "Resource type"),
    ("project", "Project"),
];

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <PageHeader title="Audit log" subtitle="Every sign-in, change and token grant, with its actor and source address." />
        <AuditLog project=None />
    }
}

/// The audit log, of every project the caller may read or (a project's Logs tab) of one.
#[component]
pub fn AuditLog(project: Option<String>) -> impl IntoView {
    let state = use_query_state();
    let fixed = StoredValue::new(project);
    let filter = move || AuditFilter {
        actor: state.some("actor"),
        operation: state.some("operation"),
        resource_type: state.some("resource_type"),
        resource: None,
        project: fixed.get_value().or_else(|| state.some("project")),
    };
    let entries = Resource::new(move || (filter(), state.page()), |(f, p)| list_audit(f, p));
    let field = move |key: &'static str, label: &'static str| {
        view! {
            <label class="text-xs font-medium text-slate-600">{label}
                <input class=format!("mt-1 {INPUT}") aria-label=label name=key
                    prop:value=move || state.get(key)
                    on:change=move |ev| state.set(&[(key, event_target_value(&ev))]) />
            </label>
        }
    };
    let shown = move || {
        FILTERS
            .iter()
            .filter(|(k, _)| *k != "project" || fixed.read_value().is_none())
            .collect::<Vec<_>>()
    };
    let filtered = move || FILTERS.iter().any(|(key, _)| state.some(key).is_some());
    let clear = move |_| {
        let cleared: Vec<(&str, String)> =
            FILTERS.iter().map(|(k, _)| (*k, String::new())).collect();
        state.set(&cleared);
    };
    view! {
        <div class="mb-4 grid grid-cols-2 items-end gap-3 md:grid-cols-5">
            {shown().into_iter().map(|(key, label)| field(key, label)).collect_view()}
            <div class="flex flex-wrap gap-2">
                <button type="button" class=BUTTON_SECONDARY disabled=move || !filtered() on:click=clear>
                    "Clear filters"
                </button>
                <RefreshButton on_click=move |_| entries.refetch() />
            </div>
        </div>
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || entries.get().map(|r| match r {
                Err(e) => view! {
                    <EmptyState title="Not available">{server_message(&e)}</EmptyState>
                }.into_any(),
                Ok(p) => view! {
                    <div class="rounded-lg border border-slate-200 bg-surface">
                        <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                            <thead class="bg-slate-50"><tr>
                                <th class=TH>"Time (UTC)"</th><th class=TH>"User"</th><th class=TH>"Operation"</th>
                                <th class=TH>"Resource"</th><th class=TH>"Source"</th><th class=TH>"Result"</th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100">
                                {p.items.into_iter().map(|e| view! {
                                    <tr data-operation=e.operation.clone() data-resource-type=e.resource_type.clone()>
                                        <td class=format!("{TD} whitespace-nowrap font-mono text-xs")>{e.op_time.replace('T', " ").trim_end_matches('Z').to_string()}</td>
                                        <td class=TD>{e.actor.clone()}<span class="ml-1 text-xs text-slate-500">{format!("({})", e.actor_type)}</span></td>
                                        <td class=TD>{format!("{} {}", e.operation, e.resource_type)}</td>
                                        <td class=format!("{TD} font-mono text-xs")>{e.resource.clone()}</td>
                                        <td class=format!("{TD} font-mono text-xs")>{e.source_ip.clone()}</td>
                                        <td class=TD>{if e.result == "success" { view! { <Badge text="success" tone="green" /> } } else { view! { <Badge text="failure" tone="red" /> } }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                        <Pager state total=p.total page_size=25 />
                    </div>
                }.into_any(),
            })}
        </Transition>
    }
}
