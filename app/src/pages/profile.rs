//! The signed-in user's profile: who they are and, for single sign-on users, the CLI secret
//! that `podman login` takes instead of the identity provider's password.

use leptos::prelude::*;

use super::login::server_message;
use crate::api::{my_cli_secret, regenerate_cli_secret};
use crate::components::page::{EmptyState, PageHeader};
use crate::components::session::use_current_user;
use crate::components::toast::use_toasts;
use crate::components::widgets::{BUTTON_PRIMARY, BUTTON_SECONDARY};

#[component]
pub fn ProfilePage() -> impl IntoView {
    let user = use_current_user();
    view! {
        <PageHeader title="User profile" subtitle="Your account and registry credentials." />
        <Transition fallback=|| ()>
            {move || match user.get() {
                Some(u) => view! {
                    <div class="space-y-6">
                        <div class="rounded-lg border border-slate-200 bg-white p-6 text-sm">
                            <p><span class="text-slate-500">"Username: "</span>
                                <span class="font-mono" data-testid="profile-username">{u.username.clone()}</span></p>
                            <p class="mt-1"><span class="text-slate-500">"Role: "</span>
                                {if u.is_admin { "system administrator" } else { "user" }}</p>
                        </div>
                        <CliSecret />
                    </div>
                }.into_any(),
                None => view! {
                    <EmptyState title="Not signed in">"Sign in to see your profile."</EmptyState>
                }.into_any(),
            }}
        </Transition>
    }
}

#[component]
fn CliSecret() -> impl IntoView {
    let toasts = use_toasts();
    let info = Resource::new(|| (), |_| my_cli_secret());
    let shown = RwSignal::new(None::<String>);
    let regenerate = Action::new(move |_: &()| async move {
        match regenerate_cli_secret().await {
            Ok(view) => {
                shown.set(view.secret);
                info.refetch();
            }
            Err(e) => toasts.error(server_message(&e)),
        }
    });
    let copy = move |_| {
        if let Some(secret) = shown.get_untracked() {
            let _ = window().navigator().clipboard().write_text(&secret);
            toasts.success("CLI secret copied");
        }
    };
    view! {
        <Suspense fallback=|| ()>
            {move || info.get().map(|r| match r {
                Ok(Some(secret)) => view! {
                    <div class="rounded-lg border border-slate-200 bg-white p-6 text-sm" data-testid="cli-secret">
                        <h2 class="text-base font-semibold text-slate-900">"CLI secret"</h2>
                        <p class="mt-1 text-slate-600">
                            "Registry clients cannot use single sign-on: give this secret as the password to "
                            <code>"podman login"</code>", "<code>"docker login"</code>" or "<code>"skopeo"</code>
                            ", with your username. Berth stores only its hash, so it is shown once; generating a new one replaces the old."
                        </p>
                        <p class="mt-3" data-testid="cli-secret-expiry">
                            {match secret.expires_at {
                                Some(t) => format!("Current secret expires {t}."),
                                None => "You have no CLI secret yet.".to_string(),
                            }}
                        </p>
                        {move || shown.get().map(|s| view! {
                            <div class="mt-3 flex items-center gap-2">
                                <code class="rounded bg-slate-100 px-2 py-1 font-mono" data-testid="cli-secret-value">{s}</code>
                                <button type="button" class=BUTTON_SECONDARY on:click=copy>"Copy"</button>
                            </div>
                        })}
                        <button type="button" class=format!("mt-4 {BUTTON_PRIMARY}") data-testid="cli-secret-generate"
                            disabled=move || regenerate.pending().get()
                            on:click=move |_| { regenerate.dispatch(()); }>
                            "Generate new CLI secret"
                        </button>
                    </div>
                }.into_any(),
                Ok(None) => view! {
                    <p class="text-sm text-slate-500">"Local users sign in to registry clients with their password."</p>
                }.into_any(),
                Err(e) => view! { <p class="text-sm text-red-600">{server_message(&e)}</p> }.into_any(),
            })}
        </Suspense>
    }
}
