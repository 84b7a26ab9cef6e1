//! Blobs and upload sessions.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::{OciCode, Registry, RegistryCaller, RegistryError, RegistryResult, RepoAction};
use crate::entities::{blob, repository_blob, upload};
use crate::storage::{BlobContent, ByteStream};
use crate::types::{Digest, RepoName};

/// A blob ready to stream.
pub struct BlobRead {
    pub size: u64,
    /// Inclusive byte range served, when a range was asked for.
    pub range: Option<(u64, u64)>,
    pub body: Option<BlobContent>,
}

/// Where an upload stands.
#[derive(Clone, Debug)]
pub struct UploadState {
    pub id: String,
    pub size: u64,
}

/// A parsed `Range: bytes=first-last` / `bytes=first-` / `bytes=-suffix` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    From(u64),
    Between(u64, u64),
    Suffix(u64),
}

impl ByteRange {
    pub fn parse(header: &str) -> Option<Self> {
        let spec = header.trim().strip_prefix("bytes=")?;
        if spec.contains(',') {
            return None;
        }
        let (a, b) = spec.split_once('-')?;
        match (a.trim(), b.trim()) {
            ("", suffix) => suffix.parse().ok().map(ByteRange::Suffix),
            (first, "") => first.parse().ok().map(ByteRange::From),
            (first, last) => Some(ByteRange::Between(first.parse().ok()?, last.parse().ok()?)),
        }
    }

    /// The inclusive range within a blob of `size` bytes, if satisfiable.
    pub fn resolve(self, size: u64) -> Option<(u64, u64)> {
        let (first, last) = match self {
            ByteRange::From(f) => (f, size.checked_sub(1)?),
            ByteRange::Between(f, l) => (f, l.min(size.checked_sub(1)?)),
            ByteRange::Suffix(n) if n > 0 => (size.saturating_sub(n), size.checked_sub(1)?),
            ByteRange::Suffix(_) => return None,
        };
        (first <= last && last < size).then_some((first, last))
    }
}

pub(super) async fn link_blob(
    conn: &impl ConnectionTrait,
    repository_id: i64,
    digest: &Digest,
    size: u64,
    global_limit: i64,
) -> RegistryResult<()> {
    super::quota::check(conn, repository_id, &digest.to_string(), size, global_limit).await?;
    let now = Utc::now();
    blob::Entity::insert(blob::ActiveModel {
        digest: Set(digest.to_string()),
        size: Set(size as i64),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(blob::Column::Digest)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    repository_blob::Entity::insert(repository_blob::ActiveModel {
        repository_id: Set(repository_id),
        digest: Set(digest.to_string()),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            repository_blob::Column::RepositoryId,
            repository_blob::Column::Digest,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

impl Registry {
    /// The size of a blob linked to `repo`, if any.
    pub(super) async fn linked_blob_size(
        &self,
        conn: &impl ConnectionTrait,
        repository_id: i64,
        digest: &Digest,
    ) -> RegistryResult<Option<u64>> {
        let linked = repository_blob::Entity::find()
            .filter(repository_blob::Column::RepositoryId.eq(repository_id))
            .filter(repository_blob::Column::Digest.eq(digest.to_string()))
            .one(conn)
            .await?;
        if linked.is_none() {
            return Ok(None);
        }
        Ok(blob::Entity::find_by_id(digest.to_string())
            .one(conn)
            .await?
            .map(|b| b.size as u64))
    }

    /// `GET`/`HEAD /v2/<name>/blobs/<digest>`, optionally with a byte range.
    pub async fn read_blob(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        digest: &Digest,
        range: Option<ByteRange>,
        with_body: bool,
    ) -> RegistryResult<BlobRead> {
        self.authorize_read(caller, repo).await?;
        let unknown = || {
            RegistryError::new(
                OciCode::BlobUnknown,
                format!("blob {digest} is not in `{repo}`"),
            )
        };
        let repository = self
            .find_repository(&self.db, repo)
            .await?
            .ok_or_else(unknown)?;
        let size = self
            .linked_blob_size(&self.db, repository.id, digest)
            .await?
            .ok_or_else(unknown)?;
        let range = match range {
            Some(r) => Some(r.resolve(size).ok_or_else(|| {
                RegistryError::new(
                    OciCode::RangeNotSatisfiable,
                    format!("range not satisfiable for a blob of {size} bytes"),
                )
            })?),
            None => None,
        };
        let body = if with_body {
            Some(self.store.open(digest, range).await?)
        } else {
            None
        };
        Ok(BlobRead { size, range, body })
    }

    /// `DELETE /v2/<name>/blobs/<digest>`: the blob leaves the repository; garbage collection
    /// frees the bytes once nothing references them.
    pub async fn delete_blob(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        digest: &Digest,
    ) -> RegistryResult<()> {
        self.authorize(caller, repo, RepoAction::Delete).await?;
        let repository = self.require_repository(repo).await?;
        let _write = self.write_gate().await?;
        let res = repository_blob::Entity::delete_many()
            .filter(repository_blob::Column::RepositoryId.eq(repository.id))
            .filter(repository_blob::Column::Digest.eq(digest.to_string()))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(RegistryError::new(
                OciCode::BlobUnknown,
                format!("blob {digest} is not in `{repo}`"),
            ));
        }
        Ok(())
    }

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
        self.store.start_upload(&id).await?;
        let now = Utc::now();
        upload::Entity::insert(upload::ActiveModel {
            id: Set(id.clone()),
            repository_id: Set(repository.id),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(UploadState { id, size: 0 })
    }

    /// Cross-repository mount: `Ok(Some(size))` when `digest` was linked into `repo` from
    /// `from`, `Ok(None)` when it cannot be mounted (unknown there, or not readable by the
    /// caller) and the client should upload instead.
    pub async fn mount_blob(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        digest: &Digest,
        from: &RepoName,
    ) -> RegistryResult<Option<u64>> {
        let project = self.authorize(caller, repo, RepoAction::Push).await?;
        if self
            .authorize(caller, from, RepoAction::Pull)
            .await
            .is_err()
        {
            return Ok(None);
        }
        let Some(source) = self.find_repository(&self.db, from).await? else {
            return Ok(None);
        };
        let Some(size) = self.linked_blob_size(&self.db, source.id, digest).await? else {
            return Ok(None);
        };
        if self.store.stat(digest).await?.is_none() {
            return Ok(None);
        }
        let write = self.write_gate().await?;
        let txn = write.begin(&self.db).await?;
        super::gc::hold_off(&txn).await?;
        let repository = self.ensure_repository(&txn, &project, repo).await?;
        let linked = link_blob(
            &txn,
            repository.id,
            digest,
            size,
            self.settings.global_storage_limit,
        )
        .await;
        if let Err(refused) = linked {
            txn.rollback().await?;
            super::quota::record_refusal(&self.db, &caller.actor, &refused).await;
            return Err(refused);
        }
        // Swept by garbage collection since the check above: not mountable after all.
        if self.store.stat(digest).await?.is_none() {
            txn.rollback().await?;
            return Ok(None);
        }
        txn.commit().await?;
        Ok(Some(size))
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

    /// `GET /v2/<name>/blobs/uploads/<id>`.
    pub async fn upload_status(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        id: &str,
    ) -> RegistryResult<UploadState> {
        self.authorize(caller, repo, RepoAction::Push).await?;
        self.upload_of(repo, id).await?;
        let size = self
            .store
            .upload_size(id)
            .await?
            .ok_or_else(|| RegistryError::new(OciCode::BlobUploadUnknown, "upload unknown"))?;
        Ok(UploadState {
            id: id.into(),
            size,
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
        self.upload_of(repo, id).await?;
        let size = self
            .store
            .upload_size(id)
            .await?
            .ok_or_else(|| RegistryError::new(OciCode::BlobUploadUnknown, "upload unknown"))?;
        let offset = start.unwrap_or(size);
        let size = self.store.append(id, offset, body).await?;
        let _write = self.write_gate().await?;
        upload::Entity::update_many()
            .col_expr(
                upload::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(upload::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(UploadState {
            id: id.into(),
            size,
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
        let row = self.upload_of(repo, id).await?;
        if let Some((start, body)) = last_chunk {
            let size =
                self.store.upload_size(id).await?.ok_or_else(|| {
                    RegistryError::new(OciCode::BlobUploadUnknown, "upload unknown")
                })?;
            self.store.append(id, start.unwrap_or(size), body).await?;
        }
        // Verification, fsync and the move into place run outside the write gate, so that
        // concurrent uploads do not queue behind each other's fsync.
        let committed = self.store.commit(id, digest).await;
        let write = self.write_gate().await?;
        // Verified or refused, the session is over.
        upload::Entity::delete_by_id(id.to_string())
            .exec(&self.db)
            .await?;
        let size = committed?;
        let txn = write.begin(&self.db).await?;
        super::gc::hold_off(&txn).await?;
        let linked = link_blob(
            &txn,
            row.repository_id,
            digest,
            size,
            self.settings.global_storage_limit,
        )
        .await;
        if let Err(refused) = linked {
            txn.rollback().await?;
            super::quota::record_refusal(&self.db, &caller.actor, &refused).await;
            return Err(refused);
        }
        // A garbage collection that swept this same content between our move into place and
        // the link above took the file with it; garbage collection is held off now, so what
        // is seen here stays true until the link is committed.
        if self.store.stat(digest).await?.is_none() {
            txn.rollback().await?;
            return Err(RegistryError::new(
                OciCode::BlobUploadInvalid,
                "the blob was removed by garbage collection while this upload completed; upload it again",
            ));
        }
        txn.commit().await?;
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
        self.upload_of(repo, id).await?;
        let write = self.write_gate().await?;
        upload::Entity::delete_by_id(id.to_string())
            .exec(&self.db)
            .await?;
        drop(write);
        match self.store.abort(id).await {
            Ok(()) | Err(crate::storage::StorageError::UploadUnknown) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes upload sessions untouched for longer than `max_age`, with their bytes.
    pub async fn expire_uploads(&self, max_age: std::time::Duration) -> RegistryResult<usize> {
        let cutoff = Utc::now()
            - chrono::Duration::from_std(max_age).unwrap_or_else(|_| chrono::Duration::days(1));
        let stale = upload::Entity::find()
            .filter(upload::Column::UpdatedAt.lt(cutoff))
            .all(&self.db)
            .await?;
        for row in &stale {
            upload::Entity::delete_by_id(row.id.clone())
                .exec(&self.db)
                .await?;
            let _ = self.store.abort(&row.id).await;
        }
        // Files without a session (a crash between the two writes) go too.
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
                let _ = self.store.abort(&id).await;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::ByteRange;

    #[test]
    fn ranges() {
        assert_eq!(
            ByteRange::parse("bytes=0-9"),
            Some(ByteRange::Between(0, 9))
        );
        assert_eq!(ByteRange::parse("bytes=5-"), Some(ByteRange::From(5)));
        assert_eq!(ByteRange::parse("bytes=-3"), Some(ByteRange::Suffix(3)));
        assert_eq!(ByteRange::parse("bytes=0-1,4-5"), None);
        assert_eq!(ByteRange::parse("items=0-1"), None);
        assert_eq!(ByteRange::Between(0, 99).resolve(10), Some((0, 9)));
        assert_eq!(ByteRange::From(10).resolve(10), None);
        assert_eq!(ByteRange::Suffix(3).resolve(10), Some((7, 9)));
        assert_eq!(ByteRange::Between(5, 2).resolve(10), None);
    }
}
