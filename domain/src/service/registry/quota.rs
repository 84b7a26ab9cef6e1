//! Storage quotas. A project's usage is the size of the distinct blobs (layers, configs and
//! manifests) linked into any of its repositories: a layer shared by two repositories of one
//! project counts once, a layer shared by two projects counts in each (as in Harbor). The
//! global usage is the sum of the projects' usages.
//!
//! The check runs inside the transaction that links a blob, before the link is written. On
//! SQLite every metadata write already holds the registry's write gate; on PostgreSQL the
//! project row is locked (`FOR UPDATE`) for the rest of the transaction, so concurrent pushers
//! into one project are serialised at this point and cannot overshoot the limit together.

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use super::{OciCode, RegistryError, RegistryResult};

/// Bytes as people read them: `9.5 MB (9500000 bytes)`.
pub fn human_bytes(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    let (value, unit) = if b >= 1e12 {
        (b / 1e12, "TB")
    } else if b >= 1e9 {
        (b / 1e9, "GB")
    } else if b >= 1e6 {
        (b / 1e6, "MB")
    } else if b >= 1e3 {
        (b / 1e3, "kB")
    } else {
        return format!("{bytes} bytes");
    };
    format!("{value:.1} {unit} ({bytes} bytes)")
}

async fn scalar(
    conn: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> RegistryResult<i64> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(row
        .and_then(|r| r.try_get_by_index::<Option<i64>>(0).ok().flatten())
        .unwrap_or(0))
}

fn placeholder(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".into(),
    }
}

/// The bytes a project uses.
pub async fn project_usage(conn: &impl ConnectionTrait, project_id: i64) -> RegistryResult<i64> {
    let p = placeholder(conn.get_database_backend(), 1);
    scalar(
        conn,
        &format!(
            "SELECT CAST(SUM(b.size) AS BIGINT) FROM blobs b WHERE b.digest IN \
             (SELECT rb.digest FROM repository_blobs rb JOIN repositories r \
              ON r.id = rb.repository_id WHERE r.project_id = {p})"
        ),
        vec![project_id.into()],
    )
    .await
}

/// Every project's usage (projects holding nothing are absent), by project id.
pub async fn usage_by_project(
    conn: &impl ConnectionTrait,
) -> RegistryResult<std::collections::HashMap<i64, i64>> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all(Statement::from_string(
            backend,
            "SELECT u.project_id, CAST(SUM(b.size) AS BIGINT) FROM \
             (SELECT DISTINCT r.project_id, rb.digest FROM repository_blobs rb \
              JOIN repositories r ON r.id = rb.repository_id) u \
             JOIN blobs b ON b.digest = u.digest GROUP BY u.project_id",
        ))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some((
                r.try_get_by_index::<i64>(0).ok()?,
                r.try_get_by_index::<Option<i64>>(1).ok()?.unwrap_or(0),
            ))
        })
        .collect())
}

/// Each repository of a project with the bytes of the blobs it holds (a blob shared by two
/// repositories appears in both; the project counts it once), largest first.
pub async fn usage_by_repository(
    conn: &impl ConnectionTrait,
    project_id: i64,
) -> RegistryResult<Vec<(String, i64)>> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT r.name, CAST(COALESCE(SUM(b.size), 0) AS BIGINT) AS used FROM repositories r \
                 LEFT JOIN repository_blobs rb ON rb.repository_id = r.id \
                 LEFT JOIN blobs b ON b.digest = rb.digest WHERE r.project_id = {} \
                 GROUP BY r.name ORDER BY used DESC, r.name",
                placeholder(backend, 1)
            ),
            vec![project_id.into()],
        ))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some((
                r.try_get_by_index::<String>(0).ok()?,
                r.try_get_by_index::<Option<i64>>(1).ok()?.unwrap_or(0),
            ))
        })
        .collect())
}

/// The bytes all projects use together.
pub async fn global_usage(conn: &impl ConnectionTrait) -> RegistryResult<i64> {
    scalar(
        conn,
        "SELECT CAST(SUM(b.size) AS BIGINT) FROM \
         (SELECT DISTINCT r.project_id, rb.digest FROM repository_blobs rb \
          JOIN repositories r ON r.id = rb.repository_id) u \
         JOIN blobs b ON b.digest = u.digest",
        vec![],
    )
    .await
}

/// Refuses to link `digest` (of `size` bytes) into a repository of the project when that
/// would take the project or the whole registry over its limit. Linking a blob the project
/// already holds costs nothing and is always allowed.
pub async fn check(
    conn: &impl ConnectionTrait,
    repository_id: i64,
    digest: &str,
    size: u64,
    global_limit: i64,
) -> RegistryResult<()> {
    let backend = conn.get_database_backend();
    let (p1, p2) = (placeholder(backend, 1), placeholder(backend, 2));
    let row = conn
        .query_one(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT p.id, p.name, p.storage_limit FROM projects p JOIN repositories r \
                 ON r.project_id = p.id WHERE r.id = {p1}"
            ),
            vec![repository_id.into()],
        ))
        .await?
        .ok_or_else(|| RegistryError::new(OciCode::NameUnknown, "repository not found"))?;
    let project_id: i64 = row.try_get_by_index(0)?;
    let project_name: String = row.try_get_by_index(1)?;
    let limit: i64 = row.try_get_by_index(2)?;
    if limit < 0 && global_limit < 0 {
        return Ok(());
    }
    if backend == DatabaseBackend::Postgres {
        conn.execute(Statement::from_sql_and_values(
            backend,
            format!("SELECT id FROM projects WHERE id = {p1} FOR UPDATE"),
            vec![project_id.into()],
        ))
        .await?;
    }
    let already = scalar(
        conn,
        &format!(
            "SELECT COUNT(*) FROM repository_blobs rb JOIN repositories r \
             ON r.id = rb.repository_id WHERE r.project_id = {p1} AND rb.digest = {p2}"
        ),
        vec![project_id.into(), digest.into()],
    )
    .await?;
    if already > 0 {
        return Ok(());
    }
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    if limit >= 0 {
        let used = project_usage(conn, project_id).await?;
        let after = used.saturating_add(size);
        if after <= limit && crosses_warning_level(used, after, limit) {
            warn(conn, project_id, &project_name, after, limit).await?;
        }
        if after > limit {
            return Err(RegistryError {
                quota: Some(Some((project_id, project_name.clone()))),
                ..RegistryError::new(
                    OciCode::Denied,
                    format!(
                        "storage quota exceeded in project `{project_name}`: the limit is {}, {} \
                     is used, and this blob needs {} more",
                        human_bytes(limit),
                        human_bytes(used),
                        human_bytes(size)
                    ),
                )
            });
        }
    }
    if global_limit >= 0 {
        let used = global_usage(conn).await?;
        if used.saturating_add(size) > global_limit {
            return Err(RegistryError {
                quota: Some(None),
                ..RegistryError::new(
                    OciCode::Denied,
                    format!(
                        "the registry's global storage quota is exceeded: the limit is {}, {} is \
                     used, and this blob for project `{project_name}` needs {} more",
                        human_bytes(global_limit),
                        human_bytes(used),
                        human_bytes(size)
                    ),
                )
            });
        }
    }
    Ok(())
}

/// Records a push refused by a quota (`quota.exceeded`), in a transaction of its own: the
/// refused write was rolled back.
pub async fn record_refusal(
    db: &sea_orm::DatabaseConnection,
    actor: &crate::service::Actor,
    refusal: &RegistryError,
) {
    let Some(which) = &refusal.quota else {
        return;
    };
    let (project_id, resource) = match which {
        Some((id, name)) => (Some(*id), name.as_str()),
        None => (None, "registry"),
    };
    let recorded = async {
        let txn = crate::db::begin_write(db).await?;
        crate::service::audit::record_with(
            &*txn,
            actor,
            crate::service::audit::Record {
                operation: "exceeded",
                resource_type: "quota",
                resource,
                project_id,
                outcome: crate::service::audit::Outcome::Failure,
            },
            serde_json::json!({ "detail": refusal.message }),
        )
        .await?;
        txn.commit().await?;
        Ok::<(), crate::service::DomainError>(())
    };
    if let Err(e) = recorded.await {
        tracing::warn!(error = %e, "cannot record a quota refusal");
    }
}

/// Usage at or above this share of the limit raises a warning, once, when it is crossed.
pub const WARNING_PERCENT: i64 = 85;

fn crosses_warning_level(before: i64, after: i64, limit: i64) -> bool {
    let level =
        |bytes: i64| i128::from(bytes) * 100 >= i128::from(limit) * i128::from(WARNING_PERCENT);
    limit > 0 && !level(before) && level(after)
}

/// The 85 % event: a warning in the log and an audit row (operation `warning`, resource type
/// `quota`), written in the transaction of the push that crosses the level.
async fn warn(
    conn: &impl ConnectionTrait,
    project_id: i64,
    project: &str,
    used: i64,
    limit: i64,
) -> RegistryResult<()> {
    let detail = format!(
        "project `{project}` uses {} of its {} storage quota ({}%)",
        human_bytes(used),
        human_bytes(limit),
        i128::from(used) * 100 / i128::from(limit)
    );
    tracing::warn!(project, used, limit, "{detail}");
    crate::service::audit::record_with_detail(
        conn,
        "system",
        "berth",
        "",
        crate::service::audit::Record {
            operation: "warning",
            resource_type: "quota",
            resource: project,
            project_id: Some(project_id),
            outcome: crate::service::audit::Outcome::Success,
        },
        &detail,
    )
    .await
    .map_err(|e| RegistryError::new(OciCode::Internal, e.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_warning_level_is_crossed_once() {
        use super::crosses_warning_level as crosses;
        assert!(crosses(8_000, 9_000, 10_000));
        assert!(crosses(0, 8_500, 10_000));
        assert!(!crosses(8_500, 9_000, 10_000), "already above");
        assert!(!crosses(1_000, 8_499, 10_000), "still below");
        assert!(!crosses(0, 5, 0), "a zero limit refuses everything instead");
    }

    #[test]
    fn human_bytes_reads_well() {
        assert_eq!(super::human_bytes(512), "512 bytes");
        assert_eq!(super::human_bytes(10_000_000), "10.0 MB (10000000 bytes)");
    }
}
