//! The audit log: who did what, when, from where.

use leptos::prelude::*;

use crate::components::page::{EmptyState, PageHeader};

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <PageHeader title="Audit log" subtitle="Every sign-in, push, pull and change, with its actor and source address." />
        <EmptyState title="Nothing to show">
            "Audit records are visible to system administrators and, for their projects, to project administrators."
        </EmptyState>
    }
}
