//! `/projects/{project}/repositories/{repository}/artifacts/{reference}/tags`, Harbor's shape.
//! Repository names are URL-encoded (`%2F` for slashes) and given without the project.

use super::extract::{Json, Path, Query, RepoSegment};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get};
use axum::Router;
use domain::types::dto::{ArtifactDetail, ArtifactView, RepositoryView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{paged, ApiActor, ApiResult, ListQuery};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/projects/{project}/repositories", get(list_repositories))
        .route(
            "/projects/{project}/repositories/{repository}",
            get(get_repository).delete(delete_repository),
        )
        .route(
            "/projects/{project}/repositories/{repository}/artifacts",
            get(list_artifacts),
        )
        .route(
            "/projects/{project}/repositories/{repository}/artifacts/{reference}",
            get(get_artifact).delete(delete_artifact),
        )
        .route(
            "/projects/{project}/repositories/{repository}/artifacts/{reference}/tags",
            get(list_tags).post(create_tag),
        )
        .route(
            "/projects/{project}/repositories/{repository}/artifacts/{reference}/tags/{tag}",
            delete(delete_tag),
        )
}

#[derive(Serialize, ToSchema)]
pub struct RepositoryJson {
    pub id: i64,
    /// Full name, `project/repository`.
    pub name: String,
    pub project_id: i64,
    pub artifact_count: u64,
    pub pull_count: u64,
    pub creation_time: String,
    pub update_time: String,
}

fn repository_json(r: RepositoryView) -> RepositoryJson {
    RepositoryJson {
        id: r.id,
        name: r.name,
        project_id: r.project_id,
        artifact_count: r.artifact_count,
        pull_count: r.pull_count,
        creation_time: r.created_at,
        update_time: r.updated_at,
    }
}

#[derive(Serialize, ToSchema)]
pub struct TagJson {
    pub name: String,
    pub push_time: String,
}

#[derive(Serialize, ToSchema)]
pub struct ArtifactJson {
    pub id: i64,
    pub digest: String,
    pub manifest_media_type: String,
    pub artifact_type: Option<String>,
    pub size: u64,
    pub push_time: String,
    pub pull_time: Option<String>,
    pub pull_count: u64,
    pub pushed_by: String,
    pub tags: Vec<TagJson>,
    pub platforms: Vec<String>,
    /// Digests of artifacts whose subject is this one.
    pub referrers: Vec<String>,
    pub labels: Vec<super::labels::LabelJson>,
    /// With `with_scan_overview=true`: the scan state keyed by the report's MIME type.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub scan_overview: Option<std::collections::BTreeMap<String, domain::scan::report::Overview>>,
    /// `verified` (a signature verifies against a trusted anchor), `invalid` (signatures, none
    /// verifies) or `unsigned`; empty for accessories.
    pub signed: String,
    /// With `with_signature=true`: each signature, the anchor that verified it, or why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures: Option<Vec<SignatureJson>>,
    /// Digests of the artifact's attestations and SBOMs.
    pub attestations: Vec<String>,
    pub sboms: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SignatureJson {
    /// `cosign` or `notation`.
    pub kind: String,
    /// `cosign`, `cosign-bundle` or `notation`.
    pub format: String,
    pub digest: String,
    /// The name of the trust anchor that verified it.
    pub key: Option<String>,
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn artifact_json(a: ArtifactView) -> ArtifactJson {
    let signatures = a
        .signatures
        .into_iter()
        .map(|s| SignatureJson {
            kind: s.kind,
            format: s.format,
            digest: s.digest,
            key: s.key,
            verified: s.verified,
            reason: s.reason,
        })
        .collect();
    ArtifactJson {
        signed: a.signed,
        signatures: Some(signatures),
        attestations: a.attestations,
        sboms: a.sboms,
        id: a.id,
        digest: a.digest,
        manifest_media_type: a.media_type,
        artifact_type: a.artifact_type,
        size: a.size,
        push_time: a.push_time,
        pull_time: a.pull_time,
        pull_count: a.pull_count,
        pushed_by: a.pushed_by,
        tags: a
            .tags
            .into_iter()
            .map(|t| TagJson {
                name: t.name,
                push_time: t.push_time,
            })
            .collect(),
        platforms: a.platforms,
        referrers: a.referrers.into_iter().map(|r| r.digest).collect(),
        labels: a
            .labels
            .into_iter()
            .map(super::labels::label_json)
            .collect(),
        scan_overview: None,
    }
}

#[derive(Serialize, ToSchema)]
pub struct ArtifactDetailJson {
    #[serde(flatten)]
    pub artifact: ArtifactJson,
    /// The manifest as pushed, parsed.
    pub manifest: serde_json::Value,
    /// The image configuration, for images.
    pub config: Option<serde_json::Value>,
    pub history: Vec<String>,
}

fn detail_json(d: ArtifactDetail) -> ArtifactDetailJson {
    ArtifactDetailJson {
        manifest: serde_json::from_str(&d.manifest).unwrap_or_default(),
        config: d.config.and_then(|c| serde_json::from_str(&c).ok()),
        history: d.history,
        artifact: artifact_json(d.artifact),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ArtifactQuery {
    pub page: Option<u64>,
    pub page_size: Option<u64>,
    /// Only artifacts that have at least one tag.
    #[serde(default)]
    pub with_tag: bool,
    pub q: Option<String>,
    /// Add each artifact's `scan_overview`.
    #[serde(default)]
    pub with_scan_overview: bool,
    /// Add each artifact's `signatures`.
    #[serde(default)]
    pub with_signature: bool,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ArtifactReadQuery {
    /// Add the artifact's `scan_overview`.
    #[serde(default)]
    pub with_scan_overview: bool,
    /// Add the artifact's `signatures`.
    #[serde(default)]
    pub with_signature: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct TagReq {
    pub name: String,
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/repositories", tag = "repository",
    params(("project" = String, Path), ListQuery), responses((status = 200, body = [RepositoryJson])))]
pub async fn list_repositories(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let name = q.name.clone().or_else(|| q.q_term("name"));
    let page = s
        .registry
        .list_repositories(&actor, &project, name.as_deref(), q.page, q.page_size)
        .await?;
    Ok(paged(
        &format!("/api/v2.0/projects/{project}/repositories"),
        &q,
        page,
        repository_json,
    ))
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/repositories/{repository}", tag = "repository",
    params(("project" = String, Path), ("repository" = String, Path, description = "Name without the project, URL-encoded")),
    responses((status = 200, body = RepositoryJson)))]
pub async fn get_repository(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository)): Path<(String, RepoSegment)>,
) -> ApiResult<Json<RepositoryJson>> {
    Ok(Json(repository_json(
        s.registry
            .get_repository(&actor, &project, &repository)
            .await?,
    )))
}

#[utoipa::path(delete, path = "/api/v2.0/projects/{project}/repositories/{repository}", tag = "repository",
    params(("project" = String, Path), ("repository" = String, Path)), responses((status = 200, description = "Deleted with its artifacts")))]
pub async fn delete_repository(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository)): Path<(String, RepoSegment)>,
) -> ApiResult<StatusCode> {
    s.registry
        .delete_repository(&actor, &project, &repository)
        .await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/repositories/{repository}/artifacts", tag = "artifact",
    params(("project" = String, Path), ("repository" = String, Path), ArtifactQuery), responses((status = 200, body = [ArtifactJson])))]
pub async fn list_artifacts(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository)): Path<(String, RepoSegment)>,
    Query(q): Query<ArtifactQuery>,
) -> ApiResult<Response> {
    let page = s
        .registry
        .list_artifacts(
            &actor,
            &project,
            &repository,
            domain::service::registry::ArtifactFilter {
                only_tagged: q.with_tag,
                label: label_filter(q.q.as_deref())?,
            },
            q.page,
            q.page_size,
        )
        .await?;
    let list = ListQuery {
        page: q.page,
        page_size: q.page_size,
        q: q.q.clone(),
        name: None,
    };
    let path = format!(
        "/api/v2.0/projects/{project}/repositories/{}/artifacts",
        urlencoding::encode(&repository)
    );
    let overviews = if q.with_scan_overview {
        let ids: Vec<i64> = page.items.iter().map(|a| a.id).collect();
        super::scans::overviews(&s, &project, &ids).await?
    } else {
        Default::default()
    };
    Ok(paged(&path, &list, page, |a| {
        let id = a.id;
        let mut json = artifact_json(a);
        if !q.with_signature {
            json.signatures = None;
        }
        if q.with_scan_overview {
            json.scan_overview = Some(overviews.get(&id).cloned().unwrap_or_default());
        }
        json
    }))
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/repositories/{repository}/artifacts/{reference}", tag = "artifact",
    params(("project" = String, Path), ("repository" = String, Path), ("reference" = String, Path, description = "Digest or tag"), ArtifactReadQuery),
    responses((status = 200, body = ArtifactDetailJson)))]
pub async fn get_artifact(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository, reference)): Path<(String, RepoSegment, String)>,
    Query(q): Query<ArtifactReadQuery>,
) -> ApiResult<Json<ArtifactDetailJson>> {
    let mut json = detail_json(
        s.registry
            .get_artifact(&actor, &project, &repository, &reference)
            .await?,
    );
    if !q.with_signature {
        json.artifact.signatures = None;
    }
    if q.with_scan_overview {
        let id = json.artifact.id;
        json.artifact.scan_overview = Some(
            super::scans::overviews(&s, &project, &[id])
                .await?
                .remove(&id)
                .unwrap_or_default(),
        );
    }
    Ok(Json(json))
}

#[utoipa::path(delete, path = "/api/v2.0/projects/{project}/repositories/{repository}/artifacts/{reference}", tag = "artifact",
    params(("project" = String, Path), ("repository" = String, Path), ("reference" = String, Path)), responses((status = 200, description = "Deleted")))]
pub async fn delete_artifact(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository, reference)): Path<(String, RepoSegment, String)>,
) -> ApiResult<StatusCode> {
    s.registry
        .delete_artifact(&actor, &project, &repository, &reference)
        .await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/repositories/{repository}/artifacts/{reference}/tags", tag = "artifact",
    params(("project" = String, Path), ("repository" = String, Path), ("reference" = String, Path)), responses((status = 200, body = [TagJson])))]
pub async fn list_tags(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository, reference)): Path<(String, RepoSegment, String)>,
) -> ApiResult<Json<Vec<TagJson>>> {
    let detail = s
        .registry
        .get_artifact(&actor, &project, &repository, &reference)
        .await?;
    Ok(Json(
        detail
            .artifact
            .tags
            .into_iter()
            .map(|t| TagJson {
                name: t.name,
                push_time: t.push_time,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v2.0/projects/{project}/repositories/{repository}/artifacts/{reference}/tags", tag = "artifact",
    request_body = TagReq, params(("project" = String, Path), ("repository" = String, Path), ("reference" = String, Path)),
    responses((status = 201, description = "Tagged")))]
pub async fn create_tag(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository, reference)): Path<(String, RepoSegment, String)>,
    Json(req): Json<TagReq>,
) -> ApiResult<StatusCode> {
    s.registry
        .add_tag(&actor, &project, &repository, &reference, &req.name)
        .await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(delete, path = "/api/v2.0/projects/{project}/repositories/{repository}/artifacts/{reference}/tags/{tag}", tag = "artifact",
    params(("project" = String, Path), ("repository" = String, Path), ("reference" = String, Path), ("tag" = String, Path)),
    responses((status = 200, description = "Removed")))]
pub async fn delete_tag(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, repository, reference, tag)): Path<(String, RepoSegment, String, String)>,
) -> ApiResult<StatusCode> {
    s.registry
        .delete_tag(&actor, &project, &repository, &reference, &tag)
        .await?;
    Ok(StatusCode::OK)
}

/// Harbor's `q=labels=(id)` (also `labels=id`): only artifacts carrying that label.
fn label_filter(q: Option<&str>) -> Result<Option<i64>, super::ApiError> {
    let Some(term) = q.and_then(|q| {
        q.split(',')
            .find_map(|t| t.trim().strip_prefix("labels=").map(str::to_string))
    }) else {
        return Ok(None);
    };
    let id = term.trim_matches(|c| c == '(' || c == ')').trim();
    id.parse::<i64>().map(Some).map_err(|_| {
        super::ApiError::new(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            format!("q: `labels={term}` must name one label id, as labels=(12)"),
        )
    })
}
