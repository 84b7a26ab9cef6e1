//! The projects list: search, paging, and the create dialog.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{create_project, list_projects};
use crate::components::page::{EmptyState, PageHeader};
use crate::components::query::use_query_state;
use crate::components::session::use_current_user;
use crate::components::toast::use_toasts;
use crate::components::widgets::server_message;
use crate::components::widgets::{
    field_error_id, Badge, FieldError, FormAlert, FormError, Modal, Pager, RefreshButton,
    BUTTON_PRIMARY, BUTTON_SECONDARY, INPUT, TABLE, TD, TH,
};

const PAGE_SIZE: u64 = 15;

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let toasts = use_toasts();
    let user = use_current_user();
    let state = use_query_state();
    let projects = Resource::new(
        move || (state.get("q"), state.page()),
        |(q, p)| list_projects(q, p),
    );
    let dialog = RwSignal::new(false);
    let new_name = RwSignal::new(String::new());
    let new_public = RwSignal::new(false);
    let form = FormError::new();
    let create = Action::new(move |(name, public): &(String, bool)| {
        let (name, public) = (name.clone(), *public);
        async move {
            match create_project(name.clone(), public).await {
                Ok(_) => {
                    toasts.success(format!("Project {name} created"));
                    dialog.set(false);
                    new_name.set(String::new());
                    projects.refetch();
                }
                Err(e) => form.set(&e),
            }
        }
    });

    view! {
        <PageHeader title="Projects" subtitle="Projects group repositories and decide who may push and pull them." />
        <div class="mb-4 flex items-center justify-between gap-4">
            <input type="search" placeholder="Search projects" aria-label="Search projects" class=format!("max-w-xs {INPUT}")
                prop:value=move || state.get("q")
                on:input=move |ev| state.replace(&[("q", event_target_value(&ev))]) />
            <div class="flex items-center gap-2">
                <RefreshButton on_click=move |_| projects.refetch() />
                <Show when=move || user.get().is_some()>
                    <button class=BUTTON_PRIMARY on:click=move |_| dialog.set(true)>"New project"</button>
                </Show>
            </div>
        </div>
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading projects…"</p> }>
            {move || projects.get().map(|result| match result {
                Err(e) => view! { <p class="text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                Ok(p) if p.items.is_empty() => view! {
                    <EmptyState title="No projects yet">
                        "Create a project, then push to "
                        <code class="rounded bg-slate-100 px-1 py-0.5 font-mono text-xs text-slate-700">"<host>/<project>/<repository>:<tag>"</code>
                        "."
                    </EmptyState>
                }.into_any(),
                Ok(p) => view! {
                    <div class="rounded-lg border border-slate-200 bg-surface">
                        <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                            <thead class="bg-slate-50"><tr>
                                <th class=TH>"Name"</th><th class=TH>"Access"</th><th class=TH>"Your role"</th>
                                <th class=TH>"Repositories"</th><th class=TH>"Created"</th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100">
                                {p.items.into_iter().map(|project| view! {
                                    <tr class="hover:bg-slate-50">
                                        <td class=TD>
                                            <A href=format!("/projects/{}", project.name) attr:class="font-medium text-sky-700 hover:underline">
                                                {project.name.clone()}
                                            </A>
                                        </td>
                                        <td class=TD>{if project.public { view! { <Badge text="Public" tone="green" /> } } else { view! { <Badge text="Private" /> } }}</td>
                                        <td class=TD>{project.current_role.map(|r| r.label()).unwrap_or("—")}</td>
                                        <td class=TD>{project.repo_count}</td>
                                        <td class=TD>{project.created_at[..10].to_string()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                        <Pager state total=p.total page_size=PAGE_SIZE />
                    </div>
                }.into_any(),
            })}
        </Transition>
        <Modal title="New project" open=dialog>
            <form method="post" class="space-y-4" on:submit=move |ev| { ev.prevent_default(); form.clear(); create.dispatch((new_name.get(), new_public.get())); }>
                <FormAlert form shown=|f| f == "project_name" />
                <label class="block text-sm font-medium text-slate-700">
                    "Project name"
                    <input name="project-name" required class=format!("mt-1 {INPUT}") bind:value=new_name
                        aria-invalid=move || form.for_field("project_name").is_some().then_some("true")
                        aria-describedby=move || form.for_field("project_name").map(|_| field_error_id("project_name"))
                        placeholder="lower-case letters, digits, . _ -" />
                </label>
                <FieldError form field="project_name" />
                <label class="flex items-center gap-2 text-sm text-slate-700">
                    <input type="checkbox" name="public" bind:checked=new_public />
                    "Public: anyone may pull, without signing in"
                </label>
                <div class="flex justify-end gap-2 pt-2">
                    <button type="button" class=BUTTON_SECONDARY on:click=move |_| dialog.set(false)>"Cancel"</button>
                    <button type="submit" class=BUTTON_PRIMARY disabled=move || create.pending().get()>"Create"</button>
                </div>
            </form>
        </Modal>
    }
}
