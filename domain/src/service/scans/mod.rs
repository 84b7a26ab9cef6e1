//! Vulnerability scans of artifacts: which scanner a project uses (this file), the job queue
//! and scan on push (`queue`), the built-in scanner (`builtin`), reports in Harbor's format, CVE
//! allowlists and the rule that refuses pulls of vulnerable artifacts (`reports`).

use std::collections::BTreeMap;
use std::sync::Arc;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, Set,
};

use super::vulndb::VulnDb;
use super::{DomainError, DomainResult};
use crate::entities::{artifact, scan};
use crate::scan::report::{ScannerInfo, BUILTIN_SCANNER};
use crate::storage::BlobStore;

use super::registry::media;

pub mod adapter_tasks;
pub mod builtin;
pub mod queue;
pub mod registrations;
pub mod reports;

/// Attempts before a scan is left in `error`.
pub const MAX_ATTEMPTS: i32 = 3;
/// A scan `running` for longer than this is taken to have lost its worker and is queued again.
pub const STALE_AFTER_MINUTES: i64 = 30;

/// The built-in scanner as reports name it.
pub fn builtin_info() -> ScannerInfo {
    ScannerInfo {
        name: "Berth".into(),
        vendor: "Berth".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

#[derive(Clone)]
pub struct Scans {
    pub db: DatabaseConnection,
    store: Arc<dyn BlobStore>,
    pub vulndb: VulnDb,
    /// `trivy.ignore_unfixed`: leave findings without a fixed version out of reports.
    pub ignore_unfixed: bool,
    /// The database's write gate, shared with the registry.
    writes: crate::db::WriteGate,
    /// Wakes an idle worker of this replica when a job is queued.
    pub wake: Arc<tokio::sync::Notify>,
}

/// Whether Berth scans an artifact of this kind: images and indexes of images, not signatures
/// or other OCI artifacts.
pub fn scannable(a: &artifact::Model) -> bool {
    media::is_index(&a.media_type)
        || (media::is_image_manifest(&a.media_type) && a.artifact_type.is_none())
}

impl Scans {
    pub fn new(db: DatabaseConnection, store: Arc<dyn BlobStore>, ignore_unfixed: bool) -> Self {
        Self {
            writes: crate::db::WriteGate::of(&db),
            vulndb: VulnDb::new(db.clone()),
            db,
            store,
            ignore_unfixed,
            wake: Arc::default(),
        }
    }

    /// The scanner a project uses: its own choice, else the default registration, else the
    /// built-in one. Disabled or removed registrations fall back the same way.
    pub async fn scanner_for_project(
        &self,
        project_id: i64,
    ) -> crate::service::DomainResult<String> {
        Ok(scanner_for_project_on(&self.db, project_id).await?)
    }

    /// Every scanner: the built-in one first (the default unless a registration is).
    pub async fn registrations(
        &self,
    ) -> crate::service::DomainResult<Vec<crate::scan::report::ScannerView>> {
        use crate::scan::report::ScannerView;
        let rows = crate::entities::scanner::Entity::find()
            .all(&self.db)
            .await?;
        let any_default = rows.iter().any(|r| r.is_default && !r.disabled);
        let mut out = vec![ScannerView {
            uuid: BUILTIN_SCANNER.into(),
            name: "Berth (built-in)".into(),
            description: "Offline scanner over the imported OSV database".into(),
            is_default: !any_default,
            builtin: true,
            ..Default::default()
        }];
        out.extend(rows.into_iter().map(|m| ScannerView {
            uuid: m.uuid,
            name: m.name,
            description: m.description,
            url: m.url,
            auth: m.auth,
            is_default: m.is_default,
            disabled: m.disabled,
            builtin: false,
            skip_cert_verify: m.skip_cert_verify,
            create_time: super::rfc3339(m.created_at),
        }));
        Ok(out)
    }

    /// Makes `uuid` (a registration, or the built-in scanner) the scanner of `project`:
    /// Harbor's `PUT /projects/{project}/scanner`, for those who may manage its scans.
    pub async fn choose_scanner(
        &self,
        actor: &super::Actor,
        project: &str,
        uuid: &str,
    ) -> DomainResult<crate::scan::report::ScannerView> {
        use crate::entities::project_scanner;
        use crate::policy::authz::{Action, Resource};
        let p = super::projects::find_project(&self.db, project).await?;
        super::authorize(
            &self.db,
            &actor.principal,
            Some(&p),
            Resource::Scan,
            Action::Update,
        )
        .await?;
        let chosen = self
            .registrations()
            .await?
            .into_iter()
            .find(|r| r.uuid == uuid)
            .ok_or_else(|| DomainError::NotFound(format!("scanner `{uuid}` not found")))?;
        if chosen.disabled {
            return Err(DomainError::field(
                "uuid",
                format!("scanner `{}` is disabled", chosen.name),
            ));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        project_scanner::Entity::delete_by_id(p.id)
            .exec(&txn)
            .await?;
        project_scanner::ActiveModel {
            project_id: Set(p.id),
            scanner_uuid: Set(chosen.uuid.clone()),
        }
        .insert(&txn)
        .await?;
        super::audit::record(
            &txn,
            actor,
            super::audit::Record {
                operation: "update",
                resource_type: "scanner",
                resource: &format!("{}: {}", p.name, chosen.name),
                project_id: Some(p.id),
                outcome: super::audit::Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(chosen)
    }

    /// Held while writing scan rows.
    pub async fn write_gate(&self) -> Result<crate::db::WritePermit, DbErr> {
        self.writes.enter().await
    }

    /// Jobs per status, for the console and metrics.
    pub async fn queue_counts(&self) -> crate::service::DomainResult<BTreeMap<String, i64>> {
        let mut out = BTreeMap::new();
        for row in scan::Entity::find().all(&self.db).await? {
            *out.entry(row.status).or_default() += 1;
        }
        Ok(out)
    }
}

/// [`Scans::scanner_for_project`] on any connection (a consumer's transaction, say).
pub async fn scanner_for_project_on(
    conn: &impl ConnectionTrait,
    project_id: i64,
) -> Result<String, DbErr> {
    use crate::entities::{project_scanner, scanner};
    if let Some(choice) = project_scanner::Entity::find_by_id(project_id)
        .one(conn)
        .await?
    {
        if choice.scanner_uuid == BUILTIN_SCANNER {
            return Ok(BUILTIN_SCANNER.into());
        }
        let usable = scanner::Entity::find()
            .filter(scanner::Column::Uuid.eq(&choice.scanner_uuid))
            .filter(scanner::Column::Disabled.eq(false))
            .one(conn)
            .await?;
        if usable.is_some() {
            return Ok(choice.scanner_uuid);
        }
    }
    Ok(scanner::Entity::find()
        .filter(scanner::Column::IsDefault.eq(true))
        .filter(scanner::Column::Disabled.eq(false))
        .one(conn)
        .await?
        .map(|s| s.uuid)
        .unwrap_or_else(|| BUILTIN_SCANNER.into()))
}
