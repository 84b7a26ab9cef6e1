//! OCI error responses: `{"errors":[{"code","message","detail"}]}` with the right status.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OciCode {
    Unauthorized,
    Denied,
    NameUnknown,
    NameInvalid,
    TooManyRequests,
    Unsupported,
}

impl OciCode {
    pub fn as_str(self) -> &'static str {
        match self {
            OciCode::Unauthorized => "UNAUTHORIZED",
            OciCode::Denied => "DENIED",
            OciCode::NameUnknown => "NAME_UNKNOWN",
            OciCode::NameInvalid => "NAME_INVALID",
            OciCode::TooManyRequests => "TOOMANYREQUESTS",
            OciCode::Unsupported => "UNSUPPORTED",
        }
    }
}

#[derive(Debug)]
pub struct OciError {
    pub status: StatusCode,
    pub code: OciCode,
    pub message: String,
    pub detail: Value,
}

impl OciError {
    pub fn new(status: StatusCode, code: OciCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            detail: Value::Null,
        }
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let body = json!({"errors": [{"code": self.code.as_str(), "message": self.message, "detail": self.detail}]});
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert(
            "docker-distribution-api-version",
            HeaderValue::from_static("registry/2.0"),
        );
        response
    }
}
