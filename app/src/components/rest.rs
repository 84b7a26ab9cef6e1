//! Calls from the browser to Berth's REST API with the session cookie, for what a server
//! function should not carry: uploaded files (streamed by the server, never whole in memory)
//! and secrets the server seals.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

pub enum Body {
    Empty,
    Json(String),
    File(web_sys::File),
}

fn js_error(v: JsValue) -> String {
    v.as_string()
        .unwrap_or_else(|| "the request could not be sent".into())
}

/// Sends `method path` under `/api/v2.0`; the response body, or the API's error message.
pub async fn call(method: &str, path: &str, body: Body) -> Result<String, String> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    let headers = web_sys::Headers::new().map_err(js_error)?;
    match body {
        Body::Empty => {}
        Body::Json(text) => {
            headers
                .set("content-type", "application/json")
                .map_err(js_error)?;
            init.set_body(&JsValue::from_str(&text));
        }
        Body::File(file) => {
            headers
                .set("content-type", "application/octet-stream")
                .map_err(js_error)?;
            init.set_body(&file);
        }
    }
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(&format!("/api/v2.0{path}"), &init)
        .map_err(js_error)?;
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(js_error)?
        .dyn_into()
        .map_err(js_error)?;
    let text = JsFuture::from(response.text().map_err(js_error)?)
        .await
        .map_err(js_error)?
        .as_string()
        .unwrap_or_default();
    if response.ok() {
        Ok(text)
    } else {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["errors"][0]["message"].as_str().map(str::to_string))
            .unwrap_or(text);
        Err(format!("{}: {message}", response.status()))
    }
}
