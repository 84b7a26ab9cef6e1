//! Tag retention in the console: the rules editor with a live preview of what would be kept
//! and deleted, save, dry run and run, the history of runs, and the result page of one run.

use domain::policy::retention::{Decision, Rule, Template, Verdict};
use domain::policy::selector::Selector;
use domain::types::dto::RetentionExecutionView;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{
    get_retention_execution, get_retention_policy, list_retention_executions, preview_retention,
    run_retention, save_retention_policy,
};
use crate::components::session::hard_navigate;
use crate::components::toast::use_toasts;
use crate::components::widgets::server_message;
use crate::components::widgets::{
    short_digest, Badge, FieldError, FormAlert, FormError, BUTTON_PRIMARY, BUTTON_SECONDARY, TABLE,
    TD, TH,
};

/// A compact input for the inline rule editor (`INPUT` is full width).
const FIELD: &str = "rounded-md border border-slate-300 px-2 py-1.5 text-sm shadow-sm focus:border-sky-500 focus:outline-none focus:ring-2 focus:ring-sky-200";

const TEMPLATES: [(&str, &str); 5] = [
    (
        "latestPushedK",
        "retain the most recently pushed # artifacts",
    ),
    (
        "latestPulledN",
        "retain the most recently pulled # artifacts",
    ),
    (
        "nDaysSinceLastPush",
        "retain the artifacts pushed within the last # days",
    ),
    (
        "nDaysSinceLastPull",
        "retain the artifacts pulled within the last # days",
    ),
    ("always", "retain always"),
];

fn template_key(t: Template) -> &'static str {
    match t {
        Template::LatestPushedK(_) => "latestPushedK",
        Template::LatestPulledN(_) => "latestPulledN",
        Template::NDaysSinceLastPush(_) => "nDaysSinceLastPush",
        Template::NDaysSinceLastPull(_) => "nDaysSinceLastPull",
        Template::Always => "always",
    }
}

fn template_count(t: Template) -> u32 {
    match t {
        Template::LatestPushedK(n)
        | Template::LatestPulledN(n)
        | Template::NDaysSinceLastPush(n)
        | Template::NDaysSinceLastPull(n) => n,
        Template::Always => 0,
    }
}

fn template_of(key: &str, count: u32) -> Template {
    match key {
        "latestPulledN" => Template::LatestPulledN(count),
        "nDaysSinceLastPush" => Template::NDaysSinceLastPush(count),
        "nDaysSinceLastPull" => Template::NDaysSinceLastPull(count),
        "always" => Template::Always,
        _ => Template::LatestPushedK(count),
    }
}

fn verdict_badge(v: Verdict) -> impl IntoView {
    match v {
        Verdict::Keep => view! { <Badge text="keep" tone="green" /> },
        Verdict::Delete => view! { <Badge text="delete" tone="red" /> },
        Verdict::Skip => view! { <Badge text="skip" tone="amber" /> },
        Verdict::Untouched => view! { <Badge text="untouched" /> },
    }
}

fn decisions_table(decisions: Vec<Decision>) -> impl IntoView {
    view! {
        <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
            <thead class="bg-slate-50"><tr>
                <th class=TH>"Repository"</th><th class=TH>"Tags"</th><th class=TH>"Digest"</th>
                <th class=TH>"Verdict"</th><th class=TH>"Why"</th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100">
                {decisions.into_iter().map(|d| view! {
                    <tr data-decision=d.tags.join(",")>
                        <td class=TD>{d.repository}</td>
                        <td class=format!("{TD} font-mono")>{if d.tags.is_empty() { "(untagged)".to_string() } else { d.tags.join(", ") }}</td>
                        <td class=format!("{TD} font-mono text-xs")>{short_digest(&d.digest)}</td>
                        <td class=TD>{verdict_badge(d.verdict)}</td>
                        <td class=format!("{TD} text-xs text-slate-500")>{d.reason}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
}

fn summary(decisions: &[Decision]) -> String {
    let count = |v: Verdict| decisions.iter().filter(|d| d.verdict == v).count();
    format!(
        "Keeps {} · deletes {} · skips {} (immutable) · leaves {} untouched",
        count(Verdict::Keep),
        count(Verdict::Delete),
        count(Verdict::Skip),
        count(Verdict::Untouched)
    )
}

/// The project's Retention tab.
#[component]
pub fn RetentionTab(project: String, can_edit: bool) -> impl IntoView {
    let toasts = use_toasts();
    let name = StoredValue::new(project.clone());
    let policy = Resource::new(move || name.get_value(), get_retention_policy);
    let rules = RwSignal::new(Vec::<Rule>::new());
    let source = RwSignal::new(String::new());
    let schedule = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(p)) = policy.get() {
            rules.set(p.rules);
            source.set(p.source);
            schedule.set(p.schedule.unwrap_or_default());
        }
    });
    let preview = Resource::new(
        move || {
            (
                name.get_value(),
                serde_json::to_string(&rules.get()).unwrap_or_default(),
            )
        },
        |(p, json)| preview_retention(p, json),
    );
    let executions = Resource::new(move || name.get_value(), list_retention_executions);
    let form = FormError::new();
    let save = Action::new(move |_: &()| async move {
        form.clear();
        let json = serde_json::to_string(&rules.get_untracked()).unwrap_or_default();
        match save_retention_policy(name.get_value(), json, schedule.get_untracked()).await {
            Ok(p) => {
                source.set(p.source);
                schedule.set(p.schedule.unwrap_or_default());
                toasts.success("Retention policy saved");
            }
            Err(e) => form.set(&e),
        }
    });
    let run = Action::new(move |dry: &bool| {
        let dry = *dry;
        async move {
            match run_retention(name.get_value(), dry).await {
                Ok(e) => hard_navigate(&format!(
                    "/projects/{}/retention/{}",
                    name.get_value(),
                    e.id
                )),
                Err(e) => toasts.error(server_message(&e)),
            }
        }
    });
    let update = move |i: usize, f: Box<dyn FnOnce(&mut Rule)>| {
        rules.update(|rs| {
            if let Some(r) = rs.get_mut(i) {
                f(r);
            }
        })
    };
    let indices = move || (0..rules.get().len()).collect::<Vec<_>>();
    view! {
        <div class="space-y-6" data-testid="retention">
            <crate::components::widgets::ManagedNote project=name.get_value() />
            <div class="rounded-lg border border-slate-200 bg-surface p-5">
                <div class="flex items-center justify-between">
                    <div>
                        <h2 class="text-base font-semibold text-slate-900">"Tag retention rules"</h2>
                        <p class="text-sm text-slate-500">
                            "An artifact is kept when any rule keeps it; in the repositories the rules select, everything else is deleted. Immutable tags are never deleted."
                        </p>
                    </div>
                    <span class="text-xs text-slate-500" data-testid="retention-source">
                        {move || match source.get().as_str() {
                            "config" => "From the configuration file (saving makes them this project's own)".to_string(),
                            "project" => "This project's own rules".to_string(),
                            _ => "No rules: retention deletes nothing".to_string(),
                        }}
                    </span>
                </div>
                <div class="mt-4"><FormAlert form shown=|f| f.starts_with("rules[") || f == "schedule" /></div>
                <div class="mt-4 space-y-3">
                    <For each=indices key=|i| *i let:i>
                        {move || rules.get().get(i).cloned().map(|r| {
                            let key = template_key(r.template);
                            let count = template_count(r.template);
                            view! {
                                <div data-rule=i>
                                <div class="flex flex-wrap items-center gap-2 text-sm">
                                    <span class="text-slate-500">"In repositories matching"</span>
                                    <input class=format!("w-28 {FIELD}") aria-label=format!("Rule {} repositories", i + 1)
                                        prop:value=r.repositories.pattern.clone() disabled=!can_edit
                                        on:change=move |ev| { let v = event_target_value(&ev); update(i, Box::new(move |r| r.repositories = Selector::matches(v))); } />
                                    <span class="text-slate-500">"tags matching"</span>
                                    <input class=format!("w-28 {FIELD}") aria-label=format!("Rule {} tags", i + 1)
                                        prop:value=r.tags.pattern.clone() disabled=!can_edit
                                        on:change=move |ev| { let v = event_target_value(&ev); update(i, Box::new(move |r| r.tags = Selector::matches(v))); } />
                                    <select class=format!("w-auto {FIELD}") aria-label=format!("Rule {} template", i + 1) disabled=!can_edit
                                        on:change=move |ev| { let k = event_target_value(&ev); update(i, Box::new(move |r| r.template = template_of(&k, template_count(r.template).max(1)))); }>
                                        {TEMPLATES.iter().map(|(k, label)| view! {
                                            <option value=*k selected=*k == key>{*label}</option>
                                        }).collect_view()}
                                    </select>
                                    <Show when=move || key != "always">
                                        <input type="number" min="0" class=format!("w-20 {FIELD}") aria-label=format!("Rule {} count", i + 1)
                                            prop:value=count.to_string() disabled=!can_edit
                                            on:input=move |ev| {
                                                let n = event_target_value(&ev).parse::<u32>().unwrap_or(0);
                                                update(i, Box::new(move |r| r.template = template_of(template_key(r.template), n)));
                                            } />
                                    </Show>
                                    <span class="text-slate-500">"labelled"</span>
                                    <input class=format!("w-32 {FIELD}") aria-label=format!("Rule {} labels", i + 1) placeholder="any labels"
                                        title="Only artifacts carrying every one of these labels (comma-separated names)"
                                        prop:value=r.labels.join(", ") disabled=!can_edit
                                        on:change=move |ev| {
                                            let names: Vec<String> = event_target_value(&ev).split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect();
                                            update(i, Box::new(move |r| r.labels = names));
                                        } />
                                    <label class="flex items-center gap-1 text-slate-600">
                                        <input type="checkbox" prop:checked=r.untagged disabled=!can_edit
                                            on:change=move |ev| { let c = event_target_checked(&ev); update(i, Box::new(move |r| r.untagged = c)); } />
                                        "untagged too"
                                    </label>
                                    <Show when=move || can_edit>
                                        <button type="button" class=BUTTON_SECONDARY
                                            on:click=move |_| rules.update(|rs| { if i < rs.len() { rs.remove(i); } })>"Remove"</button>
                                    </Show>
                                </div>
                                {["repositories", "tags", "count", "template"].map(|k| view! {
                                    <FieldError form field=format!("rules[{i}].{k}") />
                                }).collect_view()}
                                </div>
                            }
                        })}
                    </For>
                </div>
                <div class="mt-4 flex flex-wrap items-center gap-2 text-sm">
                    <label class="text-slate-500" for="retention-schedule">"Runs automatically at (cron, UTC)"</label>
                    <input id="retention-schedule" class=format!("w-40 font-mono {FIELD}") placeholder="manual only"
                        aria-label="Retention schedule" prop:value=move || schedule.get() disabled=!can_edit
                        on:change=move |ev| schedule.set(event_target_value(&ev)) />
                    <span class="text-xs text-slate-500">"e.g. 0 3 * * * for every day at 03:00"</span>
                </div>
                <FieldError form field="schedule" />
                <Show when=move || can_edit>
                    <div class="mt-4 flex flex-wrap gap-2">
                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| rules.update(|rs| rs.push(Rule {
                            repositories: Selector::everything(),
                            tags: Selector::matches("**"),
                            untagged: false,
                            template: Template::LatestPushedK(10),
                            disabled: false,
                            labels: Vec::new(),
                        }))>"Add rule"</button>
                        <button type="button" class=BUTTON_PRIMARY on:click=move |_| { save.dispatch(()); }>"Save rules"</button>
                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| { run.dispatch(true); }>"Dry run"</button>
                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| {
                            if window().confirm_with_message("Run retention now? Artifacts marked delete in the saved policy will be deleted.").unwrap_or(false) {
                                run.dispatch(false);
                            }
                        }>"Run now"</button>
                    </div>
                </Show>
            </div>
            <div class="rounded-lg border border-slate-200 bg-surface">
                <div class="border-b border-slate-100 px-5 py-3">
                    <h2 class="text-base font-semibold text-slate-900">"Preview"</h2>
                    <Transition fallback=|| ()>
                        <p class="text-sm text-slate-600" data-testid="retention-preview-summary">
                            {move || preview.get().map(|r| match r {
                                Ok(d) => summary(&d),
                                Err(e) => server_message(&e),
                            })}
                        </p>
                    </Transition>
                </div>
                <Transition fallback=|| ()>
                    {move || preview.get().and_then(|r| r.ok()).map(decisions_table)}
                </Transition>
            </div>
            <div class="rounded-lg border border-slate-200 bg-surface">
                <h2 class="border-b border-slate-100 px-5 py-3 text-base font-semibold text-slate-900">"Runs"</h2>
                <Transition fallback=|| ()>
                    {move || executions.get().and_then(|r| r.ok()).map(|list| view! {
                        <ul class="divide-y divide-slate-100 text-sm">
                            {list.into_iter().map(|e| {
                                let href = format!("/projects/{}/retention/{}", e.project, e.id);
                                view! {
                                    <li class="px-5 py-2">
                                        <a class="text-sky-700 hover:underline" href=href>
                                            {format!("#{} {} · {} · {}", e.id, if e.dry_run { "dry run" } else { "run" }, e.status, e.started_at)}
                                        </a>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    })}
                </Transition>
            </div>
        </div>
    }
}

/// `/projects/:name/retention/:id`: the result of one run.
#[component]
pub fn RetentionExecutionPage() -> impl IntoView {
    let params = use_params_map();
    let key = move || {
        let p = params.read();
        (
            p.get("name").unwrap_or_default(),
            p.get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0),
        )
    };
    let execution = Resource::new(key, |(name, id)| get_retention_execution(name, id));
    // A run in progress is looked at again every second until it finishes.
    Effect::new(move |_| {
        if execution
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|e| e.status == "running")
        {
            set_timeout(
                move || execution.refetch(),
                std::time::Duration::from_secs(1),
            );
        }
    });
    view! {
        <Title text="Retention run" />
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || execution.get().map(|r| match r {
                Err(e) => view! { <p class="text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                Ok(e) => execution_view(e).into_any(),
            })}
        </Transition>
    }
}

fn execution_view(e: RetentionExecutionView) -> impl IntoView {
    let title = format!(
        "{} #{} of {}",
        if e.dry_run {
            "Dry run"
        } else {
            "Retention run"
        },
        e.id,
        e.project
    );
    let back = format!("/projects/{}/retention", e.project);
    view! {
        <div class="mb-6 border-b border-slate-200 pb-4">
            <a href=back class="text-sm text-sky-700 hover:underline">"← Tag retention"</a>
            <h1 class="mt-2 text-2xl font-semibold tracking-tight text-slate-900" data-testid="execution-title">{title}</h1>
            <p class="mt-1 text-sm text-slate-600" data-testid="execution-summary">
                {format!("{} · {} · started {}{}", summary(&e.decisions), e.status, e.started_at,
                    if e.dry_run { " · nothing was deleted" } else { "" })}
            </p>
            {(!e.errors.is_empty()).then(|| view! {
                <ul class="mt-2 text-sm text-red-700">{e.errors.iter().map(|m| view! { <li>{m.clone()}</li> }).collect_view()}</ul>
            })}
        </div>
        <div class="rounded-lg border border-slate-200 bg-surface">
            {decisions_table(e.decisions)}
        </div>
    }
}
