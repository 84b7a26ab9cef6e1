//! A project's immutable tag rules: the project's own (added and removed here) and the
//! configuration file's (every project; shown read-only and marked as such).

use leptos::prelude::*;

use crate::api::{add_immutable_rule, delete_immutable_rule, list_immutable_rules};
use crate::components::toast::use_toasts;
use crate::components::widgets::server_message;
use crate::components::widgets::{Badge, BUTTON_PRIMARY, BUTTON_SECONDARY, INPUT, TABLE, TD, TH};

fn selector_text(pattern: &str, decoration: &str) -> String {
    if decoration == "excludes" {
        format!("all but {pattern}")
    } else {
        pattern.to_string()
    }
}

#[component]
pub fn ImmutabilityTab(project: String, can_edit: bool) -> impl IntoView {
    let toasts = use_toasts();
    let name = StoredValue::new(project);
    let rules = Resource::new(move || name.get_value(), list_immutable_rules);
    let repo = RwSignal::new("**".to_string());
    let tag = RwSignal::new(String::new());
    let excludes = RwSignal::new(false);
    let add = Action::new(move |_: &()| async move {
        let result = add_immutable_rule(
            name.get_value(),
            repo.get_untracked(),
            tag.get_untracked(),
            excludes.get_untracked(),
        )
        .await;
        match result {
            Ok(_) => {
                toasts.success("Immutable tag rule added");
                tag.set(String::new());
                rules.refetch();
            }
            Err(e) => toasts.error(server_message(&e)),
        }
    });
    let remove = Action::new(move |id: &i64| {
        let id = *id;
        async move {
            match delete_immutable_rule(name.get_value(), id).await {
                Ok(()) => toasts.success("Immutable tag rule removed"),
                Err(e) => toasts.error(server_message(&e)),
            }
            rules.refetch();
        }
    });
    view! {
        <div class="space-y-6" data-testid="immutability">
            <crate::components::widgets::ManagedNote project=name.get_value() />
            <div class="rounded-lg border border-slate-200 bg-surface">
                <div class="border-b border-slate-100 px-5 py-4">
                    <h2 class="text-base font-semibold text-slate-900">"Immutable tags"</h2>
                    <p class="text-sm text-slate-500">"A tag a rule protects cannot be pushed to a different digest or deleted, nor its artifact or repository; pushing the same digest again is allowed. Retention skips it."</p>
                </div>
                <Transition fallback=|| ()>
                    {move || rules.get().map(|r| match r {
                        Err(e) => view! { <p class="px-5 py-4 text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                        Ok(rs) if rs.is_empty() => view! { <p class="px-5 py-4 text-sm text-slate-500">"No rules: every tag can move."</p> }.into_any(),
                        Ok(rs) => view! {
                            <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                                <thead class="bg-slate-50"><tr>
                                    <th class=TH>"Repositories"</th><th class=TH>"Tags"</th><th class=TH>"Source"</th><th class=TH></th>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100">
                                    {rs.into_iter().map(|rule| {
                                        let from_config = rule.source == "config";
                                        let id = rule.id;
                                        view! {
                                            <tr data-immutable-rule=rule.tag_pattern.clone() data-source=rule.source.clone()>
                                                <td class=format!("{TD} font-mono")>{selector_text(&rule.repo_pattern, &rule.repo_decoration)}</td>
                                                <td class=format!("{TD} font-mono")>{selector_text(&rule.tag_pattern, &rule.tag_decoration)}</td>
                                                <td class=TD>{if from_config {
                                                    view! { <Badge text="From configuration" tone="blue" /> }.into_any()
                                                } else {
                                                    view! { <Badge text="This project" /> }.into_any()
                                                }}</td>
                                                <td class=format!("{TD} text-right")>
                                                    {(can_edit && !from_config).then(|| view! {
                                                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| { remove.dispatch(id); }>"Remove"</button>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                    })}
                </Transition>
            </div>
            <Show when=move || can_edit>
                <form method="post" class="flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-surface p-5"
                    on:submit=move |ev| { ev.prevent_default(); add.dispatch(()); }>
                    <label class="text-sm text-slate-700">"Repositories"
                        <input class=format!("mt-1 w-40 font-mono {INPUT}") aria-label="Immutable rule repositories" bind:value=repo /></label>
                    <label class="text-sm text-slate-700">"Tags"
                        <input class=format!("mt-1 w-40 font-mono {INPUT}") aria-label="Immutable rule tags" placeholder="release-*" required bind:value=tag /></label>
                    <label class="flex items-center gap-2 pb-2 text-sm text-slate-700">
                        <input type="checkbox" bind:checked=excludes />"all tags except these"</label>
                    <button type="submit" class=BUTTON_PRIMARY>"Add rule"</button>
                </form>
            </Show>
        </div>
    }
}
