//! One artifact on a page of its own: `/projects/{p}/repositories/{r}/artifacts/{digest}/{tab}`
//! with the tabs Overview, Layers, Vulnerabilities, Accessories and Build history; the pull
//! commands to copy, and adding or moving a tag.

use domain::policy::authz::{Action as Act, Resource as Res};
use domain::types::dto::{ArtifactDetail, ArtifactView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::{get_artifact, get_project, load_instance_info, tag_artifact};
use crate::components::permissions::may;
use crate::components::session::use_current_user;
use crate::components::toast::use_toasts;
use crate::components::widgets::server_message;
use crate::components::widgets::{
    field_error_id, human_size, short_digest, Badge, FieldError, FormAlert, FormError, LabelChip,
    TabLinks, BUTTON_PRIMARY, BUTTON_SECONDARY, INPUT, TABLE, TD, TH,
};

/// The tabs of an artifact page: path segment and label.
pub const TABS: [(&str, &str); 6] = [
    ("overview", "Overview"),
    ("layers", "Layers"),
    ("vulnerabilities", "Vulnerabilities"),
    ("sbom", "SBOM"),
    ("accessories", "Accessories"),
    ("history", "Build history"),
];

/// The console path of an artifact (and of one of its tabs).
pub fn artifact_href(project: &str, repo: &str, digest: &str, tab: Option<&str>) -> String {
    let base = format!("/projects/{project}/repositories/{repo}/artifacts/{digest}");
    match tab {
        Some(t) => format!("{base}/{t}"),
        None => base,
    }
}

/// Splits the path after `/projects/{p}/repositories/` into the repository and, for an
/// artifact's page, its digest and tab. Repository names may contain `/`; an artifact page is
/// the last `/artifacts/` followed by a digest (`algorithm:hex`).
pub fn split_repository_path(path: &str) -> (String, Option<(String, String)>) {
    let path = path.trim_end_matches('/');
    let mut search = path;
    while let Some(i) = search.rfind("/artifacts/") {
        let rest = &path[i + "/artifacts/".len()..];
        let (digest, tab) = rest.split_once('/').unwrap_or((rest, ""));
        let is_digest = digest
            .split_once(':')
            .is_some_and(|(alg, hex)| !alg.is_empty() && !hex.is_empty() && !hex.contains('/'));
        if is_digest && !tab.contains('/') {
            let tab = if TABS.iter().any(|(k, _)| *k == tab) {
                tab.to_string()
            } else {
                "overview".to_string()
            };
            return (path[..i].to_string(), Some((digest.to_string(), tab)));
        }
        search = &path[..i];
    }
    (path.to_string(), None)
}

/// What kind of accessory an artifact is, from its artifact type (or media type).
pub fn accessory_kind(a: &ArtifactView) -> &'static str {
    let t = a.artifact_type.as_deref().unwrap_or(&a.media_type);
    if t.contains("cosign") || t.contains("sigstore") {
        "Signature (cosign)"
    } else if t.contains("notary") || t.contains("notation") {
        "Signature (Notation)"
    } else if t.contains("spdx") || t.contains("cyclonedx") || t.contains("sbom") {
        "SBOM"
    } else if t.contains("in-toto") || t.contains("attestation") || t.contains("dsse") {
        "Attestation"
    } else {
        "Artifact"
    }
}

#[component]
pub fn ArtifactPage(
    project: String,
    repo: String,
    digest: String,
    #[prop(into)] tab: Signal<String>,
) -> impl IntoView {
    let detail = Resource::new(
        {
            let (p, r, d) = (project.clone(), repo.clone(), digest.clone());
            move || (p.clone(), r.clone(), d.clone())
        },
        |(p, r, d)| get_artifact(p, r, d),
    );
    let project_view = Resource::new(
        {
            let p = project.clone();
            move || p.clone()
        },
        get_project,
    );
    let user = use_current_user();
    let can_push = move || {
        project_view
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|p| may(user.is_admin(), &p, Res::Repository, Act::Push))
    };
    let can_label = move || {
        project_view
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|p| may(user.is_admin(), &p, Res::ArtifactLabel, Act::Create))
    };
    let can_scan = move || {
        project_view
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|p| may(user.is_admin(), &p, Res::Scan, Act::Create))
    };
    let tabs = TABS
        .iter()
        .map(|(k, label)| (artifact_href(&project, &repo, &digest, Some(k)), *k, *label))
        .collect::<Vec<_>>();
    let ids = StoredValue::new((project.clone(), repo.clone(), digest.clone()));
    let panel_label = move || format!("tab-{}", tab.get());
    let project_link = format!("/projects/{project}");
    let repo_link = format!("/projects/{project}/repositories/{repo}");
    view! {
        <Title text=format!("{repo}@{}", short_digest(&digest)) />
        <div class="mb-6 border-b border-slate-200 pb-4">
            <nav aria-label="Breadcrumb" class="text-sm">
                <A href=project_link attr:class="text-sky-700 hover:underline">{project.clone()}</A>
                <span class="px-1 text-slate-500">"/"</span>
                <A href=repo_link attr:class="text-sky-700 hover:underline">{repo.clone()}</A>
            </nav>
            <h1 class="mt-1 break-all font-mono text-lg font-semibold text-slate-900" data-testid="artifact-digest">{digest.clone()}</h1>
            <Transition fallback=|| ()>
                {move || detail.get().and_then(|r| r.ok()).map(|d| view! {
                    <ArtifactHeader detail=d.clone() can_push=can_push() on_tagged=move || detail.refetch() />
                    <ArtifactLabels detail=d.clone() can_label=can_label() on_change=move || detail.refetch() />
                })}
            </Transition>
        </div>
        <TabLinks label="Artifact sections" tabs current=tab />
        <div role="tabpanel" id="tab-panel" aria-labelledby=panel_label data-testid="artifact-detail">
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || detail.get().map(|r| match r {
                    Err(e) => view! { <p class="text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                    Ok(d) => {
                        let (p, r, dg) = ids.get_value();
                        match tab.get().as_str() {
                            "layers" => layers_tab(&d).into_any(),
                            "vulnerabilities" => if d.artifact.artifact_type.is_none() {
                                view! { <super::vulnerabilities::VulnerabilityTable project=p repo=r digest=dg /> }.into_any()
                            } else {
                                view! { <p class="text-sm text-slate-500">"Only images are scanned."</p> }.into_any()
                            },
                            "sbom" => view! { <SbomTab project=p repo=r digest=dg image=d.artifact.artifact_type.is_none() can_generate=can_scan() on_generated=move || detail.refetch() /> }.into_any(),
                            "accessories" => accessories_tab(&p, &r, &d).into_any(),
                            "history" => history_tab(&d).into_any(),
                            _ => overview_tab(&d).into_any(),
                        }
                    }
                })}
            </Transition>
        </div>
    }
}

/// Tags, pull commands, and the tag form.
#[component]
fn ArtifactHeader(
    detail: ArtifactDetail,
    can_push: bool,
    on_tagged: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let toasts = use_toasts();
    let info = Resource::new(|| (), |_| load_instance_info());
    let a = detail.artifact.clone();
    let repository = a.repository.clone();
    let digest = a.digest.clone();
    let tags: Vec<String> = a.tags.iter().map(|t| t.name.clone()).collect();
    let pulls = move || {
        let host = info
            .get()
            .and_then(|r| r.ok())
            .map(|i| {
                i.external_url
                    .split("://")
                    .nth(1)
                    .unwrap_or_default()
                    .to_string()
            })
            .unwrap_or_default();
        let mut out = vec![format!("docker pull {host}/{repository}@{digest}")];
        out.extend(
            tags.iter()
                .map(|t| format!("docker pull {host}/{repository}:{t}")),
        );
        out
    };
    let tag = RwSignal::new(String::new());
    let form = FormError::new();
    let (project, repo) = a
        .repository
        .split_once('/')
        .map(|(p, r)| (p.to_string(), r.to_string()))
        .unwrap_or_default();
    let submit = Action::new({
        let (project, repo, digest) = (project.clone(), repo.clone(), a.digest.clone());
        move |move_existing: &bool| {
            let (p, r, d, t, m) = (
                project.clone(),
                repo.clone(),
                digest.clone(),
                tag.get_untracked(),
                *move_existing,
            );
            async move {
                form.clear();
                match tag_artifact(p, r, d, t.clone(), m).await {
                    Ok(()) => {
                        toasts.success(format!(
                            "Tag {t} {}",
                            if m { "moved here" } else { "added" }
                        ));
                        tag.set(String::new());
                        on_tagged();
                    }
                    Err(e) => form.set(&e),
                }
            }
        }
    });
    let copy = move |text: String| {
        let _ = window().navigator().clipboard().write_text(&text);
        toasts.success("Pull command copied");
    };
    view! {
        <div class="mt-2 flex flex-wrap items-center gap-2 text-xs text-slate-600">
            {a.tags.iter().map(|t| view! {
                <span class="whitespace-nowrap rounded bg-slate-100 px-1.5 py-0.5 font-mono" data-tag=t.name.clone()>{t.name.clone()}</span>
            }).collect_view()}
            <span>{format!("{} · {} · pushed {} by {}", a.media_type, human_size(a.size), a.push_time.replace('T', " ").trim_end_matches('Z'), a.pushed_by)}</span>
        </div>
        <Transition fallback=|| ()>
            <ul class="mt-3 space-y-1" data-testid="pull-commands">
                {move || pulls().into_iter().map(|cmd| {
                    let c = cmd.clone();
                    view! {
                        <li class="flex items-center gap-2">
                            <code class="truncate rounded bg-slate-100 px-2 py-1 font-mono text-xs text-slate-800">{cmd.clone()}</code>
                            <button type="button" class="text-xs font-medium text-sky-700 hover:underline"
                                aria-label=format!("Copy {cmd}") on:click=move |_| copy(c.clone())>"Copy"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </Transition>
        {can_push.then(|| view! {
            <form method="post" class="mt-3 flex flex-wrap items-start gap-2" data-testid="tag-form"
                on:submit=move |ev| { ev.prevent_default(); submit.dispatch(false); }>
                <FormAlert form shown=|f| f == "tag" />
                <div>
                    <label for="new-tag" class="sr-only">"New tag"</label>
                    <input id="new-tag" name="tag" required placeholder="tag" class=format!("w-48 {INPUT}") bind:value=tag
                        aria-invalid=move || form.for_field("tag").is_some().then_some("true")
                        aria-describedby=move || form.for_field("tag").map(|_| field_error_id("tag")) />
                    <FieldError form field="tag" />
                </div>
                <button type="submit" class=BUTTON_PRIMARY>"Add tag"</button>
                <button type="button" class=BUTTON_SECONDARY
                    title="Point an existing tag of this repository at this artifact"
                    on:click=move |_| { submit.dispatch(true); }>"Move tag here"</button>
            </form>
        })}
    }
}

/// The artifact's labels; those who may label it add and remove them here.
#[component]
fn ArtifactLabels(
    detail: ArtifactDetail,
    can_label: bool,
    on_change: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let toasts = use_toasts();
    let a = detail.artifact;
    let (project, repo) = a
        .repository
        .split_once('/')
        .map(|(p, r)| (p.to_string(), r.to_string()))
        .unwrap_or_default();
    let ids = StoredValue::new((project.clone(), repo, a.digest.clone()));
    let available = Resource::new(move || project.clone(), crate::api::project_labels);
    let carried: Vec<i64> = a.labels.iter().map(|l| l.id).collect();
    let change = Action::new(move |(label, attach): &(i64, bool)| {
        let ((p, r, d), label, attach) = (ids.get_value(), *label, *attach);
        async move {
            match crate::api::label_artifact(p, r, d, label, attach).await {
                Ok(()) => on_change(),
                Err(e) => toasts.error(server_message(&e)),
            }
        }
    });
    view! {
        <div class="mt-3 flex flex-wrap items-center gap-2" data-testid="artifact-labels">
            <span class="text-xs font-medium text-slate-500">"Labels"</span>
            {a.labels.iter().map(|l| {
                let id = l.id;
                if can_label {
                    view! { <LabelChip label=l.clone() on_remove=Callback::new(move |_| { change.dispatch((id, false)); }) /> }.into_any()
                } else {
                    view! { <LabelChip label=l.clone() /> }.into_any()
                }
            }).collect_view()}
            {a.labels.is_empty().then(|| view! { <span class="text-xs text-slate-500">"none"</span> })}
            {can_label.then(|| view! {
                <Transition fallback=|| ()>
                    {let carried = carried.clone(); move || available.get().and_then(|r| r.ok()).map(|list| {
                        let offered: Vec<_> = list.into_iter().filter(|l| !carried.contains(&l.id)).collect();
                        (!offered.is_empty()).then(|| view! {
                            <select aria-label="Add a label" data-testid="add-label" class="rounded-md border border-slate-300 bg-surface px-2 py-1 text-xs"
                                on:change=move |ev| {
                                    if let Ok(id) = event_target_value(&ev).parse::<i64>() { change.dispatch((id, true)); }
                                }>
                                <option value="" selected=true>"Add label…"</option>
                                {offered.into_iter().map(|l| view! {
                                    <option value=l.id.to_string()>{format!("{}{}", l.name, if l.scope == "g" { " (global)" } else { "" })}</option>
                                }).collect_view()}
                            </select>
                        })
                    })}
                </Transition>
            })}
        </div>
    }
}

fn dl_row(label: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="grid grid-cols-3 gap-4 py-2">
            <dt class="text-sm font-medium text-slate-500">{label}</dt>
            <dd class="col-span-2 break-all font-mono text-xs text-slate-800">{value}</dd>
        </div>
    }
}

fn overview_tab(d: &ArtifactDetail) -> impl IntoView {
    let a = &d.artifact;
    let image = d.image.clone();
    let join = |v: &[String]| {
        if v.is_empty() {
            "—".to_string()
        } else {
            v.join(" ")
        }
    };
    view! {
        <section class="rounded-lg border border-slate-200 bg-surface p-5">
            <dl class="divide-y divide-slate-100" data-testid="artifact-overview">
                {dl_row("Media type", a.media_type.clone())}
                {a.artifact_type.clone().map(|t| dl_row("Artifact type", t))}
                {(!a.platforms.is_empty()).then(|| dl_row("Platforms", a.platforms.join(", ")))}
                {image.map(|i| view! {
                    {dl_row("Platform", i.platform.clone())}
                    {dl_row("Created", i.created.clone().unwrap_or_else(|| "—".into()))}
                    {dl_row("Entrypoint", join(&i.entrypoint))}
                    {dl_row("Command", join(&i.cmd))}
                    {dl_row("Working directory", i.working_dir.clone().unwrap_or_else(|| "—".into()))}
                    {dl_row("User", i.user.clone().unwrap_or_else(|| "—".into()))}
                    {(!i.exposed_ports.is_empty()).then(|| dl_row("Ports", i.exposed_ports.join(", ")))}
                    <div class="grid grid-cols-3 gap-4 py-2">
                        <dt class="text-sm font-medium text-slate-500">"Environment"</dt>
                        <dd class="col-span-2"><ul class="space-y-0.5 font-mono text-xs text-slate-800">
                            {i.env.iter().map(|e| view! { <li class="break-all">{e.clone()}</li> }).collect_view()}
                        </ul></dd>
                    </div>
                    <div class="grid grid-cols-3 gap-4 py-2">
                        <dt class="text-sm font-medium text-slate-500">"Labels"</dt>
                        <dd class="col-span-2 flex flex-wrap gap-1">
                            {i.labels.iter().map(|(k, v)| view! { <Badge text=format!("{k}={v}") tone="blue" /> }).collect_view()}
                        </dd>
                    </div>
                })}
            </dl>
            <details class="mt-4">
                <summary class="cursor-pointer text-sm font-medium text-slate-700">"Manifest"</summary>
                <pre class="mt-2 max-h-96 overflow-auto rounded bg-chrome p-4 text-xs text-white/90">{d.manifest.clone()}</pre>
            </details>
            {d.config.clone().map(|c| view! {
                <details class="mt-2">
                    <summary class="cursor-pointer text-sm font-medium text-slate-700">"Configuration"</summary>
                    <pre class="mt-2 max-h-96 overflow-auto rounded bg-chrome p-4 text-xs text-white/90">{c}</pre>
                </details>
            })}
        </section>
    }
}

fn layers_tab(d: &ArtifactDetail) -> impl IntoView {
    let total: u64 = d.layers.iter().map(|l| l.size).sum();
    view! {
        <div class="rounded-lg border border-slate-200 bg-surface">
            <div class="overflow-x-auto" tabindex="0"><table class=TABLE data-testid="layers">
                <thead class="bg-slate-50"><tr>
                    <th class=TH>"#"</th><th class=TH>"Made by"</th><th class=TH>"Digest"</th><th class=TH>"Size"</th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    {d.layers.iter().enumerate().map(|(i, l)| view! {
                        <tr data-layer=l.digest.clone()>
                            <td class=TD>{i + 1}</td>
                            <td class=format!("{TD} max-w-xl break-all font-mono text-xs")>{l.created_by.clone().unwrap_or_else(|| "—".into())}</td>
                            <td class=format!("{TD} font-mono text-xs") title=l.digest.clone()>{short_digest(&l.digest)}</td>
                            <td class=format!("{TD} whitespace-nowrap")>{human_size(l.size)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table></div>
            <p class="border-t border-slate-100 px-4 py-2 text-sm text-slate-600">
                {format!("{} layer(s), {} compressed", d.layers.len(), human_size(total))}
            </p>
        </div>
    }
}

fn signatures_list(d: &ArtifactDetail) -> impl IntoView {
    let signatures = d.artifact.signatures.clone();
    view! {
        <div class="rounded-lg border border-slate-200 bg-surface" data-testid="signatures">
            <h2 class="border-b border-slate-100 px-5 py-3 text-sm font-semibold text-slate-900">"Signatures"</h2>
            {if signatures.is_empty() {
                view! { <p class="px-5 py-3 text-sm text-slate-500">"Unsigned."</p> }.into_any()
            } else {
                view! {
                    <ul class="divide-y divide-slate-100">
                        {signatures.into_iter().map(|s| view! {
                            <li class="flex flex-wrap items-center gap-2 px-5 py-3 text-sm" data-signature=s.digest.clone()>
                                {if s.verified {
                                    view! { <Badge text="Verified" tone="green" /> }.into_any()
                                } else {
                                    view! { <Badge text="Invalid" tone="red" /> }.into_any()
                                }}
                                <span class="font-medium">{s.format.clone()}</span>
                                {s.key.clone().map(|k| view! { <span>"by key "<span class="font-mono" data-key=k.clone()>{k.clone()}</span></span> })}
                                {s.reason.clone().map(|r| view! { <span class="text-slate-600">{r}</span> })}
                                <span class="font-mono text-xs text-slate-500">{short_digest(&s.digest)}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </div>
    }
}

fn accessories_tab(project: &str, repo: &str, d: &ArtifactDetail) -> impl IntoView {
    let signatures = signatures_list(d);
    if d.accessories.is_empty() {
        return view! {
            <div class="space-y-4">
                {signatures}
                <p class="text-sm text-slate-500" data-testid="accessories">
                    "No SBOMs, attestations or OCI referrers refer to this artifact."
                </p>
            </div>
        }
        .into_any();
    }
    view! {
        <div class="space-y-4">
        {signatures}
        <div class="rounded-lg border border-slate-200 bg-surface">
            <div class="overflow-x-auto" tabindex="0"><table class=TABLE data-testid="accessories">
                <thead class="bg-slate-50"><tr>
                    <th class=TH>"Kind"</th><th class=TH>"Type"</th><th class=TH>"Digest"</th><th class=TH>"Size"</th><th class=TH>"Pushed"</th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    {d.accessories.iter().map(|x| {
                        let href = artifact_href(project, repo, &x.digest, None);
                        let short = short_digest(&x.digest);
                        let x = x.clone();
                        view! {
                        <tr data-accessory=x.digest.clone()>
                            <td class=TD>{accessory_kind(&x)}</td>
                            <td class=format!("{TD} font-mono text-xs")>{x.artifact_type.clone().unwrap_or_else(|| x.media_type.clone())}</td>
                            <td class=format!("{TD} font-mono text-xs")>
                                <A href=href attr:class="text-sky-700 hover:underline">{short}</A>
                            </td>
                            <td class=format!("{TD} whitespace-nowrap")>{human_size(x.size)}</td>
                            <td class=format!("{TD} text-xs")>{x.push_time.replace('T', " ").trim_end_matches('Z').to_string()}</td>
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table></div>
        </div>
        </div>
    }
    .into_any()
}

/// The newest SBOM of the artifact: its packages, a download, and (for those who may scan)
/// generating one now.
#[component]
fn SbomTab(
    project: String,
    repo: String,
    digest: String,
    image: bool,
    can_generate: bool,
    /// Called once an SBOM was generated (the page's accessories change).
    on_generated: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    use crate::api::{generate_sbom, get_sbom};
    let ids = StoredValue::new((project.clone(), repo.clone(), digest.clone()));
    let sbom = Resource::new(move || ids.get_value(), |(p, r, d)| get_sbom(p, r, d));
    let format = RwSignal::new("cyclonedx".to_string());
    let toasts = use_toasts();
    let generate = Action::new(move |_: &()| {
        let (p, r, d) = ids.get_value();
        async move {
            match generate_sbom(p, r, d, format.get_untracked()).await {
                Ok(()) => {
                    toasts.success("SBOM generated");
                    sbom.refetch();
                    on_generated();
                }
                Err(e) => toasts.error(server_message(&e)),
            }
        }
    });
    let download = format!(
        "/api/v2.0/projects/{project}/repositories/{}/artifacts/{digest}/additions/sbom",
        repo.replace('/', "%252F")
    );
    view! {
        <div class="space-y-4" data-testid="sbom">
            {(image && can_generate).then(|| view! {
                <form method="post" class="flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-surface p-4"
                    on:submit=move |ev| { ev.prevent_default(); generate.dispatch(()); }>
                    <label class="text-sm text-slate-700">"Format"
                        <select class=format!("ml-2 {INPUT}") aria-label="SBOM format" bind:value=format>
                            <option value="cyclonedx">"CycloneDX 1.6"</option>
                            <option value="spdx">"SPDX 2.3"</option>
                        </select></label>
                    <button type="submit" class=BUTTON_SECONDARY disabled=move || generate.pending().get()>
                        {move || if generate.pending().get() { "Generating…" } else { "Generate SBOM" }}
                    </button>
                </form>
            })}
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || sbom.get().map(|r| match r {
                    Err(e) => view! { <p class="text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                    Ok(None) => view! { <p class="text-sm text-slate-500" data-testid="sbom-empty">"No SBOM describes this artifact yet."</p> }.into_any(),
                    Ok(Some(s)) => {
                        let count = s.packages.len();
                        view! {
                            <div class="rounded-lg border border-slate-200 bg-surface">
                                <div class="flex flex-wrap items-center gap-3 border-b border-slate-100 px-5 py-3 text-sm">
                                    <Badge text=s.format.clone().unwrap_or_else(|| s.media_type.clone()) tone="blue" />
                                    <span>{format!("{count} packages")}</span>
                                    <span class="text-slate-600">{s.generated_by.clone().map(|g| format!("generated by {g}")).unwrap_or_else(|| "pushed".into())}</span>
                                    <span class="text-xs text-slate-500">{s.push_time.replace('T', " ").trim_end_matches('Z').to_string()}</span>
                                    <a class="ml-auto text-sky-700 hover:underline" href=download.clone() download="sbom.json">"Download"</a>
                                </div>
                                <div class="overflow-x-auto" tabindex="0"><table class=TABLE data-testid="sbom-packages">
                                    <thead class="bg-slate-50"><tr>
                                        <th class=TH>"Package"</th><th class=TH>"Version"</th><th class=TH>"Package URL"</th>
                                    </tr></thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {s.packages.into_iter().map(|p| view! {
                                            <tr data-package=p.name.clone()>
                                                <td class=format!("{TD} font-medium")>{p.name.clone()}</td>
                                                <td class=format!("{TD} font-mono text-xs")>{p.version.clone()}</td>
                                                <td class=format!("{TD} font-mono text-xs break-all")>{p.purl.clone().unwrap_or_default()}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                            </div>
                        }.into_any()
                    }
                })}
            </Transition>
        </div>
    }
}

fn history_tab(d: &ArtifactDetail) -> impl IntoView {
    if d.build_history.is_empty() {
        return view! { <p class="text-sm text-slate-500">"The image configuration records no build history."</p> }.into_any();
    }
    view! {
        <ol class="space-y-2" data-testid="build-history">
            {d.build_history.iter().enumerate().map(|(i, h)| view! {
                <li class="rounded-md border border-slate-200 bg-surface px-4 py-2">
                    <div class="flex flex-wrap items-center gap-2 text-xs text-slate-500">
                        <span>{format!("Step {}", i + 1)}</span>
                        {h.created.clone().map(|c| view! { <span>{c}</span> })}
                        {h.empty_layer.then(|| view! { <Badge text="no layer" /> })}
                    </div>
                    <code class="mt-1 block break-all font-mono text-xs text-slate-800">{h.created_by.clone()}</code>
                    {h.comment.clone().map(|c| view! { <p class="mt-1 text-xs text-slate-500">{c}</p> })}
                </li>
            }).collect_view()}
        </ol>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_paths_split_into_repository_and_artifact() {
        assert_eq!(split_repository_path("web/app"), ("web/app".into(), None));
        assert_eq!(
            split_repository_path("web/app/artifacts/sha256:abc/layers"),
            (
                "web/app".into(),
                Some(("sha256:abc".into(), "layers".into()))
            )
        );
        assert_eq!(
            split_repository_path("web/app/artifacts/sha256:abc"),
            (
                "web/app".into(),
                Some(("sha256:abc".into(), "overview".into()))
            )
        );
        // A repository that is itself called `artifacts`.
        assert_eq!(
            split_repository_path("tools/artifacts/cli"),
            ("tools/artifacts/cli".into(), None)
        );
        assert_eq!(
            split_repository_path("tools/artifacts/artifacts/sha256:ff/history"),
            (
                "tools/artifacts".into(),
                Some(("sha256:ff".into(), "history".into()))
            )
        );
    }
}
