//! The registry's operations (OCI Distribution): blobs, uploads, manifests, tags, referrers,
//! catalog. HTTP details stay in `server/src/registry`; rules and metadata live here.

mod blobs;
pub mod gc;
mod gc_runs;
mod listing;
mod manifest_json;
mod manifests;
pub mod media;
mod pulls;
pub mod quota;
mod repositories;
pub mod sbom;
pub mod signatures;
mod tags;
mod uploads;

use std::sync::Arc;

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::tokens::GrantedAccess;
use super::{is_allowed, Actor, Principal};
use crate::entities::{project, repository};
use crate::policy::authz::token_grants;
use crate::policy::authz::{Action, Resource};
use crate::storage::{BlobStore, StorageError};
use crate::types::RepoName;

pub use blobs::{BlobRead, ByteRange};
pub use listing::{CatalogPage, TagsPage};
pub use manifests::{ManifestRead, PushedManifest, SCANNER_PREFIX};
pub use pulls::PullRecorder;
pub use repositories::ArtifactFilter;
pub(crate) use repositories::{find_artifact, find_repository};
pub use uploads::UploadState;

/// OCI error codes (distribution-spec "error codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OciCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    RangeNotSatisfiable,
    TooLarge,
    /// A tag protected by an immutable tag rule (412, reported as `DENIED`).
    TagImmutable,
    /// A pull refused by the project's vulnerability rule (412, reported as `DENIED`).
    Vulnerable,
    /// A pull refused by the project's signature policy (412, reported as `DENIED`).
    Unsigned,
    /// `n` of a listing that is not a non-negative integer (distribution's code, 400).
    PaginationNumberInvalid,
    /// The database or the blob store is busy or down for now (503 with `Retry-After`).
    Unavailable,
    Internal,
}

impl OciCode {
    pub fn as_str(self) -> &'static str {
        match self {
            OciCode::BlobUnknown => "BLOB_UNKNOWN",
            OciCode::BlobUploadInvalid | OciCode::RangeNotSatisfiable => "BLOB_UPLOAD_INVALID",
            OciCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            OciCode::DigestInvalid => "DIGEST_INVALID",
            OciCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            OciCode::ManifestInvalid => "MANIFEST_INVALID",
            OciCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            OciCode::NameInvalid => "NAME_INVALID",
            OciCode::NameUnknown => "NAME_UNKNOWN",
            OciCode::SizeInvalid | OciCode::TooLarge => "SIZE_INVALID",
            OciCode::Unauthorized => "UNAUTHORIZED",
            OciCode::Denied | OciCode::TagImmutable | OciCode::Vulnerable | OciCode::Unsigned => {
                "DENIED"
            }
            OciCode::Unsupported => "UNSUPPORTED",
            OciCode::PaginationNumberInvalid => "PAGINATION_NUMBER_INVALID",
            OciCode::Unavailable => "UNAVAILABLE",
            OciCode::Internal => "UNKNOWN",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RegistryError {
    pub code: OciCode,
    pub message: String,
    /// For `Unauthorized`: the scope a new token would need.
    pub scope: Option<String>,
    /// For a refusal by a storage quota: the project (id, name) whose quota it was, or `None`
    /// for the registry's global quota. The refusal is recorded as a `quota.exceeded` event.
    pub quota: Option<Option<(i64, String)>>,
}

impl RegistryError {
    pub fn new(code: OciCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            scope: None,
            quota: None,
        }
    }
}

impl From<sea_orm::DbErr> for RegistryError {
    fn from(e: sea_orm::DbErr) -> Self {
        if crate::db::is_busy(&e) {
            tracing::warn!(error = %e, "the database is busy; the client is asked to retry");
            return RegistryError::new(
                OciCode::Unavailable,
                "the registry is busy; retry in a moment",
            );
        }
        tracing::error!(error = %e, "database error in the registry");
        RegistryError::new(OciCode::Internal, "internal error")
    }
}

impl From<StorageError> for RegistryError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::UploadUnknown => {
                RegistryError::new(OciCode::BlobUploadUnknown, "upload unknown")
            }
            StorageError::BlobUnknown => RegistryError::new(OciCode::BlobUnknown, "blob unknown"),
            StorageError::DigestMismatch { .. } => {
                RegistryError::new(OciCode::DigestInvalid, e.to_string())
            }
            StorageError::OutOfOrder { .. } => {
                RegistryError::new(OciCode::RangeNotSatisfiable, e.to_string())
            }
            StorageError::RangeNotSatisfiable { .. } => {
                RegistryError::new(OciCode::RangeNotSatisfiable, e.to_string())
            }
            StorageError::Body(_) => RegistryError::new(OciCode::BlobUploadInvalid, e.to_string()),
            StorageError::Unavailable(reason) => {
                tracing::error!(error = %reason, "the blob store is unavailable");
                RegistryError::new(
                    OciCode::Unavailable,
                    "the blob store is unavailable; retry later",
                )
            }
            StorageError::Io(io) => {
                tracing::error!(error = %io, "storage error in the registry");
                RegistryError::new(OciCode::Internal, "storage error")
            }
        }
    }
}

impl From<super::DomainError> for RegistryError {
    /// A domain refusal met on the registry's path (an authorization or a rule) is `DENIED`.
    fn from(e: super::DomainError) -> Self {
        use super::DomainError as E;
        match e {
            E::Database(db) => db.into(),
            E::Unavailable(m) => RegistryError::new(OciCode::Unavailable, m),
            E::Internal(m) => RegistryError::new(OciCode::Internal, m),
            other => RegistryError::new(OciCode::Denied, other.to_string()),
        }
    }
}

/// A registry refusal told in the domain's terms, for the REST API and the console.
impl From<RegistryError> for super::DomainError {
    fn from(e: RegistryError) -> Self {
        use super::DomainError as E;
        match e.code {
            OciCode::BlobUnknown
            | OciCode::BlobUploadUnknown
            | OciCode::ManifestUnknown
            | OciCode::NameUnknown => E::NotFound(e.message),
            OciCode::Unauthorized => E::Unauthorized(e.message),
            OciCode::Denied => E::Forbidden(e.message),
            OciCode::TagImmutable | OciCode::Vulnerable | OciCode::Unsigned => {
                E::Immutable(e.message)
            }
            OciCode::Unavailable => E::Unavailable(e.message),
            OciCode::Internal => E::Internal(e.message),
            _ => E::Invalid(e.message),
        }
    }
}

pub type RegistryResult<T> = Result<T, RegistryError>;

/// Who is calling the registry, and the access their bearer token grants (if they used one).
#[derive(Clone, Debug)]
pub struct RegistryCaller {
    pub actor: Actor,
    pub token_access: Option<Vec<GrantedAccess>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepoAction {
    Pull,
    Push,
    Delete,
}

impl RepoAction {
    fn as_str(self) -> &'static str {
        match self {
            RepoAction::Pull => "pull",
            RepoAction::Push => "push",
            RepoAction::Delete => "delete",
        }
    }
    fn policy_action(self) -> Action {
        match self {
            RepoAction::Pull => Action::Pull,
            RepoAction::Push => Action::Push,
            RepoAction::Delete => Action::Delete,
        }
    }
}

/// Registry settings.
#[derive(Clone, Debug)]
pub struct RegistrySettings {
    /// Manifests larger than this are refused with 413.
    pub max_manifest_bytes: usize,
    /// Limit on the sum of every project's usage, in bytes; -1 unlimited.
    pub global_storage_limit: i64,
    /// With `prevent_vul`, refuse pulls of artifacts that have no report yet.
    pub block_unscanned: bool,
    /// The registry's host name (`hostname`), as SBOMs name the images they describe.
    pub hostname: String,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            max_manifest_bytes: 4 << 20,
            global_storage_limit: -1,
            block_unscanned: false,
            hostname: "localhost".into(),
        }
    }
}

/// The registry service.
#[derive(Clone)]
pub struct Registry {
    pub db: DatabaseConnection,
    pub store: Arc<dyn BlobStore>,
    pub settings: Arc<RegistrySettings>,
    pub pulls: PullRecorder,
    /// The database's write gate (`db::WriteGate`), for writes that span several statements
    /// outside one transaction.
    writes: crate::db::WriteGate,
    /// Recently served manifests by digest.
    manifest_cache: Arc<std::sync::Mutex<ByteCache>>,
    /// Requests writing to an upload in this process, one at a time per upload.
    upload_locks: Arc<uploads::UploadLocks>,
}

/// A small cache of immutable content, bounded in bytes; emptied when full.
#[derive(Default)]
pub(crate) struct ByteCache {
    entries: std::collections::HashMap<String, bytes::Bytes>,
    bytes: usize,
}

impl ByteCache {
    const LIMIT: usize = 32 << 20;

    pub(crate) fn get(&self, key: &str) -> Option<&bytes::Bytes> {
        self.entries.get(key)
    }

    pub(crate) fn remove(&mut self, key: &str) {
        if let Some(v) = self.entries.remove(key) {
            self.bytes -= v.len();
        }
    }

    pub(crate) fn insert(&mut self, key: String, value: bytes::Bytes) {
        if self.bytes + value.len() > Self::LIMIT {
            self.entries.clear();
            self.bytes = 0;
        }
        self.bytes += value.len();
        self.entries.insert(key, value);
    }
}

impl Registry {
    pub fn new(
        db: DatabaseConnection,
        store: Arc<dyn BlobStore>,
        settings: RegistrySettings,
    ) -> Self {
        let writes = crate::db::WriteGate::of(&db);
        let pulls = PullRecorder::start(db.clone());
        Self {
            db,
            store,
            settings: Arc::new(settings),
            pulls,
            writes,
            manifest_cache: Arc::default(),
            upload_locks: Arc::default(),
        }
    }

    /// Drops a swept manifest from the cache of served manifests.
    pub(crate) fn forget_manifest(&self, digest: &str) {
        self.manifest_cache
            .lock()
            .expect("manifest cache")
            .remove(digest);
    }

    /// Read access to `repo`: a bearer token's grant is checked without the database.
    pub async fn authorize_read(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
    ) -> RegistryResult<()> {
        if let Some(access) = &caller.token_access {
            if token_grants(access, "repository", repo.as_str(), Some("pull")) {
                return Ok(());
            }
        }
        self.authorize(caller, repo, RepoAction::Pull)
            .await
            .map(|_| ())
    }

    /// Held while writing registry metadata; [`crate::db::WritePermit::begin`] turns the turn
    /// into a transaction.
    pub(super) async fn write_gate(&self) -> Result<crate::db::WritePermit, sea_orm::DbErr> {
        self.writes.enter().await
    }

    /// Checks that the caller may perform `action` on `repo`; returns its project.
    pub async fn authorize(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        action: RepoAction,
    ) -> RegistryResult<project::Model> {
        let project = project::Entity::find()
            .filter(project::Column::Name.eq(repo.project()))
            .one(&self.db)
            .await?;
        let anonymous = matches!(caller.actor.principal, Principal::Anonymous);
        let scope = format!("repository:{repo}:{}", action.as_str());
        let Some(project) = project else {
            if anonymous {
                return Err(RegistryError {
                    scope: Some(scope),
                    ..RegistryError::new(OciCode::Unauthorized, "authentication required")
                });
            }
            return Err(RegistryError::new(
                OciCode::NameUnknown,
                format!("project `{}` does not exist; a project administrator creates it in Berth first", repo.project()),
            ));
        };
        let allowed = match &caller.token_access {
            Some(access) => {
                token_grants(access, "repository", repo.as_str(), Some(action.as_str()))
            }
            None => {
                is_allowed(
                    &self.db,
                    &caller.actor.principal,
                    Some(&project),
                    Resource::Repository,
                    action.policy_action(),
                )
                .await?
            }
        };
        if allowed {
            return Ok(project);
        }
        if anonymous || caller.token_access.is_some() {
            let message = if anonymous {
                "authentication required".to_string()
            } else {
                format!(
                    "{} `{}` may not {} `{repo}`",
                    caller.actor.principal.kind(),
                    caller.actor.principal.name(),
                    action.as_str()
                )
            };
            return Err(RegistryError {
                scope: Some(scope),
                ..RegistryError::new(OciCode::Unauthorized, message)
            });
        }
        Err(RegistryError::new(
            OciCode::Denied,
            format!(
                "{} `{}` may not {} `{repo}`",
                caller.actor.principal.kind(),
                caller.actor.principal.name(),
                action.as_str()
            ),
        ))
    }

    /// The repository row, created on first push.
    async fn ensure_repository(
        &self,
        conn: &impl ConnectionTrait,
        project: &project::Model,
        repo: &RepoName,
    ) -> RegistryResult<repository::Model> {
        if let Some(r) = self.find_repository(conn, repo).await? {
            return Ok(r);
        }
        let now = Utc::now();
        repository::Entity::insert(repository::ActiveModel {
            project_id: Set(project.id),
            name: Set(repo.to_string()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::column(repository::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
        self.find_repository(conn, repo).await?.ok_or_else(|| {
            RegistryError::new(OciCode::Internal, "repository vanished while being created")
        })
    }

    /// Refuses when an immutable tag rule of the project protects one of `tags` in `repo`.
    pub(crate) async fn refuse_immutable(
        &self,
        conn: &impl ConnectionTrait,
        project_id: i64,
        repo: &RepoName,
        tags: &[String],
        what: &str,
    ) -> RegistryResult<()> {
        if tags.is_empty() {
            return Ok(());
        }
        let rules = crate::service::immutability::rules_for(conn, project_id).await?;
        for t in tags {
            if let Some(rule) = crate::policy::immutability::protecting(&rules, repo.path(), t) {
                return Err(RegistryError::new(
                    OciCode::TagImmutable,
                    format!(
                        "{what}: tag `{t}` of `{repo}` is immutable ({})",
                        rule.describe()
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn find_repository(
        &self,
        conn: &impl ConnectionTrait,
        repo: &RepoName,
    ) -> RegistryResult<Option<repository::Model>> {
        Ok(repository::Entity::find()
            .filter(repository::Column::Name.eq(repo.as_str()))
            .one(conn)
            .await?)
    }

    async fn require_repository(&self, repo: &RepoName) -> RegistryResult<repository::Model> {
        self.find_repository(&self.db, repo).await?.ok_or_else(|| {
            RegistryError::new(
                OciCode::NameUnknown,
                format!("repository `{repo}` is not known"),
            )
        })
    }
}
