//! Repositories of a project, the artifacts of a repository, and one artifact's details.

use domain::policy::authz::{Action as Act, Resource as Res};
use domain::types::dto::ProjectView;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::scanning::list_artifacts_scanned;
use crate::api::{
    delete_artifact, delete_repository, delete_tag, get_project, list_repositories,
    load_instance_info,
};
use crate::components::permissions::may;
use crate::components::query::use_query_state;
use crate::components::session::use_current_user;
use crate::components::toast::use_toasts;
use crate::components::widgets::server_message;
use crate::components::widgets::{
    human_size, short_digest, Badge, ConfirmRequest, LabelChip, Pager, RefreshButton,
    BUTTON_DANGER, INPUT, TABLE, TD, TH,
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
            <div class="mb-4 flex items-center justify-between gap-4">
                <input type="search" placeholder="Search repositories" aria-label="Search repositories" class=format!("max-w-xs {INPUT}")
                    prop:value=move || state.get("q")
                    on:input=move |ev| state.replace(&[("q", event_target_value(&ev))]) />
                <RefreshButton on_click=move |_| repos.refetch() />
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
                        <div class="rounded-lg border border-slate-200 bg-surface">
                            <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
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

/// `/projects/{p}/repositories/{repository}[/artifacts/{digest}[/{tab}]]`: a repository's
/// artifacts, or one artifact's page.
#[component]
pub fn RepositoryRoute() -> impl IntoView {
    let params = use_params_map();
    let target = Memo::new(move |_| {
        let p = params.read();
        (
            p.get("name").unwrap_or_default(),
            super::artifact::split_repository_path(&p.get("repo").unwrap_or_default()),
        )
    });
    // The page is chosen by what it shows, not by its tab: switching tabs keeps the page.
    // Pages take their object as props and never read the route's parameters themselves, so
    // one that is being replaced cannot react to the new URL.
    let page = Memo::new(move |_| {
        let (project, (repo, artifact)) = target.get();
        (project, repo, artifact.map(|(digest, _)| digest))
    });
    let tab = Signal::derive(move || target.get().1 .1.map(|(_, tab)| tab).unwrap_or_default());
    move || match page.get() {
        (project, repo, Some(digest)) => {
            view! { <super::artifact::ArtifactPage project repo digest tab /> }.into_any()
        }
        (project, repo, None) => view! { <RepositoryPage project repo /> }.into_any(),
    }
}

#[component]
fn RepositoryPage(project: String, repo: String) -> impl IntoView {
    let (project_value, repo_value) = (StoredValue::new(project), StoredValue::new(repo));
    let project_name = move || project_value.get_value();
    let repo = move || repo_value.get_value();
    let project = Resource::new(project_name, get_project);
    let user = use_current_user();
    let toasts = use_toasts();
    let state = use_query_state();
    let label_filter = move || state.get("label").parse::<i64>().ok();
    let artifacts = Resource::new(
        move || (project_name(), repo(), label_filter(), state.page()),
        |(p, r, l, n)| list_artifacts_scanned(p, r, l, n),
    );
    let labels = Resource::new(project_name, crate::api::project_labels);
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
    let confirm = crate::components::widgets::use_confirm();
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
                    artifacts.refetch();
                }
                Err(e) => toasts.error(server_message(&e)),
            }
        }
    });
    let ask = move |what: String, reference: String| {
        let request = match what.as_str() {
            "repository" => ConfirmRequest {
                title: "Delete repository",
                message: format!(
                    "Delete repository {}/{} with all its artifacts and tags? This cannot be undone.",
                    project_name(),
                    reference
                ),
                action: "Delete repository",
                typed: Some(reference.clone()),
                danger: true,
                on_confirm: Callback::new(|_| ()),
            },
            "artifact" => ConfirmRequest {
                title: "Delete artifact",
                message: format!("Delete artifact {} and all its tags?", short_digest(&reference)),
                action: "Delete",
                typed: None,
                danger: true,
                on_confirm: Callback::new(|_| ()),
            },
            tag => ConfirmRequest {
                title: "Delete tag",
                message: format!("Delete tag {}?", tag.trim_start_matches("tag:")),
                action: "Delete",
                typed: None,
                danger: true,
                on_confirm: Callback::new(|_| ()),
            },
        };
        confirm.ask(ConfirmRequest {
            on_confirm: Callback::new(move |_| {
                remove.dispatch((what.clone(), reference.clone()));
            }),
            ..request
        });
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
                <div class="flex items-center gap-2">
                    <Transition fallback=|| ()>
                        {move || labels.get().and_then(|r| r.ok()).filter(|l| !l.is_empty()).map(|list| view! {
                            <select aria-label="Filter by label" data-testid="label-filter" class="rounded-md border border-slate-300 bg-surface px-2 py-1.5 text-sm"
                                on:change=move |ev| state.set(&[("label", event_target_value(&ev))])>
                                <option value="" selected=move || label_filter().is_none()>"All labels"</option>
                                {list.into_iter().map(|l| {
                                    let id = l.id;
                                    view! { <option value=id.to_string() selected=move || label_filter() == Some(id)>{l.name}</option> }
                                }).collect_view()}
                            </select>
                        })}
                    </Transition>
                    <RefreshButton on_click=move |_| artifacts.refetch() />
                    <Transition fallback=|| ()>
                        <Show when=can_delete>
                            <button class=BUTTON_DANGER on:click=move |_| ask("repository".into(), repo())>"Delete repository"</button>
                        </Show>
                    </Transition>
                </div>
            </div>
            <Transition fallback=|| ()>
                {move || artifacts.get().map(|r| {
                    let total = r.as_ref().map(|p| p.total).unwrap_or(0);
                    let rows = match r {
                        Err(e) => view! { <tr><td class=TD colspan="10">{server_message(&e)}</td></tr> }.into_any(),
                        Ok(p) => p.items.into_iter().map(|a| {
                            let href = super::artifact::artifact_href(&project_name(), &repo(), &a.digest, None);
                            let d2 = a.digest.clone();
                            let short = short_digest(&a.digest);
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
                                        <A href=href attr:class="text-sky-700 hover:underline">{short}</A>
                                        <button class="ml-2 text-xs text-slate-500 hover:text-slate-700" title="Copy digest" aria-label="Copy digest"
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
                                                                <button class="text-slate-500 hover:text-red-600" aria-label=format!("Delete tag {tag}")
                                                                    on:click=move |_| ask(format!("tag:{tag}"), d.clone())>"×"</button>
                                                            }}
                                                        </Show>
                                                    </span>
                                                }
                                            }).collect_view()}
                                            {a.labels.iter().map(|l| view! { <LabelChip label=l.clone() /> }).collect_view()}
                                            {(!a.referrers.is_empty()).then(|| view! { <Badge text=format!("{} accessor{}", a.referrers.len(), if a.referrers.len() == 1 { "y" } else { "ies" }) tone="blue" /> })}
                                        </div>
                                    </td>
                                    <td class=format!("{TD} text-xs")>{kind}</td>
                                    <td class=format!("{TD} whitespace-nowrap")>{human_size(a.size)}</td>
                                    <td class=format!("{TD} whitespace-nowrap text-xs")>{a.push_time.replace('T', " ").trim_end_matches('Z').to_string()}</td>
                                    <td class=format!("{TD} whitespace-nowrap text-xs")>{a.pull_time.clone().map(|t| t.replace('T', " ").trim_end_matches('Z').to_string()).unwrap_or_else(|| "never".into())}</td>
                                    <td class=TD>{a.pull_count}</td>
                                    <td class=TD data-signed=a.signed.clone()>{signed_badge(&a)}</td>
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
                        <div class="rounded-lg border border-slate-200 bg-surface">
                            <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                                <thead class="bg-slate-50"><tr>
                                    <th class=TH>"Digest"</th><th class=TH>"Tags"</th><th class=TH>"Type"</th><th class=TH>"Size"</th>
                                    <th class=TH>"Pushed"</th><th class=TH>"Last pull"</th><th class=TH>"Pulls"</th><th class=TH>"Signed"</th><th class=TH>"Vulnerabilities"</th><th class=TH></th>
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

/// The artifact list's "Signed" cell: verified by which trusted anchor, invalid (with the
/// reason as a tooltip), or unsigned.
fn signed_badge(a: &domain::types::dto::ArtifactView) -> impl IntoView {
    match a.signed.as_str() {
        "verified" => {
            let key = a
                .signatures
                .iter()
                .find(|s| s.verified)
                .and_then(|s| s.key.clone())
                .unwrap_or_default();
            view! { <Badge text=format!("Signed · {key}") tone="green" /> }.into_any()
        }
        "invalid" => {
            let why = a
                .signatures
                .first()
                .and_then(|s| s.reason.clone())
                .unwrap_or_default();
            view! { <span title=why><Badge text="Invalid" tone="red" /></span> }.into_any()
        }
        "unsigned" => view! { <Badge text="Unsigned" /> }.into_any(),
        _ => ().into_any(),
    }
}
