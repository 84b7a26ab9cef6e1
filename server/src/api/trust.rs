//! `/projects/{project}/trust/keys` and `/system/trust/keys`: the cosign keys and Notation CA
//! certificates trusted for image signatures.

use super::extract::{Json, Path};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::Router;
use domain::service::trust::{AnchorInput, AnchorScope};
use domain::types::dto::TrustAnchorView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiActor, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/projects/{project}/trust/keys",
            get(list_project_anchors).post(create_project_anchor),
        )
        .route(
            "/projects/{project}/trust/keys/{id}",
            delete(delete_project_anchor),
        )
        .route(
            "/system/trust/keys",
            get(list_system_anchors).post(create_system_anchor),
        )
        .route("/system/trust/keys/{id}", delete(delete_system_anchor))
}

/// A trust anchor as it is added: a cosign public key or a Notation CA certificate, PEM.
#[derive(Deserialize, ToSchema)]
pub struct AnchorReq {
    pub name: String,
    /// `cosign` or `notation`.
    pub kind: String,
    /// cosign: a `PUBLIC KEY` PEM block (ECDSA P-256/P-384, RSA ≥ 2048, Ed25519).
    pub public_key: Option<String>,
    /// Notation: a `CERTIFICATE` PEM block of a root or intermediate CA.
    pub certificate: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AnchorJson {
    pub id: i64,
    pub name: String,
    pub kind: String,
    /// `project` or `system`.
    pub scope: String,
    pub fingerprint: String,
    pub algorithm: String,
    pub subject: Option<String>,
    pub not_after: Option<String>,
    pub public_key: Option<String>,
    pub certificate: Option<String>,
    pub creation_time: String,
    pub created_by: String,
}

fn json(v: TrustAnchorView) -> AnchorJson {
    AnchorJson {
        id: v.id,
        name: v.name,
        kind: v.kind,
        scope: v.scope,
        fingerprint: v.fingerprint,
        algorithm: v.algorithm,
        subject: v.subject,
        not_after: v.not_after,
        public_key: v.public_key,
        certificate: v.certificate,
        creation_time: v.creation_time,
        created_by: v.created_by,
    }
}

fn input(r: AnchorReq) -> AnchorInput {
    AnchorInput {
        name: r.name,
        kind: r.kind,
        public_key: r.public_key,
        certificate: r.certificate,
    }
}

async fn create(
    s: &AppState,
    actor: &domain::service::Actor,
    scope: AnchorScope<'_>,
    req: AnchorReq,
    location: String,
) -> ApiResult<Response> {
    let created = s
        .services
        .create_trust_anchor(actor, scope, input(req))
        .await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("{location}/{}", created.id))],
        Json(json(created)),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/trust/keys", tag = "trust",
    params(("project" = String, Path, description = "Project name or id")),
    responses((status = 200, description = "The project's trust anchors", body = [AnchorJson])))]
pub async fn list_project_anchors(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
) -> ApiResult<Json<Vec<AnchorJson>>> {
    let list = s
        .services
        .list_trust_anchors(&actor, AnchorScope::Project(&project))
        .await?;
    Ok(Json(list.into_iter().map(json).collect()))
}

#[utoipa::path(post, path = "/api/v2.0/projects/{project}/trust/keys", tag = "trust",
    request_body = AnchorReq, params(("project" = String, Path, description = "Project name or id")),
    responses((status = 201, description = "Added", body = AnchorJson)))]
pub async fn create_project_anchor(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
    Json(req): Json<AnchorReq>,
) -> ApiResult<Response> {
    let location = format!("/api/v2.0/projects/{project}/trust/keys");
    create(&s, &actor, AnchorScope::Project(&project), req, location).await
}

#[utoipa::path(delete, path = "/api/v2.0/projects/{project}/trust/keys/{id}", tag = "trust",
    params(("project" = String, Path, description = "Project name or id"), ("id" = i64, Path, description = "Anchor id")),
    responses((status = 200, description = "Removed")))]
pub async fn delete_project_anchor(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, id)): Path<(String, i64)>,
) -> ApiResult<StatusCode> {
    s.services
        .delete_trust_anchor(&actor, AnchorScope::Project(&project), id)
        .await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(get, path = "/api/v2.0/system/trust/keys", tag = "trust",
    responses((status = 200, description = "The system-wide trust anchors", body = [AnchorJson])))]
pub async fn list_system_anchors(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Vec<AnchorJson>>> {
    let list = s
        .services
        .list_trust_anchors(&actor, AnchorScope::System)
        .await?;
    Ok(Json(list.into_iter().map(json).collect()))
}

#[utoipa::path(post, path = "/api/v2.0/system/trust/keys", tag = "trust", request_body = AnchorReq,
    responses((status = 201, description = "Added", body = AnchorJson)))]
pub async fn create_system_anchor(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<AnchorReq>,
) -> ApiResult<Response> {
    create(
        &s,
        &actor,
        AnchorScope::System,
        req,
        "/api/v2.0/system/trust/keys".into(),
    )
    .await
}

#[utoipa::path(delete, path = "/api/v2.0/system/trust/keys/{id}", tag = "trust",
    params(("id" = i64, Path, description = "Anchor id")), responses((status = 200, description = "Removed")))]
pub async fn delete_system_anchor(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.services
        .delete_trust_anchor(&actor, AnchorScope::System, id)
        .await?;
    Ok(StatusCode::OK)
}
