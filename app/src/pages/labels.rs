//! Managing labels: a project's own (its Settings tab) and the global ones (Administration).

use leptos::prelude::*;

use crate::api::{create_label, delete_label, global_labels, project_labels};
use crate::components::toast::use_toasts;
use crate::components::widgets::server_message;
use crate::components::widgets::{
    field_error_id, use_confirm, FieldError, FormAlert, FormError, LabelChip, BUTTON_DANGER,
    BUTTON_PRIMARY, INPUT, TABLE, TD, TH,
};

/// The labels of `project` (or, without one, the global labels), with a form to add one.
#[component]
pub fn LabelsEditor(project: Option<String>, can_edit: bool) -> impl IntoView {
    let toasts = use_toasts();
    let confirm = use_confirm();
    let scope = StoredValue::new(project);
    let labels = Resource::new(
        move || scope.get_value(),
        |p| async move {
            match p {
                // Only the project's own: global labels are managed by administrators.
                Some(p) => project_labels(p)
                    .await
                    .map(|l| l.into_iter().filter(|l| l.scope == "p").collect::<Vec<_>>()),
                None => global_labels().await,
            }
        },
    );
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let color = RwSignal::new("#0369a1".to_string());
    let form = FormError::new();
    let create = Action::new(move |_: &()| {
        let (p, n, d, c) = (
            scope.get_value(),
            name.get_untracked(),
            description.get_untracked(),
            color.get_untracked(),
        );
        async move {
            form.clear();
            match create_label(p, n.clone(), d, c).await {
                Ok(_) => {
                    toasts.success(format!("Label {n} created"));
                    name.set(String::new());
                    description.set(String::new());
                    labels.refetch();
                }
                Err(e) => form.set(&e),
            }
        }
    });
    let remove = Action::new(move |id: &i64| {
        let id = *id;
        async move {
            match delete_label(id).await {
                Ok(()) => toasts.success("Label deleted"),
                Err(e) => toasts.error(server_message(&e)),
            }
            labels.refetch();
        }
    });
    let title = if scope.read_value().is_some() {
        "Project labels"
    } else {
        "Global labels"
    };
    view! {
        <section class="rounded-lg border border-slate-200 bg-surface" data-testid="labels-editor">
            <div class="border-b border-slate-100 px-5 py-3">
                <h2 class="text-base font-semibold text-slate-900">{title}</h2>
                <p class="text-sm text-slate-500">"Labels mark artifacts (approved, release candidate, …): lists filter by them and retention rules can select by them."</p>
            </div>
            <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                <thead class="bg-slate-50"><tr>
                    <th class=TH>"Label"</th><th class=TH>"Description"</th><th class=TH></th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    <Transition fallback=|| ()>
                        {move || labels.get().map(|r| match r {
                            Err(e) => view! { <tr><td class=TD colspan="3">{server_message(&e)}</td></tr> }.into_any(),
                            Ok(list) if list.is_empty() => view! {
                                <tr><td class=format!("{TD} text-slate-500") colspan="3">"No labels yet."</td></tr>
                            }.into_any(),
                            Ok(list) => list.into_iter().map(|l| {
                                let (id, label_name) = (l.id, l.name.clone());
                                view! {
                                    <tr data-label-row=l.name.clone()>
                                        <td class=TD><LabelChip label=l.clone() /></td>
                                        <td class=TD>{l.description.clone()}</td>
                                        <td class=format!("{TD} text-right")>
                                            {can_edit.then(|| view! {
                                                <button type="button" class=BUTTON_DANGER on:click=move |_| {
                                                    confirm.danger("Delete label", format!("Delete the label {label_name}? It comes off every artifact that carries it."), "Delete", move || { remove.dispatch(id); });
                                                }>"Delete"</button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view().into_any(),
                        })}
                    </Transition>
                </tbody>
            </table></div>
            {can_edit.then(|| view! {
                <form method="post" class="flex flex-wrap items-start gap-3 border-t border-slate-100 px-5 py-4" data-testid="new-label"
                    on:submit=move |ev| { ev.prevent_default(); create.dispatch(()); }>
                    <FormAlert form shown=|f| f == "name" || f == "color" />
                    <div>
                        <label class="block text-xs font-medium text-slate-600" for="label-name">"Name"</label>
                        <input id="label-name" name="label-name" required class=format!("mt-1 w-48 {INPUT}") bind:value=name
                            aria-invalid=move || form.for_field("name").is_some().then_some("true")
                            aria-describedby=move || form.for_field("name").map(|_| field_error_id("name")) />
                        <FieldError form field="name" />
                    </div>
                    <div>
                        <label class="block text-xs font-medium text-slate-600" for="label-color">"Colour"</label>
                        <input id="label-color" name="label-color" type="color" class="mt-1 h-9 w-14 rounded-md border border-slate-300 bg-surface" bind:value=color />
                        <FieldError form field="color" />
                    </div>
                    <div class="flex-1">
                        <label class="block text-xs font-medium text-slate-600" for="label-description">"Description"</label>
                        <input id="label-description" name="label-description" class=format!("mt-1 {INPUT}") bind:value=description />
                    </div>
                    <button type="submit" class=format!("mt-5 {BUTTON_PRIMARY}")>"Add label"</button>
                </form>
            })}
        </section>
    }
}
