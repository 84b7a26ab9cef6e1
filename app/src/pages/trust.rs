//! A project's trust anchors: the cosign public keys and Notation CA certificates its signature
//! policy trusts. Project administrators add and remove them; other members see them.

use leptos::prelude::*;

use crate::api::{add_trust_anchor, delete_trust_anchor, list_trust_anchors, set_signature_policy};
use crate::components::toast::use_toasts;
use crate::components::widgets::server_message;
use crate::components::widgets::{Badge, BUTTON_PRIMARY, BUTTON_SECONDARY, INPUT, TABLE, TD, TH};

#[component]
pub fn TrustTab(
    project: String,
    metadata: std::collections::BTreeMap<String, String>,
    can_edit: bool,
    can_set_policy: bool,
) -> impl IntoView {
    let toasts = use_toasts();
    let name = StoredValue::new(project);
    let on = |k: &str| metadata.get(k).map(String::as_str) == Some("true");
    let cosign = RwSignal::new(on("enable_content_trust_cosign"));
    let notation = RwSignal::new(on("enable_content_trust"));
    let mode = RwSignal::new(
        metadata
            .get("signature_policy")
            .cloned()
            .unwrap_or_else(|| "enforce".into()),
    );
    let save_policy = Action::new(move |_: &()| async move {
        match set_signature_policy(
            name.get_value(),
            cosign.get_untracked(),
            notation.get_untracked(),
            mode.get_untracked(),
        )
        .await
        {
            Ok(()) => toasts.success("Signature policy saved"),
            Err(e) => toasts.error(server_message(&e)),
        }
    });
    let anchors = Resource::new(move || name.get_value(), list_trust_anchors);
    let anchor_name = RwSignal::new(String::new());
    let kind = RwSignal::new("cosign".to_string());
    let pem = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let add = Action::new(move |_: &()| async move {
        let result = add_trust_anchor(
            name.get_value(),
            anchor_name.get_untracked(),
            kind.get_untracked(),
            pem.get_untracked(),
        )
        .await;
        match result {
            Ok(a) => {
                toasts.success(format!("`{}` is trusted", a.name));
                error.set(None);
                anchor_name.set(String::new());
                pem.set(String::new());
                anchors.refetch();
            }
            Err(e) => error.set(Some(server_message(&e))),
        }
    });
    let remove = Action::new(move |id: &i64| {
        let id = *id;
        async move {
            match delete_trust_anchor(name.get_value(), id).await {
                Ok(()) => toasts.success("Trust anchor removed"),
                Err(e) => toasts.error(server_message(&e)),
            }
            anchors.refetch();
        }
    });
    view! {
        <div class="space-y-6" data-testid="trust">
            <form method="post" class="flex flex-wrap items-end gap-4 rounded-lg border border-slate-200 bg-surface p-5" data-testid="signature-policy"
                on:submit=move |ev| { ev.prevent_default(); save_policy.dispatch(()); }>
                <label class="flex items-center gap-2 text-sm text-slate-700">
                    <input type="checkbox" disabled=!can_set_policy bind:checked=cosign />"Pulls need a cosign signature"</label>
                <label class="flex items-center gap-2 text-sm text-slate-700">
                    <input type="checkbox" disabled=!can_set_policy bind:checked=notation />"Pulls need a Notation signature"</label>
                <label class="text-sm text-slate-700">"Without one"
                    <select class=format!("ml-2 {INPUT}") aria-label="Signature policy" disabled=!can_set_policy bind:value=mode>
                        <option value="enforce">"refuse the pull"</option>
                        <option value="audit">"serve it and record it"</option>
                        <option value="off">"ignore signatures"</option>
                    </select></label>
                {can_set_policy.then(|| view! { <button type="submit" class=BUTTON_PRIMARY>"Save policy"</button> })}
            </form>
            <div class="rounded-lg border border-slate-200 bg-surface">
                <div class="border-b border-slate-100 px-5 py-4">
                    <h2 class="text-base font-semibold text-slate-900">"Trusted signers"</h2>
                    <p class="text-sm text-slate-500">"With a signature policy on (above), a pull needs a signature that verifies against one of these keys or certificates, or a system-wide one."</p>
                </div>
                <Transition fallback=|| ()>
                    {move || anchors.get().map(|r| match r {
                        Err(e) => view! { <p class="px-5 py-4 text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="px-5 py-4 text-sm text-slate-500">"No keys or certificates are trusted in this project."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="overflow-x-auto" tabindex="0"><table class=TABLE>
                                <thead class="bg-slate-50"><tr>
                                    <th class=TH>"Name"</th><th class=TH>"Kind"</th><th class=TH>"Algorithm"</th><th class=TH>"Fingerprint"</th><th class=TH></th>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100">
                                    {list.into_iter().map(|a| {
                                        let id = a.id;
                                        view! {
                                            <tr data-anchor=a.name.clone()>
                                                <td class=format!("{TD} font-medium")>{a.name.clone()}</td>
                                                <td class=TD><Badge text=a.kind.clone() tone="blue" /></td>
                                                <td class=format!("{TD} text-xs")>{a.algorithm.clone()}{a.subject.clone().map(|s| format!(" · {s}"))}</td>
                                                <td class=format!("{TD} font-mono text-xs break-all")>{a.fingerprint.clone()}</td>
                                                <td class=format!("{TD} text-right")>
                                                    {can_edit.then(|| view! {
                                                        <button type="button" class=BUTTON_SECONDARY aria-label=format!("Remove {}", a.name)
                                                            on:click=move |_| { remove.dispatch(id); }>"Remove"</button>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                    })}
                </Transition>
            </div>
            <Show when=move || can_edit>
                <form method="post" class="space-y-3 rounded-lg border border-slate-200 bg-surface p-5"
                    on:submit=move |ev| { ev.prevent_default(); add.dispatch(()); }>
                    <div class="flex flex-wrap items-end gap-3">
                        <label class="text-sm text-slate-700">"Name"
                            <input class=format!("mt-1 w-48 {INPUT}") aria-label="Anchor name" required bind:value=anchor_name /></label>
                        <label class="text-sm text-slate-700">"Kind"
                            <select class=format!("mt-1 {INPUT}") aria-label="Anchor kind" bind:value=kind>
                                <option value="cosign">"cosign public key"</option>
                                <option value="notation">"Notation CA certificate"</option>
                            </select></label>
                    </div>
                    <label class="block text-sm text-slate-700">"PEM"
                        <textarea class=format!("mt-1 h-32 w-full font-mono text-xs {INPUT}") aria-label="Anchor PEM" required
                            aria-invalid=move || error.get().is_some().to_string() aria-describedby="anchor-error"
                            placeholder="-----BEGIN PUBLIC KEY-----" bind:value=pem></textarea></label>
                    {move || error.get().map(|e| view! { <p id="anchor-error" role="alert" class="text-sm text-red-600">{e}</p> })}
                    <button type="submit" class=BUTTON_PRIMARY>"Trust"</button>
                </form>
            </Show>
        </div>
    }
}
