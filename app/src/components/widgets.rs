//! Small shared pieces: buttons, badges, modal dialog, pager, form fields.

use leptos::prelude::*;

pub const BUTTON_PRIMARY: &str = "inline-flex items-center gap-2 rounded-md bg-accent px-3.5 py-2 text-sm font-semibold text-white shadow-sm hover:bg-accent-hover focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400 disabled:cursor-not-allowed disabled:opacity-50";
pub const BUTTON_SECONDARY: &str = "inline-flex items-center gap-2 rounded-md border border-slate-300 bg-surface px-3 py-1.5 text-sm font-medium text-slate-700 shadow-sm hover:bg-slate-50 disabled:cursor-not-allowed disabled:opacity-50";
pub const BUTTON_DANGER: &str = "inline-flex items-center gap-2 rounded-md border border-red-200 bg-surface px-3 py-1.5 text-sm font-medium text-red-700 hover:bg-red-50 disabled:cursor-not-allowed disabled:opacity-50";
pub const BUTTON_DANGER_SOLID: &str = "inline-flex items-center gap-2 rounded-md bg-danger px-3.5 py-2 text-sm font-semibold text-white shadow-sm hover:bg-danger-hover disabled:cursor-not-allowed disabled:opacity-50";
pub const INPUT: &str = "block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-sky-500 focus:outline-none focus:ring-2 focus:ring-sky-200";
pub const TABLE: &str = "min-w-full divide-y divide-slate-200 text-sm";
pub const TH: &str =
    "px-4 py-3 text-left text-xs font-semibold uppercase tracking-wide text-slate-500";
pub const TD: &str = "px-4 py-3 text-slate-700";

#[component]
pub fn Badge(#[prop(into)] text: String, #[prop(optional)] tone: &'static str) -> impl IntoView {
    let class = match tone {
        "green" => "rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 ring-1 ring-emerald-200",
        "red" => "rounded-full bg-red-50 px-2 py-0.5 text-xs font-medium text-red-700 ring-1 ring-red-200",
        "amber" => "rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800 ring-1 ring-amber-200",
        "blue" => "rounded-full bg-sky-50 px-2 py-0.5 text-xs font-medium text-sky-700 ring-1 ring-sky-200",
        _ => "rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-600 ring-1 ring-slate-200",
    };
    view! { <span class=class>{text}</span> }
}

/// A centred dialog over a dimmed page. It takes the focus when it opens (its first field or
/// button), keeps Tab inside itself, closes on Escape, and gives the focus back to what had it.
#[component]
pub fn Modal(title: &'static str, open: RwSignal<bool>, children: ChildrenFn) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Div>::new();
    let opener: StoredValue<Option<web_sys::HtmlElement>, LocalStorage> =
        StoredValue::new_local(None);
    Effect::new(move |was_open: Option<bool>| {
        let is_open = open.get();
        if is_open && was_open != Some(true) {
            opener.set_value(
                document()
                    .active_element()
                    .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok()),
            );
            request_animation_frame(move || {
                if let Some(first) = dialog
                    .get_untracked()
                    .and_then(|d| focusables(&d).into_iter().next())
                {
                    let _ = first.focus();
                }
            });
        } else if !is_open && was_open == Some(true) {
            if let Some(e) = opener.get_value() {
                let _ = e.focus();
            }
        }
        is_open
    });
    // Escape closes the dialog wherever the focus is (the page's body after a click outside
    // any field, a field of the dialog, …).
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && open.get_untracked() {
            ev.prevent_default();
            open.set(false);
        }
    });
    on_cleanup(move || escape.remove());
    // Tab and Shift+Tab stay inside the dialog.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() != "Tab" {
            return;
        }
        let Some(d) = dialog.get_untracked() else {
            return;
        };
        let items = focusables(&d);
        let (Some(first), Some(last)) = (items.first(), items.last()) else {
            return;
        };
        let active = document().active_element();
        let at = |e: &web_sys::HtmlElement| {
            active
                .as_ref()
                .is_some_and(|a| a == e.as_ref() as &web_sys::Element)
        };
        if ev.shift_key() && at(first) {
            ev.prevent_default();
            let _ = last.focus();
        } else if !ev.shift_key() && at(last) {
            ev.prevent_default();
            let _ = first.focus();
        }
    };
    view! {
        <Show when=move || open.get()>
            <div class="fixed inset-0 z-40 bg-black/50" on:click=move |_| open.set(false) />
            <div role="dialog" aria-modal="true" aria-label=title node_ref=dialog on:keydown=on_key
                class="fixed left-1/2 top-24 z-50 max-h-[80vh] w-[calc(100%-2rem)] max-w-lg -translate-x-1/2 overflow-y-auto rounded-xl bg-surface p-6 shadow-2xl">
                <h2 class="mb-4 text-lg font-semibold text-slate-900">{title}</h2>
                {children()}
            </div>
        </Show>
    }
}

/// The elements inside `root` that take the keyboard focus, in document order.
fn focusables(root: &web_sys::HtmlElement) -> Vec<web_sys::HtmlElement> {
    let Ok(list) = root.query_selector_all(
        "input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), button:not([disabled]), a[href]",
    ) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(n).ok())
        .collect()
}

/// What a confirmation asks: shown in one dialog the whole console shares.
#[derive(Clone)]
pub struct ConfirmRequest {
    pub title: &'static str,
    pub message: String,
    /// The label of the button that goes ahead ("Delete", "Remove", "Disable").
    pub action: &'static str,
    /// For the gravest deletions, the name the user must type first (as Harbor and GitHub ask).
    pub typed: Option<String>,
    /// Whether going ahead destroys or takes away something (a red button).
    pub danger: bool,
    pub on_confirm: Callback<()>,
}

/// Asks for confirmation before a destructive or privilege-changing action.
#[derive(Clone, Copy)]
pub struct Confirm(RwSignal<Option<ConfirmRequest>>, RwSignal<bool>);

impl Confirm {
    pub fn ask(&self, request: ConfirmRequest) {
        self.0.set(Some(request));
        self.1.set(true);
    }

    /// A red "`action`" confirmation of `message` that runs `then`.
    pub fn danger(
        &self,
        title: &'static str,
        message: impl Into<String>,
        action: &'static str,
        then: impl Fn() + Send + Sync + 'static,
    ) {
        self.ask(ConfirmRequest {
            title,
            message: message.into(),
            action,
            typed: None,
            danger: true,
            on_confirm: Callback::new(move |_| then()),
        });
    }
}

pub fn use_confirm() -> Confirm {
    expect_context::<Confirm>()
}

/// Makes [`Confirm`] available to everything below the caller (the app root).
pub fn provide_confirm() {
    provide_context(Confirm(RwSignal::new(None), RwSignal::new(false)));
}

/// The one confirmation dialog, rendered once at the app root.
#[component]
pub fn ConfirmHost() -> impl IntoView {
    let Confirm(request, open) = use_confirm();
    let typed = RwSignal::new(String::new());
    Effect::new(move |_| {
        if open.get() {
            typed.set(String::new());
        }
    });
    let ready = move || {
        request
            .get()
            .is_some_and(|r| r.typed.as_ref().is_none_or(|name| typed.get() == *name))
    };
    let go = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !ready() {
            return;
        }
        if let Some(r) = request.get_untracked() {
            open.set(false);
            r.on_confirm.run(());
        }
    };
    view! {
        <Modal title="Please confirm" open>
            {move || request.get().map(|r| view! {
                <form method="post" on:submit=go data-testid="confirm">
                    <h3 class="text-base font-semibold text-slate-900">{r.title}</h3>
                    <p class="mt-2 text-sm text-slate-600" data-testid="confirm-message">{r.message.clone()}</p>
                    {r.typed.clone().map(|name| view! {
                        <label class="mt-4 block text-sm text-slate-700">
                            "Type "<strong class="font-mono">{name.clone()}</strong>" to confirm"
                            <input name="confirm-name" autocomplete="off" class=format!("mt-1 {INPUT}") bind:value=typed />
                        </label>
                    })}
                    <div class="mt-6 flex justify-end gap-2">
                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| open.set(false)>"Cancel"</button>
                        <button type="submit" class=if r.danger { BUTTON_DANGER_SOLID } else { BUTTON_PRIMARY }
                            disabled=move || !ready()>{r.action}</button>
                    </div>
                </form>
            })}
        </Modal>
    }
}

/// Previous / next with "page X of Y"; the page lives in the URL's query string.
#[component]
pub fn Pager(
    state: super::query::QueryState,
    #[prop(into)] total: Signal<u64>,
    page_size: u64,
) -> impl IntoView {
    let pages = move || total.get().div_ceil(page_size).max(1);
    view! {
        <div class="flex items-center justify-between border-t border-slate-200 px-4 py-3 text-sm text-slate-600">
            <span>{move || format!("{} total", total.get())}</span>
            <div class="flex items-center gap-3">
                <button class=BUTTON_SECONDARY disabled=move || { state.page() <= 1 }
                    on:click=move |_| state.set_page(state.page().saturating_sub(1).max(1))>"Previous"</button>
                <span>{move || format!("Page {} of {}", state.page(), pages())}</span>
                <button class=BUTTON_SECONDARY disabled=move || { state.page() >= pages() }
                    on:click=move |_| state.set_page(state.page() + 1)>"Next"</button>
            </div>
        </div>
    }
}

/// Reads an input's current value in an event handler.
pub fn input_value(ev: &leptos::ev::Event) -> String {
    event_target_value(ev)
}

/// `1.5 MiB`-style sizes.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `sha256:0123456789ab` — enough of a digest to recognise it.
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) => format!("{alg}:{}", &hex[..hex.len().min(12)]),
        None => digest.to_string(),
    }
}

/// "Managed by a policy file" on a project's policy tabs, when a configured file declares it.
#[component]
pub fn ManagedNote(project: String) -> impl IntoView {
    let policies = Resource::new(|| (), |_| crate::api::config_policies());
    view! {
        <Transition fallback=|| ()>
            {move || policies.get().and_then(|r| r.ok()).and_then(|c| {
                c.managed_projects.into_iter().find(|(p, _)| *p == project).map(|(_, file)| view! {
                    <p class="rounded-md border border-sky-200 bg-sky-50 px-4 py-2 text-sm text-sky-800" data-testid="managed-note">
                        {format!("From configuration: the policy file {file} declares this project's policies; changes made here are replaced at the next start.")}
                    </p>
                })
            })}
        </Transition>
    }
}

/// What a form's last submission was refused for: one field's message, or one for the whole
/// form. Shown where the user looks — under the field, or at the top of the form — never as a
/// toast far away.
#[derive(Clone, Copy)]
pub struct FormError(RwSignal<Option<(Option<String>, String)>>);

impl Default for FormError {
    fn default() -> Self {
        Self::new()
    }
}

impl FormError {
    pub fn new() -> Self {
        Self(RwSignal::new(None))
    }

    /// Takes a server function's refusal.
    pub fn set(&self, e: &ServerFnError) {
        let refusal = match crate::api::refused_field(e) {
            Some((field, message)) => (Some(field), message),
            None => (None, server_message(e)),
        };
        self.0.set(Some(refusal));
    }

    pub fn clear(&self) {
        self.0.set(None);
    }

    /// The message for `field` (fields are named as the REST API names them:
    /// `project_name`, `rules[0].tags`).
    pub fn for_field(&self, field: &str) -> Option<String> {
        self.0
            .get()
            .filter(|(f, _)| f.as_deref() == Some(field))
            .map(|(_, m)| m)
    }

    /// A message that belongs to no field the form shows.
    pub fn general(&self, shown: impl Fn(&str) -> bool) -> Option<String> {
        self.0
            .get()
            .filter(|(f, _)| f.as_deref().is_none_or(|f| !shown(f)))
            .map(|(f, m)| match f {
                Some(f) => format!("{f}: {m}"),
                None => m,
            })
    }
}

/// The id of the message element of `field`, for `aria-describedby`.
pub fn field_error_id(field: &str) -> String {
    format!(
        "error-{}",
        field.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    )
}

/// The refusal of `field`, under it.
#[component]
pub fn FieldError(form: FormError, #[prop(into)] field: String) -> impl IntoView {
    let field = StoredValue::new(field);
    view! {
        {move || form.for_field(&field.read_value()).map(|m| view! {
            <p id=field_error_id(&field.read_value()) role="alert" data-field-error=field.get_value()
                class="mt-1 text-sm text-red-700">{m}</p>
        })}
    }
}

/// A refusal that belongs to no field of the form, at its top.
#[component]
pub fn FormAlert(form: FormError, shown: fn(&str) -> bool) -> impl IntoView {
    view! {
        {move || form.general(shown).map(|m| view! {
            <p role="alert" data-testid="form-error"
                class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">{m}</p>
        })}
    }
}

/// Tabs that are links: each section has its own URL (reload, Back and shared links land on
/// it), with tab semantics for assistive technology. `tabs` are `(href, key, label)`.
#[component]
pub fn TabLinks(
    label: &'static str,
    tabs: Vec<(String, &'static str, &'static str)>,
    #[prop(into)] current: Signal<String>,
) -> impl IntoView {
    view! {
        <nav class="mb-6 overflow-x-auto border-b border-slate-200" aria-label=label>
            <div role="tablist" aria-label=label class="flex gap-6 whitespace-nowrap">
                {tabs.into_iter().map(|(href, key, text)| {
                    let selected = move || current.get() == key;
                    view! {
                        <leptos_router::components::A href=href
                            attr:id=format!("tab-{key}") attr:role="tab" attr:aria-controls="tab-panel"
                            attr:aria-selected=move || if selected() { "true" } else { "false" }
                            attr:class=move || if selected() {
                                "border-b-2 border-sky-600 px-1 pb-3 text-sm font-semibold text-sky-700"
                            } else {
                                "border-b-2 border-transparent px-1 pb-3 text-sm font-medium text-slate-600 hover:text-slate-900"
                            }>
                            {text}
                        </leptos_router::components::A>
                    }
                }).collect_view()}
            </div>
        </nav>
    }
}

/// Loads a list again: what others changed since it was shown.
#[component]
pub fn RefreshButton(#[prop(into)] on_click: Callback<()>) -> impl IntoView {
    view! {
        <button type="button" class=BUTTON_SECONDARY data-testid="refresh" title="Load this list again"
            on:click=move |_| on_click.run(())>
            <svg class="h-4 w-4" viewBox="0 0 20 20" fill="currentColor" aria-hidden="true">
                <path fill-rule="evenodd" d="M15.312 11.424a5.5 5.5 0 0 1-9.201 2.466l-.312-.311h2.433a.75.75 0 0 0 0-1.5H3.989a.75.75 0 0 0-.75.75v4.242a.75.75 0 0 0 1.5 0v-2.43l.31.31a7 7 0 0 0 11.712-3.138.75.75 0 0 0-1.449-.39Zm1.23-3.723a.75.75 0 0 0 .219-.53V2.929a.75.75 0 0 0-1.5 0V5.36l-.31-.31A7 7 0 0 0 3.239 8.188a.75.75 0 1 0 1.448.389A5.5 5.5 0 0 1 13.89 6.11l.311.31h-2.432a.75.75 0 0 0 0 1.5h4.243a.75.75 0 0 0 .53-.219Z" clip-rule="evenodd" />
            </svg>
            "Refresh"
        </button>
    }
}

/// A label on an artifact: its name beside a dot of its colour (the text keeps the page's
/// contrast whatever the colour).
#[component]
pub fn LabelChip(
    label: domain::types::dto::LabelView,
    #[prop(optional)] on_remove: Option<Callback<()>>,
) -> impl IntoView {
    let dot = if label.color.is_empty() {
        "background-color: #64748b".to_string()
    } else {
        format!("background-color: {}", label.color)
    };
    let scope = if label.scope == "g" {
        "global label"
    } else {
        "project label"
    };
    view! {
        <span class="inline-flex items-center gap-1 whitespace-nowrap rounded-full border border-slate-200 bg-surface px-2 py-0.5 text-xs text-slate-700"
            title=format!("{} ({scope}){}", label.name, if label.description.is_empty() { String::new() } else { format!(": {}", label.description) })
            data-label=label.name.clone()>
            <span class="h-2 w-2 rounded-full" style=dot aria-hidden="true"></span>
            {label.name.clone()}
            {on_remove.map(|remove| view! {
                <button type="button" class="text-slate-500 hover:text-red-700" aria-label=format!("Remove label {}", label.name)
                    on:click=move |_| remove.run(())>"×"</button>
            })}
        </span>
    }
}

/// The message of a server function error, without the "error running server function" frame.
pub fn server_message(e: &ServerFnError) -> String {
    if let Some((field, message)) = crate::api::refused_field(e) {
        return format!("{field}: {message}");
    }
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    }
}
