//! One project: its members and robot accounts. Actions the caller may not perform are not
//! offered; the same policy on the server refuses them anyway.

use domain::policy::authz::{Action as Act, Resource as Res};
use domain::types::dto::{MemberKind, ProjectView};
use domain::types::Role;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{
    add_member, delete_project, get_project, list_members, remove_member, update_member,
    update_project_settings,
};
use crate::components::permissions::may;
use crate::components::session::use_current_user;
use crate::components::toast::use_toasts;
use crate::components::widgets::server_message;
use crate::components::widgets::{
    field_error_id, use_confirm, Badge, ConfirmRequest, FieldError, FormAlert, FormError, TabLinks,
    BUTTON_DANGER, BUTTON_PRIMARY, INPUT, TABLE, TD, TH,
};

/// The tabs of a project page: their path segment (`/projects/{name}/{segment}`) and label.
pub(crate) const TABS: [(&str, &str); 9] = [
    ("repositories", "Repositories"),
    ("members", "Members"),
    ("robots", "Robot accounts"),
    ("retention", "Tag retention"),
    ("immutable", "Immutable tags"),
    ("trust", "Trust"),
    ("vulnerability", "Vulnerability"),
    ("logs", "Logs"),
    ("settings", "Settings"),
];

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let tab = move || {
        params
            .read()
            .get("tab")
            .filter(|t| TABS.iter().any(|(k, _)| k == t))
            .unwrap_or_else(|| "repositories".into())
    };
    let project = Resource::new(name, get_project);
    let user = use_current_user();

    view! {
        <Title text=move || name() />
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || project.get().map(|result| match result {
                Err(e) => view! { <p class="text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                Ok(p) => {
                    let is_admin = user.is_admin();
                    let visible = |key: &str| match key {
                        "members" => may(is_admin, &p, Res::Member, Act::List),
                        "robots" => may(is_admin, &p, Res::Robot, Act::List),
                        "retention" => may(is_admin, &p, Res::TagRetention, Act::Read),
                        "immutable" => may(is_admin, &p, Res::ImmutableTag, Act::List),
                        "trust" => may(is_admin, &p, Res::TrustAnchor, Act::List),
                        "logs" => may(is_admin, &p, Res::AuditLog, Act::List),
                        "settings" => may(is_admin, &p, Res::Project, Act::Update),
                        _ => true,
                    };
                    let tabs: Vec<(String, &'static str, &'static str)> = TABS
                        .iter()
                        .filter(|(k, _)| visible(k))
                        .map(|(k, label)| (format!("/projects/{}/{k}", p.name), *k, *label))
                        .collect();
                    let can_edit_retention = may(is_admin, &p, Res::TagRetention, Act::Update);
                    let can_edit_immutable = may(is_admin, &p, Res::ImmutableTag, Act::Create);
                    let can_edit_vuln = may(is_admin, &p, Res::Project, Act::Update);
                    let can_edit_trust = may(is_admin, &p, Res::TrustAnchor, Act::Create);
                    let allowed = StoredValue::new(tabs.iter().map(|(_, k, _)| *k).collect::<Vec<_>>());
                    let p = StoredValue::new(p);
                    view! {
                        <div class="mb-6 border-b border-slate-200 pb-4">
                            <div class="flex items-center gap-3">
                                <h1 class="text-2xl font-semibold tracking-tight text-slate-900">{p.read_value().name.clone()}</h1>
                                {if p.read_value().public { view! { <Badge text="Public" tone="green" /> } } else { view! { <Badge text="Private" /> } }}
                                {p.read_value().current_role.map(|r| view! { <Badge text=r.label() tone="blue" /> })}
                            </div>
                            <super::repository::PushHint project=p.read_value().name.clone() />
                            <QuotaBar project=p.read_value().name.clone() />
                        </div>
                        <TabLinks label="Project sections" tabs current=Signal::derive(tab) />
                        <div role="tabpanel" id="tab-panel" aria-labelledby=move || format!("tab-{}", tab())>
                        {move || {
                            let t = tab();
                            let p = p.get_value();
                            if !allowed.read_value().contains(&t.as_str()) {
                                return view! { <p class="text-sm text-slate-500">"Your role in this project does not include this section."</p> }.into_any();
                            }
                            match t.as_str() {
                                "members" => view! { <MembersTab project=p is_admin /> }.into_any(),
                                "robots" => {
                                    let manage = may(is_admin, &p, Res::Robot, Act::Create);
                                    view! { <super::robots::RobotsPanel project=Some(p.name.clone()) manage /> }.into_any()
                                }
                                "retention" => view! {
                                    <super::retention::RetentionTab project=p.name.clone() can_edit=can_edit_retention />
                                }.into_any(),
                                "immutable" => view! {
                                    <super::immutability::ImmutabilityTab project=p.name.clone() can_edit=can_edit_immutable />
                                }.into_any(),
                                "trust" => view! {
                                    <super::trust::TrustTab project=p.name.clone() metadata=p.metadata.clone()
                                        can_edit=can_edit_trust can_set_policy=can_edit_vuln />
                                }.into_any(),
                                "logs" => view! { <super::audit::AuditLog project=Some(p.name.clone()) /> }.into_any(),
                                "settings" => view! { <SettingsTab project=p is_admin /> }.into_any(),
                                "vulnerability" => view! {
                                    <super::vulnerabilities::VulnerabilityTab project=p.name.clone() can_edit=can_edit_vuln />
                                }.into_any(),
                                _ => view! { <super::repository::RepositoriesTab project=p /> }.into_any(),
                            }
                        }}
                        </div>
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
    let confirm = use_confirm();
    let user = use_current_user();
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
            <form method="post" data-testid="add-member" class="mb-6 flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-surface p-4"
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
        <div class="rounded-lg border border-slate-200 bg-surface">
            <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                <thead class="bg-slate-50"><tr>
                    <th class=TH>"Member"</th><th class=TH>"Type"</th><th class=TH>"Role"</th><th class=TH></th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    <Transition fallback=|| ()>
                        {move || members.get().map(|r| match r {
                            Err(e) => view! { <tr><td class=TD colspan="4">{server_message(&e)}</td></tr> }.into_any(),
                            Ok(list) => list.into_iter().map(|m| {
                                let id = m.id;
                                let remove_who = m.name.clone();
                                view! {
                                    <tr data-member=m.name.clone()>
                                        <td class=format!("{TD} font-medium")>{m.name.clone()}</td>
                                        <td class=TD>{match m.kind { MemberKind::User => "User", MemberKind::Group => "Group" }}</td>
                                        <td class=TD>
                                            {if manage {
                                                view! {
                                                    <select aria-label=format!("Role of {}", m.name) class="rounded-md border border-slate-300 px-2 py-1 text-sm"
                                                        on:change={
                                                            let (who, old) = (m.name.clone(), m.role);
                                                            move |ev| {
                                                                let Ok(role) = event_target_value(&ev).parse::<Role>() else { return };
                                                                let me = user.get_untracked().is_some_and(|u| u.username == who);
                                                                if me && role.rank() < old.rank() {
                                                                    confirm.ask(ConfirmRequest {
                                                                        title: "Change your own role",
                                                                        message: format!("You are about to make yourself {} in this project: you may lose rights you need to undo it.", role.label()),
                                                                        action: "Change my role",
                                                                        typed: None,
                                                                        danger: true,
                                                                        on_confirm: Callback::new(move |_| { change.dispatch((id, role)); }),
                                                                    });
                                                                    members.refetch();
                                                                } else {
                                                                    change.dispatch((id, role));
                                                                }
                                                            }
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
                                                <button class=BUTTON_DANGER on:click={
                                                    let who = remove_who.clone();
                                                    move |_| confirm.danger("Remove member", format!("Remove {who} from this project? They lose the access this membership gave them."), "Remove", move || { remove.dispatch(id); })
                                                }>"Remove"</button>
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
                                <p class="mt-1 text-slate-500">"A layer shared by several repositories is listed in each, and counted once in the project's total."</p>
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

/// A project's own settings: visibility, storage limit (system administrators), and deletion.
#[component]
fn SettingsTab(project: ProjectView, is_admin: bool) -> impl IntoView {
    let toasts = use_toasts();
    let confirm = use_confirm();
    let name = StoredValue::new(project.name.clone());
    let public = RwSignal::new(project.public);
    let shown_limit = if project.storage_limit < 0 {
        "-1".to_string()
    } else {
        crate::components::widgets::human_size(project.storage_limit as u64)
    };
    let initial_limit = StoredValue::new(shown_limit.clone());
    let limit = RwSignal::new(shown_limit);
    let can_delete = may(is_admin, &project, Res::Project, Act::Delete);
    let can_set_quota =
        crate::components::permissions::may_system(is_admin, Res::Quota, Act::Update);
    let form = FormError::new();
    let save = Action::new(move |_: &()| {
        let (n, p) = (name.get_value(), public.get_untracked());
        // Only a limit the administrator changed is sent (the shown one is rounded).
        let l = Some(limit.get_untracked())
            .filter(|l| can_set_quota && *l != initial_limit.get_value())
            .unwrap_or_default();
        async move {
            form.clear();
            match update_project_settings(n, p, l).await {
                Ok(_) => toasts.success("Project settings saved"),
                Err(e) => form.set(&e),
            }
        }
    });
    let remove = Action::new(move |_: &()| {
        let n = name.get_value();
        async move {
            match delete_project(n.clone()).await {
                Ok(()) => crate::components::session::hard_navigate("/projects"),
                Err(e) => toasts.error(server_message(&e)),
            }
        }
    });
    view! {
        <div class="space-y-6">
            <form method="post" class="max-w-xl space-y-4 rounded-lg border border-slate-200 bg-surface p-6" data-testid="project-settings"
                on:submit=move |ev| { ev.prevent_default(); save.dispatch(()); }>
                <FormAlert form shown=|f| f == "storage_limit" />
                <label class="flex items-center gap-2 text-sm text-slate-700">
                    <input type="checkbox" name="public" bind:checked=public />
                    "Public: anyone may pull, without signing in"
                </label>
                {can_set_quota.then(|| view! {
                    <label class="block text-sm font-medium text-slate-700">"Storage limit (e.g. 50GB, 512MiB; -1 for none)"
                        <input name="storage-limit" class=format!("mt-1 {INPUT}") bind:value=limit
                            aria-invalid=move || form.for_field("storage_limit").is_some().then_some("true")
                            aria-describedby=move || form.for_field("storage_limit").map(|_| field_error_id("storage_limit")) />
                    </label>
                    <FieldError form field="storage_limit" />
                })}
                <button type="submit" class=BUTTON_PRIMARY>"Save"</button>
            </form>
            <super::labels::LabelsEditor project=Some(name.get_value())
                can_edit=may(is_admin, &project, Res::Label, Act::Create) />
            {can_delete.then(|| view! {
                <section class="max-w-xl rounded-lg border border-red-200 bg-surface p-6" data-testid="danger-zone">
                    <h2 class="text-base font-semibold text-red-800">"Delete this project"</h2>
                    <p class="mt-1 text-sm text-slate-600">"Only an empty project can be deleted: delete its repositories first. Its members, robot accounts and policies go with it."</p>
                    <button type="button" class=format!("mt-4 {BUTTON_DANGER}") on:click=move |_| {
                        let n = name.get_value();
                        confirm.ask(ConfirmRequest {
                            title: "Delete project",
                            message: format!("Delete the project {n}, its members, robot accounts and policies? This cannot be undone."),
                            action: "Delete project",
                            typed: Some(n),
                            danger: true,
                            on_confirm: Callback::new(move |_| { remove.dispatch(()); }),
                        });
                    }>"Delete project"</button>
                </section>
            })}
        </div>
    }
}
