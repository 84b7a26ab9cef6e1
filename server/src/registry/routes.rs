//! `/v2/<name>/…` request parsing and the handlers of each endpoint.

use std::io;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use domain::service::registry::{OciCode, RegistryCaller, RegistryError};
use domain::service::Principal;
use domain::storage::{ByteStream, StorageError};
use domain::types::{Digest, Reference, RepoName};
use futures::TryStreamExt;

use super::{caller, host_of, registry_error, unauthorized};
use crate::auth::AuthState;
use crate::AppState;

/// What a `/v2/…` path names.
#[derive(Debug, PartialEq, Eq)]
enum Endpoint {
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
fn parse_path(path: &str) -> Option<Endpoint> {
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

fn query_param(request: &Request, key: &str) -> Option<String> {
    request.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| {
            urlencoding::decode(v)
                .map(|s| s.into_owned())
                .unwrap_or_default()
        })
    })
}

fn bad(code: OciCode, message: impl Into<String>) -> RegistryError {
    RegistryError::new(code, message)
}

fn repo(name: &str) -> Result<RepoName, RegistryError> {
    RepoName::parse(name).map_err(|e| bad(OciCode::NameInvalid, e))
}

fn digest(text: &str) -> Result<Digest, RegistryError> {
    Digest::parse(text).map_err(|e| bad(OciCode::DigestInvalid, e))
}

fn body_stream(body: Body) -> ByteStream {
    Box::pin(body.into_data_stream().map_err(io::Error::other))
}

/// `Content-Range: <start>-<end>` of a chunk, exactly the specification's form: HTTP's
/// `bytes <start>-<end>/<size>` belongs to responses and is refused (416), as is anything else.
fn content_range(headers: &HeaderMap) -> Result<Option<(u64, u64)>, RegistryError> {
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
fn page_size_param(request: &Request, key: &str) -> Result<Option<u64>, RegistryError> {
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

fn upload_headers(name: &RepoName, id: &str, size: u64) -> [(header::HeaderName, HeaderValue); 4] {
    let range = if size == 0 {
        "0-0".to_string()
    } else {
        format!("0-{}", size - 1)
    };
    [
        (
            header::LOCATION,
            HeaderValue::from_str(&format!("/v2/{name}/blobs/uploads/{id}")).expect("ascii"),
        ),
        (header::RANGE, HeaderValue::from_str(&range).expect("ascii")),
        (
            header::HeaderName::from_static("docker-upload-uuid"),
            HeaderValue::from_str(id).expect("ascii"),
        ),
        (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
    ]
}

fn blob_created(name: &RepoName, d: &Digest) -> Response {
    (
        StatusCode::CREATED,
        [
            (
                header::LOCATION,
                HeaderValue::from_str(&format!("/v2/{name}/blobs/{d}")).expect("ascii"),
            ),
            (
                header::HeaderName::from_static("docker-content-digest"),
                HeaderValue::from_str(&d.to_string()).expect("ascii"),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
        ],
    )
        .into_response()
}

/// `GET /v2/`: 200 for any authenticated caller, otherwise the challenge.
pub async fn base(State(state): State<AppState>, auth: AuthState, request: Request) -> Response {
    let host = host_of(&request);
    match caller(&state, auth, host.as_deref()) {
        Err(refused) => *refused,
        Ok(c) if matches!(c.actor.principal, Principal::Anonymous) => {
            unauthorized(&state, &request)
        }
        Ok(_) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{}",
        )
            .into_response(),
    }
}

pub async fn dispatch(
    State(state): State<AppState>,
    auth: AuthState,
    request: Request,
) -> Response {
    let host = host_of(&request);
    let caller = match caller(&state, auth, host.as_deref()) {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let path = request
        .uri()
        .path()
        .strip_prefix("/v2/")
        .unwrap_or_default()
        .to_string();
    let result = match parse_path(&path) {
        Some(endpoint) => handle(&state, &caller, endpoint, request).await,
        None => Err(bad(
            OciCode::NameInvalid,
            format!("`/v2/{path}` is not a registry endpoint"),
        )),
    };
    result.unwrap_or_else(|e| registry_error(&state, host.as_deref(), e))
}

async fn handle(
    state: &AppState,
    caller: &RegistryCaller,
    endpoint: Endpoint,
    request: Request,
) -> Result<Response, RegistryError> {
    let registry = &state.registry;
    let method = request.method().clone();
    let unsupported = || {
        bad(
            OciCode::Unsupported,
            format!("{method} is not supported here"),
        )
    };
    match endpoint {
        Endpoint::Catalog if method == Method::GET => {
            let n = page_size_param(&request, "n")?;
            let last = query_param(&request, "last");
            let page = registry.catalog(caller, n, last.as_deref()).await?;
            let mut res =
                Json(serde_json::json!({"repositories": page.repositories})).into_response();
            if let Some(next) = page.next_last {
                let link = format!(
                    "</v2/_catalog?n={}&last={}>; rel=\"next\"",
                    n.unwrap_or_default(),
                    urlencoding::encode(&next)
                );
                res.headers_mut()
                    .insert(header::LINK, HeaderValue::from_str(&link).expect("ascii"));
            }
            Ok(res)
        }
        Endpoint::Tags(name) if method == Method::GET => {
            let name = repo(&name)?;
            let n = page_size_param(&request, "n")?;
            let last = query_param(&request, "last");
            let page = registry
                .list_tags(caller, &name, n, last.as_deref())
                .await?;
            let mut res =
                Json(serde_json::json!({"name": name.as_str(), "tags": page.tags})).into_response();
            if let Some(next) = page.next_last {
                let link = format!(
                    "</v2/{name}/tags/list?n={}&last={}>; rel=\"next\"",
                    n.unwrap_or_default(),
                    urlencoding::encode(&next)
                );
                res.headers_mut()
                    .insert(header::LINK, HeaderValue::from_str(&link).expect("ascii"));
            }
            Ok(res)
        }
        Endpoint::Manifest(name, reference) => {
            let name = repo(&name)?;
            let reference = Reference::parse(&reference).map_err(|e| {
                let code = if reference.contains(':') {
                    OciCode::DigestInvalid
                } else {
                    OciCode::ManifestInvalid
                };
                bad(code, e)
            })?;
            match method {
                Method::GET | Method::HEAD => {
                    let m = registry
                        .read_manifest(caller, &name, &reference, method == Method::GET)
                        .await?;
                    let headers = [
                        (
                            header::CONTENT_TYPE,
                            HeaderValue::from_str(&m.media_type)
                                .unwrap_or(HeaderValue::from_static("application/json")),
                        ),
                        (
                            header::HeaderName::from_static("docker-content-digest"),
                            HeaderValue::from_str(&m.digest.to_string()).expect("ascii"),
                        ),
                        (
                            header::ETAG,
                            HeaderValue::from_str(&format!("\"{}\"", m.digest)).expect("ascii"),
                        ),
                        (header::CONTENT_LENGTH, HeaderValue::from(m.size)),
                    ];
                    if method == Method::HEAD {
                        Ok((headers, Body::empty()).into_response())
                    } else {
                        Ok((headers, m.bytes).into_response())
                    }
                }
                Method::PUT => {
                    let content_type = request
                        .headers()
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let limit = registry.settings.max_manifest_bytes;
                    let bytes: Bytes =
                        match axum::body::to_bytes(request.into_body(), limit + 1).await {
                            Ok(b) if b.len() <= limit => b,
                            Ok(_) | Err(_) => {
                                return Err(bad(
                                    OciCode::TooLarge,
                                    format!("manifest exceeds the limit of {limit} bytes"),
                                ));
                            }
                        };
                    let pushed = registry
                        .put_manifest(caller, &name, &reference, content_type.as_deref(), bytes)
                        .await?;
                    crate::scanning::on_push(state, name.as_str(), &pushed.digest.to_string());
                    let mut res = (
                        StatusCode::CREATED,
                        [
                            (
                                header::LOCATION,
                                HeaderValue::from_str(&format!(
                                    "/v2/{name}/manifests/{}",
                                    pushed.digest
                                ))
                                .expect("ascii"),
                            ),
                            (
                                header::HeaderName::from_static("docker-content-digest"),
                                HeaderValue::from_str(&pushed.digest.to_string()).expect("ascii"),
                            ),
                            (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
                        ],
                    )
                        .into_response();
                    if let Some(subject) = pushed.subject {
                        res.headers_mut().insert(
                            "oci-subject",
                            HeaderValue::from_str(&subject.to_string()).expect("ascii"),
                        );
                    }
                    Ok(res)
                }
                Method::DELETE => {
                    registry.delete_manifest(caller, &name, &reference).await?;
                    Ok(StatusCode::ACCEPTED.into_response())
                }
                _ => Err(unsupported()),
            }
        }
        Endpoint::Blob(name, d) => {
            let name = repo(&name)?;
            let d = digest(&d)?;
            match method {
                Method::GET | Method::HEAD => {
                    let range = match request.headers().get(header::RANGE) {
                        Some(v) => Some(
                            domain::service::registry::ByteRange::parse(
                                v.to_str().unwrap_or_default(),
                            )
                            .ok_or_else(|| {
                                bad(OciCode::RangeNotSatisfiable, "unsupported Range header")
                            })?,
                        ),
                        None => None,
                    };
                    let blob = registry
                        .read_blob(caller, &name, &d, range, method == Method::GET)
                        .await?;
                    let mut headers = HeaderMap::new();
                    headers.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/octet-stream"),
                    );
                    headers.insert(
                        "docker-content-digest",
                        HeaderValue::from_str(&d.to_string()).expect("ascii"),
                    );
                    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
                    headers.insert(
                        header::ETAG,
                        HeaderValue::from_str(&format!("\"{d}\"")).expect("ascii"),
                    );
                    let (status, length) = match blob.range {
                        Some((first, last)) => {
                            headers.insert(
                                header::CONTENT_RANGE,
                                HeaderValue::from_str(&format!(
                                    "bytes {first}-{last}/{}",
                                    blob.size
                                ))
                                .expect("ascii"),
                            );
                            (StatusCode::PARTIAL_CONTENT, last - first + 1)
                        }
                        None => (StatusCode::OK, blob.size),
                    };
                    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
                    let body = match blob.body {
                        Some(content) => crate::sendfile::blob_body(content, &request)
                            .map_err(|e| RegistryError::from(StorageError::from(e)))?,
                        None => Body::empty(),
                    };
                    Ok((status, headers, body).into_response())
                }
                Method::DELETE => {
                    registry.delete_blob(caller, &name, &d).await?;
                    Ok(StatusCode::ACCEPTED.into_response())
                }
                _ => Err(unsupported()),
            }
        }
        Endpoint::Uploads(name) if method == Method::POST => {
            let name = repo(&name)?;
            if let (Some(mount), Some(from)) = (
                query_param(&request, "mount"),
                query_param(&request, "from"),
            ) {
                let d = digest(&mount)?;
                if let Ok(from) = RepoName::parse(&from) {
                    if registry
                        .mount_blob(caller, &name, &d, &from)
                        .await?
                        .is_some()
                    {
                        return Ok(blob_created(&name, &d));
                    }
                }
                // Not mountable: an ordinary upload session instead (202).
            }
            let monolithic = query_param(&request, "digest")
                .map(|d| digest(&d))
                .transpose()?;
            let state = registry.start_upload(caller, &name).await?;
            match monolithic {
                Some(d) => {
                    let body = body_stream(request.into_body());
                    registry
                        .finish_upload(caller, &name, &state.id, &d, Some((Some(0), body)))
                        .await?;
                    Ok(blob_created(&name, &d))
                }
                None => {
                    Ok((StatusCode::ACCEPTED, upload_headers(&name, &state.id, 0)).into_response())
                }
            }
        }
        Endpoint::Upload(name, id) => {
            let name = repo(&name)?;
            match method {
                Method::GET => {
                    let s = registry.upload_status(caller, &name, &id).await?;
                    Ok(
                        (StatusCode::NO_CONTENT, upload_headers(&name, &s.id, s.size))
                            .into_response(),
                    )
                }
                Method::PATCH => {
                    let range = content_range(request.headers())?;
                    let body = body_stream(request.into_body());
                    let s = registry
                        .append_upload(caller, &name, &id, range.map(|r| r.0), body)
                        .await?;
                    Ok(
                        (StatusCode::ACCEPTED, upload_headers(&name, &s.id, s.size))
                            .into_response(),
                    )
                }
                Method::PUT => {
                    let d = query_param(&request, "digest").ok_or_else(|| {
                        bad(
                            OciCode::DigestInvalid,
                            "the digest query parameter is required",
                        )
                    })?;
                    let d = digest(&d)?;
                    let range = content_range(request.headers())?;
                    let has_body = request
                        .headers()
                        .get(header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .is_none_or(|len| len > 0);
                    let last =
                        has_body.then(|| (range.map(|r| r.0), body_stream(request.into_body())));
                    registry.finish_upload(caller, &name, &id, &d, last).await?;
                    Ok(blob_created(&name, &d))
                }
                Method::DELETE => {
                    registry.cancel_upload(caller, &name, &id).await?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                _ => Err(unsupported()),
            }
        }
        Endpoint::Referrers(name, d) if method == Method::GET => {
            let name = repo(&name)?;
            let d = digest(&d)?;
            let artifact_type = query_param(&request, "artifactType");
            let index = registry
                .referrers(caller, &name, &d, artifact_type.as_deref())
                .await?;
            let mut res = (
                [(
                    header::CONTENT_TYPE,
                    domain::service::registry::media::OCI_INDEX,
                )],
                serde_json::to_vec(&index).expect("json"),
            )
                .into_response();
            if artifact_type.is_some() {
                res.headers_mut().insert(
                    "oci-filters-applied",
                    HeaderValue::from_static("artifactType"),
                );
            }
            Ok(res)
        }
        _ => Err(unsupported()),
    }
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
