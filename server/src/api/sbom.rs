//! SBOMs of artifacts: `POST …/artifacts/{reference}/sbom` generates one now (CycloneDX 1.6
//! unless `format=spdx`), `GET …/artifacts/{reference}/additions/sbom` returns the document.

use super::extract::{Path, Query, RepoSegment};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::scan::sbom::SbomFormat;
use domain::service::DomainError;
use serde::Deserialize;

use super::{ApiActor, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/projects/{project}/repositories/{repository}/artifacts/{reference}/sbom",
            post(generate_sbom),
        )
        .route(
            "/projects/{project}/repositories/{repository}/artifacts/{reference}/additions/sbom",
            get(get_sbom),
        )
}

/// The request body as bytes (optional JSON).
pub struct RawBody(Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for RawBody {
    type Rejection = Response;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(IntoResponse::into_response)
    }
}

#[derive(Deserialize, Default)]
pub struct FormatQuery {
    /// `cyclonedx` (the default) or `spdx`.
    pub format: Option<String>,
}

fn format_of(text: Option<&str>) -> Result<Option<SbomFormat>, DomainError> {
    match text {
        None => Ok(None),
        Some(t) => SbomFormat::parse(t).map(Some).ok_or_else(|| {
            DomainError::field(
                "format",
                format!("unknown SBOM format `{t}`: Berth writes `cyclonedx` (CycloneDX 1.6 JSON) or `spdx` (SPDX 2.3 JSON)"),
            )
        }),
    }
}

#[utoipa::path(post, path = "/api/v2.0/projects/{project}/repositories/{repository}/artifacts/{reference}/sbom", tag = "sbom",
    params(("project" = String, Path), ("repository" = String, Path), ("reference" = String, Path),
        ("format" = Option<String>, Query, description = "`cyclonedx` (default) or `spdx`; also accepted as a JSON body `{\"format\": …}`")),
    responses((status = 201, description = "The SBOM, attached as a referrer of the artifact"),
        (status = 400, body = super::ErrorBody, description = "Not an image, or an unknown format")))]
pub async fn generate_sbom(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository, reference)): Path<(String, RepoSegment, String)>,
    Query(q): Query<FormatQuery>,
    body: RawBody,
) -> ApiResult<Response> {
    let RawBody(body) = body;
    let mut requested = q.format;
    if !body.iter().all(u8::is_ascii_whitespace) {
        let parsed: FormatQuery = serde_json::from_slice(&body).map_err(|e| {
            DomainError::Invalid(format!(
                "the body must be JSON such as {{\"format\": \"spdx\"}}: {e}"
            ))
        })?;
        requested = parsed.format.or(requested);
    }
    let format = format_of(requested.as_deref())?.unwrap_or(SbomFormat::CycloneDx);
    let doc = s
        .registry
        .request_sbom(&actor, &project, &repository, &reference, format)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(doc)).into_response())
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/repositories/{repository}/artifacts/{reference}/additions/sbom", tag = "sbom",
    params(("project" = String, Path), ("repository" = String, Path), ("reference" = String, Path),
        ("format" = Option<String>, Query, description = "`cyclonedx` or `spdx`: the newest SBOM in that format; any format without")),
    responses((status = 200, description = "The SBOM document, with its media type"),
        (status = 404, body = super::ErrorBody, description = "The artifact has no SBOM")))]
pub async fn get_sbom(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository, reference)): Path<(String, RepoSegment, String)>,
    Query(q): Query<FormatQuery>,
) -> ApiResult<Response> {
    let format = format_of(q.format.as_deref())?;
    let (doc, stream) = s
        .registry
        .sbom_addition(&actor, &project, &repository, &reference, format)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, doc.media_type.clone()),
            (header::CONTENT_LENGTH, doc.size.to_string()),
            (
                header::HeaderName::from_static("docker-content-digest"),
                doc.digest.clone(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
