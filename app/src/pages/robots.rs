//! Robot accounts of a project (its Robot accounts tab) or of the whole registry (system
//! robots, on the Administration page): create with any grantable permission, edit the
//! description and permissions, refresh the secret, disable, delete — each destructive step
//! confirmed, each secret shown once.

use domain::policy::authz::{Action as Act, Resource as Res, ROBOT_GRANTABLE};
use domain::types::dto::{RobotSecret, RobotView};
use leptos::prelude::*;

use crate::api::{
    create_robot, delete_robot, edit_robot, list_robots, list_system_robots, refresh_robot,
    set_robot_disabled,
};
use crate::components::toast::use_toasts;
use crate::components::widgets::server_message;
use crate::components::widgets::{
    field_error_id, use_confirm, Badge, FieldError, FormAlert, FormError, Modal, BUTTON_DANGER,
    BUTTON_PRIMARY, BUTTON_SECONDARY, INPUT, TABLE, TD, TH,
};

/// `repository:pull`, as Harbor writes a permission.
fn grant_label(resource: Res, action: Act) -> String {
    format!("{resource:?}:{action:?}").to_lowercase()
}

/// What the robot dialog edits.
#[derive(Clone, Default)]
struct Draft {
    /// The robot being edited; `None` for a new one.
    id: Option<i64>,
    name: String,
    description: String,
    days: String,
    grants: Vec<(Res, Act)>,
}

#[component]
pub fn RobotsPanel(project: Option<String>, manage: bool) -> impl IntoView {
    let toasts = use_toasts();
    let confirm = use_confirm();
    let scope = StoredValue::new(project);
    let robots = Resource::new(
        move || scope.get_value(),
        |p| async move {
            match p {
                Some(p) => list_robots(p).await,
                None => list_system_robots().await,
            }
        },
    );
    let dialog = RwSignal::new(false);
    let draft = RwSignal::new(Draft::default());
    let form = FormError::new();
    let revealed: RwSignal<Option<RobotSecret>> = RwSignal::new(None);
    let secret_open = RwSignal::new(false);
    let reveal = move |secret: RobotSecret| {
        revealed.set(Some(secret));
        secret_open.set(true);
    };
    let save = Action::new(move |_: &()| {
        let d = draft.get_untracked();
        let project = scope.get_value();
        async move {
            form.clear();
            let result = match d.id {
                Some(id) => edit_robot(id, d.description, d.grants).await.map(|_| None),
                None => {
                    let days = d.days.trim().parse::<i64>().unwrap_or(30);
                    create_robot(project, d.name, d.description, days, d.grants)
                        .await
                        .map(Some)
                }
            };
            match result {
                Ok(secret) => {
                    dialog.set(false);
                    match secret {
                        Some(s) => reveal(s),
                        None => toasts.success("Robot account updated"),
                    }
                    robots.refetch();
                }
                Err(e) => form.set(&e),
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
    let refresh = Action::new(move |id: &i64| {
        let id = *id;
        async move {
            match refresh_robot(id).await {
                Ok(secret) => reveal(secret),
                Err(e) => toasts.error(server_message(&e)),
            }
        }
    });
    let copy = move |_| {
        if let Some(secret) = revealed.get_untracked() {
            let _ = window().navigator().clipboard().write_text(&secret.secret);
            toasts.success("Secret copied to the clipboard");
        }
    };
    let open_new = move |_| {
        form.clear();
        draft.set(Draft {
            days: "30".into(),
            grants: vec![(Res::Repository, Act::Pull), (Res::Repository, Act::Push)],
            ..Default::default()
        });
        dialog.set(true);
    };
    let open_edit = move |r: &RobotView| {
        form.clear();
        draft.set(Draft {
            id: Some(r.id),
            name: r.name.clone(),
            description: r.description.clone(),
            days: String::new(),
            grants: r
                .permissions
                .iter()
                .map(|g| (g.resource, g.action))
                .collect(),
        });
        dialog.set(true);
    };
    let system = scope.read_value().is_none();

    view! {
        <section data-testid=if system { "system-robots" } else { "project-robots" }>
        {system.then(|| view! {
            <h2 class="mb-2 text-lg font-semibold text-slate-900">"System robot accounts"</h2>
            <p class="mb-4 text-sm text-slate-500">"Robots whose permissions apply in every project (CI systems that push anywhere, scanners that pull everything)."</p>
        })}
        <Show when=move || manage>
            <div class="mb-4 flex justify-end">
                <button class=BUTTON_PRIMARY on:click=open_new>"New robot account"</button>
            </div>
        </Show>
        <div class="rounded-lg border border-slate-200 bg-surface">
            <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                <thead class="bg-slate-50"><tr>
                    <th class=TH>"Name"</th><th class=TH>"Description"</th><th class=TH>"Permissions"</th><th class=TH>"Expires"</th>
                    <th class=TH>"Status"</th><th class=TH></th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    <Transition fallback=|| ()>
                        {move || robots.get().map(|r| match r {
                            Err(e) => view! { <tr><td class=TD colspan="6">{server_message(&e)}</td></tr> }.into_any(),
                            Ok(list) if list.is_empty() => view! {
                                <tr><td class=format!("{TD} text-slate-500") colspan="6">"No robot accounts."</td></tr>
                            }.into_any(),
                            Ok(list) => list.into_iter().map(|robot| {
                                let (id, disabled) = (robot.id, robot.disabled);
                                let perms = robot.permissions.iter()
                                    .map(|g| grant_label(g.resource, g.action))
                                    .collect::<Vec<_>>().join(", ");
                                let who = StoredValue::new(robot.name.clone());
                                let editable = StoredValue::new(robot.clone());
                                view! {
                                    <tr data-robot=robot.name.clone()>
                                        <td class=format!("{TD} font-mono text-xs")>{robot.name.clone()}</td>
                                        <td class=format!("{TD} text-xs")>{robot.description.clone()}</td>
                                        <td class=format!("{TD} text-xs")>{perms}</td>
                                        <td class=format!("{TD} whitespace-nowrap")>{robot.expires_at.clone().map(|e| e[..10].to_string()).unwrap_or_else(|| "Never".into())}</td>
                                        <td class=TD>{if disabled { view! { <Badge text="Disabled" tone="red" /> } } else { view! { <Badge text="Enabled" tone="green" /> } }}</td>
                                        <td class=format!("{TD} whitespace-nowrap text-right space-x-2")>
                                            <Show when=move || manage>
                                                <button class=BUTTON_SECONDARY on:click=move |_| open_edit(&editable.get_value())>"Edit"</button>
                                                <button class=BUTTON_SECONDARY on:click=move |_| {
                                                    confirm.danger("Refresh secret", format!("Issue {} a new secret? The current one stops working at once.", who.get_value()), "Refresh secret", move || { refresh.dispatch(id); });
                                                }>"Refresh secret"</button>
                                                <button class=BUTTON_SECONDARY on:click=move |_| if disabled {
                                                    toggle.dispatch((id, false));
                                                } else {
                                                    confirm.danger("Disable robot account", format!("Disable {}? Clients using it can no longer push or pull.", who.get_value()), "Disable", move || { toggle.dispatch((id, true)); });
                                                }>
                                                    {if disabled { "Enable" } else { "Disable" }}
                                                </button>
                                                <button class=BUTTON_DANGER on:click=move |_| {
                                                    confirm.danger("Delete robot account", format!("Delete {}? Its secret stops working at once.", who.get_value()), "Delete", move || { delete.dispatch(id); });
                                                }>"Delete"</button>
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
        <Modal title="Robot account" open=dialog>
            <form method="post" class="space-y-4" on:submit=move |ev| { ev.prevent_default(); save.dispatch(()); }>
                <FormAlert form shown=|f| f == "name" || f == "permissions" />
                {move || draft.get().id.is_none().then(|| view! {
                    <label class="block text-sm font-medium text-slate-700">"Name"
                        <input name="robot-name" required class=format!("mt-1 {INPUT}") placeholder="ci"
                            prop:value=move || draft.get().name
                            on:input=move |ev| draft.update(|d| d.name = event_target_value(&ev))
                            aria-invalid=move || form.for_field("name").is_some().then_some("true")
                            aria-describedby=move || form.for_field("name").map(|_| field_error_id("name")) />
                    </label>
                    <FieldError form field="name" />
                    <label class="block text-sm font-medium text-slate-700">"Expires after (days, -1 never)"
                        <input name="robot-days" class=format!("mt-1 {INPUT}")
                            prop:value=move || draft.get().days
                            on:input=move |ev| draft.update(|d| d.days = event_target_value(&ev)) />
                    </label>
                })}
                <label class="block text-sm font-medium text-slate-700">"Description"
                    <input name="robot-description" class=format!("mt-1 {INPUT}")
                        prop:value=move || draft.get().description
                        on:input=move |ev| draft.update(|d| d.description = event_target_value(&ev)) />
                </label>
                <fieldset>
                    <legend class="text-sm font-medium text-slate-700">"Permissions"</legend>
                    <div class="mt-2 grid grid-cols-2 gap-2">
                        {ROBOT_GRANTABLE.iter().map(|&(resource, action)| {
                            let label = grant_label(resource, action);
                            view! {
                                <label class="flex items-center gap-2 text-sm text-slate-700">
                                    <input type="checkbox" name=label.clone()
                                        prop:checked=move || draft.get().grants.contains(&(resource, action))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            draft.update(|d| {
                                                d.grants.retain(|g| *g != (resource, action));
                                                if on { d.grants.push((resource, action)); }
                                            });
                                        } />
                                    {label.clone()}
                                </label>
                            }
                        }).collect_view()}
                    </div>
                    <FieldError form field="permissions" />
                </fieldset>
                <div class="flex justify-end gap-2 pt-2">
                    <button type="button" class=BUTTON_SECONDARY on:click=move |_| dialog.set(false)>"Cancel"</button>
                    <button type="submit" class=BUTTON_PRIMARY>{move || if draft.get().id.is_some() { "Save" } else { "Create" }}</button>
                </div>
            </form>
        </Modal>
        <Modal title="Robot account secret" open=secret_open>
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
        </section>
    }
}
