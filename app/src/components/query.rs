//! A list's state — page, filters, sort — kept in the URL's query string, so that reload, Back
//! and a shared link all show the same list. Changing it navigates (a history entry), and
//! everything that reads it re-runs when the URL changes, whoever changed it.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use leptos_router::NavigateOptions;

/// Goes to a URL of this console: `(to, replace the history entry)`.
type Navigate = Box<dyn Fn(&str, bool)>;

/// The current page's query string, readable and writable.
#[derive(Clone, Copy)]
pub struct QueryState {
    query: Memo<ParamsMap>,
    path: Memo<String>,
    navigate: StoredValue<Navigate, LocalStorage>,
}

/// The query state of the page being rendered; call it while building the page.
pub fn use_query_state() -> QueryState {
    let map = use_query_map();
    let location = use_location();
    let navigate = use_navigate();
    QueryState {
        query: Memo::new(move |_| map.get()),
        path: Memo::new(move |_| location.pathname.get()),
        navigate: StoredValue::new_local(Box::new(move |to: &str, replace: bool| {
            navigate(
                to,
                NavigateOptions {
                    replace,
                    scroll: false,
                    ..Default::default()
                },
            )
        })),
    }
}

impl QueryState {
    /// The value of `key`, or "" (tracked: re-runs its reader when the URL changes).
    pub fn get(&self, key: &str) -> String {
        self.query.read().get(key).unwrap_or_default()
    }

    /// The value of `key` as text, or `None` when absent or blank.
    pub fn some(&self, key: &str) -> Option<String> {
        Some(self.get(key).trim().to_string()).filter(|v| !v.is_empty())
    }

    /// The 1-based page number in `page` (1 when absent or not a number).
    pub fn page(&self) -> u64 {
        self.get("page")
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .unwrap_or(1)
    }

    /// Navigates to this path with `changes` applied (a new history entry): an empty value
    /// removes the key. Any change that is not itself the page returns the list to page 1.
    pub fn set(&self, changes: &[(&str, String)]) {
        self.apply(changes, false);
    }

    /// Like [`set`](Self::set), replacing the current history entry: for search-as-you-type,
    /// so that Back does not step through every keystroke.
    pub fn replace(&self, changes: &[(&str, String)]) {
        self.apply(changes, true);
    }

    fn apply(&self, changes: &[(&str, String)], replace: bool) {
        let mut next = self.query.get_untracked();
        let mut touches_page = false;
        for (key, value) in changes {
            touches_page |= *key == "page";
            next.remove(key);
            if !value.trim().is_empty() {
                next.replace(key.to_string(), value.trim().to_string());
            }
        }
        if !touches_page {
            next.remove("page");
        }
        let to = format!("{}{}", self.path.get_untracked(), next.to_query_string());
        self.navigate.with_value(|navigate| navigate(&to, replace));
    }

    /// Goes to page `page` of the list.
    pub fn set_page(&self, page: u64) {
        let value = if page <= 1 {
            String::new()
        } else {
            page.to_string()
        };
        self.set(&[("page", value)]);
    }
}
