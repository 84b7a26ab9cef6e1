//! System administration: users, groups and registry-wide settings.

use leptos::prelude::*;

use crate::components::page::{EmptyState, PageHeader};

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <PageHeader title="Administration" subtitle="Users, groups, robot accounts and registry-wide policies." />
        <EmptyState title="Administrators only">
            "Sign in with a system administrator account to manage users and groups."
        </EmptyState>
    }
}
