//! The registry's answers, one type each, setting the headers the distribution specification
//! and Docker clients rely on (`Location`, `Docker-Content-Digest`, `Range`, `Docker-Upload-UUID`,
//! `OCI-Subject`, `Link`).

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::service::registry::ManifestRead;
use domain::types::{Digest, RepoName};

const DOCKER_CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("registry header values are ASCII")
}

/// `201 Created`: a blob is in the repository (monolithic upload, last chunk, or mount).
pub struct BlobCreated {
    pub name: RepoName,
    pub digest: Digest,
}

impl IntoResponse for BlobCreated {
    fn into_response(self) -> Response {
        (
            StatusCode::CREATED,
            [
                (
                    header::LOCATION,
                    value(&format!("/v2/{}/blobs/{}", self.name, self.digest)),
                ),
                (DOCKER_CONTENT_DIGEST, value(&self.digest.to_string())),
                (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
            ],
        )
            .into_response()
    }
}

/// An upload session and how much of it has arrived: `202 Accepted` after it starts or a chunk
/// lands, `204 No Content` for its status.
pub struct UploadProgress {
    pub status: StatusCode,
    pub name: RepoName,
    pub id: String,
    pub size: u64,
}

impl UploadProgress {
    pub fn accepted(name: &RepoName, id: &str, size: u64) -> Self {
        Self {
            status: StatusCode::ACCEPTED,
            name: name.clone(),
            id: id.into(),
            size,
        }
    }

    pub fn status(name: &RepoName, id: &str, size: u64) -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            ..Self::accepted(name, id, size)
        }
    }
}

impl IntoResponse for UploadProgress {
    fn into_response(self) -> Response {
        let range = if self.size == 0 {
            "0-0".to_string()
        } else {
            format!("0-{}", self.size - 1)
        };
        (
            self.status,
            [
                (
                    header::LOCATION,
                    value(&format!("/v2/{}/blobs/uploads/{}", self.name, self.id)),
                ),
                (header::RANGE, value(&range)),
                (
                    HeaderName::from_static("docker-upload-uuid"),
                    value(&self.id),
                ),
                (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
            ],
        )
            .into_response()
    }
}

/// `201 Created`: a manifest is stored under its digest (and tag), with its subject if any.
pub struct ManifestCreated {
    pub name: RepoName,
    pub digest: Digest,
    pub subject: Option<Digest>,
}

impl IntoResponse for ManifestCreated {
    fn into_response(self) -> Response {
        let mut res = (
            StatusCode::CREATED,
            [
                (
                    header::LOCATION,
                    value(&format!("/v2/{}/manifests/{}", self.name, self.digest)),
                ),
                (DOCKER_CONTENT_DIGEST, value(&self.digest.to_string())),
                (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
            ],
        )
            .into_response();
        if let Some(subject) = self.subject {
            res.headers_mut()
                .insert("oci-subject", value(&subject.to_string()));
        }
        res
    }
}

/// A manifest's bytes (`GET`) or only its headers (`HEAD`).
pub struct ManifestContent {
    pub manifest: ManifestRead,
    pub head: bool,
}

impl IntoResponse for ManifestContent {
    fn into_response(self) -> Response {
        let m = self.manifest;
        let headers = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(&m.media_type)
                    .unwrap_or(HeaderValue::from_static("application/json")),
            ),
            (DOCKER_CONTENT_DIGEST, value(&m.digest.to_string())),
            (header::ETAG, value(&format!("\"{}\"", m.digest))),
            (header::CONTENT_LENGTH, HeaderValue::from(m.size)),
        ];
        if self.head {
            (headers, Body::empty()).into_response()
        } else {
            (headers, m.bytes).into_response()
        }
    }
}

/// A blob's bytes, whole (`200`) or a range of them (`206`), or only its headers.
pub struct BlobContent {
    pub digest: Digest,
    pub size: u64,
    /// The first and last byte sent, for a range request.
    pub range: Option<(u64, u64)>,
    pub body: Body,
}

impl IntoResponse for BlobContent {
    fn into_response(self) -> Response {
        let d = &self.digest;
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        headers.insert(DOCKER_CONTENT_DIGEST, value(&d.to_string()));
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        headers.insert(header::ETAG, value(&format!("\"{d}\"")));
        let (status, length) = match self.range {
            Some((first, last)) => {
                headers.insert(
                    header::CONTENT_RANGE,
                    value(&format!("bytes {first}-{last}/{}", self.size)),
                );
                (StatusCode::PARTIAL_CONTENT, last - first + 1)
            }
            None => (StatusCode::OK, self.size),
        };
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        (status, headers, self.body).into_response()
    }
}

/// `202 Accepted` with no body: a manifest, tag or blob deleted.
pub struct Deleted;

impl IntoResponse for Deleted {
    fn into_response(self) -> Response {
        StatusCode::ACCEPTED.into_response()
    }
}

/// `204 No Content`: an upload cancelled.
pub struct Cancelled;

impl IntoResponse for Cancelled {
    fn into_response(self) -> Response {
        StatusCode::NO_CONTENT.into_response()
    }
}

/// A page of the catalog or of a repository's tags, with the `Link` to the next page.
pub struct Listing {
    pub json: serde_json::Value,
    /// The path and query of the next page (`/v2/_catalog?n=…&last=…`).
    pub next: Option<String>,
}

impl IntoResponse for Listing {
    fn into_response(self) -> Response {
        let mut res = axum::Json(self.json).into_response();
        if let Some(next) = self.next {
            res.headers_mut()
                .insert(header::LINK, value(&format!("<{next}>; rel=\"next\"")));
        }
        res
    }
}

/// The referrers of a manifest as an OCI image index.
pub struct Referrers {
    pub index: serde_json::Value,
    /// Whether the `artifactType` filter was applied.
    pub filtered: bool,
}

impl IntoResponse for Referrers {
    fn into_response(self) -> Response {
        let mut res = (
            [(
                header::CONTENT_TYPE,
                domain::service::registry::media::OCI_INDEX,
            )],
            serde_json::to_vec(&self.index).expect("json"),
        )
            .into_response();
        if self.filtered {
            res.headers_mut().insert(
                "oci-filters-applied",
                HeaderValue::from_static("artifactType"),
            );
        }
        res
    }
}
