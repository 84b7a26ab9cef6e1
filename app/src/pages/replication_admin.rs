//! Replication for system administrators: remote registries (add, test, remove), replication
//! rules (add, run, remove) and the latest executions with live progress per task and each
//! task's log. Changes go through the REST API (secrets are sealed by the server).

use leptos::prelude::*;

use crate::api::replication::{
    list_registries, list_replication_executions, list_replication_policies, list_replication_tasks,
};
use crate::components::rest;
use crate::components::toast::use_toasts;
use crate::components::widgets::{
    human_size, server_message, Badge, BUTTON_DANGER, BUTTON_PRIMARY, BUTTON_SECONDARY, INPUT,
    TABLE, TD, TH,
};

fn tone(status: &str) -> &'static str {
    match status {
        "Succeed" => "green",
        "Failed" => "red",
        "Stopped" | "Skipped" => "amber",
        _ => "blue",
    }
}

/// Remote registries and replication rules, with their executions.
#[component]
pub fn ReplicationAdmin() -> impl IntoView {
    let toasts = use_toasts();
    let registries = Resource::new(|| (), |_| list_registries());
    let policies = Resource::new(|| (), |_| list_replication_policies());
    let executions = Resource::new(|| (), |_| list_replication_executions());
    // While something runs, the list refreshes itself every second.
    let running = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(list)) = executions.get() {
            running.set(
                list.iter()
                    .any(|e| e.status == "Pending" || e.status == "InProgress"),
            );
        }
    });
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                if running.get_untracked() {
                    executions.refetch();
                }
            },
            std::time::Duration::from_secs(1),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }

    let (name, kind, url, user, secret) = (
        RwSignal::new(String::new()),
        RwSignal::new("harbor".to_string()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let add_registry = Action::new_local(move |_: &()| {
        let body = serde_json::json!({
            "name": name.get_untracked(), "type": kind.get_untracked(), "url": url.get_untracked(),
            "credential": {"type": "basic", "access_key": user.get_untracked(), "access_secret": secret.get_untracked()},
        })
        .to_string();
        async move {
            match rest::call("POST", "/registries", rest::Body::Json(body)).await {
                Ok(_) => {
                    toasts.success("Registry added");
                    secret.set(String::new());
                    registries.refetch();
                }
                Err(e) => toasts.error(e),
            }
        }
    });
    let registry_command = Action::new_local(move |(method, id): &(&'static str, i64)| {
        let (method, id) = (*method, *id);
        async move {
            let result = match method {
                "PING" => {
                    rest::call(
                        "POST",
                        "/registries/ping",
                        rest::Body::Json(format!(r#"{{"id":{id}}}"#)),
                    )
                    .await
                }
                _ => rest::call("DELETE", &format!("/registries/{id}"), rest::Body::Empty).await,
            };
            match result {
                Ok(_) if method == "PING" => toasts.success("The registry answered"),
                Ok(_) => toasts.success("Registry removed"),
                Err(e) => toasts.error(e),
            }
            registries.refetch();
        }
    });

    let (rule, rule_registry, direction, filter, namespace) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new("push".to_string()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let add_rule = Action::new_local(move |_: &()| {
        let remote: i64 = rule_registry.get_untracked().parse().unwrap_or(0);
        let (src, dest) = if direction.get_untracked() == "push" {
            (0, remote)
        } else {
            (remote, 0)
        };
        let mut body = serde_json::json!({
            "name": rule.get_untracked(), "src_registry": {"id": src}, "dest_registry": {"id": dest},
            "dest_namespace": namespace.get_untracked(),
        });
        let pattern = filter.get_untracked();
        if !pattern.trim().is_empty() {
            body["filters"] = serde_json::json!([{"type": "name", "value": pattern.trim()}]);
        }
        async move {
            match rest::call(
                "POST",
                "/replication/policies",
                rest::Body::Json(body.to_string()),
            )
            .await
            {
                Ok(_) => {
                    toasts.success("Rule created");
                    policies.refetch();
                }
                Err(e) => toasts.error(e),
            }
        }
    });
    let rule_command = Action::new_local(move |(method, id): &(&'static str, i64)| {
        let (method, id) = (*method, *id);
        async move {
            let result = match method {
                "RUN" => {
                    rest::call(
                        "POST",
                        "/replication/executions",
                        rest::Body::Json(format!(r#"{{"policy_id":{id}}}"#)),
                    )
                    .await
                }
                "STOP" => {
                    rest::call(
                        "PUT",
                        &format!("/replication/executions/{id}"),
                        rest::Body::Empty,
                    )
                    .await
                }
                _ => {
                    rest::call(
                        "DELETE",
                        &format!("/replication/policies/{id}"),
                        rest::Body::Empty,
                    )
                    .await
                }
            };
            match result {
                Ok(_) => {
                    toasts.success(match method {
                        "RUN" => "Replication started",
                        "STOP" => "Stopping",
                        _ => "Rule removed",
                    });
                    running.set(true);
                    executions.refetch();
                    policies.refetch();
                }
                Err(e) => toasts.error(e),
            }
        }
    });
    let opened = RwSignal::new(None::<i64>);

    view! {
        <section class="mt-8 rounded-lg border border-slate-200 bg-surface" data-testid="registries">
            <div class="border-b border-slate-100 px-6 py-4">
                <h2 class="text-base font-semibold text-slate-900">"Registries"</h2>
                <p class="text-sm text-slate-500">"Remote registries replication reads from or writes to. Secrets are sealed and never shown again; addresses on private networks need outbound.allowed_networks."</p>
            </div>
            <Transition fallback=|| ()>
                {move || registries.get().map(|r| match r {
                    Err(e) => view! { <p class="px-6 py-4 text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                            <thead class="bg-slate-50"><tr>
                                <th class=TH>"Name"</th><th class=TH>"Type"</th><th class=TH>"URL"</th><th class=TH>"Status"</th><th class=TH></th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100">
                                {list.into_iter().map(|r| {
                                    let id = r.id;
                                    view! {
                                        <tr data-registry=r.name.clone()>
                                            <td class=TD>{r.name.clone()}</td>
                                            <td class=TD>{r.kind.clone()}</td>
                                            <td class=format!("{TD} font-mono text-xs")>{r.url.clone()}</td>
                                            <td class=TD><Badge text=r.status.clone() tone=if r.status == "healthy" { "green" } else if r.status == "unhealthy" { "red" } else { "" } /></td>
                                            <td class=format!("{TD} text-right")>
                                                <button class=BUTTON_SECONDARY on:click=move |_| { registry_command.dispatch_local(("PING", id)); }>"Test"</button>
                                                <button class=format!("ml-2 {BUTTON_DANGER}") on:click=move |_| { registry_command.dispatch_local(("DELETE", id)); }>"Remove"</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                })}
            </Transition>
            <form method="post" class="flex flex-wrap items-end gap-3 border-t border-slate-100 px-6 py-4"
                on:submit=move |ev| { ev.prevent_default(); add_registry.dispatch_local(()); }>
                <input class=format!("max-w-[10rem] {INPUT}") placeholder="Name" aria-label="Registry name" required
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                <select class=format!("max-w-[12rem] {INPUT}") aria-label="Registry type" on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="harbor">"Berth or Harbor"</option>
                    <option value="docker-registry">"Docker registry (OCI)"</option>
                </select>
                <input class=format!("max-w-[16rem] {INPUT}") placeholder="https://registry.example.com" aria-label="Registry URL" required
                    prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev)) />
                <input class=format!("max-w-[10rem] {INPUT}") placeholder="User or robot" aria-label="Access key" autocomplete="off"
                    prop:value=move || user.get() on:input=move |ev| user.set(event_target_value(&ev)) />
                <input type="password" class=format!("max-w-[10rem] {INPUT}") placeholder="Secret" aria-label="Access secret" autocomplete="off"
                    prop:value=move || secret.get() on:input=move |ev| secret.set(event_target_value(&ev)) />
                <button type="submit" class=BUTTON_PRIMARY>"Add registry"</button>
            </form>
        </section>

        <section class="mt-8 rounded-lg border border-slate-200 bg-surface" data-testid="replication-rules">
            <div class="border-b border-slate-100 px-6 py-4">
                <h2 class="text-base font-semibold text-slate-900">"Replication rules"</h2>
                <p class="text-sm text-slate-500">"Push this registry's images to a remote, or pull a remote's into this registry. Filters, triggers, flattening and the security gate are set through the API (docs/replication.md)."</p>
            </div>
            <Transition fallback=|| ()>
                {move || policies.get().map(|r| match r {
                    Err(e) => view! { <p class="px-6 py-4 text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                            <thead class="bg-slate-50"><tr>
                                <th class=TH>"Name"</th><th class=TH>"From"</th><th class=TH>"To"</th><th class=TH>"Trigger"</th><th class=TH></th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100">
                                {list.into_iter().map(|p| {
                                    let id = p.id;
                                    view! {
                                        <tr data-rule=p.name.clone()>
                                            <td class=TD>{p.name.clone()}{(!p.enabled).then(|| view! { " " <Badge text="disabled" /> })}</td>
                                            <td class=TD>{p.src_registry.name.clone()}</td>
                                            <td class=TD>{format!("{}{}", p.dest_registry.name, if p.dest_namespace.is_empty() { String::new() } else { format!(" / {}", p.dest_namespace) })}</td>
                                            <td class=TD>{p.trigger.kind.clone()}</td>
                                            <td class=format!("{TD} text-right")>
                                                <button class=BUTTON_SECONDARY on:click=move |_| { rule_command.dispatch_local(("RUN", id)); }>"Replicate"</button>
                                                <button class=format!("ml-2 {BUTTON_DANGER}") on:click=move |_| { rule_command.dispatch_local(("DELETE", id)); }>"Remove"</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                })}
            </Transition>
            <form method="post" class="flex flex-wrap items-end gap-3 border-t border-slate-100 px-6 py-4"
                on:submit=move |ev| { ev.prevent_default(); add_rule.dispatch_local(()); }>
                <input class=format!("max-w-[10rem] {INPUT}") placeholder="Rule name" aria-label="Rule name" required
                    prop:value=move || rule.get() on:input=move |ev| rule.set(event_target_value(&ev)) />
                <select class=format!("max-w-[8rem] {INPUT}") aria-label="Direction" on:change=move |ev| direction.set(event_target_value(&ev))>
                    <option value="push">"Push to"</option>
                    <option value="pull">"Pull from"</option>
                </select>
                <Transition fallback=|| ()>
                    {move || registries.get().map(|r| {
                        let list = r.unwrap_or_default();
                        if rule_registry.get_untracked().is_empty() {
                            if let Some(first) = list.first() {
                                rule_registry.set(first.id.to_string());
                            }
                        }
                        view! {
                            <select class=format!("max-w-[12rem] {INPUT}") aria-label="Remote registry"
                                on:change=move |ev| rule_registry.set(event_target_value(&ev))>
                                {list.into_iter().map(|r| view! { <option value=r.id.to_string()>{r.name}</option> }).collect_view()}
                            </select>
                        }
                    })}
                </Transition>
                <input class=format!("max-w-[12rem] {INPUT}") placeholder="library/**" aria-label="Repository filter"
                    prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev)) />
                <input class=format!("max-w-[10rem] {INPUT}") placeholder="Destination namespace" aria-label="Destination namespace"
                    prop:value=move || namespace.get() on:input=move |ev| namespace.set(event_target_value(&ev)) />
                <button type="submit" class=BUTTON_PRIMARY>"Create rule"</button>
            </form>
        </section>

        <section class="mt-8 rounded-lg border border-slate-200 bg-surface" data-testid="replication-executions">
            <div class="border-b border-slate-100 px-6 py-4">
                <h2 class="text-base font-semibold text-slate-900">"Replication executions"</h2>
            </div>
            <Transition fallback=|| ()>
                {move || executions.get().map(|r| match r {
                    Err(e) => view! { <p class="px-6 py-4 text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="px-6 py-4 text-sm text-slate-500">"No replication has run yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                            <thead class="bg-slate-50"><tr>
                                <th class=TH>"Execution"</th><th class=TH>"Status"</th><th class=TH>"Trigger"</th><th class=TH>"Tasks"</th><th class=TH>"Started"</th><th class=TH></th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100">
                                {list.into_iter().map(|e| {
                                    let id = e.id;
                                    let live = e.status == "Pending" || e.status == "InProgress";
                                    view! {
                                        <tr data-execution=id.to_string() data-status=e.status.clone()>
                                            <td class=TD>{format!("#{id} (rule {})", e.policy_id)}</td>
                                            <td class=TD><Badge text=e.status.clone() tone=tone(&e.status) /></td>
                                            <td class=TD>{e.trigger.clone()}</td>
                                            <td class=TD>{format!("{} of {} done, {} failed, {} skipped", e.succeed, e.total, e.failed, e.skipped)}</td>
                                            <td class=format!("{TD} text-xs")>{e.start_time.clone()}</td>
                                            <td class=format!("{TD} text-right")>
                                                <button class=BUTTON_SECONDARY on:click=move |_| opened.set(if opened.get_untracked() == Some(id) { None } else { Some(id) })>"Tasks"</button>
                                                <Show when=move || live>
                                                    <button class=format!("ml-2 {BUTTON_DANGER}") on:click=move |_| { rule_command.dispatch_local(("STOP", id)); }>"Stop"</button>
                                                </Show>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                })}
            </Transition>
            {move || opened.get().map(|id| view! { <ExecutionTasks execution=id refresh=executions /> })}
        </section>
    }
}

/// The tasks of one execution, with bytes moved and a link to each log.
#[component]
fn ExecutionTasks(
    execution: i64,
    refresh: Resource<Result<Vec<domain::types::replication::ExecutionView>, ServerFnError>>,
) -> impl IntoView {
    let tasks = Resource::new(
        move || {
            // Follow the executions list's refreshes.
            refresh.track();
            execution
        },
        list_replication_tasks,
    );
    view! {
        <div class="border-t border-slate-100 px-6 py-4" data-testid="replication-tasks">
            <h3 class="text-sm font-semibold text-slate-900">{format!("Tasks of execution #{execution}")}</h3>
            <Transition fallback=|| ()>
                {move || tasks.get().map(|r| match r {
                    Err(e) => view! { <p class="text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="overflow-x-auto" tabindex="0"><table class=format!("mt-2 {TABLE}")>
                            <thead class="bg-slate-50"><tr>
                                <th class=TH>"Source"</th><th class=TH>"Destination"</th><th class=TH>"Status"</th><th class=TH>"Moved"</th><th class=TH>"Attempts"</th><th class=TH></th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100">
                                {list.into_iter().map(|t| view! {
                                    <tr data-task=t.id.to_string()>
                                        <td class=format!("{TD} font-mono text-xs")>{t.src_resource.clone()}</td>
                                        <td class=format!("{TD} font-mono text-xs")>{t.dst_resource.clone()}</td>
                                        <td class=TD><Badge text=t.status.clone() tone=tone(&t.status) />" "<span class="text-xs text-slate-500">{t.status_text.clone()}</span></td>
                                        <td class=TD>{human_size(t.bytes_done.max(0) as u64)}</td>
                                        <td class=TD>{t.attempts}</td>
                                        <td class=format!("{TD} text-right")>
                                            <a class="text-sm text-sky-700 underline" target="_blank"
                                                href=format!("/api/v2.0/replication/executions/{}/tasks/{}/log", t.execution_id, t.id)>"Log"</a>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                })}
            </Transition>
        </div>
    }
}
