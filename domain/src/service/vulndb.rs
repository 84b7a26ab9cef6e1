//! The vulnerability database: OSV records imported from a single `.json` record, a directory
//! of them (recursively), or an OSV `all.zip`. Importing is idempotent by id and `modified`
//! (a record is replaced only by a newer one), and a bad record is skipped and reported
//! without stopping the rest.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement};
use serde::{Deserialize, Serialize};

use crate::scan::osv::{normalise_name, Record};

/// Records written per transaction.
const BATCH: usize = 500;

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// New records.
    pub imported: u64,
    /// Records replaced by a newer `modified`.
    pub updated: u64,
    /// Records already present with the same or a newer `modified`.
    pub unchanged: u64,
    /// (source, why) for every record that could not be read.
    pub failed: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct VulnDb {
    db: DatabaseConnection,
}

fn ph(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".into(),
    }
}

impl VulnDb {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Imports a `.json` record, a directory (every `.json` below it) or a `.zip` of records.
    pub async fn import_path(&self, path: &Path) -> Result<ImportReport, String> {
        let mut report = ImportReport::default();
        let mut pending: Vec<(String, Record)> = Vec::new();
        if path.is_dir() {
            let mut files = Vec::new();
            collect_json(path, &mut files).map_err(|e| format!("{}: {e}", path.display()))?;
            files.sort();
            for file in files {
                let source = file.display().to_string();
                match std::fs::read_to_string(&file) {
                    Ok(text) => self.add(&source, &text, &mut pending, &mut report).await?,
                    Err(e) => report.failed.push((source, e.to_string())),
                }
            }
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
        {
            let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut archive =
                zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", path.display()))?;
            for i in 0..archive.len() {
                let (source, text) = {
                    let mut entry = archive.by_index(i).map_err(|e| e.to_string())?;
                    if !entry.is_file() || !entry.name().ends_with(".json") {
                        continue;
                    }
                    let source = format!("{}!{}", path.display(), entry.name());
                    let mut text = String::new();
                    match entry.read_to_string(&mut text) {
                        Ok(_) => (source, Ok(text)),
                        Err(e) => (source, Err(e.to_string())),
                    }
                };
                match text {
                    Ok(text) => self.add(&source, &text, &mut pending, &mut report).await?,
                    Err(e) => report.failed.push((source, e)),
                }
            }
        } else {
            let source = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| format!("{source}: {e}"))?;
            self.add(&source, &text, &mut pending, &mut report).await?;
        }
        self.flush(&mut pending, &mut report)
            .await
            .map_err(|e| e.to_string())?;
        Ok(report)
    }

    async fn add(
        &self,
        source: &str,
        text: &str,
        pending: &mut Vec<(String, Record)>,
        report: &mut ImportReport,
    ) -> Result<(), String> {
        match Record::parse(text) {
            Ok(record) => pending.push((source.to_string(), record)),
            Err(e) => report.failed.push((source.to_string(), e)),
        }
        if pending.len() >= BATCH {
            self.flush(pending, report)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    async fn flush(
        &self,
        pending: &mut Vec<(String, Record)>,
        report: &mut ImportReport,
    ) -> Result<(), DbErr> {
        if pending.is_empty() {
            return Ok(());
        }
        let backend = self.db.get_database_backend();
        let p = |n| ph(backend, n);
        let txn = crate::db::begin_write(&self.db).await?;
        for (_, record) in pending.drain(..) {
            let existing = txn
                .query_one(Statement::from_sql_and_values(
                    backend,
                    format!("SELECT modified FROM vuln_records WHERE id = {}", p(1)),
                    vec![record.id.clone().into()],
                ))
                .await?
                .and_then(|r| r.try_get_by_index::<String>(0).ok());
            let json = serde_json::to_string(&record).expect("a parsed record serialises");
            match existing {
                Some(m) if m >= record.modified => {
                    report.unchanged += 1;
                    continue;
                }
                Some(_) => {
                    txn.execute(Statement::from_sql_and_values(
                        backend,
                        format!(
                            "UPDATE vuln_records SET modified = {}, record = {}, imported_at = {} \
                             WHERE id = {}",
                            p(1),
                            p(2),
                            p(3),
                            p(4)
                        ),
                        vec![
                            record.modified.clone().into(),
                            json.into(),
                            Utc::now().into(),
                            record.id.clone().into(),
                        ],
                    ))
                    .await?;
                    txn.execute(Statement::from_sql_and_values(
                        backend,
                        format!("DELETE FROM vuln_affected WHERE record_id = {}", p(1)),
                        vec![record.id.clone().into()],
                    ))
                    .await?;
                    report.updated += 1;
                }
                None => {
                    txn.execute(Statement::from_sql_and_values(
                        backend,
                        format!(
                            "INSERT INTO vuln_records (id, modified, record, imported_at) \
                             VALUES ({}, {}, {}, {})",
                            p(1),
                            p(2),
                            p(3),
                            p(4)
                        ),
                        vec![
                            record.id.clone().into(),
                            record.modified.clone().into(),
                            json.into(),
                            Utc::now().into(),
                        ],
                    ))
                    .await?;
                    report.imported += 1;
                }
            }
            let mut packages: Vec<(String, String)> = record
                .affected
                .iter()
                .map(|a| {
                    (
                        a.package.ecosystem.clone(),
                        normalise_name(&a.package.ecosystem, &a.package.name),
                    )
                })
                .collect();
            packages.sort();
            packages.dedup();
            for (ecosystem, name) in packages {
                txn.execute(Statement::from_sql_and_values(
                    backend,
                    format!(
                        "INSERT INTO vuln_affected (record_id, ecosystem, name) VALUES ({}, {}, {})",
                        p(1),
                        p(2),
                        p(3)
                    ),
                    vec![record.id.clone().into(), ecosystem.into(), name.into()],
                ))
                .await?;
            }
        }
        txn.commit().await
    }

    /// The records naming `name` in `ecosystem`.
    pub async fn records_for(&self, ecosystem: &str, name: &str) -> Result<Vec<Record>, DbErr> {
        let backend = self.db.get_database_backend();
        let rows = self
            .db
            .query_all(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT r.record FROM vuln_records r JOIN vuln_affected a ON a.record_id = r.id \
                     WHERE a.ecosystem = {} AND a.name = {} ORDER BY r.id",
                    ph(backend, 1),
                    ph(backend, 2)
                ),
                vec![
                    ecosystem.into(),
                    normalise_name(ecosystem, name).into(),
                ],
            ))
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.try_get_by_index::<String>(0).ok())
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect())
    }

    /// When the newest record was imported.
    pub async fn last_update(&self) -> crate::service::DomainResult<Option<chrono::DateTime<Utc>>> {
        use sea_orm::FromQueryResult;
        #[derive(FromQueryResult)]
        struct Last {
            last: Option<chrono::DateTime<Utc>>,
        }
        let backend = self.db.get_database_backend();
        Ok(Last::find_by_statement(Statement::from_string(
            backend,
            "SELECT MAX(imported_at) AS last FROM vuln_records",
        ))
        .one(&self.db)
        .await?
        .and_then(|l| l.last))
    }

    /// Records per ecosystem.
    pub async fn counts(&self) -> crate::service::DomainResult<BTreeMap<String, i64>> {
        let backend = self.db.get_database_backend();
        let rows = self
            .db
            .query_all(Statement::from_string(
                backend,
                "SELECT ecosystem, COUNT(DISTINCT record_id) FROM vuln_affected GROUP BY ecosystem",
            ))
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some((
                    r.try_get_by_index::<String>(0).ok()?,
                    r.try_get_by_index::<i64>(1).ok()?,
                ))
            })
            .collect())
    }
}

fn collect_json(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}
