//! Scanner registrations (Harbor's `/scanners`), the scan-all schedule and scan all: what
//! system administrators decide about scanning. Credentials arrive sealed by the caller's
//! sealer and leave only as the endpoint a scan or a ping needs.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};

use super::{scannable, scanner_for_project_on, Scans};
use crate::entities::{artifact, repository, scan, scanner, system_setting};
use crate::policy::authz::{Action, Resource};
use crate::scan::report::{ScannerView, BUILTIN_SCANNER};
use crate::service::audit::{self, Outcome, Record};
use crate::service::{authorize, Actor, DomainError, DomainResult};

/// The key of the scan-all cron schedule in `system_settings`.
const SCAN_ALL_SCHEDULE: &str = "scan_all_schedule";

/// A registration's changes (every field optional on update).
#[derive(Clone, Debug, Default)]
pub struct RegistrationInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub auth: Option<String>,
    /// The credential sealed by the caller; `Some(None)` removes it.
    pub sealed_credential: Option<Option<String>>,
    pub skip_cert_verify: Option<bool>,
    pub disabled: Option<bool>,
    pub is_default: Option<bool>,
}

/// What it takes to call a registered scanner: its address and sealed credential.
#[derive(Clone, Debug)]
pub struct ScannerEndpoint {
    pub uuid: String,
    pub name: String,
    pub url: String,
    pub auth: String,
    pub sealed_credential: Option<String>,
    pub skip_cert_verify: bool,
    pub disabled: bool,
}

impl From<scanner::Model> for ScannerEndpoint {
    fn from(m: scanner::Model) -> Self {
        Self {
            uuid: m.uuid,
            name: m.name,
            url: m.url,
            auth: m.auth,
            sealed_credential: m.credential,
            skip_cert_verify: m.skip_cert_verify,
            disabled: m.disabled,
        }
    }
}

/// What an external scanner is asked to scan for one job: the repository, the artifact, and
/// the images it consists of (an index is scanned image by image).
#[derive(Clone, Debug)]
pub struct ExternalTarget {
    pub scanner: ScannerEndpoint,
    pub repository: String,
    pub digest: String,
    pub media_type: String,
    /// (digest, media type) of each image.
    pub images: Vec<(String, String)>,
}

/// Refuses an authentication scheme the pluggable-scanner API does not define.
pub fn validate_auth(auth: &str) -> DomainResult<()> {
    if ["", "Basic", "Bearer", "X-ScannerAdapter-API-Key"].contains(&auth) {
        Ok(())
    } else {
        Err(DomainError::field(
            "auth",
            format!("`{auth}` is not one of ``, `Basic`, `Bearer`, `X-ScannerAdapter-API-Key`"),
        ))
    }
}

/// Refuses anything but an absolute http(s) URL.
pub fn validate_url(url: &str) -> DomainResult<()> {
    match url.split_once("://") {
        Some(("http" | "https", rest)) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => Err(DomainError::field(
            "url",
            format!("`{url}` is not an http(s) URL of a scanner adapter"),
        )),
    }
}

async fn record(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    operation: &str,
    resource: &str,
) -> DomainResult<()> {
    audit::record(
        conn,
        actor,
        Record {
            operation,
            resource_type: "scanner",
            resource,
            project_id: None,
            outcome: Outcome::Success,
        },
    )
    .await
}

impl Scans {
    async fn require(&self, actor: &Actor, action: Action) -> DomainResult<()> {
        crate::service::require_configuration(&self.db, actor, action).await
    }

    async fn find_scanner(&self, uuid: &str) -> DomainResult<scanner::Model> {
        scanner::Entity::find()
            .filter(scanner::Column::Uuid.eq(uuid))
            .one(&self.db)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("scanner `{uuid}` not found")))
    }

    /// Every scanner, the built-in one first (system administrators).
    pub async fn list_scanners(&self, actor: &Actor) -> DomainResult<Vec<ScannerView>> {
        self.require(actor, Action::Read).await?;
        self.registrations().await
    }

    /// One scanner (system administrators).
    pub async fn get_scanner(&self, actor: &Actor, uuid: &str) -> DomainResult<ScannerView> {
        self.require(actor, Action::Read).await?;
        self.view_of(uuid).await
    }

    async fn view_of(&self, uuid: &str) -> DomainResult<ScannerView> {
        self.registrations()
            .await?
            .into_iter()
            .find(|r| r.uuid == uuid)
            .ok_or_else(|| DomainError::NotFound(format!("scanner `{uuid}` not found")))
    }

    /// The scanner a project uses, for those who may see the project.
    pub async fn project_scanner(&self, actor: &Actor, project: &str) -> DomainResult<ScannerView> {
        let p = crate::service::projects::find_project(&self.db, project).await?;
        authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Project,
            Action::Read,
        )
        .await?;
        let uuid = self.scanner_for_project(p.id).await?;
        self.view_of(&uuid).await
    }

    /// Registers a scanner (system administrators).
    pub async fn register_scanner(
        &self,
        actor: &Actor,
        input: RegistrationInput,
    ) -> DomainResult<ScannerView> {
        self.require(actor, Action::Update).await?;
        let name = input
            .name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| DomainError::field("name", "a scanner needs a name"))?;
        let url = input
            .url
            .ok_or_else(|| DomainError::field("url", "a scanner needs a url"))?;
        validate_url(&url)?;
        let auth = input.auth.unwrap_or_default();
        validate_auth(&auth)?;
        let txn = crate::db::begin_write(&self.db).await?;
        if scanner::Entity::find()
            .filter(scanner::Column::Name.eq(&name))
            .one(&*txn)
            .await?
            .is_some()
        {
            return Err(DomainError::Conflict(format!(
                "a scanner named `{name}` exists"
            )));
        }
        let created = scanner::ActiveModel {
            uuid: Set(uuid::Uuid::new_v4().to_string()),
            name: Set(name),
            description: Set(input.description.unwrap_or_default()),
            url: Set(url.trim_end_matches('/').to_string()),
            auth: Set(auth),
            credential: Set(input.sealed_credential.flatten()),
            skip_cert_verify: Set(input.skip_cert_verify.unwrap_or(false)),
            is_default: Set(false),
            disabled: Set(input.disabled.unwrap_or(false)),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        if input.is_default == Some(true) {
            make_default(&*txn, &created.uuid).await?;
        }
        record(&*txn, actor, "create", &created.name).await?;
        txn.commit().await?;
        self.view_of(&created.uuid).await
    }

    /// Changes a registration (system administrators); the built-in scanner cannot change.
    pub async fn update_scanner(
        &self,
        actor: &Actor,
        uuid: &str,
        input: RegistrationInput,
    ) -> DomainResult<ScannerView> {
        self.require(actor, Action::Update).await?;
        if uuid == BUILTIN_SCANNER {
            return Err(DomainError::Invalid(
                "the built-in scanner cannot be changed".into(),
            ));
        }
        let row = self.find_scanner(uuid).await?;
        let mut active = row.into_active_model();
        if let Some(name) = input.name.filter(|n| !n.trim().is_empty()) {
            active.name = Set(name);
        }
        if let Some(d) = input.description {
            active.description = Set(d);
        }
        if let Some(url) = input.url {
            validate_url(&url)?;
            active.url = Set(url.trim_end_matches('/').to_string());
        }
        if let Some(auth) = input.auth {
            validate_auth(&auth)?;
            active.auth = Set(auth);
        }
        if let Some(c) = input.sealed_credential {
            active.credential = Set(c);
        }
        if let Some(v) = input.skip_cert_verify {
            active.skip_cert_verify = Set(v);
        }
        if let Some(v) = input.disabled {
            active.disabled = Set(v);
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let updated = active.update(&*txn).await?;
        if input.is_default == Some(true) {
            make_default(&*txn, uuid).await?;
        }
        record(&*txn, actor, "update", &updated.name).await?;
        txn.commit().await?;
        self.view_of(uuid).await
    }

    /// Makes `uuid` the default scanner (`berth` for the built-in one).
    pub async fn set_default_scanner(&self, actor: &Actor, uuid: &str) -> DomainResult<()> {
        self.require(actor, Action::Update).await?;
        if uuid != BUILTIN_SCANNER {
            self.find_scanner(uuid).await?;
        }
        let txn = crate::db::begin_write(&self.db).await?;
        make_default(&*txn, uuid).await?;
        record(&*txn, actor, "update", &format!("default scanner {uuid}")).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Removes a registration (system administrators); returns what it was.
    pub async fn remove_scanner(&self, actor: &Actor, uuid: &str) -> DomainResult<ScannerView> {
        self.require(actor, Action::Update).await?;
        if uuid == BUILTIN_SCANNER {
            return Err(DomainError::Invalid(
                "the built-in scanner cannot be removed".into(),
            ));
        }
        let shown = self.view_of(uuid).await?;
        let row = self.find_scanner(uuid).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        scanner::Entity::delete_by_id(row.id).exec(&*txn).await?;
        record(&*txn, actor, "delete", &row.name).await?;
        txn.commit().await?;
        Ok(shown)
    }

    /// The endpoint of a registered scanner, for reading its metadata (system
    /// administrators); `None` for the built-in one.
    pub async fn scanner_endpoint(
        &self,
        actor: &Actor,
        uuid: &str,
    ) -> DomainResult<Option<ScannerEndpoint>> {
        self.require(actor, Action::Read).await?;
        if uuid == BUILTIN_SCANNER {
            return Ok(None);
        }
        Ok(Some(self.find_scanner(uuid).await?.into()))
    }

    /// Checks who may ping a scanner that is not registered yet, and its address.
    pub async fn check_ping(
        &self,
        actor: &Actor,
        url: Option<&str>,
        auth: &str,
    ) -> DomainResult<()> {
        self.require(actor, Action::Update).await?;
        let url = url.ok_or_else(|| DomainError::field("url", "a scanner needs a url"))?;
        validate_url(url)?;
        validate_auth(auth)
    }

    /// What the external scanner of `job` is asked to scan.
    pub async fn external_target(&self, job: &scan::Model) -> Result<ExternalTarget, String> {
        let s = scanner::Entity::find()
            .filter(scanner::Column::Uuid.eq(&job.scanner))
            .one(&self.db)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("scanner {} is no longer registered", job.scanner))?;
        if s.disabled {
            return Err(format!("scanner `{}` is disabled", s.name));
        }
        let a = artifact::Entity::find_by_id(job.artifact_id)
            .one(&self.db)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("artifact is gone")?;
        let repo = repository::Entity::find_by_id(a.repository_id)
            .one(&self.db)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("repository is gone")?;
        let images = super::builtin::images_of(&self.db, &a)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|c| (c.digest, c.media_type))
            .collect();
        Ok(ExternalTarget {
            scanner: s.into(),
            repository: repo.name,
            digest: a.digest,
            media_type: a.media_type,
            images,
        })
    }

    /// The scan-all schedule (cron, UTC), if one is set.
    pub async fn scan_all_schedule(&self) -> DomainResult<Option<String>> {
        Ok(
            system_setting::Entity::find_by_id(SCAN_ALL_SCHEDULE.to_string())
                .one(&self.db)
                .await?
                .map(|s| s.value)
                .filter(|v| !v.is_empty()),
        )
    }

    /// The scan-all schedule, for system administrators.
    pub async fn scan_all_schedule_for(&self, actor: &Actor) -> DomainResult<Option<String>> {
        self.require(actor, Action::Read).await?;
        self.scan_all_schedule().await
    }

    /// Sets (a valid cron expression) or clears (`None`) the scan-all schedule.
    pub async fn set_scan_all_schedule(
        &self,
        actor: &Actor,
        cron: Option<&str>,
    ) -> DomainResult<()> {
        self.require(actor, Action::Update).await?;
        if let Some(text) = cron {
            crate::policy::cron::Schedule::parse(text)
                .map_err(|e| DomainError::field("cron", format!("invalid cron `{text}`: {e}")))?;
        }
        let txn = crate::db::begin_write(&self.db).await?;
        system_setting::Entity::delete_by_id(SCAN_ALL_SCHEDULE.to_string())
            .exec(&*txn)
            .await?;
        if let Some(text) = cron {
            system_setting::ActiveModel {
                key: Set(SCAN_ALL_SCHEDULE.into()),
                value: Set(text.into()),
            }
            .insert(&*txn)
            .await?;
        }
        record(
            &*txn,
            actor,
            "update",
            &format!("scan-all schedule: {}", cron.unwrap_or("none")),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The vulnerability database's state, the queue and the scan-all schedule (system
    /// administrators).
    pub async fn vulndb_view(
        &self,
        actor: &Actor,
    ) -> DomainResult<crate::scan::report::VulnDbView> {
        self.require(actor, Action::Read).await?;
        Ok(crate::scan::report::VulnDbView {
            ecosystems: self.vulndb.counts().await?,
            last_update: self
                .vulndb
                .last_update()
                .await?
                .map(crate::service::rfc3339),
            queue: self.queue_counts().await?,
            scan_all_schedule: self.scan_all_schedule().await?,
        })
    }

    /// Imports OSV records from `path` (a directory, a record or an `all.zip`) into the
    /// vulnerability database (system administrators, or the updater as the system).
    pub async fn import_vulndb(
        &self,
        actor: &Actor,
        path: &std::path::Path,
    ) -> DomainResult<crate::service::vulndb::ImportReport> {
        self.require(actor, Action::Update).await?;
        let report = self
            .vulndb
            .import_path(path)
            .await
            .map_err(DomainError::Invalid)?;
        let txn = crate::db::begin_write(&self.db).await?;
        audit::record_with(
            &*txn,
            actor,
            Record {
                operation: "import",
                resource_type: "vulndb",
                resource: &format!(
                    "vulnerability database: {} new, {} updated, {} failed",
                    report.imported,
                    report.updated,
                    report.failed.len()
                ),
                project_id: None,
                outcome: Outcome::Success,
            },
            serde_json::json!({
                "imported": report.imported,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "failed": report.failed.len(),
            }),
        )
        .await?;
        txn.commit().await?;
        Ok(report)
    }

    /// Queues a scan of every image with its project's scanner (system administrators, or
    /// the scheduler as the system); returns how many were queued.
    pub async fn scan_all(&self, actor: &Actor, trigger: &str) -> DomainResult<usize> {
        self.require(actor, Action::Update).await?;
        let artifacts = artifact::Entity::find().all(&self.db).await?;
        let projects: std::collections::HashMap<i64, i64> = repository::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| (r.id, r.project_id))
            .collect();
        let txn = self.write_gate().await?.begin(&self.db).await?;
        let mut queued = 0;
        for a in artifacts.into_iter().filter(scannable) {
            let Some(project_id) = projects.get(&a.repository_id) else {
                continue;
            };
            let scanner = scanner_for_project_on(&*txn, *project_id).await?;
            super::queue::enqueue_on(&*txn, a.id, &scanner, trigger).await?;
            queued += 1;
        }
        record(&*txn, actor, "scan", &format!("all artifacts ({queued})")).await?;
        txn.commit().await?;
        self.wake.notify_waiters();
        Ok(queued)
    }
}

/// Makes `uuid` the only default registration (none for the built-in scanner).
async fn make_default(conn: &impl ConnectionTrait, uuid: &str) -> DomainResult<()> {
    for row in scanner::Entity::find().all(conn).await? {
        let wanted = row.uuid == uuid;
        if row.is_default != wanted {
            let mut active = row.into_active_model();
            active.is_default = Set(wanted);
            active.update(conn).await?;
        }
    }
    Ok(())
}
