//! The handlers of each `/v2/…` endpoint: parse what the request asks (`path`), make one call
//! on the registry service, and answer with one typed response (`responses`).

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::service::registry::{ByteRange, OciCode, RegistryCaller, RegistryError};
use domain::service::Principal;
use domain::storage::StorageError;
use domain::types::{Digest, Reference, RepoName};

use super::path::{
    bad, body_stream, content_range, digest, page_size_param, parse_path, query_param, reference,
    repo, Endpoint,
};
use super::responses::{
    BlobContent, BlobCreated, Cancelled, Deleted, Listing, ManifestContent, ManifestCreated,
    Referrers, UploadProgress,
};
use super::{caller, host_of, registry_error, unauthorized};
use crate::auth::AuthState;
use crate::AppState;

type Answer = Result<Response, RegistryError>;

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

/// Every other `/v2/…` request: the endpoint from the path, then its handler.
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
        Some(endpoint) => {
            handle(
                &Ctx {
                    state: &state,
                    caller: &caller,
                },
                endpoint,
                request,
            )
            .await
        }
        None => Err(bad(
            OciCode::NameInvalid,
            format!("`/v2/{path}` is not a registry endpoint"),
        )),
    };
    result.unwrap_or_else(|e| registry_error(&state, host.as_deref(), e))
}

/// What every handler needs: the state and who is calling.
struct Ctx<'a> {
    state: &'a AppState,
    caller: &'a RegistryCaller,
}

async fn handle(cx: &Ctx<'_>, endpoint: Endpoint, request: Request) -> Answer {
    let method = request.method().clone();
    match (endpoint, method.clone()) {
        (Endpoint::Catalog, Method::GET) => catalog(cx, Page::of(&request)?).await,
        (Endpoint::Tags(name), Method::GET) => tags(cx, &repo(&name)?, Page::of(&request)?).await,
        (Endpoint::Manifest(name, r), m) => {
            let (name, r) = (repo(&name)?, reference(&r)?);
            match m {
                Method::GET | Method::HEAD => get_manifest(cx, &name, &r, m == Method::HEAD).await,
                Method::PUT => put_manifest(cx, name, &r, request).await,
                Method::DELETE => delete_manifest(cx, &name, &r).await,
                _ => Err(unsupported(&method)),
            }
        }
        (Endpoint::Blob(name, d), m) => {
            let (name, d) = (repo(&name)?, digest(&d)?);
            match m {
                Method::GET | Method::HEAD => get_blob(cx, &name, &d, request).await,
                Method::DELETE => delete_blob(cx, &name, &d).await,
                _ => Err(unsupported(&method)),
            }
        }
        (Endpoint::Uploads(name), Method::POST) => start_upload(cx, repo(&name)?, request).await,
        (Endpoint::Upload(name, id), m) => {
            let name = repo(&name)?;
            match m {
                Method::GET => upload_status(cx, &name, &id).await,
                Method::PATCH => append_upload(cx, &name, &id, request).await,
                Method::PUT => finish_upload(cx, name, &id, request).await,
                Method::DELETE => cancel_upload(cx, &name, &id).await,
                _ => Err(unsupported(&method)),
            }
        }
        (Endpoint::Referrers(name, d), Method::GET) => {
            let artifact_type = query_param(&request, "artifactType");
            referrers(cx, &repo(&name)?, &digest(&d)?, artifact_type).await
        }
        _ => Err(unsupported(&method)),
    }
}

fn unsupported(method: &Method) -> RegistryError {
    bad(
        OciCode::Unsupported,
        format!("{method} is not supported here"),
    )
}

/// The `Link` of the next page of a listing at `path`.
fn next_page(path: &str, n: Option<u64>, next: Option<String>) -> Option<String> {
    next.map(|last| {
        format!(
            "{path}?n={}&last={}",
            n.unwrap_or_default(),
            urlencoding::encode(&last)
        )
    })
}

/// The page a listing asks for: `n` and `last`.
struct Page {
    n: Option<u64>,
    last: Option<String>,
}

impl Page {
    fn of(request: &Request) -> Result<Self, RegistryError> {
        Ok(Self {
            n: page_size_param(request, "n")?,
            last: query_param(request, "last"),
        })
    }
}

/// `GET /v2/_catalog`.
async fn catalog(cx: &Ctx<'_>, p: Page) -> Answer {
    let page = cx
        .state
        .registry
        .catalog(cx.caller, p.n, p.last.as_deref())
        .await?;
    Ok(Listing {
        json: serde_json::json!({"repositories": page.repositories}),
        next: next_page("/v2/_catalog", p.n, page.next_last),
    }
    .into_response())
}

/// `GET /v2/<name>/tags/list`.
async fn tags(cx: &Ctx<'_>, name: &RepoName, p: Page) -> Answer {
    let page = cx
        .state
        .registry
        .list_tags(cx.caller, name, p.n, p.last.as_deref())
        .await?;
    Ok(Listing {
        json: serde_json::json!({"name": name.as_str(), "tags": page.tags}),
        next: next_page(&format!("/v2/{name}/tags/list"), p.n, page.next_last),
    }
    .into_response())
}

/// `GET|HEAD /v2/<name>/manifests/<reference>`.
async fn get_manifest(cx: &Ctx<'_>, name: &RepoName, r: &Reference, head: bool) -> Answer {
    let manifest = cx
        .state
        .registry
        .read_manifest(cx.caller, name, r, !head)
        .await?;
    Ok(ManifestContent { manifest, head }.into_response())
}

/// `PUT /v2/<name>/manifests/<reference>`: at most `max_manifest_bytes` are read.
async fn put_manifest(cx: &Ctx<'_>, name: RepoName, r: &Reference, request: Request) -> Answer {
    let registry = &cx.state.registry;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let limit = registry.settings.max_manifest_bytes;
    let bytes: Bytes = match axum::body::to_bytes(request.into_body(), limit + 1).await {
        Ok(b) if b.len() <= limit => b,
        Ok(_) | Err(_) => {
            return Err(bad(
                OciCode::TooLarge,
                format!("manifest exceeds the limit of {limit} bytes"),
            ));
        }
    };
    let pushed = registry
        .put_manifest(cx.caller, &name, r, content_type.as_deref(), bytes)
        .await?;
    Ok(ManifestCreated {
        name,
        digest: pushed.digest,
        subject: pushed.subject,
    }
    .into_response())
}

/// `DELETE /v2/<name>/manifests/<reference>`: a tag, or the manifest by digest.
async fn delete_manifest(cx: &Ctx<'_>, name: &RepoName, r: &Reference) -> Answer {
    cx.state
        .registry
        .delete_manifest(cx.caller, name, r)
        .await?;
    Ok(Deleted.into_response())
}

/// `GET|HEAD /v2/<name>/blobs/<digest>`, whole or one `Range`; sent zero-copy where it can be.
async fn get_blob(cx: &Ctx<'_>, name: &RepoName, d: &Digest, request: Request) -> Answer {
    let range = match request.headers().get(header::RANGE) {
        Some(v) => Some(
            ByteRange::parse(v.to_str().unwrap_or_default())
                .ok_or_else(|| bad(OciCode::RangeNotSatisfiable, "unsupported Range header"))?,
        ),
        None => None,
    };
    let get = request.method() == Method::GET;
    let blob = cx
        .state
        .registry
        .read_blob(cx.caller, name, d, range, get)
        .await?;
    if let Some(url) = blob.redirect {
        // The object store serves the bytes (and the client's `Range`) from here.
        return Ok((
            StatusCode::TEMPORARY_REDIRECT,
            [
                (header::LOCATION, url),
                (header::CACHE_CONTROL, "no-store".to_string()),
                (
                    HeaderName::from_static("docker-content-digest"),
                    d.to_string(),
                ),
            ],
        )
            .into_response());
    }
    let body = match blob.body {
        Some(content) => crate::sendfile::blob_body(content, &request)
            .map_err(|e| RegistryError::from(StorageError::from(e)))?,
        None => Body::empty(),
    };
    Ok(BlobContent {
        digest: d.clone(),
        size: blob.size,
        range: blob.range,
        body,
    }
    .into_response())
}

/// `DELETE /v2/<name>/blobs/<digest>`.
async fn delete_blob(cx: &Ctx<'_>, name: &RepoName, d: &Digest) -> Answer {
    cx.state.registry.delete_blob(cx.caller, name, d).await?;
    Ok(Deleted.into_response())
}

/// `POST /v2/<name>/blobs/uploads/`: a mount (`mount` + `from`), a monolithic upload
/// (`digest`), or a new session.
async fn start_upload(cx: &Ctx<'_>, name: RepoName, request: Request) -> Answer {
    let registry = &cx.state.registry;
    if let (Some(mount), Some(from)) = (
        query_param(&request, "mount"),
        query_param(&request, "from"),
    ) {
        let d = digest(&mount)?;
        if let Ok(from) = RepoName::parse(&from) {
            if registry
                .mount_blob(cx.caller, &name, &d, &from)
                .await?
                .is_some()
            {
                return Ok(BlobCreated { name, digest: d }.into_response());
            }
        }
        // Not mountable: an ordinary upload session instead (202).
    }
    let monolithic = query_param(&request, "digest")
        .map(|d| digest(&d))
        .transpose()?;
    let session = registry.start_upload(cx.caller, &name).await?;
    match monolithic {
        Some(d) => {
            let body = body_stream(request.into_body());
            registry
                .finish_upload(cx.caller, &name, &session.id, &d, Some((Some(0), body)))
                .await?;
            Ok(BlobCreated { name, digest: d }.into_response())
        }
        None => Ok(UploadProgress::accepted(&name, &session.id, 0).into_response()),
    }
}

/// `GET /v2/<name>/blobs/uploads/<id>`.
async fn upload_status(cx: &Ctx<'_>, name: &RepoName, id: &str) -> Answer {
    let s = cx.state.registry.upload_status(cx.caller, name, id).await?;
    Ok(UploadProgress::status(name, &s.id, s.size).into_response())
}

/// `PATCH /v2/<name>/blobs/uploads/<id>`: one chunk, at its `Content-Range` if given.
async fn append_upload(cx: &Ctx<'_>, name: &RepoName, id: &str, request: Request) -> Answer {
    let range = content_range(request.headers())?;
    let body = body_stream(request.into_body());
    let s = cx
        .state
        .registry
        .append_upload(cx.caller, name, id, range.map(|r| r.0), body)
        .await?;
    Ok(UploadProgress::accepted(name, &s.id, s.size).into_response())
}

/// `PUT /v2/<name>/blobs/uploads/<id>?digest=…`, with or without a last chunk.
async fn finish_upload(cx: &Ctx<'_>, name: RepoName, id: &str, request: Request) -> Answer {
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
    let last = has_body.then(|| (range.map(|r| r.0), body_stream(request.into_body())));
    cx.state
        .registry
        .finish_upload(cx.caller, &name, id, &d, last)
        .await?;
    Ok(BlobCreated { name, digest: d }.into_response())
}

/// `DELETE /v2/<name>/blobs/uploads/<id>`.
async fn cancel_upload(cx: &Ctx<'_>, name: &RepoName, id: &str) -> Answer {
    cx.state.registry.cancel_upload(cx.caller, name, id).await?;
    Ok(Cancelled.into_response())
}

/// `GET /v2/<name>/referrers/<digest>[?artifactType=…]`.
async fn referrers(
    cx: &Ctx<'_>,
    name: &RepoName,
    d: &Digest,
    artifact_type: Option<String>,
) -> Answer {
    let index = cx
        .state
        .registry
        .referrers(cx.caller, name, d, artifact_type.as_deref())
        .await?;
    Ok(Referrers {
        index,
        filtered: artifact_type.is_some(),
    }
    .into_response())
}
