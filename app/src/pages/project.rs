//! One project: its members and robot accounts. Actions the caller may not perform are not
//! offered; the same policy on the server refuses them anyway.

use domain::policy::authz::{allows, Action as Act, ProjectFacts, Resource as Res, Subject};
use domain::types::dto::{MemberKind, ProjectView, RobotSecret};
use domain::types::Role;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::login::server_message;
use crate::api::{
    add_member, create_robot, delete_robot, get_project, list_members, list_robots, remove_member,
    set_robot_disabled, update_member,
};
use crate::components::session::use_current_user;
use crate::components::toast::use_toasts;
use crate::components::widgets::{
    Badge, Modal, BUTTON_DANGER, BUTTON_PRIMARY, BUTTON_SECONDARY, INPUT, TABLE, TD, TH,
};

/// Whether the signed-in user may perform `action` on `resource` in this project.
pub(crate) fn may(is_admin: bool, project: &ProjectView, resource: Res, action: Act) -> bool {
    allows(
        Subject::User { is_admin },
        Some(ProjectFacts {
            name: &project.name,
            public: project.public,
        }),
        project.current_role,
        resource,
        action,
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Repositories,
    Members,
    Robots,
    Retention,
    Immutability,
    Vulnerability,
}

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let project = Resource::new(name, get_project);
    let user = use_current_user();
    let tab = RwSignal::new(Tab::Repositories);

    view! {
        <Title text=move || name() />
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || project.get().map(|result| match result {
                Err(e) => view! { <p class="text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                Ok(p) => {
                    let is_admin = user.is_admin();
                    let can_see_members = may(is_admin, &p, Res::Member, Act::List);
                    let can_see_robots = may(is_admin, &p, Res::Robot, Act::List);
                    let can_see_retention = may(is_admin, &p, Res::TagRetention, Act::Read);
                    let can_edit_retention = may(is_admin, &p, Res::TagRetention, Act::Update);
                    let can_see_immutable = may(is_admin, &p, Res::ImmutableTag, Act::List);
                    let can_edit_immutable = may(is_admin, &p, Res::ImmutableTag, Act::Create);
                    let can_edit_vuln = may(is_admin, &p, Res::Project, Act::Update);
                    let p7 = p.name.clone();
                    let tab_class = move |t: Tab| if tab.get() == t {
                        "border-b-2 border-sky-600 px-1 pb-3 text-sm font-semibold text-sky-700"
                    } else {
                        "border-b-2 border-transparent px-1 pb-3 text-sm font-medium text-slate-500 hover:text-slate-800"
                    };
                    let p2 = p.clone();
                    let p3 = p.clone();
                    let p4 = p.clone();
                    let p5 = p.name.clone();
                    let p6 = p.name.clone();
                    view! {
                        <div class="mb-6 border-b border-slate-200 pb-4">
                            <div class="flex items-center gap-3">
                                <h1 class="text-2xl font-semibold tracking-tight text-slate-900">{p.name.clone()}</h1>
                                {if p.public { view! { <Badge text="Public" tone="green" /> } } else { view! { <Badge text="Private" /> } }}
                                {p.current_role.map(|r| view! { <Badge text=r.label() tone="blue" /> })}
                            </div>
                            <super::repository::PushHint project=p.name.clone() />
                            <QuotaBar project=p.name.clone() />
                        </div>
                        <nav class="mb-6 flex gap-6 border-b border-slate-200" aria-label="Project sections">
                            <button class=move || tab_class(Tab::Repositories) on:click=move |_| tab.set(Tab::Repositories)>"Repositories"</button>
                            <Show when=move || can_see_members>
                                <button class=move || tab_class(Tab::Members) on:click=move |_| tab.set(Tab::Members)>"Members"</button>
                            </Show>
                            <Show when=move || can_see_robots>
                                <button class=move || tab_class(Tab::Robots) on:click=move |_| tab.set(Tab::Robots)>"Robot accounts"</button>
                            </Show>
                            <Show when=move || can_see_retention>
                                <button class=move || tab_class(Tab::Retention) on:click=move |_| tab.set(Tab::Retention)>"Tag retention"</button>
                            </Show>
                            <Show when=move || can_see_immutable>
                                <button class=move || tab_class(Tab::Immutability) on:click=move |_| tab.set(Tab::Immutability)>"Immutable tags"</button>
                            </Show>
                            <button class=move || tab_class(Tab::Vulnerability) on:click=move |_| tab.set(Tab::Vulnerability)>"Vulnerability"</button>
                        </nav>
                        {move || match tab.get() {
                            Tab::Repositories => view! { <super::repository::RepositoriesTab project=p4.clone() /> }.into_any(),
                            Tab::Members if can_see_members => view! { <MembersTab project=p2.clone() is_admin /> }.into_any(),
                            Tab::Robots if can_see_robots => view! { <RobotsTab project=p3.clone() is_admin /> }.into_any(),
                            Tab::Retention if can_see_retention => view! {
                                <super::retention::RetentionTab project=p5.clone() can_edit=can_edit_retention />
                            }.into_any(),
                            Tab::Immutability if can_see_immutable => view! {
                                <super::immutability::ImmutabilityTab project=p6.clone() can_edit=can_edit_immutable />
                            }.into_any(),
                            Tab::Vulnerability => view! {
                                <super::vulnerabilities::VulnerabilityTab project=p7.clone() can_edit=can_edit_vuln />
                            }.into_any(),
                            _ => view! { <p class="text-sm text-slate-500">"Your role in this project does not include its members or robot accounts."</p> }.into_any(),
                        }}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

fn role_options(selected: Role) -> impl IntoView {
    Role::ALL
        .into_iter()
        .map(|r| view! { <option value=r.as_str() selected=r == selected>{r.label()}</option> })
        .collect_view()
}

#[component]
fn MembersTab(project: ProjectView, is_admin: bool) -> impl IntoView {
    let toasts = use_toasts();
    let name = project.name.clone();
    let manage = may(is_admin, &project, Res::Member, Act::Create);
    let members = Resource::new(
        {
            let n = name.clone();
            move || n.clone()
        },
        list_members,
    );
    let new_kind = RwSignal::new("user".to_string());
    let new_name = RwSignal::new(String::new());
    let new_role = RwSignal::new(Role::Developer.as_str().to_string());
    let add = Action::new({
        let project = name.clone();
        move |(kind, who, role): &(String, String, String)| {
            let (project, kind, who, role) =
                (project.clone(), kind.clone(), who.clone(), role.clone());
            async move {
                let kind = if kind == "group" {
                    MemberKind::Group
                } else {
                    MemberKind::User
                };
                let role = role.parse::<Role>().unwrap_or(Role::Guest);
                match add_member(project, kind, who.clone(), role).await {
                    Ok(_) => {
                        toasts.success(format!("{who} added as {}", role.label()));
                        new_name.set(String::new());
                        members.refetch();
                    }
                    Err(e) => toasts.error(server_message(&e)),
                }
            }
        }
    });
    let change = Action::new({
        let project = name.clone();
        move |(id, role): &(i64, Role)| {
            let (project, id, role) = (project.clone(), *id, *role);
            async move {
                match update_member(project, id, role).await {
                    Ok(m) => toasts.success(format!("{} is now {}", m.name, role.label())),
                    Err(e) => toasts.error(server_message(&e)),
                }
                members.refetch();
            }
        }
    });
    let remove = Action::new({
        let project = name.clone();
        move |id: &i64| {
            let (project, id) = (project.clone(), *id);
            async move {
                match remove_member(project, id).await {
                    Ok(()) => toasts.success("Member removed"),
                    Err(e) => toasts.error(server_message(&e)),
                }
                members.refetch();
            }
        }
    });

    view! {
        <Show when=move || manage>
            <form method="post" data-testid="add-member" class="mb-6 flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-white p-4"
                on:submit=move |ev| { ev.prevent_default(); add.dispatch((new_kind.get(), new_name.get(), new_role.get())); }>
                <label class="text-sm font-medium text-slate-700">"Type"
                    <select name="member-kind" class=format!("mt-1 {INPUT}") on:change=move |ev| new_kind.set(event_target_value(&ev))>
                        <option value="user">"User"</option>
                        <option value="group">"Group"</option>
                    </select>
                </label>
                <label class="flex-1 text-sm font-medium text-slate-700">"Name"
                    <input name="member-name" required class=format!("mt-1 {INPUT}") bind:value=new_name placeholder="username or group name" />
                </label>
                <label class="text-sm font-medium text-slate-700">"Role"
                    <select name="member-role" class=format!("mt-1 {INPUT}") on:change=move |ev| new_role.set(event_target_value(&ev))>
                        {role_options(Role::Developer)}
                    </select>
                </label>
                <button type="submit" class=BUTTON_PRIMARY>"Add member"</button>
            </form>
        </Show>
        <div class="rounded-lg border border-slate-200 bg-white">
            <div class="overflow-x-auto"><table class=TABLE>
                <thead class="bg-slate-50"><tr>
                    <th class=TH>"Member"</th><th class=TH>"Type"</th><th class=TH>"Role"</th><th class=TH></th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    <Transition fallback=|| ()>
                        {move || members.get().map(|r| match r {
                            Err(e) => view! { <tr><td class=TD colspan="4">{server_message(&e)}</td></tr> }.into_any(),
                            Ok(list) => list.into_iter().map(|m| {
                                let id = m.id;
                                view! {
                                    <tr data-member=m.name.clone()>
                                        <td class=format!("{TD} font-medium")>{m.name.clone()}</td>
                                        <td class=TD>{match m.kind { MemberKind::User => "User", MemberKind::Group => "Group" }}</td>
                                        <td class=TD>
                                            {if manage {
                                                view! {
                                                    <select aria-label=format!("Role of {}", m.name) class="rounded-md border border-slate-300 px-2 py-1 text-sm"
                                                        on:change=move |ev| {
                                                            if let Ok(role) = event_target_value(&ev).parse::<Role>() { change.dispatch((id, role)); }
                                                        }>
                                                        {role_options(m.role)}
                                                    </select>
                                                }.into_any()
                                            } else {
                                                view! { <span>{m.role.label()}</span> }.into_any()
                                            }}
                                        </td>
                                        <td class=format!("{TD} text-right")>
                                            <Show when=move || manage>
                                                <button class=BUTTON_DANGER on:click=move |_| { remove.dispatch(id); }>"Remove"</button>
                                            </Show>
                                        </td>
                                    </tr>
                                }
                            }).collect_view().into_any(),
                        })}
                    </Transition>
                </tbody>
            </table></div>
        </div>
    }
}

#[component]
fn RobotsTab(project: ProjectView, is_admin: bool) -> impl IntoView {
    let toasts = use_toasts();
    let name = project.name.clone();
    let manage = may(is_admin, &project, Res::Robot, Act::Create);
    let robots = Resource::new(
        {
            let n = name.clone();
            move || n.clone()
        },
        list_robots,
    );
    let dialog = RwSignal::new(false);
    let revealed: RwSignal<Option<RobotSecret>> = RwSignal::new(None);
    let secret_open = RwSignal::new(false);
    let robot_name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let days = RwSignal::new("30".to_string());
    let push = RwSignal::new(true);
    let create = Action::new({
        let project = name.clone();
        move |_: &()| {
            let project = project.clone();
            let (n, d, days, push) = (
                robot_name.get_untracked(),
                description.get_untracked(),
                days.get_untracked(),
                push.get_untracked(),
            );
            async move {
                let days = days.trim().parse::<i64>().unwrap_or(30);
                match create_robot(project, n, d, days, push).await {
                    Ok(secret) => {
                        dialog.set(false);
                        robot_name.set(String::new());
                        revealed.set(Some(secret));
                        secret_open.set(true);
                        robots.refetch();
                    }
                    Err(e) => toasts.error(server_message(&e)),
                }
            }
        }
    });
    let toggle = Action::new(move |(id, disabled): &(i64, bool)| {
        let (id, disabled) = (*id, *disabled);
        async move {
            match set_robot_disabled(id, disabled).await {
                Ok(r) => toasts.success(format!(
                    "{} {}",
                    r.name,
                    if disabled { "disabled" } else { "enabled" }
                )),
                Err(e) => toasts.error(server_message(&e)),
            }
            robots.refetch();
        }
    });
    let delete = Action::new(move |id: &i64| {
        let id = *id;
        async move {
            match delete_robot(id).await {
                Ok(()) => toasts.success("Robot account deleted"),
                Err(e) => toasts.error(server_message(&e)),
            }
            robots.refetch();
        }
    });
    let copy = move |_| {
        if let Some(secret) = revealed.get_untracked() {
            let clipboard = window().navigator().clipboard();
            let _ = clipboard.write_text(&secret.secret);
            toasts.success("Secret copied to the clipboard");
        }
    };

    view! {
        <Show when=move || manage>
            <div class="mb-4 flex justify-end">
                <button class=BUTTON_PRIMARY on:click=move |_| dialog.set(true)>"New robot account"</button>
            </div>
        </Show>
        <div class="rounded-lg border border-slate-200 bg-white">
            <div class="overflow-x-auto"><table class=TABLE>
                <thead class="bg-slate-50"><tr>
                    <th class=TH>"Name"</th><th class=TH>"Permissions"</th><th class=TH>"Expires"</th>
                    <th class=TH>"Status"</th><th class=TH></th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    <Transition fallback=|| ()>
                        {move || robots.get().map(|r| match r {
                            Err(e) => view! { <tr><td class=TD colspan="5">{server_message(&e)}</td></tr> }.into_any(),
                            Ok(list) if list.is_empty() => view! {
                                <tr><td class=format!("{TD} text-slate-500") colspan="5">"No robot accounts."</td></tr>
                            }.into_any(),
                            Ok(list) => list.into_iter().map(|robot| {
                                let (id, disabled) = (robot.id, robot.disabled);
                                let perms = robot.permissions.iter()
                                    .map(|g| format!("{:?} {:?}", g.resource, g.action).to_lowercase())
                                    .collect::<Vec<_>>().join(", ");
                                view! {
                                    <tr data-robot=robot.name.clone()>
                                        <td class=format!("{TD} font-mono text-xs")>{robot.name.clone()}</td>
                                        <td class=TD>{perms}</td>
                                        <td class=TD>{robot.expires_at.clone().map(|e| e[..10].to_string()).unwrap_or_else(|| "Never".into())}</td>
                                        <td class=TD>{if disabled { view! { <Badge text="Disabled" tone="red" /> } } else { view! { <Badge text="Enabled" tone="green" /> } }}</td>
                                        <td class=format!("{TD} text-right space-x-2")>
                                            <Show when=move || manage>
                                                <button class=BUTTON_SECONDARY on:click=move |_| { toggle.dispatch((id, !disabled)); }>
                                                    {if disabled { "Enable" } else { "Disable" }}
                                                </button>
                                                <button class=BUTTON_DANGER on:click=move |_| { delete.dispatch(id); }>"Delete"</button>
                                            </Show>
                                        </td>
                                    </tr>
                                }
                            }).collect_view().into_any(),
                        })}
                    </Transition>
                </tbody>
            </table></div>
        </div>
        <Modal title="New robot account" open=dialog>
            <form method="post" class="space-y-4" on:submit=move |ev| { ev.prevent_default(); create.dispatch(()); }>
                <label class="block text-sm font-medium text-slate-700">"Name"
                    <input name="robot-name" required class=format!("mt-1 {INPUT}") bind:value=robot_name placeholder="ci" />
                </label>
                <label class="block text-sm font-medium text-slate-700">"Description"
                    <input name="robot-description" class=format!("mt-1 {INPUT}") bind:value=description />
                </label>
                <label class="block text-sm font-medium text-slate-700">"Expires after (days, -1 never)"
                    <input name="robot-days" class=format!("mt-1 {INPUT}") bind:value=days />
                </label>
                <label class="flex items-center gap-2 text-sm text-slate-700">
                    <input type="checkbox" name="robot-push" bind:checked=push />
                    "May push (pull is always granted)"
                </label>
                <div class="flex justify-end gap-2 pt-2">
                    <button type="button" class=BUTTON_SECONDARY on:click=move |_| dialog.set(false)>"Cancel"</button>
                    <button type="submit" class=BUTTON_PRIMARY>"Create"</button>
                </div>
            </form>
        </Modal>
        <Modal title="Robot account created" open=secret_open>
            {move || revealed.get().map(|s| view! {
                <p class="text-sm text-slate-600">"Copy the secret now: Berth stores only its hash and cannot show it again."</p>
                <dl class="mt-4 space-y-3 text-sm">
                    <div><dt class="font-medium text-slate-500">"Name"</dt>
                        <dd class="font-mono text-slate-900" data-testid="robot-name">{s.name.clone()}</dd></div>
                    <div><dt class="font-medium text-slate-500">"Secret"</dt>
                        <dd class="break-all rounded bg-slate-100 p-2 font-mono text-slate-900" data-testid="robot-secret">{s.secret.clone()}</dd></div>
                </dl>
            })}
            <div class="mt-6 flex justify-end gap-2">
                <button type="button" class=BUTTON_SECONDARY on:click=copy>"Copy secret"</button>
                <button type="button" class=BUTTON_PRIMARY on:click=move |_| { secret_open.set(false); revealed.set(None); }>"Done"</button>
            </div>
        </Modal>
    }
}

/// Storage used against the project's quota. A layer shared by repositories of this project
/// counts once; shared with other projects, it counts in each of them.
#[component]
fn QuotaBar(project: String) -> impl IntoView {
    let quota = Resource::new(move || project.clone(), crate::api::project_quota);
    view! {
        <Transition fallback=|| ()>
            {move || quota.get().and_then(|r| r.ok()).map(|q| {
                let used = crate::components::widgets::human_size(q.used.max(0) as u64);
                let (label, percent) = if q.limit < 0 {
                    (format!("{used} used · no storage limit"), 0)
                } else {
                    let limit = crate::components::widgets::human_size(q.limit as u64);
                    let pct = if q.limit == 0 { 100 } else { (q.used.saturating_mul(100) / q.limit).min(100) };
                    (format!("{used} of {limit} used ({pct}%)"), pct)
                };
                let bar = if percent >= 85 { "h-full bg-amber-500" } else { "h-full bg-sky-500" };
                view! {
                    <div class="mt-3 max-w-md" data-testid="quota"
                        title="Each blob counts once per project, however many of its repositories share it; a blob shared with another project counts in both.">
                        <div class="flex justify-between text-xs text-slate-500"><span>"Storage"</span><span>{label}</span></div>
                        {(q.limit >= 0).then(|| view! {
                            <div class="mt-1 h-1.5 overflow-hidden rounded bg-slate-200">
                                <div class=bar style=format!("width: {percent}%") />
                            </div>
                        })}
                        {(!q.repositories.is_empty()).then(|| view! {
                            <details class="mt-2 text-xs text-slate-600" data-testid="quota-breakdown">
                                <summary class="cursor-pointer text-slate-500">"By repository"</summary>
                                <p class="mt-1 text-slate-400">"A layer shared by several repositories is listed in each, and counted once in the project's total."</p>
                                <table class="mt-1 w-full"><tbody>
                                    {q.repositories.iter().map(|r| view! {
                                        <tr data-repository-usage=r.name.clone()>
                                            <td class="py-0.5 font-mono">{r.name.clone()}</td>
                                            <td class="py-0.5 text-right">{crate::components::widgets::human_size(r.used.max(0) as u64)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody></table>
                            </details>
                        })}
                    </div>
                }
            })}
        </Transition>
    }
}
