//! System administration: local users (create, grant system admin, disable), single sign-on,
//! storage across projects, garbage collection, and the policies the configuration declares.

use leptos::prelude::*;

use crate::api::{
    config_policies, create_user, delete_user, list_gc_runs, list_users, load_instance_info,
    oidc_ping, oidc_settings, reset_user_password, set_user_admin, set_user_disabled, start_gc,
    system_quota,
};
use crate::components::page::{EmptyState, PageHeader};
use crate::components::query::use_query_state;
use crate::components::session::use_current_user;
use crate::components::toast::use_toasts;
use crate::components::widgets::server_message;
use crate::components::widgets::{
    field_error_id, human_size, use_confirm, Badge, ConfirmRequest, FieldError, FormAlert,
    FormError, Modal, Pager, BUTTON_DANGER, BUTTON_PRIMARY, BUTTON_SECONDARY, INPUT, TABLE, TD, TH,
};

#[component]
pub fn AdminPage() -> impl IntoView {
    let user = use_current_user();
    view! {
        <PageHeader title="Administration" subtitle="Users and registry-wide settings." />
        <Transition fallback=|| ()>
            {move || if crate::components::permissions::may_administer(user.is_admin()) {
                view! {
                    <UsersAdmin /> <OidcAdmin /> <StorageAdmin /> <GcAdmin /> <EventsAdmin />
                    <div class="mt-8"><super::robots::RobotsPanel project=None manage=true /></div>
                    <div class="mt-8"><super::labels::LabelsEditor project=None can_edit=true /></div>
                    <super::scanning_admin::VulnDbAdmin /> <super::scanning_admin::ScannersAdmin />
                    <super::replication_admin::ReplicationAdmin />
                    <ConfigPolicies />
                }.into_any()
            } else {
                view! {
                    <EmptyState title="Administrators only">
                        "Sign in with a system administrator account to manage users."
                    </EmptyState>
                }.into_any()
            }}
        </Transition>
    }
}

#[component]
fn UsersAdmin() -> impl IntoView {
    let toasts = use_toasts();
    let me = use_current_user();
    let state = use_query_state();
    let users = Resource::new(
        move || (state.get("q"), state.page()),
        |(q, p)| list_users(q, p),
    );
    let dialog = RwSignal::new(false);
    let info = Resource::new(|| (), |_| load_instance_info());
    let username = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let admin = RwSignal::new(false);
    let form = FormError::new();
    let create = Action::new(move |_: &()| {
        let (u, e, p, a) = (
            username.get_untracked(),
            email.get_untracked(),
            password.get_untracked(),
            admin.get_untracked(),
        );
        async move {
            match create_user(u.clone(), e, p, a).await {
                Ok(_) => {
                    toasts.success(format!("User {u} created"));
                    dialog.set(false);
                    username.set(String::new());
                    password.set(String::new());
                    users.refetch();
                }
                Err(err) => form.set(&err),
            }
        }
    });
    let set_admin = Action::new(move |(id, on): &(i64, bool)| {
        let (id, on) = (*id, *on);
        async move {
            if let Err(e) = set_user_admin(id, on).await {
                toasts.error(server_message(&e));
            }
            users.refetch();
        }
    });
    let confirm = use_confirm();
    let remove = Action::new(move |id: &i64| {
        let id = *id;
        async move {
            match delete_user(id).await {
                Ok(()) => toasts.success("User deleted"),
                Err(e) => toasts.error(server_message(&e)),
            }
            users.refetch();
        }
    });
    // The password reset dialog: whose, the new password, and its refusal.
    let reset_for = RwSignal::new(None::<(i64, String)>);
    let reset_open = RwSignal::new(false);
    let reset_password = RwSignal::new(String::new());
    let reset_form = FormError::new();
    let reset = Action::new(move |_: &()| {
        let (target, pw) = (reset_for.get_untracked(), reset_password.get_untracked());
        async move {
            let Some((id, name)) = target else { return };
            reset_form.clear();
            match reset_user_password(id, pw).await {
                Ok(()) => {
                    toasts.success(format!("Password of {name} changed"));
                    reset_open.set(false);
                    reset_password.set(String::new());
                }
                Err(e) => reset_form.set(&e),
            }
        }
    });
    let set_disabled = Action::new(move |(id, on): &(i64, bool)| {
        let (id, on) = (*id, *on);
        async move {
            if let Err(e) = set_user_disabled(id, on).await {
                toasts.error(server_message(&e));
            }
            users.refetch();
        }
    });
    view! {
            <div class="mb-4 flex items-center justify-between gap-4">
                <input type="search" placeholder="Search users" aria-label="Search users" class=format!("max-w-xs {INPUT}")
                    prop:value=move || state.get("q")
                    on:input=move |ev| state.replace(&[("q", event_target_value(&ev))]) />
                <Transition fallback=|| ()>
                    {move || match info.get().and_then(|r| r.ok()).and_then(|i| i.oidc_name) {
                        // Under single sign-on people are onboarded by the provider, as in Harbor.
                        Some(name) => view! {
                            <p class="text-sm text-slate-500">{format!("Users are onboarded through {name}.")}</p>
                        }.into_any(),
                        None => view! {
                            <button class=BUTTON_PRIMARY on:click=move |_| dialog.set(true)>"New user"</button>
                        }.into_any(),
                    }}
                </Transition>
            </div>
            <Transition fallback=|| ()>
                {move || users.get().map(|r| {
                    let total = r.as_ref().map(|p| p.total).unwrap_or(0);
                    let rows = match r {
                        Err(e) => view! { <tr><td class=TD colspan="5">{server_message(&e)}</td></tr> }.into_any(),
                        Ok(p) => p.items.into_iter().map(|u| {
                            let (id, is_admin, disabled) = (u.id, u.is_admin, u.disabled);
                            let is_me = me.get().is_some_and(|m| m.username == u.username);
                            let name = StoredValue::new(u.username.clone());
                            let local = !u.oidc;
                            view! {
                                <tr data-user=u.username.clone()>
                                    <td class=format!("{TD} font-medium")>{u.username.clone()}</td>
                                    <td class=TD>{u.email.clone().unwrap_or_default()}</td>
                                    <td class=TD>{if is_admin { view! { <Badge text="System admin" tone="blue" /> } } else { view! { <Badge text="User" /> } }}</td>
                                    <td class=TD>{if disabled { view! { <Badge text="Disabled" tone="red" /> } } else { view! { <Badge text="Active" tone="green" /> } }}</td>
                                    <td class=format!("{TD} space-x-2 text-right")>
                                        <Show when=move || !is_me>
                                            <button class=BUTTON_SECONDARY on:click={
                                                let name = name.get_value();
                                                move |_| confirm.ask(ConfirmRequest {
                                                    title: if is_admin { "Revoke system administrator" } else { "Make system administrator" },
                                                    message: if is_admin {
                                                        format!("{name} will no longer administer this registry.")
                                                    } else {
                                                        format!("{name} will be able to manage every project, user and setting of this registry.")
                                                    },
                                                    action: if is_admin { "Revoke admin" } else { "Make admin" },
                                                    typed: None,
                                                    danger: is_admin,
                                                    on_confirm: Callback::new(move |_| { set_admin.dispatch((id, !is_admin)); }),
                                                })
                                            }>
                                                {if is_admin { "Revoke admin" } else { "Make admin" }}
                                            </button>
                                            <button class=BUTTON_SECONDARY on:click={
                                                let name = name.get_value();
                                                move |_| if disabled {
                                                    set_disabled.dispatch((id, false));
                                                } else {
                                                    confirm.danger("Disable user", format!("Disable {name}? They can no longer sign in, push or pull."), "Disable", move || { set_disabled.dispatch((id, true)); });
                                                }
                                            }>
                                                {if disabled { "Enable" } else { "Disable" }}
                                            </button>
                                            <Show when=move || local>
                                                <button class=BUTTON_SECONDARY on:click={
                                                    let name = name.get_value();
                                                    move |_| { reset_form.clear(); reset_for.set(Some((id, name.clone()))); reset_open.set(true); }
                                                }>"Reset password"</button>
                                            </Show>
                                            <button class=BUTTON_DANGER on:click={
                                                let name = name.get_value();
                                                move |_| confirm.ask(ConfirmRequest {
                                                    title: "Delete user",
                                                    message: format!("Delete the user {name}? Their project memberships go with them. This cannot be undone."),
                                                    action: "Delete user",
                                                    typed: Some(name.clone()),
                                                    danger: true,
                                                    on_confirm: Callback::new(move |_| { remove.dispatch(id); }),
                                                })
                                            }>"Delete"</button>
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
                                    <th class=TH>"Username"</th><th class=TH>"Email"</th><th class=TH>"Role"</th>
                                    <th class=TH>"Status"</th><th class=TH></th>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100">{rows}</tbody>
                            </table></div>
                            <Pager state total page_size=20 />
                        </div>
                    }
                })}
            </Transition>
            <Modal title="New user" open=dialog>
                <form method="post" class="space-y-4" on:submit=move |ev| { ev.prevent_default(); form.clear(); create.dispatch(()); }>
                    <FormAlert form shown=|f| ["username", "email", "password"].contains(&f) />
                    <label class="block text-sm font-medium text-slate-700">"Username"
                        <input name="new-username" required class=format!("mt-1 {INPUT}") bind:value=username
                            aria-invalid=move || form.for_field("username").is_some().then_some("true")
                            aria-describedby=move || form.for_field("username").map(|_| field_error_id("username")) /></label>
                    <FieldError form field="username" />
                    <label class="block text-sm font-medium text-slate-700">"Email"
                        <input name="new-email" type="email" class=format!("mt-1 {INPUT}") bind:value=email
                            aria-invalid=move || form.for_field("email").is_some().then_some("true")
                            aria-describedby=move || form.for_field("email").map(|_| field_error_id("email")) /></label>
                    <FieldError form field="email" />
                    <label class="block text-sm font-medium text-slate-700">"Password (8 characters or more)"
                        <input name="new-password" type="password" required class=format!("mt-1 {INPUT}") bind:value=password
                            aria-invalid=move || form.for_field("password").is_some().then_some("true")
                            aria-describedby=move || form.for_field("password").map(|_| field_error_id("password")) /></label>
                    <FieldError form field="password" />
                    <label class="flex items-center gap-2 text-sm text-slate-700">
                        <input type="checkbox" bind:checked=admin />"System administrator"</label>
                    <div class="flex justify-end gap-2 pt-2">
                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| dialog.set(false)>"Cancel"</button>
                        <button type="submit" class=BUTTON_PRIMARY>"Create user"</button>
                    </div>
                </form>
            </Modal>
            <Modal title="Reset password" open=reset_open>
                <form method="post" class="space-y-4" on:submit=move |ev| { ev.prevent_default(); reset.dispatch(()); }>
                    <p class="text-sm text-slate-600">{move || reset_for.get().map(|(_, n)| format!("A new password for {n}. Tell them through a channel you trust."))}</p>
                    <FormAlert form=reset_form shown=|f| f == "password" />
                    <label class="block text-sm font-medium text-slate-700">"New password"
                        <input name="reset-password" type="password" required autocomplete="new-password" class=format!("mt-1 {INPUT}") bind:value=reset_password
                            aria-invalid=move || reset_form.for_field("password").is_some().then_some("true")
                            aria-describedby=move || reset_form.for_field("password").map(|_| field_error_id("password")) /></label>
                    <FieldError form=reset_form field="password" />
                    <div class="flex justify-end gap-2 pt-2">
                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| reset_open.set(false)>"Cancel"</button>
                        <button type="submit" class=BUTTON_PRIMARY>"Set password"</button>
                    </div>
                </form>
            </Modal>
        }
}

/// The identity provider settings (secret masked) and "Test OIDC server".
#[component]
fn OidcAdmin() -> impl IntoView {
    let settings = Resource::new(|| (), |_| oidc_settings());
    let result = RwSignal::new(None::<Result<String, String>>);
    let ping = Action::new(move |_: &()| async move {
        result.set(Some(oidc_ping().await.map_err(|e| server_message(&e))));
    });
    view! {
        <Suspense fallback=|| ()>
            {move || settings.get().and_then(|r| r.ok()).flatten().map(|s| {
                let rows: Vec<(&'static str, String)> = vec![
                    ("Name", s.name),
                    ("Endpoint", s.endpoint),
                    ("Client ID", s.client_id),
                    ("Client secret", if s.client_secret_set { "•••••• (set)".into() } else { "(not set)".into() }),
                    ("Scope", s.scope),
                    ("Verify certificate", s.verify_cert.to_string()),
                    ("Automatic onboarding", s.auto_onboard.to_string()),
                    ("Username claim", s.user_claim),
                    ("Groups claim", s.groups_claim),
                    ("Admin group", s.admin_group),
                    ("Group filter", s.group_filter),
                    ("Extra redirect parameters", s.extra_redirect_params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")),
                    ("CLI secret lifetime", format!("{} days", s.cli_secret_lifetime_days)),
                ];
                view! {
                    <section class="mt-8 rounded-lg border border-slate-200 bg-surface" data-testid="oidc-settings">
                        <div class="flex items-center justify-between border-b border-slate-100 px-6 py-4">
                            <div>
                                <h2 class="text-base font-semibold text-slate-900">"Single sign-on (OpenID Connect)"</h2>
                                <p class="text-sm text-slate-500">"Set in the configuration file; shown here read-only."</p>
                            </div>
                            <button type="button" class=BUTTON_SECONDARY data-testid="oidc-ping"
                                disabled=move || ping.pending().get()
                                on:click=move |_| { ping.dispatch(()); }>
                                "Test OIDC server"
                            </button>
                        </div>
                        {move || result.get().map(|r| match r {
                            Ok(m) => view! { <p class="border-b border-slate-100 bg-emerald-50 px-6 py-3 text-sm text-emerald-800" data-testid="oidc-ping-result">{m}</p> }.into_any(),
                            Err(m) => view! { <p class="border-b border-slate-100 bg-red-50 px-6 py-3 text-sm text-red-800" data-testid="oidc-ping-result">{m}</p> }.into_any(),
                        })}
                        <dl class="divide-y divide-slate-100 text-sm">
                            {rows.into_iter().map(|(k, v)| view! {
                                <div class="grid grid-cols-3 gap-4 px-6 py-3">
                                    <dt class="font-medium text-slate-500">{k}</dt>
                                    <dd class="col-span-2 font-mono text-slate-900">{v}</dd>
                                </div>
                            }).collect_view()}
                        </dl>
                    </section>
                }
            })}
        </Suspense>
    }
}

fn limit_text(limit: i64) -> String {
    if limit < 0 {
        "unlimited".into()
    } else {
        human_size(limit as u64)
    }
}

fn percent(used: i64, limit: i64) -> Option<i64> {
    (limit >= 0).then(|| {
        if limit == 0 {
            100
        } else {
            (used.saturating_mul(100) / limit).min(100)
        }
    })
}

/// Storage used by every project against its limit, and by the registry against the global one.
#[component]
fn StorageAdmin() -> impl IntoView {
    let quota = Resource::new(|| (), |_| system_quota());
    view! {
        <section class="mt-8 rounded-lg border border-slate-200 bg-surface" data-testid="system-quota">
            <div class="border-b border-slate-100 px-6 py-4">
                <h2 class="text-base font-semibold text-slate-900">"Storage"</h2>
                <p class="text-sm text-slate-500">"A blob counts once in each project that holds it, however many of the project's repositories share it; the registry total counts it once per project, as the limits do."</p>
            </div>
            <Transition fallback=|| ()>
                {move || quota.get().map(|r| match r {
                    Err(e) => view! { <p class="px-6 py-4 text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                    Ok(q) => {
                        let total = match percent(q.global_used, q.global_limit) {
                            Some(p) => format!("{} of {} ({p}%)", human_size(q.global_used.max(0) as u64), limit_text(q.global_limit)),
                            None => format!("{} · no global limit", human_size(q.global_used.max(0) as u64)),
                        };
                        view! {
                            <p class="px-6 py-3 text-sm text-slate-700" data-testid="global-usage">
                                <span class="font-medium">"Registry: "</span>{total}
                                <span class="ml-3 text-slate-500">{format!("new projects get {}", limit_text(q.default_project_limit))}</span>
                            </p>
                            <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                                <thead class="bg-slate-50"><tr>
                                    <th class=TH>"Project"</th><th class=TH>"Used"</th><th class=TH>"Limit"</th><th class=TH>"Share of limit"</th>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100">
                                    {q.projects.into_iter().map(|p| {
                                        let pct = percent(p.used, p.limit);
                                        view! {
                                            <tr data-project-usage=p.name.clone()>
                                                <td class=TD>{p.name.clone()}</td>
                                                <td class=TD>{human_size(p.used.max(0) as u64)}</td>
                                                <td class=TD>{limit_text(p.limit)}</td>
                                                <td class=TD>{pct.map(|p| format!("{p}%")).unwrap_or_else(|| "—".into())}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// Garbage collection: run now or dry run, and the recorded runs with their progress.
#[component]
fn GcAdmin() -> impl IntoView {
    let toasts = use_toasts();
    let runs = Resource::new(|| (), |_| list_gc_runs());
    let delete_untagged = RwSignal::new(false);
    let start = Action::new(move |dry: &bool| {
        let dry = *dry;
        async move {
            match start_gc(dry, delete_untagged.get_untracked()).await {
                Ok(id) => toasts.success(format!("Garbage collection run {id} started")),
                Err(e) => toasts.error(server_message(&e)),
            }
            runs.refetch();
        }
    });
    // While a run is in progress, look again every second.
    Effect::new(move |_| {
        let running = runs
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|rs| rs.iter().any(|r| r.status == "running"));
        if running {
            set_timeout(move || runs.refetch(), std::time::Duration::from_secs(1));
        }
    });
    view! {
        <section class="mt-8 rounded-lg border border-slate-200 bg-surface" data-testid="gc">
            <div class="flex flex-wrap items-center justify-between gap-4 border-b border-slate-100 px-6 py-4">
                <div>
                    <h2 class="text-base font-semibold text-slate-900">"Garbage collection"</h2>
                    <p class="text-sm text-slate-500">"Deletes blobs no manifest references any more, while the registry keeps serving. Blobs younger than the configured window are never touched."</p>
                </div>
                <div class="flex items-center gap-3">
                    <label class="flex items-center gap-2 text-sm text-slate-700">
                        <input type="checkbox" bind:checked=delete_untagged />"Also delete untagged artifacts"
                    </label>
                    <button type="button" class=BUTTON_SECONDARY data-testid="gc-dry-run"
                        disabled=move || start.pending().get() on:click=move |_| { start.dispatch(true); }>"Dry run"</button>
                    <button type="button" class=BUTTON_PRIMARY data-testid="gc-run"
                        disabled=move || start.pending().get() on:click=move |_| { start.dispatch(false); }>"Run now"</button>
                </div>
            </div>
            <Transition fallback=|| ()>
                {move || runs.get().map(|r| match r {
                    Err(e) => view! { <p class="px-6 py-4 text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                    Ok(rs) if rs.is_empty() => view! { <p class="px-6 py-4 text-sm text-slate-500">"No runs yet."</p> }.into_any(),
                    Ok(rs) => view! {
                        <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                            <thead class="bg-slate-50"><tr>
                                <th class=TH>"Run"</th><th class=TH>"Started (UTC)"</th><th class=TH>"By"</th><th class=TH>"Kind"</th>
                                <th class=TH>"Status"</th><th class=TH>"Result"</th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100">
                                {rs.into_iter().map(|run| {
                                    let status = match run.status.as_str() {
                                        "success" => view! { <Badge text="success" tone="green" /> }.into_any(),
                                        "running" => view! { <Badge text=format!("{} {}/{}", run.phase, run.done, run.total) tone="blue" /> }.into_any(),
                                        other => view! { <Badge text=other.to_string() tone="red" /> }.into_any(),
                                    };
                                    let result = match (&run.report, &run.error) {
                                        (Some(r), _) => format!(
                                            "{}{} blobs, {}{}{} in {} ms",
                                            if r.dry_run { "would delete " } else { "deleted " },
                                            r.blobs_deleted,
                                            human_size(r.bytes_freed),
                                            if r.untagged_artifacts_deleted > 0 { format!(", {} untagged artifacts", r.untagged_artifacts_deleted) } else { String::new() },
                                            if r.blobs_rescued > 0 { format!(", {} re-referenced and kept", r.blobs_rescued) } else { String::new() },
                                            r.elapsed_ms
                                        ),
                                        (None, Some(e)) => e.clone(),
                                        (None, None) => "in progress".into(),
                                    };
                                    view! {
                                        <tr data-gc-run=run.id.to_string() data-status=run.status.clone()>
                                            <td class=TD>{run.id}</td>
                                            <td class=format!("{TD} whitespace-nowrap font-mono text-xs")>{run.started_at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                            <td class=TD>{format!("{} ({})", run.actor, run.trigger)}</td>
                                            <td class=TD>{if run.dry_run { "dry run" } else { "run" }}{if run.delete_untagged { " + untagged" } else { "" }}</td>
                                            <td class=TD>{status}</td>
                                            <td class=format!("{TD} text-xs")>{result}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The policies the configuration file declares. They apply as written; the console shows them
/// and marks them, and only the file changes them.
#[component]
fn ConfigPolicies() -> impl IntoView {
    let policies = Resource::new(|| (), |_| config_policies());
    view! {
        <section class="mt-8 rounded-lg border border-slate-200 bg-surface" data-testid="config-policies">
            <div class="border-b border-slate-100 px-6 py-4">
                <h2 class="text-base font-semibold text-slate-900">"Policies from configuration"</h2>
                <p class="text-sm text-slate-500">"Declared in the configuration file and applied at start (or with berth apply); change them there."</p>
            </div>
            <Transition fallback=|| ()>
                {move || policies.get().and_then(|r| r.ok()).map(|c| {
                    let list = |items: Vec<String>| if items.is_empty() {
                        view! { <span class="text-slate-500">"none"</span> }.into_any()
                    } else {
                        view! { <ul class="space-y-1">{items.into_iter().map(|i| view! { <li>{i}</li> }).collect_view()}</ul> }.into_any()
                    };
                    let rows: Vec<(&'static str, AnyView)> = vec![
                        ("Tag retention (projects without their own rules)", list(c.retention)),
                        ("Retention schedule", view! { <span>{c.retention_schedule.unwrap_or_else(|| "manual runs only".into())}</span> }.into_any()),
                        ("Immutable tags (every project)", list(c.immutable)),
                        ("Storage quota per project", view! { <span>{c.per_project_quota}</span> }.into_any()),
                        ("Storage quota, whole registry", view! { <span>{c.global_quota}</span> }.into_any()),
                        ("Garbage collection schedule", view! { <span>{c.gc_schedule.map(|s| format!("{s} (UTC){}", if c.gc_delete_untagged { ", untagged artifacts too" } else { "" })).unwrap_or_else(|| "manual runs only".into())}</span> }.into_any()),
                        ("Garbage collection window", view! { <span>{c.gc_window}</span> }.into_any()),
                    ];
                    view! {
                        <dl class="divide-y divide-slate-100 text-sm">
                            {rows.into_iter().map(|(k, v)| view! {
                                <div class="grid grid-cols-3 gap-4 px-6 py-3">
                                    <dt class="font-medium text-slate-500">{k}</dt>
                                    <dd class="col-span-2 font-mono text-slate-900" data-config=k>{v}</dd>
                                </div>
                            }).collect_view()}
                        </dl>
                    }
                })}
            </Transition>
        </section>
    }
}

/// The event consumers (scan on push, …): how far behind each is and which replica works it.
#[component]
fn EventsAdmin() -> impl IntoView {
    let view = Resource::new(|| (), |_| crate::api::event_consumers());
    view! {
        <section class="mt-8 rounded-lg border border-slate-200 bg-surface" data-testid="event-consumers">
            <div class="flex flex-wrap items-center justify-between gap-4 border-b border-slate-100 px-6 py-4">
                <div>
                    <h2 class="text-base font-semibold text-slate-900">"Event consumers"</h2>
                    <p class="text-sm text-slate-500">"What reacts to changes, such as scan on push, reads them in order; the lag is how many it has not finished yet."</p>
                </div>
                <button type="button" class=BUTTON_SECONDARY on:click=move |_| view.refetch()>"Refresh"</button>
            </div>
            <Transition fallback=|| ()>
                {move || view.get().map(|r| match r {
                    Err(e) => view! { <p class="px-6 py-4 text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                    Ok(v) if v.consumers.is_empty() => view! { <p class="px-6 py-4 text-sm text-slate-500">"No consumer has run yet."</p> }.into_any(),
                    Ok(v) => view! {
                        <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                            <thead class="bg-slate-50"><tr>
                                <th class=TH>"Consumer"</th><th class=TH>"Lag"</th><th class=TH>"Last event"</th>
                                <th class=TH>"Lease"</th><th class=TH>"Updated (UTC)"</th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100">
                                {v.consumers.into_iter().map(|c| {
                                    let lag = if c.lag == 0 {
                                        view! { <Badge text="up to date" tone="green" /> }.into_any()
                                    } else {
                                        view! { <Badge text=format!("{} behind", c.lag) tone="blue" /> }.into_any()
                                    };
                                    view! {
                                        <tr data-testid="event-consumer">
                                            <td class=TD>{c.name}</td>
                                            <td class=TD>{lag}</td>
                                            <td class=TD>{format!("{} of {}", c.cursor, v.head)}</td>
                                            <td class=TD>{c.owner.unwrap_or_else(|| "free".into())}</td>
                                            <td class=TD>{c.updated_at}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
