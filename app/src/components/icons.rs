//! Small inline SVG icons (heroicons-style outlines) so the console needs no icon font.

use leptos::prelude::*;

fn outline(d: &'static str) -> impl IntoView {
    view! {
        <svg class="h-5 w-5 shrink-0" viewBox="0 0 24 24" fill="none" stroke="currentColor"
            stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
            <path d=d />
        </svg>
    }
}

pub fn projects_icon() -> impl IntoView {
    outline("M3 7.5 12 3l9 4.5-9 4.5-9-4.5Zm0 4.5 9 4.5 9-4.5M3 16.5 12 21l9-4.5")
}

pub fn admin_icon() -> impl IntoView {
    outline("M12 3 4 6v6c0 4.4 3.4 8.3 8 9 4.6-.7 8-4.6 8-9V6l-8-3Zm-3 9 2 2 4-4")
}

pub fn audit_icon() -> impl IntoView {
    outline("M9 4h6M9 4a1 1 0 0 0-1 1v1h8V5a1 1 0 0 0-1-1M8 6H6v14h12V6h-2M9 11h6M9 15h4")
}

pub fn settings_icon() -> impl IntoView {
    outline("M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6Zm7.4-3a7.4 7.4 0 0 0-.1-1.2l2-1.6-2-3.4-2.4 1a7 7 0 0 0-2-1.2L14.5 3h-5l-.4 2.6a7 7 0 0 0-2 1.2l-2.4-1-2 3.4 2 1.6a7.4 7.4 0 0 0 0 2.4l-2 1.6 2 3.4 2.4-1a7 7 0 0 0 2 1.2l.4 2.6h5l.4-2.6a7 7 0 0 0 2-1.2l2.4 1 2-3.4-2-1.6c.1-.4.1-.8.1-1.2Z")
}

pub fn chevron_down_icon() -> impl IntoView {
    view! {
        <svg class="h-4 w-4" viewBox="0 0 20 20" fill="currentColor" aria-hidden="true">
            <path fill-rule="evenodd" d="M5.2 7.2a.75.75 0 0 1 1.06 0L10 10.94l3.74-3.74a.75.75 0 1 1 1.06 1.06l-4.27 4.27a.75.75 0 0 1-1.06 0L5.2 8.26a.75.75 0 0 1 0-1.06Z" clip-rule="evenodd" />
        </svg>
    }
}

/// The Berth mark: a berth seen from above, a ship alongside a quay.
pub fn logo() -> impl IntoView {
    view! {
        <svg class="h-7 w-7" viewBox="0 0 32 32" aria-hidden="true">
            <rect width="32" height="32" rx="7" class="fill-sky-500" />
            <path d="M7 21h18M9 21l2-8h10l2 8M13 13V9h6v4" fill="none" stroke="white"
                stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />
        </svg>
    }
}
