//! `/users`, `/usergroups`, `/systeminfo`.

use super::extract::{Json, Path, Query};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use domain::service::users::NewUser;
use domain::service::{DomainError, Principal};
use domain::types::dto::{GroupView, UserView};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::{paged, ApiActor, ApiResult, ListQuery};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/current", get(current_user))
        .route(
            "/users/{id}",
            get(get_user).put(update_user).delete(delete_user),
        )
        .route("/users/{id}/sysadmin", put(set_sysadmin))
        .route("/users/{id}/disabled", put(set_disabled))
        .route("/users/{id}/password", put(change_password))
        .route("/usergroups", get(list_groups).post(create_group))
        .route("/usergroups/{id}", axum::routing::delete(delete_group))
}

#[derive(Serialize, ToSchema)]
pub struct UserJson {
    pub user_id: i64,
    pub username: String,
    pub email: Option<String>,
    pub realname: String,
    pub sysadmin_flag: bool,
    /// Berth extension: disabled accounts cannot sign in.
    pub disabled: bool,
    pub creation_time: String,
}

fn user_json(u: UserView) -> UserJson {
    UserJson {
        user_id: u.id,
        username: u.username,
        email: u.email,
        realname: u.display_name,
        sysadmin_flag: u.is_admin,
        disabled: u.disabled,
        creation_time: u.created_at,
    }
}

#[derive(Deserialize, ToSchema)]
pub struct UserReq {
    pub username: String,
    pub email: Option<String>,
    pub realname: Option<String>,
    pub password: String,
    #[serde(default)]
    pub sysadmin_flag: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct SysadminReq {
    pub sysadmin_flag: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct DisabledReq {
    pub disabled: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordReq {
    pub old_password: Option<String>,
    pub new_password: String,
}

#[utoipa::path(get, path = "/api/v2.0/systeminfo", tag = "systeminfo",
    responses((status = 200, description = "Instance facts")))]
pub async fn systeminfo(State(s): State<AppState>) -> Json<Value> {
    Json(json!({
        "auth_mode": s.instance.auth_mode,
        "berth_version": s.instance.version,
        "external_url": s.instance.external_url,
        "registry_url": s.instance.external_url.split("://").nth(1).unwrap_or_default(),
        "self_registration": false,
        "project_creation_restriction": "everyone",
        "has_ca_root": false,
        "database": s.instance.database_backend,
    }))
}

#[utoipa::path(get, path = "/api/v2.0/users", params(ListQuery), tag = "user",
    responses((status = 200, body = [UserJson], description = "System admins only")))]
pub async fn list_users(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let name = q.q_term("username");
    let page = s
        .services
        .list_users(&actor, name.as_deref(), q.page, q.page_size)
        .await?;
    Ok(paged("/api/v2.0/users", &q, page, user_json))
}

#[utoipa::path(post, path = "/api/v2.0/users", request_body = UserReq, tag = "user",
    responses((status = 201, description = "Created")))]
pub async fn create_user(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<UserReq>,
) -> ApiResult<Response> {
    let u = s
        .services
        .create_user(
            &actor,
            NewUser {
                username: req.username,
                email: req.email,
                display_name: req.realname,
                password: req.password,
                is_admin: req.sysadmin_flag,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v2.0/users/{}", u.id))],
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v2.0/users/current", tag = "user", responses((status = 200, body = UserJson)))]
pub async fn current_user(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<UserJson>> {
    let Principal::User(u) = &actor.principal else {
        return Err(DomainError::Unauthorized("sign in as a user".into()).into());
    };
    Ok(Json(user_json(s.services.get_user(&actor, u.id).await?)))
}

#[utoipa::path(get, path = "/api/v2.0/users/{id}", tag = "user", params(("id" = i64, Path)), responses((status = 200, body = UserJson)))]
pub async fn get_user(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<UserJson>> {
    Ok(Json(user_json(s.services.get_user(&actor, id).await?)))
}

/// Harbor's `UserProfile`: what `PUT /users/{id}` changes.
#[derive(Deserialize, ToSchema)]
pub struct UserProfileReq {
    pub email: Option<String>,
    pub realname: Option<String>,
}

#[utoipa::path(put, path = "/api/v2.0/users/{id}", request_body = UserProfileReq, tag = "user", params(("id" = i64, Path)),
    responses((status = 200, description = "Updated"), (status = 400, body = super::ErrorBody)))]
pub async fn update_user(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    Json(req): Json<UserProfileReq>,
) -> ApiResult<StatusCode> {
    s.services
        .update_profile(&actor, id, req.email, req.realname)
        .await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(delete, path = "/api/v2.0/users/{id}", tag = "user", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted: memberships and CLI secret end with it"),
        (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn delete_user(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_user(&actor, id).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(put, path = "/api/v2.0/users/{id}/sysadmin", request_body = SysadminReq, tag = "user", params(("id" = i64, Path)),
    responses((status = 200, description = "Updated")))]
pub async fn set_sysadmin(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    Json(req): Json<SysadminReq>,
) -> ApiResult<StatusCode> {
    s.services.set_admin(&actor, id, req.sysadmin_flag).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(put, path = "/api/v2.0/users/{id}/disabled", request_body = DisabledReq, tag = "user", params(("id" = i64, Path)),
    responses((status = 200, description = "Updated")))]
pub async fn set_disabled(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    Json(req): Json<DisabledReq>,
) -> ApiResult<StatusCode> {
    s.services.set_disabled(&actor, id, req.disabled).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(put, path = "/api/v2.0/users/{id}/password", request_body = PasswordReq, tag = "user", params(("id" = i64, Path)),
    responses((status = 200, description = "Changed")))]
pub async fn change_password(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    Json(req): Json<PasswordReq>,
) -> ApiResult<StatusCode> {
    s.services
        .change_password(&actor, id, req.old_password.as_deref(), &req.new_password)
        .await?;
    Ok(StatusCode::OK)
}

#[derive(Serialize, ToSchema)]
pub struct GroupJson {
    pub id: i64,
    pub group_name: String,
    /// Harbor's group types: 2 local (HTTP), 3 OIDC.
    pub group_type: i64,
}

fn group_json(g: GroupView) -> GroupJson {
    GroupJson {
        id: g.id,
        group_name: g.name,
        group_type: if g.group_type == "oidc" { 3 } else { 2 },
    }
}

#[derive(Deserialize, ToSchema)]
pub struct GroupReq {
    pub group_name: String,
    /// 3 (OIDC, the default) or 2 (local).
    pub group_type: Option<i64>,
}

#[utoipa::path(get, path = "/api/v2.0/usergroups", params(ListQuery), tag = "usergroup", responses((status = 200, body = [GroupJson])))]
pub async fn list_groups(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let name = q.q_term("group_name").or(q.name.clone());
    let page = s
        .services
        .list_groups(&actor, name.as_deref(), q.page, q.page_size)
        .await?;
    Ok(paged("/api/v2.0/usergroups", &q, page, group_json))
}

#[utoipa::path(post, path = "/api/v2.0/usergroups", request_body = GroupReq, tag = "usergroup", responses((status = 201, description = "Created")))]
pub async fn create_group(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Json(req): Json<GroupReq>,
) -> ApiResult<Response> {
    let kind = if req.group_type == Some(2) {
        "local"
    } else {
        "oidc"
    };
    let g = s
        .services
        .create_group(&actor, &req.group_name, kind)
        .await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v2.0/usergroups/{}", g.id))],
    )
        .into_response())
}

#[utoipa::path(delete, path = "/api/v2.0/usergroups/{id}", tag = "usergroup", params(("id" = i64, Path)), responses((status = 200, description = "Deleted")))]
pub async fn delete_group(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_group(&actor, id).await?;
    Ok(StatusCode::OK)
}
