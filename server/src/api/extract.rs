//! The REST API's extractors: axum's `Json`, `Query` and `Path`, whose refusals are answered in
//! Harbor's error shape (`{"errors":[{"code","message"}]}`) with 400 and a message naming the
//! field (`page: invalid digit found in string`), instead of axum's plain-text bodies.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// A JSON request body (and, as a response, a JSON body).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query parameters.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Path parameters.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        let (status, code) = match e {
            JsonRejection::MissingJsonContentType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
            }
            JsonRejection::BytesRejection(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE")
            }
            _ => (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
        };
        ApiError::new(status, code, clean(&e.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::bad_request(clean(&e.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::bad_request(clean(&e.body_text()))
    }
}

/// axum's messages without their "Failed to deserialize …:" preamble: what is left names the
/// field and what is wrong with it.
fn clean(text: &str) -> String {
    for preamble in [
        "Failed to deserialize the JSON body into the target type: ",
        "Failed to deserialize query string: ",
        "Invalid URL: ",
        "Failed to parse the request body as JSON: ",
    ] {
        if let Some(rest) = text.strip_prefix(preamble) {
            return rest.to_string();
        }
    }
    text.to_string()
}

/// A `{repository}` path segment, the name without its project. Harbor's clients encode the
/// slashes of a name as `%2F` — and Harbor's own console and Go client encode them twice
/// (`%252F`). axum decodes once; a name still holding a percent sign (which no repository name
/// may contain) is decoded once more, so both forms name the same repository.
#[derive(Debug)]
pub struct RepoSegment(pub String);

impl<'de> serde::Deserialize<'de> for RepoSegment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Ok(RepoSegment(decode_repository(raw)))
    }
}

fn decode_repository(raw: String) -> String {
    if !raw.contains('%') {
        return raw;
    }
    urlencoding::decode(&raw)
        .map(|s| s.into_owned())
        .unwrap_or(raw)
}

impl std::ops::Deref for RepoSegment {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_segments_in_both_of_harbors_encodings() {
        // What arrives after axum's one decoding of `a%2Fb` and of `a%252Fb`.
        assert_eq!(decode_repository("a/b".into()), "a/b");
        assert_eq!(decode_repository("a%2Fb".into()), "a/b");
        assert_eq!(decode_repository("a%2fb%2Fc".into()), "a/b/c");
        assert_eq!(decode_repository("plain".into()), "plain");
    }
}
