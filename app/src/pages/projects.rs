//! The projects list: the console's home.

use leptos::prelude::*;

use crate::components::page::{EmptyState, PageHeader};

#[component]
pub fn ProjectsPage() -> impl IntoView {
    view! {
        <PageHeader title="Projects" subtitle="Projects group repositories and decide who may push and pull them." />
        <EmptyState title="No projects yet">
            "Sign in as an administrator to create the first project, then push to "
            <code class="rounded bg-slate-100 px-1 py-0.5 font-mono text-xs text-slate-700">"<host>/<project>/<repository>:<tag>"</code>
            "."
        </EmptyState>
    }
}
