//! Garbage collection as system administrators and the scheduler ask for it: a recorded run
//! (one at a time across replicas), executed now or in the background, its outcome recorded
//! with its event (`gc.run` or `gc.dry_run`) in one transaction.

use super::gc::{GcOptions, GcReport, GcRun};
use super::{OciCode, Registry};
use crate::policy::authz::Action;
use crate::service::audit::{self, Outcome, Record};
use crate::service::{require_configuration, Actor, DomainError, DomainResult};

impl Registry {
    async fn require_configuration(&self, actor: &Actor, action: Action) -> DomainResult<()> {
        require_configuration(&self.db, actor, action).await
    }

    /// Records a new run; `Conflict` while another is in progress.
    pub async fn start_gc(
        &self,
        actor: &Actor,
        options: &GcOptions,
        trigger: &str,
    ) -> DomainResult<i64> {
        self.require_configuration(actor, Action::Update).await?;
        self.begin_gc_run(options, trigger, actor.principal.name())
            .await
            .map_err(|e| match e.code {
                OciCode::Denied => DomainError::Conflict(e.message),
                _ => e.into(),
            })
    }

    /// Runs the recorded run `id` to its end; its outcome and event commit together.
    pub async fn finish_gc(
        &self,
        actor: &Actor,
        id: i64,
        options: &GcOptions,
    ) -> DomainResult<GcReport> {
        let outcome = self.collect_gc_run(id, options).await;
        let (status, result, success) = match &outcome {
            Ok(report) => (
                "success",
                serde_json::to_string(report).unwrap_or_default(),
                true,
            ),
            Err(e) => ("error", e.message.clone(), false),
        };
        let txn = self.write_gate().await?.begin(&self.db).await?;
        self.record_gc_outcome(&*txn, id, status, &result).await?;
        audit::record_with(
            &*txn,
            actor,
            Record {
                operation: if options.dry_run { "dry_run" } else { "run" },
                resource_type: "gc",
                resource: &format!("run {id}"),
                project_id: None,
                outcome: if success {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
            },
            match &outcome {
                Ok(report) => serde_json::json!({ "run": id, "report": report }),
                Err(e) => serde_json::json!({ "run": id, "error": e.message }),
            },
        )
        .await?;
        txn.commit().await?;
        outcome.map_err(DomainError::from)
    }

    /// Records a run and lets it go on in the background on `runtime` (the current one when
    /// `None`); returns its id at once.
    pub async fn start_gc_in_background(
        &self,
        actor: &Actor,
        options: GcOptions,
        trigger: &str,
        runtime: Option<&tokio::runtime::Handle>,
    ) -> DomainResult<i64> {
        let id = self.start_gc(actor, &options, trigger).await?;
        let (registry, actor) = (self.clone(), actor.clone());
        let run = async move {
            if let Err(e) = registry.finish_gc(&actor, id, &options).await {
                tracing::error!(run = id, error = %e, "garbage collection failed");
            }
        };
        match runtime {
            Some(handle) => drop(handle.spawn(run)),
            None => drop(tokio::spawn(run)),
        }
        Ok(id)
    }

    /// The most recent runs, newest first (system administrators).
    pub async fn list_gc_runs(&self, actor: &Actor, limit: u64) -> DomainResult<Vec<GcRun>> {
        self.require_configuration(actor, Action::Read).await?;
        Ok(self.gc_runs(limit).await?)
    }

    /// One run (system administrators).
    pub async fn get_gc_run(&self, actor: &Actor, id: i64) -> DomainResult<GcRun> {
        self.require_configuration(actor, Action::Read).await?;
        self.gc_run(id)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("garbage collection run {id} not found")))
    }
}
