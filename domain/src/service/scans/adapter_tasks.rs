//! The scans Berth's own scanner adapter runs for other registries (Harbor's pluggable-scanner
//! API): one row per task, `running` until its report or error is stored, so that any replica
//! answers the report request.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};

use super::Scans;
use crate::entities::adapter_scan;
use crate::scan::report::Report;
use crate::service::DomainResult;

/// Where an adapter task stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdapterTask {
    Running,
    /// The report as JSON.
    Done(String),
    Failed(String),
}

impl Scans {
    /// Records a new task for `repository@digest`; returns its id.
    pub async fn begin_adapter_task(&self, repository: &str, digest: &str) -> DomainResult<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let txn = self.write_gate().await?.begin(&self.db).await?;
        adapter_scan::ActiveModel {
            id: Set(id.clone()),
            repository: Set(repository.into()),
            digest: Set(digest.into()),
            status: Set("running".into()),
            error: Set(None),
            report: Set(None),
            created_at: Set(Utc::now()),
            finished_at: Set(None),
        }
        .insert(&*txn)
        .await?;
        txn.commit().await?;
        Ok(id)
    }

    /// Stores a task's outcome.
    pub async fn finish_adapter_task(
        &self,
        id: &str,
        outcome: Result<Report, String>,
    ) -> DomainResult<()> {
        let Some(row) = adapter_scan::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
        else {
            return Ok(());
        };
        let mut active = row.into_active_model();
        active.finished_at = Set(Some(Utc::now()));
        match outcome {
            Ok(report) => {
                active.status = Set("success".into());
                active.report = Set(Some(serde_json::to_string(&report).expect("report")));
            }
            Err(e) => {
                active.status = Set("error".into());
                active.error = Set(Some(e));
            }
        }
        let txn = self.write_gate().await?.begin(&self.db).await?;
        active.update(&*txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// A task's state; `None` when there is no such task.
    pub async fn adapter_task(&self, id: &str) -> DomainResult<Option<AdapterTask>> {
        Ok(adapter_scan::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .map(|row| match row.status.as_str() {
                "success" => AdapterTask::Done(row.report.unwrap_or_default()),
                "error" => AdapterTask::Failed(row.error.unwrap_or_else(|| "scan failed".into())),
                _ => AdapterTask::Running,
            }))
    }
}
