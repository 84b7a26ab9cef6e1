//! What a `/v2/…` request names and asks: the endpoint parsed from the end of the path (names
//! have any number of segments), query parameters, the chunk range of an upload and the
//! validated name, reference and digest.

use std::io;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap};
use domain::service::registry::{OciCode, RegistryError};
use domain::storage::ByteStream;
use domain::types::{Digest, Reference, RepoName};
use futures::TryStreamExt;

/// What a `/v2/…` path names.
#[derive(Debug, PartialEq, Eq)]
pub enum Endpoint {
    Catalog,
    Tags(String),
    Manifest(String, String),
    Blob(String, String),
    Uploads(String),
    Upload(String, String),
    Referrers(String, String),
}

/// Splits a path after `/v2/` into the repository name and the endpoint; names may have any
/// number of segments, so the endpoint is found from the end.
pub fn parse_path(path: &str) -> Option<Endpoint> {
    if path == "_catalog" {
        return Some(Endpoint::Catalog);
    }
    if let Some(name) = path.strip_suffix("/tags/list") {
        return Some(Endpoint::Tags(name.into()));
    }
    if let Some(name) = path
        .strip_suffix("/blobs/uploads/")
        .or_else(|| path.strip_suffix("/blobs/uploads"))
    {
        return Some(Endpoint::Uploads(name.into()));
    }
    let (head, last) = path.rsplit_once('/')?;
    if let Some(name) = head.strip_suffix("/blobs/uploads") {
        return Some(Endpoint::Upload(name.into(), last.into()));
    }
    if let Some(name) = head.strip_suffix("/manifests") {
        return Some(Endpoint::Manifest(name.into(), last.into()));
    }
    if let Some(name) = head.strip_suffix("/blobs") {
        return Some(Endpoint::Blob(name.into(), last.into()));
    }
    if let Some(name) = head.strip_suffix("/referrers") {
        return Some(Endpoint::Referrers(name.into(), last.into()));
    }
    None
}

pub fn query_param(request: &Request, key: &str) -> Option<String> {
    request.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| {
            urlencoding::decode(v)
                .map(|s| s.into_owned())
                .unwrap_or_default()
        })
    })
}

pub fn bad(code: OciCode, message: impl Into<String>) -> RegistryError {
    RegistryError::new(code, message)
}

pub fn repo(name: &str) -> Result<RepoName, RegistryError> {
    RepoName::parse(name).map_err(|e| bad(OciCode::NameInvalid, e))
}

pub fn digest(text: &str) -> Result<Digest, RegistryError> {
    Digest::parse(text).map_err(|e| bad(OciCode::DigestInvalid, e))
}

pub fn body_stream(body: Body) -> ByteStream {
    Box::pin(body.into_data_stream().map_err(io::Error::other))
}

/// `Content-Range: <start>-<end>` of a chunk, exactly the specification's form: HTTP's
/// `bytes <start>-<end>/<size>` belongs to responses and is refused (416), as is anything else.
pub fn content_range(headers: &HeaderMap) -> Result<Option<(u64, u64)>, RegistryError> {
    let Some(value) = headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default();
    parse_chunk_range(text).map(Some).ok_or_else(|| {
        bad(
            OciCode::RangeNotSatisfiable,
            format!(
                "invalid Content-Range `{text}`: expected `<start>-<end>` in bytes, e.g. `0-1023`"
            ),
        )
    })
}

fn parse_chunk_range(text: &str) -> Option<(u64, u64)> {
    let (a, b) = text.split_once('-')?;
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let (start, end) = (number(a)?, number(b)?);
    (start <= end).then_some((start, end))
}

/// A numeric query parameter of a listing (`n`): absent, or a non-negative integer.
pub fn page_size_param(request: &Request, key: &str) -> Result<Option<u64>, RegistryError> {
    match query_param(request, key) {
        None => Ok(None),
        Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
            bad(
                OciCode::PaginationNumberInvalid,
                format!("invalid number of results requested: `{key}` must be a non-negative integer, not `{v}`"),
            )
        }),
    }
}

/// A manifest reference: a tag, or a digest (then `DIGEST_INVALID` when malformed).
pub fn reference(text: &str) -> Result<Reference, RegistryError> {
    Reference::parse(text).map_err(|e| {
        let code = if text.contains(':') {
            OciCode::DigestInvalid
        } else {
            OciCode::ManifestInvalid
        };
        bad(code, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_ranges_in_the_specification_form_only() {
        assert_eq!(parse_chunk_range("0-1023"), Some((0, 1023)));
        assert_eq!(parse_chunk_range("5-5"), Some((5, 5)));
        for bad in [
            "bytes 0-3/4",
            "bytes 0-3",
            "0-3/4",
            " 0-3",
            "0 - 3",
            "-3",
            "3-",
            "4-3",
            "+1-2",
            "0x1-2",
            "99999999999999999999-1",
            "",
        ] {
            assert_eq!(parse_chunk_range(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn paths_with_any_number_of_segments() {
        assert_eq!(parse_path("_catalog"), Some(Endpoint::Catalog));
        assert_eq!(
            parse_path("a/b/c/tags/list"),
            Some(Endpoint::Tags("a/b/c".into()))
        );
        assert_eq!(
            parse_path("a/b/manifests/latest"),
            Some(Endpoint::Manifest("a/b".into(), "latest".into()))
        );
        assert_eq!(
            parse_path("a/manifests/b/manifests/v1"),
            Some(Endpoint::Manifest("a/manifests/b".into(), "v1".into()))
        );
        assert_eq!(
            parse_path("a/b/blobs/uploads/"),
            Some(Endpoint::Uploads("a/b".into()))
        );
        assert_eq!(
            parse_path("a/b/blobs/uploads/123-abc"),
            Some(Endpoint::Upload("a/b".into(), "123-abc".into()))
        );
        assert_eq!(
            parse_path("a/b/blobs/sha256:x"),
            Some(Endpoint::Blob("a/b".into(), "sha256:x".into()))
        );
        assert_eq!(
            parse_path("a/b/referrers/sha256:x"),
            Some(Endpoint::Referrers("a/b".into(), "sha256:x".into()))
        );
        assert_eq!(parse_path("a/b/nothing"), None);
    }
}
