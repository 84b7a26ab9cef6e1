//! The signed-in user's profile: who they are and, for single sign-on users, the CLI secret
//! that `podman login` takes instead of the identity provider's password.

use leptos::prelude::*;

use crate::api::{change_my_password, my_cli_secret, regenerate_cli_secret};
use crate::components::page::{EmptyState, PageHeader};
use crate::components::session::use_current_user;
use crate::components::toast::use_toasts;
use crate::components::widgets::server_message;
use crate::components::widgets::{
    field_error_id, FieldError, FormAlert, FormError, BUTTON_PRIMARY, BUTTON_SECONDARY, INPUT,
};

#[component]
pub fn ProfilePage() -> impl IntoView {
    let user = use_current_user();
    view! {
        <PageHeader title="User profile" subtitle="Your account and registry credentials." />
        <Transition fallback=|| ()>
            {move || match user.get() {
                Some(u) => view! {
                    <div class="space-y-6">
                        <div class="rounded-lg border border-slate-200 bg-surface p-6 text-sm">
                            <p><span class="text-slate-500">"Username: "</span>
                                <span class="font-mono" data-testid="profile-username">{u.username.clone()}</span></p>
                            <p class="mt-1"><span class="text-slate-500">"Role: "</span>
                                {if u.is_admin { "system administrator" } else { "user" }}</p>
                        </div>
                        <CliSecret />
                        <ChangePassword />
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
                    <div class="rounded-lg border border-slate-200 bg-surface p-6 text-sm" data-testid="cli-secret">
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

/// A local user's own password: the current one, then the new one twice.
#[component]
fn ChangePassword() -> impl IntoView {
    let toasts = use_toasts();
    let secret = Resource::new(|| (), |_| my_cli_secret());
    let old = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let form = FormError::new();
    let mismatch = RwSignal::new(false);
    let save = Action::new(move |_: &()| {
        let (o, n) = (old.get_untracked(), new.get_untracked());
        async move {
            form.clear();
            match change_my_password(o, n).await {
                Ok(()) => {
                    toasts.success("Password changed");
                    old.set(String::new());
                    new.set(String::new());
                    again.set(String::new());
                }
                Err(e) => form.set(&e),
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let differs = new.get_untracked() != again.get_untracked();
        mismatch.set(differs);
        if !differs {
            save.dispatch(());
        }
    };
    let field = move |name: &'static str,
                      label: &'static str,
                      value: RwSignal<String>,
                      autocomplete: &'static str| {
        view! {
            <label class="block text-sm font-medium text-slate-700">{label}
                <input name=name type="password" required autocomplete=autocomplete class=format!("mt-1 {INPUT}") bind:value=value
                    aria-invalid=move || form.for_field(name).is_some().then_some("true")
                    aria-describedby=move || form.for_field(name).map(|_| field_error_id(name)) />
            </label>
        }
    };
    view! {
        <Transition fallback=|| ()>
            // Users of single sign-on have a CLI secret and no Berth password.
            {move || secret.get().and_then(|r| r.ok()).is_some_and(|s| s.is_none()).then(|| view! {
                <form method="post" class="max-w-md space-y-3 rounded-lg border border-slate-200 bg-surface p-6" data-testid="change-password" on:submit=submit>
                    <h2 class="text-base font-semibold text-slate-900">"Change password"</h2>
                    <FormAlert form shown=|f| f == "old_password" || f == "password" />
                    {field("old_password", "Current password", old, "current-password")}
                    <FieldError form field="old_password" />
                    {field("password", "New password (8 characters or more)", new, "new-password")}
                    <FieldError form field="password" />
                    <label class="block text-sm font-medium text-slate-700">"New password again"
                        <input name="password-again" type="password" required autocomplete="new-password" class=format!("mt-1 {INPUT}") bind:value=again
                            aria-invalid=move || mismatch.get().then_some("true") />
                    </label>
                    {move || mismatch.get().then(|| view! {
                        <p role="alert" data-field-error="password-again" class="mt-1 text-sm text-red-700">"The two new passwords differ."</p>
                    })}
                    <button type="submit" class=BUTTON_PRIMARY>"Change password"</button>
                </form>
            })}
        </Transition>
    }
}
