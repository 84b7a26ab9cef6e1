//! Transient notifications in the corner of the screen; errors stay until dismissed.

use leptos::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toast {
    id: u64,
    kind: ToastKind,
    message: String,
}

/// Handle to the toast list, available anywhere below `App`.
#[derive(Clone, Copy)]
pub struct Toasts {
    items: RwSignal<Vec<Toast>>,
    next_id: StoredValue<u64>,
}

impl Toasts {
    pub fn success(&self, message: impl Into<String>) {
        let id = self.push(ToastKind::Success, message.into());
        let this = *self;
        set_timeout(move || this.dismiss(id), std::time::Duration::from_secs(4));
    }

    pub fn error(&self, message: impl Into<String>) {
        self.push(ToastKind::Error, message.into());
    }

    pub fn dismiss(&self, id: u64) {
        self.items.update(|items| items.retain(|t| t.id != id));
    }

    fn push(&self, kind: ToastKind, message: String) -> u64 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.items
            .update(|items| items.push(Toast { id, kind, message }));
        id
    }
}

pub fn provide_toasts() {
    provide_context(Toasts {
        items: RwSignal::new(Vec::new()),
        next_id: StoredValue::new(0),
    });
}

pub fn use_toasts() -> Toasts {
    expect_context::<Toasts>()
}

#[component]
pub fn ToastHost() -> impl IntoView {
    let toasts = use_toasts();
    view! {
        <div aria-live="polite" class="pointer-events-none fixed bottom-6 right-6 z-50 flex w-96 flex-col gap-3">
            <For each=move || toasts.items.get() key=|t| t.id let:toast>
                <div
                    role=if toast.kind == ToastKind::Error { "alert" } else { "status" }
                    class=match toast.kind {
                        ToastKind::Error => "pointer-events-auto flex items-start gap-3 rounded-lg border border-red-200 bg-surface p-4 text-sm shadow-lg ring-1 ring-red-100",
                        ToastKind::Success => "pointer-events-auto flex items-start gap-3 rounded-lg border border-emerald-200 bg-surface p-4 text-sm shadow-lg ring-1 ring-emerald-100",
                    }
                >
                    <span class=match toast.kind {
                        ToastKind::Error => "mt-0.5 h-2.5 w-2.5 shrink-0 rounded-full bg-red-500",
                        ToastKind::Success => "mt-0.5 h-2.5 w-2.5 shrink-0 rounded-full bg-emerald-500",
                    } />
                    <p class="flex-1 text-slate-700">{toast.message.clone()}</p>
                    <button
                        type="button"
                        class="text-slate-500 hover:text-slate-700"
                        aria-label="Dismiss"
                        on:click=move |_| toasts.dismiss(toast.id)
                    >
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
