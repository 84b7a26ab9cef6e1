//! Vulnerability scanning in the console: the severity bar and scan button of each artifact,
//! an artifact's vulnerability table, a project's vulnerability settings, CVE allowlist and
//! scanner. The administrators' side is `scanning_admin`.

use domain::scan::report::{Overview, VulnSettings, Vulnerability};
use leptos::prelude::*;

use crate::api::scanning::{
    artifact_vulnerabilities, load_vuln_settings, save_vuln_settings, scan_artifact,
};
use crate::components::query::use_query_state;
use crate::components::toast::use_toasts;
use crate::components::widgets::server_message;
use crate::components::widgets::{
    field_error_id, Badge, FieldError, FormAlert, FormError, Pager, BUTTON_PRIMARY,
    BUTTON_SECONDARY, INPUT, TABLE, TD, TH,
};

/// Findings per page of an artifact's vulnerability table.
const VULN_PAGE: usize = 50;

/// Harbor's severities, highest first, with their colours.
pub const SEVERITIES: [(&str, &str); 6] = [
    ("Critical", "bg-red-700"),
    ("High", "bg-red-500"),
    ("Medium", "bg-orange-400"),
    ("Low", "bg-yellow-300"),
    ("Negligible", "bg-slate-300"),
    ("Unknown", "bg-slate-400"),
];

fn severity_tone(severity: &str) -> &'static str {
    match severity {
        "Critical" | "High" => "red",
        "Medium" | "Low" => "amber",
        _ => "",
    }
}

/// Whether a scan is still to finish.
pub fn in_progress(o: &Option<Overview>) -> bool {
    o.as_ref()
        .is_some_and(|o| o.scan_status == "Pending" || o.scan_status == "Running")
}

/// The scan state of an artifact: a bar with a segment per severity, or the job's status.
#[component]
pub fn SeverityBar(overview: Option<Overview>) -> impl IntoView {
    let status = overview
        .as_ref()
        .map(|o| o.scan_status.clone())
        .unwrap_or_else(|| "Not Scanned".into());
    let body = match &overview {
        Some(o) if o.scan_status == "Success" => {
            let summary = o.summary.clone().unwrap_or_default();
            if summary.total == 0 {
                view! { <span class="text-xs font-medium text-emerald-700">"No vulnerabilities"</span> }.into_any()
            } else {
                let segments = SEVERITIES
                    .iter()
                    .filter_map(|(name, colour)| {
                        let n = summary.summary.get(*name).copied().unwrap_or(0);
                        (n > 0).then(|| {
                            let width = format!("width: {}%", (n * 100) / summary.total.max(1));
                            view! { <span class=format!("h-2 {colour}") style=width title=format!("{n} {name}")></span> }
                        })
                    })
                    .collect_view();
                // Each severity with its own count: "1 High · 120 Unknown", never "121 · High".
                let counts = SEVERITIES
                    .iter()
                    .filter_map(|(name, _)| {
                        let n = summary.summary.get(*name).copied().unwrap_or(0);
                        (n > 0).then(|| format!("{n} {name}"))
                    })
                    .collect::<Vec<_>>()
                    .join(" · ");
                let label = format!("{counts} ({} fixable)", summary.fixable);
                view! {
                    <div class="w-40">
                        <div class="flex h-2 w-full overflow-hidden rounded bg-slate-100">{segments}</div>
                        <p class="mt-1 text-xs text-slate-600">{label}</p>
                    </div>
                }
                .into_any()
            }
        }
        Some(o) if o.scan_status == "Error" => view! {
            <span title=o.error.clone().unwrap_or_default()><Badge text="Scan failed" tone="red" /></span>
        }
        .into_any(),
        Some(o) if o.scan_status == "Pending" => view! { <Badge text="Queued" tone="blue" /> }.into_any(),
        Some(_) => view! { <Badge text="Scanning…" tone="blue" /> }.into_any(),
        None => view! { <span class="text-xs text-slate-500">"Not scanned"</span> }.into_any(),
    };
    view! { <div data-testid="scan-status" data-status=status>{body}</div> }
}

/// The scan button of an artifact row.
#[component]
pub fn ScanButton(
    project: String,
    repo: String,
    digest: String,
    #[prop(into)] on_queued: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let scan = Action::new(move |_: &()| {
        let (p, r, d) = (project.clone(), repo.clone(), digest.clone());
        async move {
            match scan_artifact(p, r, d).await {
                Ok(()) => {
                    toasts.success("Scan queued");
                    on_queued.run(());
                }
                Err(e) => toasts.error(server_message(&e)),
            }
        }
    });
    view! {
        <button class=BUTTON_SECONDARY data-testid="scan-button" disabled=move || scan.pending().get()
            on:click=move |_| { scan.dispatch(()); }>"Scan"</button>
    }
}

/// An artifact's findings, filtered by severity, package and fixability, and sorted.
#[component]
pub fn VulnerabilityTable(project: String, repo: String, digest: String) -> impl IntoView {
    let report = Resource::new(
        move || (project.clone(), repo.clone(), digest.clone()),
        |(p, r, d)| artifact_vulnerabilities(p, r, d),
    );
    // The filters and the page live in the URL: a shared link shows the same findings.
    let state = use_query_state();
    let severity = move || state.get("severity");
    let package = move || state.get("package");
    let fixable = move || state.get("fixable") == "true";
    let sort = move || {
        Some(state.get("sort"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "severity".into())
    };
    let rank = |s: &str| SEVERITIES.iter().position(|(n, _)| *n == s).unwrap_or(9);
    view! {
        <section class="mt-2" data-testid="vulnerabilities">
            <div class="mt-2 flex flex-wrap items-center gap-3">
                <select class=format!("max-w-[10rem] {INPUT}") aria-label="Severity" data-testid="vuln-severity"
                    on:change=move |ev| state.set(&[("severity", event_target_value(&ev))])>
                    <option value="" selected=move || severity().is_empty()>"All severities"</option>
                    {SEVERITIES.iter().map(|(n, _)| view! { <option value=*n selected=move || severity() == *n>{*n}</option> }).collect_view()}
                </select>
                <input type="search" class=format!("max-w-[14rem] {INPUT}") placeholder="Package" aria-label="Package"
                    prop:value=package
                    on:input=move |ev| state.replace(&[("package", event_target_value(&ev))]) />
                <label class="flex items-center gap-2 text-sm text-slate-700">
                    <input type="checkbox" prop:checked=fixable
                        on:change=move |ev| state.set(&[("fixable", if event_target_checked(&ev) { "true".into() } else { String::new() })]) />"Fixable only"
                </label>
                <select class=format!("max-w-[10rem] {INPUT}") aria-label="Sort by" on:change=move |ev| state.set(&[("sort", event_target_value(&ev))])>
                    <option value="severity" selected=move || sort() == "severity">"Sort: severity"</option>
                    <option value="id" selected=move || sort() == "id">"Sort: id"</option>
                    <option value="package" selected=move || sort() == "package">"Sort: package"</option>
                </select>
            </div>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || report.get().map(|r| match r {
                    Err(e) => view! { <p class="text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                    Ok(None) => view! { <p class="mt-2 text-sm text-slate-500">"Not scanned yet."</p> }.into_any(),
                    Ok(Some(report)) => {
                        let (sev, pkg, fix, order) = (severity(), package().to_lowercase(), fixable(), sort());
                        let total = report.vulnerabilities.len();
                        let mut by_severity = std::collections::BTreeMap::<usize, usize>::new();
                        for v in &report.vulnerabilities {
                            *by_severity.entry(rank(&v.severity)).or_default() += 1;
                        }
                        let mut rows: Vec<Vulnerability> = report.vulnerabilities.into_iter()
                            .filter(|v| sev.is_empty() || v.severity == sev)
                            .filter(|v| pkg.is_empty() || v.package.to_lowercase().contains(&pkg))
                            .filter(|v| !fix || !v.fix_version.is_empty())
                            .collect();
                        match order.as_str() {
                            "id" => rows.sort_by(|a, b| a.id.cmp(&b.id)),
                            "package" => rows.sort_by(|a, b| (&a.package, &a.id).cmp(&(&b.package, &b.id))),
                            _ => rows.sort_by(|a, b| rank(&a.severity).cmp(&rank(&b.severity)).then_with(|| a.id.cmp(&b.id))),
                        }
                        let shown = rows.len();
                        let pages = shown.div_ceil(VULN_PAGE).max(1) as u64;
                        let page = state.page().min(pages);
                        let rows: Vec<Vulnerability> = rows.into_iter().skip((page as usize - 1) * VULN_PAGE).take(VULN_PAGE).collect();
                        view! {
                            <ul class="mt-3 flex flex-wrap gap-2" data-testid="vuln-breakdown" aria-label="Findings by severity">
                                {by_severity.into_iter().map(|(r, n)| {
                                    let name = SEVERITIES.get(r).map(|(n, _)| *n).unwrap_or("Unknown");
                                    view! {
                                        <li><button type="button" data-severity=name
                                            class=move || if severity() == name { "rounded-full bg-accent px-3 py-1 text-xs font-medium text-white" } else { "rounded-full bg-slate-100 px-3 py-1 text-xs font-medium text-slate-700 hover:bg-slate-200" }
                                            on:click=move |_| state.set(&[("severity", if severity() == name { String::new() } else { name.to_string() })])>
                                            {format!("{n} {name}")}
                                        </button></li>
                                    }
                                }).collect_view()}
                            </ul>
                            <p class="mt-2 text-xs text-slate-500" data-testid="vuln-count">
                                {format!("{shown} of {total} shown · scanned by {} {} at {}", report.scanner.name, report.scanner.version, report.generated_at)}
                            </p>
                            <div class="mt-2 rounded-lg border border-slate-200 bg-surface">
                            <div class="overflow-x-auto" tabindex="0">
                            <table class=TABLE data-testid="vuln-table">
                                <thead class="bg-slate-50"><tr>
                                    <th class=TH>"Vulnerability"</th><th class=TH>"Severity"</th><th class=TH>"Package"</th>
                                    <th class=TH>"Version"</th><th class=TH>"Fixed in"</th><th class=TH>"Description"</th>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100">
                                    {rows.into_iter().map(|v| {
                                        let link = v.links.first().cloned().unwrap_or_default();
                                        let score = v.preferred_cvss.as_ref().and_then(|c| c.score_v3).map(|s| format!(" {s:.1}")).unwrap_or_default();
                                        view! {
                                            <tr data-severity=v.severity.clone() data-vuln=v.id.clone()>
                                                <td class=format!("{TD} font-mono text-xs")><a class="text-sky-700 hover:underline" href=link target="_blank" rel="noopener noreferrer">{v.id.clone()}</a></td>
                                                <td class=TD><Badge text=format!("{}{score}", v.severity) tone=severity_tone(&v.severity) /></td>
                                                <td class=format!("{TD} font-mono text-xs")>{v.package.clone()}</td>
                                                <td class=format!("{TD} font-mono text-xs")>{v.version.clone()}</td>
                                                <td class=format!("{TD} font-mono text-xs")>{if v.fix_version.is_empty() { "—".to_string() } else { v.fix_version.clone() }}</td>
                                                <td class=format!("{TD} max-w-md truncate text-xs") title=v.description.clone()>{v.description.clone()}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                            {(pages > 1).then(|| view! { <Pager state total=shown as u64 page_size=VULN_PAGE as u64 /> })}
                            </div>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// A project's vulnerability settings: scan on push, prevent vulnerable pulls, the severity
/// threshold, and the CVE allowlist.
#[component]
pub fn VulnerabilityTab(project: String, can_edit: bool) -> impl IntoView {
    let toasts = use_toasts();
    let scanner_project = project.clone();
    let name = project.clone();
    let settings = Resource::new(move || name.clone(), load_vuln_settings);
    let form = FormError::new();
    let save = Action::new(move |s: &VulnSettings| {
        let (p, s) = (project.clone(), s.clone());
        async move {
            form.clear();
            match save_vuln_settings(p, s).await {
                Ok(()) => toasts.success("Vulnerability settings saved"),
                Err(e) => form.set(&e),
            }
        }
    });
    view! {
        <ScannerChoice project=scanner_project can_edit />
        <Transition fallback=|| ()>
            {move || settings.get().map(|r| match r {
                Err(e) => view! { <p class="text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                Ok(s) => {
                    let auto_scan = RwSignal::new(s.auto_scan);
                    let auto_sbom = RwSignal::new(s.auto_sbom);
                    let prevent = RwSignal::new(s.prevent_vul);
                    let severity = RwSignal::new(s.severity.clone());
                    let reuse = RwSignal::new(s.reuse_sys_cve_allowlist);
                    let allowlist = RwSignal::new(s.allowlist.join("\n"));
                    let expires = RwSignal::new(s.expires.clone());
                    view! {
                        <form method="post" class="max-w-2xl space-y-4 rounded-lg border border-slate-200 bg-surface p-6" data-testid="vuln-settings"
                            on:submit=move |ev| {
                                ev.prevent_default();
                                save.dispatch(VulnSettings {
                                    auto_scan: auto_scan.get_untracked(),
                                    auto_sbom: auto_sbom.get_untracked(),
                                    prevent_vul: prevent.get_untracked(),
                                    severity: severity.get_untracked(),
                                    reuse_sys_cve_allowlist: reuse.get_untracked(),
                                    allowlist: vec![allowlist.get_untracked()],
                                    expires: expires.get_untracked(),
                                });
                            }>
                            <FormAlert form shown=|f| f == "items" />
                            <label class="flex items-center gap-2 text-sm text-slate-700">
                                <input type="checkbox" bind:checked=auto_scan disabled=!can_edit />"Scan images automatically when they are pushed"
                            </label>
                            <label class="flex items-center gap-2 text-sm text-slate-700">
                                <input type="checkbox" bind:checked=auto_sbom disabled=!can_edit />"Generate an SBOM automatically when images are pushed"
                            </label>
                            <div class="flex flex-wrap items-center gap-2 text-sm text-slate-700">
                                <label class="flex items-center gap-2">
                                    <input type="checkbox" bind:checked=prevent disabled=!can_edit />"Prevent vulnerable images from being pulled: severity"
                                </label>
                                <select class=format!("max-w-[9rem] {INPUT}") aria-label="Severity threshold" disabled=!can_edit
                                    on:change=move |ev| severity.set(event_target_value(&ev))>
                                    {["critical", "high", "medium", "low", "none"].into_iter().map(|v| {
                                        let selected = s.severity == v;
                                        view! { <option value=v selected=selected>{v}</option> }
                                    }).collect_view()}
                                </select>
                                <span>"and above"</span>
                            </div>
                            <div>
                                <label class="block text-sm font-medium text-slate-700" for="cve-allowlist">"CVE allowlist"</label>
                                <p class="text-xs text-slate-500">"One id per line (CVE or advisory id). Allowlisted findings never block pulls."</p>
                                <textarea id="cve-allowlist" rows="5" class=format!("mt-1 font-mono {INPUT}") disabled=!can_edit
                                    aria-invalid=move || form.for_field("items").is_some().then_some("true")
                                    aria-describedby=move || form.for_field("items").map(|_| field_error_id("items"))
                                    prop:value=move || allowlist.get() on:input=move |ev| allowlist.set(event_target_value(&ev))></textarea>
                                <FieldError form field="items" />
                            </div>
                            <div class="flex flex-wrap items-center gap-2 text-sm text-slate-700">
                                <label for="cve-expires">"Allowlist expires on (UTC, empty: never)"</label>
                                <input id="cve-expires" type="date" class=format!("max-w-[11rem] {INPUT}") disabled=!can_edit
                                    prop:value=move || expires.get() on:input=move |ev| expires.set(event_target_value(&ev)) />
                            </div>
                            <label class="flex items-center gap-2 text-sm text-slate-700">
                                <input type="checkbox" bind:checked=reuse disabled=!can_edit />"Also apply the system allowlist"
                            </label>
                            <Show when=move || can_edit>
                                <button type="submit" class=BUTTON_PRIMARY disabled=move || save.pending().get()>"Save"</button>
                            </Show>
                        </form>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// Which scanner scans the project's artifacts (Harbor's per-project scanner).
#[component]
fn ScannerChoice(project: String, can_edit: bool) -> impl IntoView {
    let toasts = use_toasts();
    let name = StoredValue::new(project);
    let state = Resource::new(
        move || name.get_value(),
        crate::api::scanning::project_scanner,
    );
    let choose = Action::new(move |uuid: &String| {
        let (p, u) = (name.get_value(), uuid.clone());
        async move {
            match crate::api::scanning::choose_project_scanner(p, u).await {
                Ok(()) => toasts.success("Scanner chosen; new scans use it"),
                Err(e) => toasts.error(server_message(&e)),
            }
            state.refetch();
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || state.get().and_then(|r| r.ok()).map(|(choices, current)| view! {
                <div class="mb-4 flex max-w-2xl flex-wrap items-center gap-3 rounded-lg border border-slate-200 bg-surface p-4 text-sm" data-testid="project-scanner">
                    <label for="project-scanner" class="font-medium text-slate-700">"Scanner"</label>
                    <select id="project-scanner" class=format!("max-w-xs {INPUT}") disabled=!can_edit
                        on:change=move |ev| { choose.dispatch(event_target_value(&ev)); }>
                        {choices.into_iter().map(|s| {
                            let selected = s.uuid == current;
                            view! { <option value=s.uuid.clone() selected=selected>{s.name.clone()}</option> }
                        }).collect_view()}
                    </select>
                    <span class="text-slate-500">"Scans of this project's artifacts run with it."</span>
                </div>
            })}
        </Transition>
    }
}
