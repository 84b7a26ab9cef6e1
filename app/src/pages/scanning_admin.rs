//! Scanning for system administrators: the vulnerability database (state, import, scan-all
//! schedule) and the scanner registrations.

use leptos::prelude::*;

use crate::api::scanning::{list_scanners, vulndb_view};
use crate::components::rest;
use crate::components::toast::use_toasts;
use crate::components::widgets::{
    server_message, Badge, BUTTON_DANGER, BUTTON_PRIMARY, BUTTON_SECONDARY, INPUT, TABLE, TD, TH,
};

/// The vulnerability database: records per ecosystem, last update, the scan queue, scan all,
/// and an upload of OSV records.
#[component]
pub fn VulnDbAdmin() -> impl IntoView {
    let toasts = use_toasts();
    let view_data = Resource::new(|| (), |_| vulndb_view());
    let file_input: NodeRef<leptos::html::Input> = NodeRef::new();
    let upload = Action::new_local(move |_: &()| {
        let file = file_input
            .get_untracked()
            .and_then(|i| i.files())
            .and_then(|f| f.get(0));
        async move {
            let Some(file) = file else {
                toasts.error("Choose an OSV .json record or an all.zip first");
                return;
            };
            match rest::call("POST", "/vulndb/import", rest::Body::File(file)).await {
                Ok(body) => {
                    let report: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    let failed = report["failed"].as_array().cloned().unwrap_or_default();
                    let summary = format!(
                        "{} new, {} updated, {} unchanged, {} failed",
                        report["imported"],
                        report["updated"],
                        report["unchanged"],
                        failed.len()
                    );
                    // Any record that failed makes the import a failure the user must see.
                    match failed.first() {
                        None => toasts.success(format!("Imported: {summary}")),
                        Some(first) => toasts.error(format!(
                            "Import incomplete: {summary}. First failure: {}",
                            first
                                .as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| first.to_string())
                        )),
                    }
                    view_data.refetch();
                }
                Err(e) => toasts.error(e),
            }
        }
    });
    let scan_all = Action::new_local(move |_: &()| async move {
        match rest::call(
            "POST",
            "/system/scanAll/schedule",
            rest::Body::Json(r#"{"schedule":{"type":"Manual"}}"#.into()),
        )
        .await
        {
            Ok(body) => {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                toasts.success(format!("{} scans queued", v["queued"]));
                view_data.refetch();
            }
            Err(e) => toasts.error(e),
        }
    });
    let schedule = RwSignal::new(String::new());
    let set_schedule = Action::new_local(move |_: &()| {
        let cron = schedule.get_untracked();
        async move {
            let body = if cron.trim().is_empty() {
                r#"{"schedule":{"type":"None"}}"#.to_string()
            } else {
                serde_json::json!({"schedule": {"type": "Custom", "cron": cron.trim()}}).to_string()
            };
            match rest::call("PUT", "/system/scanAll/schedule", rest::Body::Json(body)).await {
                Ok(_) => {
                    toasts.success("Scan-all schedule saved");
                    view_data.refetch();
                }
                Err(e) => toasts.error(e),
            }
        }
    });
    view! {
        <section class="mt-8 rounded-lg border border-slate-200 bg-surface" data-testid="vulndb">
            <div class="border-b border-slate-100 px-6 py-4">
                <h2 class="text-base font-semibold text-slate-900">"Vulnerability database"</h2>
                <p class="text-sm text-slate-500">"OSV advisories the built-in scanner matches packages against. Import a record or an OSV all.zip; re-imports only replace newer records."</p>
            </div>
            <div class="px-6 py-4">
                <Transition fallback=|| ()>
                    {move || view_data.get().map(|r| match r {
                        Err(e) => view! { <p class="text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                        Ok(v) => {
                            if schedule.get_untracked().is_empty() {
                                schedule.set(v.scan_all_schedule.clone().unwrap_or_default());
                            }
                            view! {
                                <p class="text-sm text-slate-600">
                                    {format!("Last update: {}", v.last_update.clone().unwrap_or_else(|| "never".into()))}
                                    " · scans: "
                                    {if v.queue.is_empty() { "none yet".to_string() } else {
                                        v.queue.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", ")
                                    }}
                                </p>
                                <div class="overflow-x-auto" tabindex="0"><table class=format!("mt-2 {TABLE}")>
                                    <thead class="bg-slate-50"><tr><th class=TH>"Ecosystem"</th><th class=TH>"Records"</th></tr></thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {if v.ecosystems.is_empty() {
                                            view! { <tr><td class=format!("{TD} text-slate-500") colspan="2">"Empty: import OSV data to scan."</td></tr> }.into_any()
                                        } else {
                                            v.ecosystems.into_iter().map(|(e, n)| view! {
                                                <tr data-ecosystem=e.clone()><td class=TD>{e.clone()}</td><td class=TD>{n}</td></tr>
                                            }).collect_view().into_any()
                                        }}
                                    </tbody>
                                </table></div>
                            }.into_any()
                        }
                    })}
                </Transition>
                <div class="mt-4 flex flex-wrap items-center gap-3">
                    <input type="file" accept=".json,.zip" node_ref=file_input aria-label="OSV file" class="text-sm" />
                    <button type="button" class=BUTTON_SECONDARY disabled=move || upload.pending().get()
                        on:click=move |_| { upload.dispatch_local(()); }>
                        {move || if upload.pending().get() { "Importing…" } else { "Import" }}
                    </button>
                    <button type="button" class=BUTTON_PRIMARY data-testid="scan-all" disabled=move || scan_all.pending().get()
                        on:click=move |_| { scan_all.dispatch_local(()); }>"Scan all artifacts now"</button>
                </div>
                <div class="mt-4 flex flex-wrap items-center gap-3">
                    <label class="text-sm text-slate-700" for="scan-all-cron">"Scan all on a schedule (cron, UTC; empty: never)"</label>
                    <input id="scan-all-cron" class=format!("max-w-[12rem] font-mono {INPUT}") placeholder="0 3 * * *"
                        prop:value=move || schedule.get() on:input=move |ev| schedule.set(event_target_value(&ev)) />
                    <button type="button" class=BUTTON_SECONDARY on:click=move |_| { set_schedule.dispatch_local(()); }>"Save schedule"</button>
                </div>
            </div>
        </section>
    }
}

/// The scanners: the built-in one and registered pluggable scanners (Harbor's adapter API).
#[component]
pub fn ScannersAdmin() -> impl IntoView {
    let toasts = use_toasts();
    let scanners = Resource::new(|| (), |_| list_scanners());
    let (name, url, auth, credential) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let register = Action::new_local(move |_: &()| {
        let body = serde_json::json!({
            "name": name.get_untracked(), "url": url.get_untracked(),
            "auth": auth.get_untracked(), "access_credential": credential.get_untracked(),
        })
        .to_string();
        async move {
            match rest::call("POST", "/scanners", rest::Body::Json(body)).await {
                Ok(_) => {
                    toasts.success("Scanner registered");
                    credential.set(String::new());
                    scanners.refetch();
                }
                Err(e) => toasts.error(e),
            }
        }
    });
    let command = Action::new_local(move |(method, uuid): &(&'static str, String)| {
        let (method, uuid) = (*method, uuid.clone());
        async move {
            let result = match method {
                "PATCH" => {
                    rest::call(
                        "PATCH",
                        &format!("/scanners/{uuid}"),
                        rest::Body::Json(r#"{"is_default":true}"#.into()),
                    )
                    .await
                }
                _ => rest::call("DELETE", &format!("/scanners/{uuid}"), rest::Body::Empty).await,
            };
            match result {
                Ok(_) => {
                    toasts.success(if method == "PATCH" {
                        "Default scanner set"
                    } else {
                        "Scanner removed"
                    });
                    scanners.refetch();
                }
                Err(e) => toasts.error(e),
            }
        }
    });
    view! {
        <section class="mt-8 rounded-lg border border-slate-200 bg-surface" data-testid="scanners">
            <div class="border-b border-slate-100 px-6 py-4">
                <h2 class="text-base font-semibold text-slate-900">"Scanners"</h2>
                <p class="text-sm text-slate-500">"Projects use the default scanner unless they choose another. External scanners speak Harbor's pluggable-scanner API; Berth hands them a short-lived pull-only token."</p>
            </div>
            <Transition fallback=|| ()>
                {move || scanners.get().map(|r| match r {
                    Err(e) => view! { <p class="px-6 py-4 text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                            <thead class="bg-slate-50"><tr>
                                <th class=TH>"Name"</th><th class=TH>"Endpoint"</th><th class=TH>"Auth"</th><th class=TH></th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100">
                                {list.into_iter().map(|s| {
                                    let (u1, u2) = (s.uuid.clone(), s.uuid.clone());
                                    view! {
                                        <tr data-scanner=s.name.clone()>
                                            <td class=TD>{s.name.clone()}" "{s.is_default.then(|| view! { <Badge text="default" tone="green" /> })}{s.disabled.then(|| view! { <Badge text="disabled" /> })}</td>
                                            <td class=format!("{TD} font-mono text-xs")>{if s.builtin { "built in".to_string() } else { s.url.clone() }}</td>
                                            <td class=TD>{if s.auth.is_empty() { "none".to_string() } else { s.auth.clone() }}</td>
                                            <td class=format!("{TD} text-right")>
                                                <Show when=move || !s.is_default>
                                                    {let u = u1.clone(); view! { <button class=BUTTON_SECONDARY on:click=move |_| { command.dispatch_local(("PATCH", u.clone())); }>"Make default"</button> }}
                                                </Show>
                                                <Show when=move || !s.builtin>
                                                    {let u = u2.clone(); view! { <button class=format!("ml-2 {BUTTON_DANGER}") on:click=move |_| { command.dispatch_local(("DELETE", u.clone())); }>"Remove"</button> }}
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
            <form method="post" class="flex flex-wrap items-end gap-3 border-t border-slate-100 px-6 py-4"
                on:submit=move |ev| { ev.prevent_default(); register.dispatch_local(()); }>
                <input class=format!("max-w-[12rem] {INPUT}") placeholder="Name" aria-label="Scanner name" required
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                <input class=format!("max-w-[18rem] {INPUT}") placeholder="https://trivy-adapter:8080" aria-label="Adapter URL" required
                    prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev)) />
                <select class=format!("max-w-[12rem] {INPUT}") aria-label="Authentication" on:change=move |ev| auth.set(event_target_value(&ev))>
                    <option value="">"No authentication"</option>
                    <option value="Basic">"Basic"</option>
                    <option value="Bearer">"Bearer"</option>
                    <option value="X-ScannerAdapter-API-Key">"API key"</option>
                </select>
                <input type="password" class=format!("max-w-[14rem] {INPUT}") placeholder="Credential" aria-label="Credential" autocomplete="off"
                    prop:value=move || credential.get() on:input=move |ev| credential.set(event_target_value(&ev)) />
                <button type="submit" class=BUTTON_PRIMARY>"Register"</button>
            </form>
        </section>
    }
}
