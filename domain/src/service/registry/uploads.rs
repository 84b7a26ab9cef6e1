//! Upload sessions that any replica can continue.
//!
//! A session's row holds everything needed to continue it: the bytes received, the running
//! hash and the store's own state ([`UploadProgress`]). A request records the progress it
//! reached only if the size it started from is still the recorded one (compare and set), so of
//! two requests racing on one upload exactly one counts. Within a process, requests to one
//! upload take turns ([`UploadLocks`]), so the filesystem store never sees two writers of one
//! file; across replicas (object storage only) a loser's parts and tail are never named by the
//! recorded progress, and S3 refuses to complete an upload whose recorded part ETags were
//! overwritten — a race can fail an upload, never store bytes that do not match the digest.
//! A replica killed mid-request leaves the progress of its last completed request: the client
//! asks where the upload stands (any replica) and continues from there at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::{OciCode, Registry, RegistryCaller, RegistryError, RegistryResult, RepoAction};
use crate::entities::upload;
use crate::storage::{ByteStream, StorageError, UploadProgress};
use crate::types::{Digest, RepoName};

/// Where an upload stands.
#[derive(Clone, Debug)]
pub struct UploadState {
    pub id: String,
    pub size: u64,
}

/// One lock per upload being written in this process.
#[derive(Default)]
pub(super) struct UploadLocks(std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl UploadLocks {
    async fn lock(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.0.lock().expect("upload locks");
            if map.len() > 1024 {
                map.retain(|_, l| Arc::strong_count(l) > 1);
            }
            map.entry(id.to_string()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

fn progress_of(row: &upload::Model) -> UploadProgress {
    row.progress
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_else(|| UploadProgress {
            size: row.size as u64,
            ..UploadProgress::default()
        })
}

fn out_of_order(offset: u64, row: &upload::Model) -> RegistryResult<()> {
    if offset != row.size as u64 {
        return Err(StorageError::OutOfOrder {
            offset,
            size: row.size as u64,
        }
        .into());
    }
    Ok(())
}

impl Registry {
    /// `POST /v2/<name>/blobs/uploads/`: a new upload session.
    pub async fn start_upload(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
    ) -> RegistryResult<UploadState> {
        let project = self.authorize(caller, repo, RepoAction::Push).await?;
        let _write = self.write_gate().await?;
        let repository = self.ensure_repository(&self.db, &project, repo).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let progress = self.store.start_upload(&id).await?;
        let now = Utc::now();
        upload::Entity::insert(upload::ActiveModel {
            id: Set(id.clone()),
            repository_id: Set(repository.id),
            created_at: Set(now),
            updated_at: Set(now),
            size: Set(0),
            progress: Set(Some(
                serde_json::to_string(&progress).expect("progress serializes"),
            )),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(UploadState { id, size: 0 })
    }

    async fn upload_of(&self, repo: &RepoName, id: &str) -> RegistryResult<upload::Model> {
        let unknown = || {
            RegistryError::new(
                OciCode::BlobUploadUnknown,
                format!("upload {id} is not in progress for `{repo}`"),
            )
        };
        let row = upload::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(unknown)?;
        let repository = self
            .find_repository(&self.db, repo)
            .await?
            .ok_or_else(unknown)?;
        if row.repository_id != repository.id {
            return Err(unknown());
        }
        Ok(row)
    }

    /// Streams `body` into the upload and records the progress it reached, if the upload is
    /// still where `row` saw it.
    async fn append_to(
        &self,
        row: &upload::Model,
        offset: u64,
        body: ByteStream,
    ) -> RegistryResult<UploadProgress> {
        let next = self
            .store
            .append(&row.id, &progress_of(row), offset, body)
            .await?;
        let _write = self.write_gate().await?;
        let recorded = upload::Entity::update_many()
            .col_expr(upload::Column::Size, Expr::value(next.size as i64))
            .col_expr(
                upload::Column::Progress,
                Expr::value(serde_json::to_string(&next).expect("progress serializes")),
            )
            .col_expr(upload::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(upload::Column::Id.eq(row.id.clone()))
            .filter(upload::Column::Size.eq(row.size))
            .exec(&self.db)
            .await?;
        if recorded.rows_affected == 0 {
            return Err(RegistryError::new(
                OciCode::RangeNotSatisfiable,
                format!(
                    "upload {} moved on or was cancelled while this request wrote to it; \
                     ask where it stands and continue from there",
                    row.id
                ),
            ));
        }
        Ok(next)
    }

    /// `GET /v2/<name>/blobs/uploads/<id>`.
    pub async fn upload_status(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        id: &str,
    ) -> RegistryResult<UploadState> {
        self.authorize(caller, repo, RepoAction::Push).await?;
        let row = self.upload_of(repo, id).await?;
        Ok(UploadState {
            id: id.into(),
            size: row.size as u64,
        })
    }

    /// `PATCH`: appends a chunk. `start` is the first byte of a `Content-Range`, when given;
    /// it must continue the upload exactly (416 otherwise).
    pub async fn append_upload(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        id: &str,
        start: Option<u64>,
        body: ByteStream,
    ) -> RegistryResult<UploadState> {
        self.authorize(caller, repo, RepoAction::Push).await?;
        let _turn = self.upload_locks.lock(id).await;
        let row = self.upload_of(repo, id).await?;
        let offset = start.unwrap_or(row.size as u64);
        out_of_order(offset, &row)?;
        let next = self.append_to(&row, offset, body).await?;
        Ok(UploadState {
            id: id.into(),
            size: next.size,
        })
    }

    /// `PUT ?digest=`: appends the optional last chunk, verifies, stores and links the blob.
    pub async fn finish_upload(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        id: &str,
        digest: &Digest,
        last_chunk: Option<(Option<u64>, ByteStream)>,
    ) -> RegistryResult<u64> {
        self.authorize(caller, repo, RepoAction::Push).await?;
        let _turn = self.upload_locks.lock(id).await;
        let mut row = self.upload_of(repo, id).await?;
        if let Some((start, body)) = last_chunk {
            let offset = start.unwrap_or(row.size as u64);
            out_of_order(offset, &row)?;
            let next = self.append_to(&row, offset, body).await?;
            row.size = next.size as i64;
            row.progress = Some(serde_json::to_string(&next).expect("progress serializes"));
        }
        let progress = progress_of(&row);
        // Verification and the move into place run outside the write gate, so that concurrent
        // uploads do not queue behind each other's fsync or object store round trips.
        let committed = self.store.commit(id, &progress, digest).await;
        if let Err(StorageError::Unavailable(_) | StorageError::Io(_)) = &committed {
            // The store failed, not the client: the session stays for a retry.
            return Err(committed.expect_err("an error").into());
        }
        let write = self.write_gate().await?;
        // Verified or refused, the session is over.
        upload::Entity::delete_by_id(id.to_string())
            .exec(&self.db)
            .await?;
        let size = committed?;
        let txn = write.begin(&self.db).await?;
        super::gc::hold_off(&txn).await?;
        if !self
            .link_held(caller, txn, row.repository_id, digest, size)
            .await?
        {
            return Err(RegistryError::new(
                OciCode::BlobUploadInvalid,
                "the blob was removed by garbage collection while this upload completed; upload it again",
            ));
        }
        Ok(size)
    }

    /// `DELETE /v2/<name>/blobs/uploads/<id>`.
    pub async fn cancel_upload(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        id: &str,
    ) -> RegistryResult<()> {
        self.authorize(caller, repo, RepoAction::Push).await?;
        let _turn = self.upload_locks.lock(id).await;
        let row = self.upload_of(repo, id).await?;
        let write = self.write_gate().await?;
        upload::Entity::delete_by_id(id.to_string())
            .exec(&self.db)
            .await?;
        drop(write);
        match self.store.abort(id, Some(&progress_of(&row))).await {
            Ok(()) | Err(StorageError::UploadUnknown) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes upload sessions untouched for longer than `max_age`, with their bytes.
    pub async fn expire_uploads(&self, max_age: Duration) -> RegistryResult<usize> {
        let cutoff = Utc::now()
            - chrono::Duration::from_std(max_age).unwrap_or_else(|_| chrono::Duration::days(1));
        let stale = upload::Entity::find()
            .filter(upload::Column::UpdatedAt.lt(cutoff))
            .all(&self.db)
            .await?;
        for row in &stale {
            {
                let _write = self.write_gate().await?;
                upload::Entity::delete_by_id(row.id.clone())
                    .exec(&self.db)
                    .await?;
            }
            let _ = self.store.abort(&row.id, Some(&progress_of(row))).await;
        }
        // Bytes without a session (a crash between the two writes) go too.
        let known: std::collections::HashSet<String> = upload::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect();
        let mut removed = stale.len();
        let system_cutoff = std::time::SystemTime::now() - max_age;
        for (id, modified) in self.store.list_uploads().await? {
            if !known.contains(&id) && modified < system_cutoff {
                let _ = self.store.abort(&id, None).await;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
