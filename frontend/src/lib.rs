//! Entry point of the wasm bundle: attaches the console's reactivity to the server-rendered HTML.

#![recursion_limit = "512"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
