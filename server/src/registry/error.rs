//! OCI error responses: `{"errors":[{"code","message","detail"}]}` with the right status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

pub fn oci_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"errors": [{"code": code, "message": message, "detail": null}]})),
    )
        .into_response()
}
