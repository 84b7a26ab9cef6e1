//! Blobs: reads, deletes, cross-repository mounts, and linking a stored blob to a repository.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::{OciCode, Registry, RegistryCaller, RegistryError, RegistryResult, RepoAction};
use crate::db::WriteTxn;
use crate::entities::{blob, repository_blob};
use crate::storage::BlobContent;
use crate::types::{Digest, RepoName};

/// A blob ready to stream.
pub struct BlobRead {
    pub size: u64,
    /// Inclusive byte range served, when a range was asked for.
    pub range: Option<(u64, u64)>,
    pub body: Option<BlobContent>,
    /// A presigned URL to fetch the bytes from instead, when the store redirects downloads.
    pub redirect: Option<String>,
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

async fn link_blob(
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
        // Every check above holds for a redirected download as for a streamed one.
        let redirect = if with_body {
            self.store.redirect_url(digest).await?
        } else {
            None
        };
        let body = if with_body && redirect.is_none() {
            Some(self.store.open(digest, range).await?)
        } else {
            None
        };
        Ok(BlobRead {
            size,
            range,
            body,
            redirect,
        })
    }

    /// A blob's bytes (or the inclusive range of them) as a stream, never a redirect: what
    /// replication reads to send on.
    pub async fn blob_stream(
        &self,
        caller: &RegistryCaller,
        repo: &RepoName,
        digest: &Digest,
        range: Option<(u64, u64)>,
    ) -> RegistryResult<(u64, crate::storage::ByteStream)> {
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
        if range.is_some_and(|(first, last)| first > last || last >= size) {
            return Err(RegistryError::new(
                OciCode::RangeNotSatisfiable,
                format!("range not satisfiable for a blob of {size} bytes"),
            ));
        }
        let stream = self
            .store
            .open(digest, range)
            .await?
            .into_stream()
            .map_err(|e| RegistryError::new(OciCode::Unavailable, e.to_string()))?;
        Ok((size, stream))
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
        if !self
            .link_held(caller, txn, repository.id, digest, size)
            .await?
        {
            // Swept by garbage collection since the check above: not mountable after all.
            return Ok(None);
        }
        Ok(Some(size))
    }

    /// Links content to a repository within `txn`; a quota refusal rolls the transaction back
    /// and is recorded.
    pub(super) async fn link_or_refuse(
        &self,
        caller: &RegistryCaller,
        txn: WriteTxn,
        repository_id: i64,
        digest: &Digest,
        size: u64,
    ) -> RegistryResult<WriteTxn> {
        let global_limit = self.settings.global_storage_limit;
        if let Err(refused) = link_blob(&txn, repository_id, digest, size, global_limit).await {
            txn.rollback().await?;
            super::quota::record_refusal(&self.db, &caller.actor, &refused).await;
            return Err(refused);
        }
        Ok(txn)
    }

    /// Links content the store holds to a repository and commits, in a transaction that holds
    /// off garbage collection: `Ok(false)`, with nothing committed, when a sweep took the
    /// content before the hold (what is seen after it stays true until the commit).
    pub(super) async fn link_held(
        &self,
        caller: &RegistryCaller,
        txn: WriteTxn,
        repository_id: i64,
        digest: &Digest,
        size: u64,
    ) -> RegistryResult<bool> {
        let txn = self
            .link_or_refuse(caller, txn, repository_id, digest, size)
            .await?;
        if self.store.stat(digest).await?.is_none() {
            txn.rollback().await?;
            return Ok(false);
        }
        txn.commit().await?;
        Ok(true)
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
