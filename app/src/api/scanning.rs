//! Server functions for vulnerability scanning: scan an artifact, read its report, a project's
//! vulnerability settings and CVE allowlist, the vulnerability database and the scanners.
//! Uploads and scanner registration go to the REST API from the browser (they carry files and
//! secrets that the server seals).

use domain::scan::report::{Report, ScannerView, VulnDbView, VulnSettings};
use domain::types::dto::{ArtifactView, Page};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx::{self, fail};

/// The artifacts of a repository with each one's scan overview.
#[server(prefix = "/console/fn", endpoint = "list_artifacts_scanned")]
pub async fn list_artifacts_scanned(
    project: String,
    repository: String,
    label: Option<i64>,
    page: u64,
) -> Result<Page<ArtifactView>, ServerFnError> {
    let actor = ctx::actor().await?;
    let mut listed = ctx::registry()?
        .list_artifacts(
            &actor,
            &project,
            &repository,
            domain::service::registry::ArtifactFilter {
                only_tagged: false,
                label,
            },
            Some(page),
            Some(15),
        )
        .await
        .map_err(fail)?;
    let p = domain::service::projects::find_project(&ctx::services()?.db, &project)
        .await
        .map_err(fail)?;
    let scans = ctx::scans()?;
    let scanner = scans.scanner_for_project(p.id).await.map_err(fail)?;
    let ids: Vec<i64> = listed.items.iter().map(|a| a.id).collect();
    let mut overviews = scans.overviews(&ids, &scanner).await.map_err(fail)?;
    for a in &mut listed.items {
        a.scan = overviews.remove(&a.id);
    }
    Ok(listed)
}

#[server(prefix = "/console/fn", endpoint = "scan_artifact")]
pub async fn scan_artifact(
    project: String,
    repository: String,
    reference: String,
) -> Result<(), ServerFnError> {
    use domain::policy::authz::Action;
    let actor = ctx::actor().await?;
    let (p, r, a) = ctx::registry()?
        .artifact_for_scan(&actor, &project, &repository, &reference, Action::Create)
        .await
        .map_err(fail)?;
    let scans = ctx::scans()?;
    let scanner = scans.scanner_for_project(p.id).await.map_err(fail)?;
    scans
        .request(
            &actor,
            p.id,
            &format!("{}@{}", r.name, a.digest),
            a.id,
            &scanner,
            "manual",
        )
        .await
        .map_err(fail)?;
    Ok(())
}

/// The latest report of an artifact with its project's scanner, if it has one.
#[server(prefix = "/console/fn", endpoint = "artifact_vulnerabilities")]
pub async fn artifact_vulnerabilities(
    project: String,
    repository: String,
    reference: String,
) -> Result<Option<Report>, ServerFnError> {
    use domain::policy::authz::Action;
    let actor = ctx::actor().await?;
    let (p, _, a) = ctx::registry()?
        .artifact_for_scan(&actor, &project, &repository, &reference, Action::Read)
        .await
        .map_err(fail)?;
    let scans = ctx::scans()?;
    let scanner = scans.scanner_for_project(p.id).await.map_err(fail)?;
    scans.report(a.id, &scanner).await.map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "load_vuln_settings")]
pub async fn load_vuln_settings(project: String) -> Result<VulnSettings, ServerFnError> {
    let actor = ctx::actor().await?;
    let services = ctx::services()?;
    let view = services.get_project(&actor, &project).await.map_err(fail)?;
    let list = services
        .project_allowlist(&actor, &project)
        .await
        .map_err(fail)?;
    let flag = |k: &str| view.metadata.get(k).is_some_and(|v| v == "true");
    Ok(VulnSettings {
        auto_scan: flag("auto_scan"),
        auto_sbom: flag("auto_sbom_generation"),
        prevent_vul: flag("prevent_vul"),
        severity: view
            .metadata
            .get("severity")
            .cloned()
            .unwrap_or_else(|| "low".into()),
        reuse_sys_cve_allowlist: flag("reuse_sys_cve_allowlist"),
        allowlist: list.items,
        expires: list
            .expires_at
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
    })
}

#[server(prefix = "/console/fn", endpoint = "save_vuln_settings")]
pub async fn save_vuln_settings(
    project: String,
    settings: VulnSettings,
) -> Result<(), ServerFnError> {
    use domain::service::projects::ProjectUpdate;
    use domain::service::scans::reports::CveAllowlist;
    let actor = ctx::actor().await?;
    let services = ctx::services()?;
    let expires_at = if settings.expires.trim().is_empty() {
        None
    } else {
        let day = chrono::NaiveDate::parse_from_str(settings.expires.trim(), "%Y-%m-%d").map_err(
            |_| {
                ctx::refuse(
                    http::StatusCode::BAD_REQUEST,
                    "expires: the expiry must be a date (YYYY-MM-DD)",
                )
            },
        )?;
        Some(
            day.and_hms_opt(23, 59, 59)
                .expect("a valid time")
                .and_utc()
                .timestamp(),
        )
    };
    let bool_word = |b: bool| if b { "true" } else { "false" }.to_string();
    let metadata = [
        ("auto_scan", bool_word(settings.auto_scan)),
        ("auto_sbom_generation", bool_word(settings.auto_sbom)),
        ("prevent_vul", bool_word(settings.prevent_vul)),
        ("severity", settings.severity.clone()),
        (
            "reuse_sys_cve_allowlist",
            bool_word(settings.reuse_sys_cve_allowlist),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    services
        .update_project(
            &actor,
            &project,
            ProjectUpdate {
                metadata,
                ..Default::default()
            },
        )
        .await
        .map_err(fail)?;
    let items = settings
        .allowlist
        .iter()
        .flat_map(|l| l.split([',', '\n']))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    services
        .set_project_allowlist(&actor, &project, &CveAllowlist { items, expires_at })
        .await
        .map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "vulndb_view")]
pub async fn vulndb_view() -> Result<VulnDbView, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::scans()?.vulndb_view(&actor).await.map_err(fail)
}

#[server(prefix = "/console/fn", endpoint = "list_scanners")]
pub async fn list_scanners() -> Result<Vec<ScannerView>, ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::scans()?.list_scanners(&actor).await.map_err(fail)
}

/// The scanners a project may choose from (enabled ones) and the uuid it uses now.
#[server(prefix = "/console/fn", endpoint = "project_scanner")]
pub async fn project_scanner(project: String) -> Result<(Vec<ScannerView>, String), ServerFnError> {
    let actor = ctx::actor().await?;
    let p = ctx::services()?
        .get_project(&actor, &project)
        .await
        .map_err(fail)?;
    let scans = ctx::scans()?;
    let current = scans.scanner_for_project(p.id).await.map_err(fail)?;
    let choices = scans
        .registrations()
        .await
        .map_err(fail)?
        .into_iter()
        .filter(|s| !s.disabled)
        .map(|s| ScannerView {
            // What a project member needs to choose: no adapter URL or credential scheme.
            url: String::new(),
            auth: String::new(),
            ..s
        })
        .collect();
    Ok((choices, current))
}

/// Makes `uuid` the project's scanner.
#[server(prefix = "/console/fn", endpoint = "choose_project_scanner")]
pub async fn choose_project_scanner(project: String, uuid: String) -> Result<(), ServerFnError> {
    let actor = ctx::actor().await?;
    ctx::scans()?
        .choose_scanner(&actor, &project, &uuid)
        .await
        .map(|_| ())
        .map_err(fail)
}
