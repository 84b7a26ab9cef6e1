//! The signed-in user, loaded once per page and shared with every component below `App`.

use domain::types::SessionUser;
use leptos::prelude::*;

use crate::api::current_user;

#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<SessionUser>, ServerFnError>>);

impl CurrentUser {
    /// `None` while loading or when signed out.
    pub fn get(&self) -> Option<SessionUser> {
        self.0.get().and_then(|r| r.ok()).flatten()
    }

    /// Like [`get`](Self::get), in an event handler (not tracked).
    pub fn get_untracked(&self) -> Option<SessionUser> {
        self.0.get_untracked().and_then(|r| r.ok()).flatten()
    }

    pub fn is_admin(&self) -> bool {
        self.get().is_some_and(|u| u.is_admin)
    }
}

pub fn provide_current_user() {
    provide_context(CurrentUser(Resource::new(|| (), |_| current_user())));
}

pub fn use_current_user() -> CurrentUser {
    expect_context::<CurrentUser>()
}

/// Full page load, so the server renders with the new session state.
pub fn hard_navigate(path: &str) {
    let _ = window().location().set_href(path);
}
