//! The colour scheme: the system's (`prefers-color-scheme`), or light or dark as the user
//! chose. The choice lives in the `berth-theme` cookie, so the server renders `<html>` with
//! it and no page flashes in the other scheme; the stylesheet does the rest.

use leptos::prelude::*;

/// The cookie that remembers the choice.
pub const COOKIE: &str = "berth-theme";

/// `light`, `dark`, or `system`.
pub fn from_cookie_header(header: &str) -> &'static str {
    header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| match v {
            "light" => "light",
            "dark" => "dark",
            _ => "system",
        })
        .unwrap_or("system")
}

/// The scheme of the page being rendered: from the request on the server, from `<html>` in
/// the browser.
pub fn current() -> &'static str {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|p| {
                p.headers
                    .get(http::header::COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .map(from_cookie_header)
            })
            .unwrap_or("system")
    }
    #[cfg(not(feature = "ssr"))]
    {
        let classes = document().document_element().map(|e| e.class_list());
        match classes {
            Some(c) if c.contains("dark") => "dark",
            Some(c) if c.contains("light") => "light",
            _ => "system",
        }
    }
}

/// The class `<html>` carries for a scheme.
pub fn html_class(theme: &str) -> &'static str {
    match theme {
        "light" => "light",
        "dark" => "dark",
        _ => "",
    }
}

fn apply(theme: &str) {
    if let Some(root) = document().document_element() {
        let classes = root.class_list();
        let _ = classes.remove_2("light", "dark");
        if let Some(c) = Some(html_class(theme)).filter(|c| !c.is_empty()) {
            let _ = classes.add_1(c);
        }
    }
    let cookie = match theme {
        "light" | "dark" => format!("{COOKIE}={theme}; Path=/; Max-Age=31536000; SameSite=Lax"),
        _ => format!("{COOKIE}=; Path=/; Max-Age=0; SameSite=Lax"),
    };
    if let Ok(doc) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlDocument>(document()) {
        let _ = doc.set_cookie(&cookie);
    }
}

/// The scheme switch in the top bar.
#[component]
pub fn ThemeSwitch() -> impl IntoView {
    let theme = RwSignal::new(current());
    view! {
        <label class="sr-only" for="theme-switch">"Colour scheme"</label>
        <select id="theme-switch" data-testid="theme-switch"
            class="rounded-md border border-white/20 bg-chrome px-2 py-1 text-xs text-white/85 hover:bg-white/10"
            on:change=move |ev| {
                let chosen = match event_target_value(&ev).as_str() {
                    "light" => "light",
                    "dark" => "dark",
                    _ => "system",
                };
                theme.set(chosen);
                apply(chosen);
            }>
            {[("system", "System theme"), ("light", "Light"), ("dark", "Dark")].map(|(v, label)| view! {
                <option value=v selected=move || theme.get() == v>{label}</option>
            }).collect_view()}
        </select>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cookie_names_the_scheme() {
        assert_eq!(super::from_cookie_header("a=1; berth-theme=dark"), "dark");
        assert_eq!(super::from_cookie_header("berth-theme=light"), "light");
        assert_eq!(super::from_cookie_header("berth-theme=blue"), "system");
        assert_eq!(super::from_cookie_header(""), "system");
    }
}
