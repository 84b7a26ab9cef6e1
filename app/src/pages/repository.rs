//! Repositories of a project, the artifacts of a repository, and one artifact's details.

use domain::policy::authz::{Action as Act, Resource as Res};
use domain::types::dto::ProjectView;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::login::server_message;
use super::project::may;
use crate::api::scanning::list_artifacts_scanned;
use crate::api::{
    delete_artifact, delete_repository, delete_tag, get_artifact, get_project, list_repositories,
    load_instance_info,
};
use crate::components::query::use_query_state;
use crate::components::session::use_current_user;
use crate::components::toast::use_toasts;
use crate::components::widgets::{
    human_size, short_digest, Badge, Modal, Pager, BUTTON_DANGER, BUTTON_SECONDARY, INPUT, TABLE,
    TD, TH,
};

/// How to push into the project, with this registry's host.
#[component]
pub fn PushHint(project: String) -> impl IntoView {
    let info = Resource::new(|| (), |_| load_instance_info());
    view! {
        <Transition fallback=|| ()>
            {move || info.get().and_then(|r| r.ok()).map(|i| {
                let host = i.external_url.split("://").nth(1).unwrap_or_default().to_string();
                view! {
                    <p class="mt-2 font-mono text-xs text-slate-500" data-testid="push-hint">
                        {format!("podman tag <image> {host}/{project}/<repository>:<tag>; podman push {host}/{project}/<repository>:<tag>")}
                    </p>
                }
            })}
        </Transition>
    }
}

#[component]
pub fn RepositoriesTab(project: ProjectView) -> impl IntoView {
    let name = project.name.clone();
    let state = use_query_state();
    let repos = Resource::new(
        move || (name.clone(), state.get("q"), state.page()),
        |(p, q, n)| list_repositories(p, q, n),
    );
    let project_name = project.name.clone();
    view! {
            <div class="mb-4">
                <input type="search" placeholder="Search repositories" aria-label="Search repositories" class=format!("max-w-xs {INPUT}")
                    prop:value=move || state.get("q")
                    on:input=move |ev| state.replace(&[("q", event_target_value(&ev))]) />
            </div>
            <Transition fallback=|| ()>
                {move || repos.get().map(|r| {
                    let total = r.as_ref().map(|p| p.total).unwrap_or(0);
                    let rows = match r {
                        Err(e) => view! { <tr><td class=TD colspan="4">{server_message(&e)}</td></tr> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! {
                            <tr><td class=format!("{TD} text-slate-500") colspan="4">"No repositories yet: push an image to create one."</td></tr>
                        }.into_any(),
                        Ok(p) => {
                            let project_name = project_name.clone();
                            p.items.into_iter().map(move |repo| {
                                let short = repo.name.strip_prefix(&format!("{project_name}/")).unwrap_or(&repo.name).to_string();
                                let (full, label) = (repo.name.clone(), repo.name.clone());
                                view! {
                                    <tr data-repository=full>
                                        <td class=TD>
                                            <A href=format!("/projects/{project_name}/repositories/{short}") attr:class="font-medium text-sky-700 hover:underline">{label}</A>
                                        </td>
                                        <td class=TD>{repo.artifact_count}</td>
                                        <td class=TD>{repo.pull_count}</td>
                                        <td class=TD>{repo.updated_at.replace('T', " ").trim_end_matches('Z').to_string()}</td>
                                    </tr>
                                }
                            }).collect_view().into_any()
                        }
    };
                    view! {
                        <div class="rounded-lg border border-slate-200 bg-white">
                            <div class="overflow-x-auto"><table class=TABLE>
                                <thead class="bg-slate-50"><tr>
                                    <th class=TH>"Repository"</th><th class=TH>"Artifacts"</th><th class=TH>"Pulls"</th><th class=TH>"Last modified"</th>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100">{rows}</tbody>
                            </table></div>
                            <Pager state total page_size=15 />
                        </div>
                    }
                })}
            </Transition>
        }
}

#[component]
pub fn RepositoryPage() -> impl IntoView {
    let params = use_params_map();
    let project_name = move || params.read().get("name").unwrap_or_default();
    let repo = move || params.read().get("repo").unwrap_or_default();
    let project = Resource::new(project_name, get_project);
    let user = use_current_user();
    let toasts = use_toasts();
    let state = use_query_state();
    let artifacts = Resource::new(
        move || (project_name(), repo(), state.page()),
        |(p, r, n)| list_artifacts_scanned(p, r, n),
    );
    // While a scan is queued or running, look again every two seconds (live status).
    Effect::new(move |_| {
        let scanning = artifacts.get().and_then(|r| r.ok()).is_some_and(|p| {
            p.items
                .iter()
                .any(|a| super::vulnerabilities::in_progress(&a.scan))
        });
        if scanning {
            set_timeout(
                move || artifacts.refetch(),
                std::time::Duration::from_secs(2),
            );
        }
    });
    let selected: RwSignal<Option<String>> = RwSignal::new(None);
    let confirm: RwSignal<Option<(String, String)>> = RwSignal::new(None);
    let confirm_open = RwSignal::new(false);
    let remove = Action::new(move |(what, reference): &(String, String)| {
        let (what, reference) = (what.clone(), reference.clone());
        let (p, r) = (project_name(), repo());
        async move {
            let result = match what.as_str() {
                "artifact" => delete_artifact(p.clone(), r.clone(), reference.clone()).await,
                "repository" => delete_repository(p.clone(), r.clone()).await,
                tag => {
                    delete_tag(
                        p.clone(),
                        r.clone(),
                        reference.clone(),
                        tag.trim_start_matches("tag:").to_string(),
                    )
                    .await
                }
            };
            match result {
                Ok(()) if what == "repository" => {
                    crate::components::session::hard_navigate(&format!("/projects/{p}"))
                }
                Ok(()) => {
                    toasts.success("Deleted");
                    selected.set(None);
                    artifacts.refetch();
                }
                Err(e) => toasts.error(server_message(&e)),
            }
        }
    });
    let ask = move |what: String, reference: String| {
        confirm.set(Some((what, reference)));
        confirm_open.set(true);
    };
    let can_delete = move || {
        project
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|p| may(user.is_admin(), &p, Res::Repository, Act::Delete))
    };
    let can_scan = move || {
        project
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|p| may(user.is_admin(), &p, Res::Scan, Act::Create))
    };

    view! {
            <Title text=move || format!("{}/{}", project_name(), repo()) />
            <div class="mb-6 flex items-end justify-between border-b border-slate-200 pb-4">
                <div>
                    <A href=move || format!("/projects/{}", project_name()) attr:class="text-sm text-sky-700 hover:underline">{project_name}</A>
                    <h1 class="text-2xl font-semibold tracking-tight text-slate-900">{move || format!("{}/{}", project_name(), repo())}</h1>
                </div>
                <Transition fallback=|| ()>
                    <Show when=can_delete>
                        <button class=BUTTON_DANGER on:click=move |_| ask("repository".into(), repo())>"Delete repository"</button>
                    </Show>
                </Transition>
            </div>
            <Transition fallback=|| ()>
                {move || artifacts.get().map(|r| {
                    let total = r.as_ref().map(|p| p.total).unwrap_or(0);
                    let rows = match r {
                        Err(e) => view! { <tr><td class=TD colspan="9">{server_message(&e)}</td></tr> }.into_any(),
                        Ok(p) => p.items.into_iter().map(|a| {
                            let digest = a.digest.clone();
                            let d2 = a.digest.clone();
                            let d3 = a.digest.clone();
                            let d4 = a.digest.clone();
                            let scannable = a.artifact_type.is_none();
                            let overview = a.scan.clone();
                            let kind = if !a.platforms.is_empty() {
                                format!("index · {}", a.platforms.join(", "))
                            } else {
                                a.artifact_type.clone().unwrap_or_else(|| if a.media_type.contains("docker") { "image (docker)".into() } else { "image".into() })
                            };
                            view! {
                                <tr data-artifact=a.digest.clone()>
                                    <td class=format!("{TD} font-mono text-xs")>
                                        <button class="text-sky-700 hover:underline" on:click=move |_| selected.set(Some(digest.clone()))>{short_digest(&a.digest)}</button>
                                        <button class="ml-2 text-xs text-slate-400 hover:text-slate-700" title="Copy digest" aria-label="Copy digest"
                                            on:click=move |_| { let _ = window().navigator().clipboard().write_text(&d2); toasts.success("Digest copied"); }>"copy"</button>
                                    </td>
                                    <td class=TD>
                                        <div class="flex flex-wrap gap-1">
                                            {a.tags.iter().map(|t| {
                                                let tag = t.name.clone();
                                                let d = a.digest.clone();
                                                view! {
                                                    <span class="inline-flex items-center gap-1 whitespace-nowrap rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs">
                                                        {t.name.clone()}
                                                        <Show when=can_delete>
                                                            {let (tag, d) = (tag.clone(), d.clone()); view! {
                                                                <button class="text-slate-400 hover:text-red-600" aria-label=format!("Delete tag {tag}")
                                                                    on:click=move |_| ask(format!("tag:{tag}"), d.clone())>"×"</button>
                                                            }}
                                                        </Show>
                                                    </span>
                                                }
                                            }).collect_view()}
                                            {(!a.referrers.is_empty()).then(|| view! { <Badge text=format!("{} referrer(s)", a.referrers.len()) tone="blue" /> })}
                                        </div>
                                    </td>
                                    <td class=format!("{TD} text-xs")>{kind}</td>
                                    <td class=format!("{TD} whitespace-nowrap")>{human_size(a.size)}</td>
                                    <td class=format!("{TD} text-xs")>{a.push_time.replace('T', " ").trim_end_matches('Z').to_string()}</td>
                                    <td class=format!("{TD} text-xs")>{a.pull_time.clone().map(|t| t.replace('T', " ").trim_end_matches('Z').to_string()).unwrap_or_else(|| "never".into())}</td>
                                    <td class=TD>{a.pull_count}</td>
                                    <td class=TD>
                                        {scannable.then(|| view! { <super::vulnerabilities::SeverityBar overview=overview.clone() /> })}
                                    </td>
                                    <td class=format!("{TD} whitespace-nowrap text-right")>
                                        <Show when=move || can_scan() && scannable>
                                            {let d = d4.clone(); view! {
                                                <super::vulnerabilities::ScanButton project=project_name() repo=repo() digest=d on_queued=move |_| artifacts.refetch() />
                                            }}
                                        </Show>
                                        <Show when=can_delete>
                                            {let d = d3.clone(); view! { <button class=BUTTON_DANGER on:click=move |_| ask("artifact".into(), d.clone())>"Delete"</button> }}
                                        </Show>
                                    </td>
                                </tr>
                            }
                        }).collect_view().into_any(),
    };
                    view! {
                        <div class="rounded-lg border border-slate-200 bg-white">
                            <div class="overflow-x-auto"><table class=TABLE>
                                <thead class="bg-slate-50"><tr>
                                    <th class=TH>"Digest"</th><th class=TH>"Tags"</th><th class=TH>"Type"</th><th class=TH>"Size"</th>
                                    <th class=TH>"Pushed"</th><th class=TH>"Last pull"</th><th class=TH>"Pulls"</th><th class=TH>"Vulnerabilities"</th><th class=TH></th>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100">{rows}</tbody>
                            </table></div>
                            <Pager state total page_size=15 />
                        </div>
                    }
                })}
            </Transition>
            {move || selected.get().map(|digest| view! { <ArtifactPanel project=project_name() repo=repo() digest /> })}
            <Modal title="Confirm deletion" open=confirm_open>
                <p class="text-sm text-slate-600">
                    {move || confirm.get().map(|(what, reference)| match what.as_str() {
                        "repository" => format!("Delete repository {} with all its artifacts?", reference),
                        "artifact" => format!("Delete artifact {} and all its tags?", short_digest(&reference)),
                        tag => format!("Delete tag {}?", tag.trim_start_matches("tag:")),
                    })}
                </p>
                <div class="mt-6 flex justify-end gap-2">
                    <button class=BUTTON_SECONDARY on:click=move |_| confirm_open.set(false)>"Cancel"</button>
                    <button class=BUTTON_DANGER on:click=move |_| {
                        if let Some(c) = confirm.get_untracked() { remove.dispatch(c); }
                        confirm_open.set(false);
                    }>"Delete"</button>
                </div>
            </Modal>
        }
}

#[component]
fn ArtifactPanel(project: String, repo: String, digest: String) -> impl IntoView {
    let (vp, vr, vd) = (project.clone(), repo.clone(), digest.clone());
    let detail = Resource::new(
        move || (project.clone(), repo.clone(), digest.clone()),
        |(p, r, d)| get_artifact(p, r, d),
    );
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-6" data-testid="artifact-detail">
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || detail.get().map(|r| match r {
                    Err(e) => view! { <p class="text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                    Ok(d) => view! {
                        <h2 class="font-mono text-sm font-semibold text-slate-900">{d.artifact.digest.clone()}</h2>
                        <p class="mt-1 text-xs text-slate-500">{d.artifact.media_type.clone()}" · pushed by "{d.artifact.pushed_by.clone()}</p>
                        {d.artifact.artifact_type.is_none().then(|| view! {
                            <super::vulnerabilities::VulnerabilityTable project=vp.clone() repo=vr.clone() digest=vd.clone() />
                        })}
                        <h3 class="mt-4 text-sm font-semibold text-slate-700">"References"</h3>
                        <div class="overflow-x-auto"><table class=TABLE>
                            <tbody class="divide-y divide-slate-100">
                                {d.references.iter().map(|l| view! {
                                    <tr><td class=format!("{TD} text-xs")>{l.kind.clone()}</td><td class=format!("{TD} font-mono text-xs")>{l.digest.clone()}</td><td class=TD>{human_size(l.size)}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                        {(!d.history.is_empty()).then(|| view! {
                            <h3 class="mt-4 text-sm font-semibold text-slate-700">"History"</h3>
                            <ol class="mt-1 list-decimal pl-6 font-mono text-xs text-slate-600">
                                {d.history.iter().map(|h| view! { <li>{h.clone()}</li> }).collect_view()}
                            </ol>
                        })}
                        <h3 class="mt-4 text-sm font-semibold text-slate-700">"Manifest"</h3>
                        <pre class="mt-1 max-h-96 overflow-auto rounded bg-slate-900 p-4 text-xs text-slate-100">{d.manifest.clone()}</pre>
                        {d.config.clone().map(|c| view! {
                            <h3 class="mt-4 text-sm font-semibold text-slate-700">"Configuration"</h3>
                            <pre class="mt-1 max-h-96 overflow-auto rounded bg-slate-900 p-4 text-xs text-slate-100">{c}</pre>
                        })}
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
