//! `/projects/{project}/immutabletagrules`: immutable tag rules in Harbor's shape.

use super::extract::{Json, Path};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use domain::policy::selector::{Decoration, Selector};
use domain::service::immutability::RuleInput;
use domain::types::dto::ImmutableRuleView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiActor, ApiError, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/projects/{project}/immutabletagrules",
            get(list_rules).post(create_rule),
        )
        .route(
            "/projects/{project}/immutabletagrules/{id}",
            put(update_rule).delete(delete_rule),
        )
}

/// A selector as Harbor writes it: `{"kind":"doublestar","decoration":"matches","pattern":"v*"}`;
/// repository selectors use `repoMatches`/`repoExcludes`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SelectorJson {
    #[serde(default = "doublestar")]
    pub kind: String,
    #[serde(default = "matches")]
    pub decoration: String,
    pub pattern: String,
}

fn doublestar() -> String {
    "doublestar".into()
}
fn matches() -> String {
    "matches".into()
}

#[derive(Serialize, Deserialize, ToSchema, Default)]
pub struct ScopeJson {
    #[serde(default)]
    pub repository: Vec<SelectorJson>,
}

/// An immutable tag rule in Harbor's JSON shape.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RuleJson {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub tag_selectors: Vec<SelectorJson>,
    #[serde(default)]
    pub scope_selectors: ScopeJson,
    /// Where the rule comes from: `api`, or `config` for the configuration file's rules, which
    /// apply to every project and are read-only here.
    #[serde(default)]
    pub source: String,
}

fn selector(list: &[SelectorJson], what: &str) -> Result<Selector, ApiError> {
    let [one] = list else {
        return Err(ApiError::bad_request(format!(
            "give exactly one {what} selector"
        )));
    };
    if one.kind != "doublestar" {
        return Err(ApiError::bad_request(format!(
            "{what} selector kind must be `doublestar`, not `{}`",
            one.kind
        )));
    }
    let decoration = match one.decoration.as_str() {
        "matches" | "repoMatches" => Decoration::Matches,
        "excludes" | "repoExcludes" => Decoration::Excludes,
        other => {
            return Err(ApiError::bad_request(format!(
                "{what} selector decoration must be `matches` or `excludes`, not `{other}`"
            )))
        }
    };
    Ok(Selector {
        pattern: one.pattern.clone(),
        decoration,
    })
}

fn input(rule: &RuleJson) -> Result<RuleInput, ApiError> {
    let repositories = if rule.scope_selectors.repository.is_empty() {
        Selector::everything()
    } else {
        selector(&rule.scope_selectors.repository, "repository")?
    };
    Ok(RuleInput {
        repositories,
        tags: selector(&rule.tag_selectors, "tag")?,
        disabled: rule.disabled,
    })
}

fn json(v: ImmutableRuleView) -> RuleJson {
    let repo_decoration = if v.repo_decoration == "excludes" {
        "repoExcludes"
    } else {
        "repoMatches"
    };
    RuleJson {
        id: v.id,
        disabled: v.disabled,
        tag_selectors: vec![SelectorJson {
            kind: doublestar(),
            decoration: v.tag_decoration,
            pattern: v.tag_pattern,
        }],
        scope_selectors: ScopeJson {
            repository: vec![SelectorJson {
                kind: doublestar(),
                decoration: repo_decoration.into(),
                pattern: v.repo_pattern,
            }],
        },
        source: v.source,
    }
}

#[utoipa::path(get, path = "/api/v2.0/projects/{project}/immutabletagrules", tag = "immutable",
    params(("project" = String, Path, description = "Project name")),
    responses((status = 200, description = "The project's rules and the configuration file's", body = [RuleJson])))]
pub async fn list_rules(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
) -> ApiResult<Json<Vec<RuleJson>>> {
    let rules = s.services.list_immutable_rules(&actor, &project).await?;
    Ok(Json(rules.into_iter().map(json).collect()))
}

#[utoipa::path(post, path = "/api/v2.0/projects/{project}/immutabletagrules", tag = "immutable",
    request_body = RuleJson, params(("project" = String, Path, description = "Project name")),
    responses((status = 201, description = "Created")))]
pub async fn create_rule(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(project): Path<String>,
    Json(rule): Json<RuleJson>,
) -> ApiResult<Response> {
    let created = s
        .services
        .create_immutable_rule(&actor, &project, input(&rule)?)
        .await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!(
                "/api/v2.0/projects/{project}/immutabletagrules/{}",
                created.id
            ),
        )],
        Json(json(created)),
    )
        .into_response())
}

#[utoipa::path(put, path = "/api/v2.0/projects/{project}/immutabletagrules/{id}", tag = "immutable",
    request_body = RuleJson,
    params(("project" = String, Path, description = "Project name"), ("id" = i64, Path, description = "Rule id")),
    responses((status = 200, description = "Updated")))]
pub async fn update_rule(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, id)): Path<(String, i64)>,
    Json(rule): Json<RuleJson>,
) -> ApiResult<Json<RuleJson>> {
    let updated = s
        .services
        .update_immutable_rule(&actor, &project, id, input(&rule)?)
        .await?;
    Ok(Json(json(updated)))
}

#[utoipa::path(delete, path = "/api/v2.0/projects/{project}/immutabletagrules/{id}", tag = "immutable",
    params(("project" = String, Path, description = "Project name"), ("id" = i64, Path, description = "Rule id")),
    responses((status = 200, description = "Deleted")))]
pub async fn delete_rule(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((project, id)): Path<(String, i64)>,
) -> ApiResult<StatusCode> {
    s.services
        .delete_immutable_rule(&actor, &project, id)
        .await?;
    Ok(StatusCode::OK)
}
