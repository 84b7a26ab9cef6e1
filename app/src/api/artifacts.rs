//! Server functions for repositories, artifacts, tags and labels.

use domain::types::dto::{ArtifactDetail, ArtifactView, LabelView, Page, RepositoryView, SbomView};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx::{self, fail};

#[server(prefix = "/console/fn", endpoint = "list_repositories")]
pub async fn list_repositories(
    project: String,
    query: String,
    page: u64,
) -> Result<Page<RepositoryView>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::registry()?
        .list_repositories(&actor, &project, Some(&query), Some(page), Some(15))
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "delete_repository")]
pub async fn delete_repository(project: String, repository: String) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::registry()?
        .delete_repository(&actor, &project, &repository)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "list_artifacts")]
pub async fn list_artifacts(
    project: String,
    repository: String,
    page: u64,
) -> Result<Page<ArtifactView>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::registry()?
        .list_artifacts(
            &actor,
            &project,
            &repository,
            Default::default(),
            Some(page),
            Some(15),
        )
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "get_artifact")]
pub async fn get_artifact(
    project: String,
    repository: String,
    reference: String,
) -> Result<ArtifactDetail, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::registry()?
        .get_artifact(&actor, &project, &repository, &reference)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "delete_artifact")]
pub async fn delete_artifact(
    project: String,
    repository: String,
    reference: String,
) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::registry()?
        .delete_artifact(&actor, &project, &repository, &reference)
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "delete_tag")]
pub async fn delete_tag(
    project: String,
    repository: String,
    reference: String,
    tag: String,
) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::registry()?
        .delete_tag(&actor, &project, &repository, &reference, &tag)
        .await
        .map_err(fail)
}

/// Adds `tag` to the artifact; with `move_existing`, a tag of that name on another artifact of
/// the repository is moved here instead of refused.
#[server(prefix = "/console/fn", endpoint = "tag_artifact")]
pub async fn tag_artifact(
    project: String,
    repository: String,
    reference: String,
    tag: String,
    move_existing: bool,
) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    let registry = ctx::registry()?;
    let tag = tag.trim().to_string();
    if move_existing {
        registry
            .move_tag(&actor, &project, &repository, &reference, &tag)
            .await
    } else {
        registry
            .add_tag(&actor, &project, &repository, &reference, &tag)
            .await
    }
    .map_err(fail)
}

/// The labels an artifact of `project` may carry: global ones, then the project's.
#[server(prefix = "/console/fn", endpoint = "project_labels")]
pub async fn project_labels(project: String) -> Result<Vec<LabelView>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .labels_for_project(&actor, &project)
        .await
        .map_err(fail)
}

/// The global labels.
#[server(prefix = "/console/fn", endpoint = "global_labels")]
pub async fn global_labels() -> Result<Vec<LabelView>, ServerFnError> {
    let actor = ctx::actor().await?;
    Ok(ctx::services()?
        .list_labels(&actor, "g", None, None, Some(1), Some(100))
        .await
        .map_err(fail)?
        .items)
}

/// Creates a label of `project`, or a global one without a project.
#[server(prefix = "/console/fn", endpoint = "create_label")]
pub async fn create_label(
    project: Option<String>,
    name: String,
    description: String,
    color: String,
) -> Result<LabelView, ServerFnError> {
    let actor = ctx::actor().await?;
    let services = ctx::services()?;
    let (scope, project_id) = match project {
        Some(p) => (
            domain::service::labels::PROJECT,
            Some(services.get_project(&actor, &p).await.map_err(fail)?.id),
        ),
        None => (domain::service::labels::GLOBAL, None),
    };
    services
        .create_label(
            &actor,
            scope,
            project_id,
            domain::service::labels::LabelInput {
                name: Some(name),
                description: Some(description),
                color: Some(color),
            },
        )
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "delete_label")]
pub async fn delete_label(id: i64) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::services()?
        .delete_label(&actor, id)
        .await
        .map_err(fail)
}

/// Attaches (`attach`) or detaches a label of an artifact.
#[server(prefix = "/console/fn", endpoint = "label_artifact")]
pub async fn label_artifact(
    project: String,
    repository: String,
    reference: String,
    label: i64,
    attach: bool,
) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    let services = ctx::services()?;
    if attach {
        services
            .add_artifact_label(&actor, &project, &repository, &reference, label)
            .await
    } else {
        services
            .remove_artifact_label(&actor, &project, &repository, &reference, label)
            .await
    }
    .map_err(fail)
}

/// The newest SBOM of an artifact and its packages; `None` without one.
#[server(prefix = "/console/fn", endpoint = "get_sbom")]
pub async fn get_sbom(
    project: String,
    repository: String,
    reference: String,
) -> Result<Option<SbomView>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::registry()?
        .sbom_listing(&actor, &project, &repository, &reference)
        .await
        .map_err(fail)
}

/// Generates an SBOM now, `cyclonedx` or `spdx`.
#[server(prefix = "/console/fn", endpoint = "generate_sbom")]
pub async fn generate_sbom(
    project: String,
    repository: String,
    reference: String,
    format: String,
) -> Result<(), ServerFnError> {
    use domain::scan::sbom::SbomFormat;
    let actor = ctx::actor().await?;
    let format = SbomFormat::parse(&format).ok_or_else(|| {
        fail(domain::service::DomainError::field(
            "format",
            format!("unknown SBOM format `{format}`: choose cyclonedx or spdx"),
        ))
    })?;
    ctx::registry()?
        .request_sbom(&actor, &project, &repository, &reference, format)
        .await
        .map(|_| ())
        .map_err(fail)
}
