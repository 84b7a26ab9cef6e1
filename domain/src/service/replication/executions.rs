//! Executions and tasks of replication policies: administrators start, list, stop and read
//! them; the replication workers claim an execution with a lease (so one replica works on it
//! and another takes over when that one dies), add its tasks and record each task's progress.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::policies::{find_policy, Policy};
use crate::entities::{replication_execution, replication_task};
use crate::policy::authz::Action;
use crate::service::audit::{self, Outcome, Record};
use crate::service::{page_bounds, rfc3339, Actor, DomainError, DomainResult, Services};
use crate::types::replication::{status, ExecutionView, TaskView};

/// A task to add to an execution.
#[derive(Clone, Debug)]
pub struct NewTask {
    pub operation: &'static str,
    pub src_resource: String,
    pub dst_resource: String,
    pub digest: Option<String>,
}

/// How a task ended (or paused, for a retry).
#[derive(Clone, Debug)]
pub enum TaskOutcome {
    Succeed(String),
    Skipped(String),
    Failed(String),
    Stopped,
    /// Back to `Pending` until `at`.
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
}

fn task_view(t: &replication_task::Model) -> TaskView {
    TaskView {
        id: t.id,
        execution_id: t.execution_id,
        resource_type: t.resource_type.clone(),
        src_resource: t.src_resource.clone(),
        dst_resource: t.dst_resource.clone(),
        operation: t.operation.clone(),
        status: t.status.clone(),
        status_text: t.status_text.clone(),
        attempts: t.attempts,
        bytes_done: t.bytes_done,
        bytes_total: t.bytes_total,
        next_retry_time: t.next_retry_at.map(rfc3339).unwrap_or_default(),
        start_time: t.start_time.map(rfc3339).unwrap_or_default(),
        end_time: t.end_time.map(rfc3339).unwrap_or_default(),
    }
}

/// Task counts by status for each execution in `ids`.
async fn counts(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> DomainResult<HashMap<i64, HashMap<String, i64>>> {
    let rows: Vec<(i64, String, i64)> = replication_task::Entity::find()
        .select_only()
        .column(replication_task::Column::ExecutionId)
        .column(replication_task::Column::Status)
        .column_as(replication_task::Column::Id.count(), "n")
        .filter(replication_task::Column::ExecutionId.is_in(ids.to_vec()))
        .group_by(replication_task::Column::ExecutionId)
        .group_by(replication_task::Column::Status)
        .into_tuple()
        .all(conn)
        .await?;
    let mut out: HashMap<i64, HashMap<String, i64>> = HashMap::new();
    for (id, s, n) in rows {
        out.entry(id).or_default().insert(s, n);
    }
    Ok(out)
}

fn execution_view(
    e: &replication_execution::Model,
    c: Option<&HashMap<String, i64>>,
) -> ExecutionView {
    let n = |s: &str| c.and_then(|c| c.get(s)).copied().unwrap_or(0);
    ExecutionView {
        id: e.id,
        policy_id: e.policy_id,
        status: e.status.clone(),
        status_text: e.status_text.clone(),
        trigger: e.trigger.clone(),
        total: c.map(|c| c.values().sum()).unwrap_or(0),
        failed: n(status::FAILED),
        succeed: n(status::SUCCEED),
        in_progress: n(status::IN_PROGRESS) + n(status::PENDING),
        stopped: n(status::STOPPED),
        skipped: n(status::SKIPPED),
        start_time: rfc3339(e.start_time),
        end_time: e.end_time.map(rfc3339).unwrap_or_default(),
    }
}

async fn find_execution(
    conn: &impl ConnectionTrait,
    id: i64,
) -> DomainResult<replication_execution::Model> {
    replication_execution::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("replication execution {id} not found")))
}

async fn find_task(
    conn: &impl ConnectionTrait,
    execution_id: i64,
    task_id: i64,
) -> DomainResult<replication_task::Model> {
    replication_task::Entity::find_by_id(task_id)
        .filter(replication_task::Column::ExecutionId.eq(execution_id))
        .one(conn)
        .await?
        .ok_or_else(|| {
            DomainError::NotFound(format!(
                "task {task_id} of replication execution {execution_id} not found"
            ))
        })
}

impl Services {
    /// Starts a run of a policy (`manual`, `scheduled` or `event_based`); a worker picks it
    /// up. Disabled policies do not run (412).
    pub async fn start_replication(
        &self,
        actor: &Actor,
        policy_id: i64,
        trigger: &str,
    ) -> DomainResult<ExecutionView> {
        crate::service::require_configuration(&self.db, actor, Action::Update).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let p = find_policy(&*txn, policy_id).await?;
        if !p.enabled {
            return Err(DomainError::Precondition(format!(
                "replication policy `{}` is disabled; enable it to run it",
                p.name
            )));
        }
        let e = insert_execution(&*txn, policy_id, trigger, Vec::new()).await?;
        audit::record(
            &*txn,
            actor,
            Record {
                operation: "start",
                resource_type: "replication",
                resource: &format!("policy `{}` execution {}", p.name, e.id),
                project_id: None,
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(execution_view(&e, None))
    }

    /// Executions, newest first, of one policy or all; with the total for paging.
    pub async fn list_replication_executions(
        &self,
        actor: &Actor,
        policy_id: Option<i64>,
        page: Option<u64>,
        page_size: Option<u64>,
    ) -> DomainResult<(Vec<ExecutionView>, u64)> {
        crate::service::require_configuration(&self.db, actor, Action::Read).await?;
        let (page, size) = page_bounds(page, page_size);
        let mut q =
            replication_execution::Entity::find().order_by_desc(replication_execution::Column::Id);
        if let Some(id) = policy_id {
            q = q.filter(replication_execution::Column::PolicyId.eq(id));
        }
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .offset((page - 1) * size)
            .limit(size)
            .all(&self.db)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|e| e.id).collect();
        let c = counts(&self.db, &ids).await?;
        Ok((
            rows.iter()
                .map(|e| execution_view(e, c.get(&e.id)))
                .collect(),
            total,
        ))
    }

    pub async fn get_replication_execution(
        &self,
        actor: &Actor,
        id: i64,
    ) -> DomainResult<ExecutionView> {
        crate::service::require_configuration(&self.db, actor, Action::Read).await?;
        self.execution_view_of(id).await
    }

    /// An execution as shown, for the worker's own reports.
    pub async fn execution_view_of(&self, id: i64) -> DomainResult<ExecutionView> {
        let e = find_execution(&self.db, id).await?;
        let c = counts(&self.db, &[id]).await?;
        Ok(execution_view(&e, c.get(&id)))
    }

    /// Asks a running execution to stop: its worker ends the task in flight (mid-blob) and
    /// marks what is left `Stopped`. One no worker has claimed yet stops at once.
    pub async fn stop_replication(&self, actor: &Actor, id: i64) -> DomainResult<ExecutionView> {
        crate::service::require_configuration(&self.db, actor, Action::Update).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        let e = find_execution(&*txn, id).await?;
        if ![status::PENDING, status::IN_PROGRESS].contains(&e.status.as_str()) {
            return Err(DomainError::Precondition(format!(
                "replication execution {id} has already ended ({})",
                e.status
            )));
        }
        let unclaimed = e.owner.is_none();
        let mut active = e.into_active_model();
        active.stop_requested = Set(true);
        if unclaimed {
            active.status = Set(status::STOPPED.into());
            active.end_time = Set(Some(Utc::now()));
        }
        active.update(&*txn).await?;
        if unclaimed {
            stop_open_tasks(&*txn, id).await?;
        }
        audit::record(
            &*txn,
            actor,
            Record {
                operation: "stop",
                resource_type: "replication",
                resource: &format!("execution {id}"),
                project_id: None,
                outcome: Outcome::Success,
            },
        )
        .await?;
        txn.commit().await?;
        self.execution_view_of(id).await
    }

    pub async fn list_replication_tasks(
        &self,
        actor: &Actor,
        execution_id: i64,
        page: Option<u64>,
        page_size: Option<u64>,
    ) -> DomainResult<(Vec<TaskView>, u64)> {
        crate::service::require_configuration(&self.db, actor, Action::Read).await?;
        find_execution(&self.db, execution_id).await?;
        let (page, size) = page_bounds(page, page_size);
        let q = replication_task::Entity::find()
            .filter(replication_task::Column::ExecutionId.eq(execution_id))
            .order_by_asc(replication_task::Column::Id);
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .offset((page - 1) * size)
            .limit(size)
            .all(&self.db)
            .await?;
        Ok((rows.iter().map(task_view).collect(), total))
    }

    /// A task's log, one line per step.
    pub async fn replication_task_log(
        &self,
        actor: &Actor,
        execution_id: i64,
        task_id: i64,
    ) -> DomainResult<String> {
        crate::service::require_configuration(&self.db, actor, Action::Read).await?;
        Ok(find_task(&self.db, execution_id, task_id).await?.log)
    }

    // The worker's side: no actor, the worker is Berth.

    /// Claims one execution that is waiting, or whose worker's lease ran out, for `owner`
    /// until `lease_until`. Compare-and-set on the owner and the lease, so two replicas never
    /// both win.
    pub async fn claim_replication(
        &self,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> DomainResult<Option<(replication_execution::Model, Policy)>> {
        let now = Utc::now();
        let candidates = replication_execution::Entity::find()
            .filter(
                replication_execution::Column::Status.is_in([status::PENDING, status::IN_PROGRESS]),
            )
            .order_by_asc(replication_execution::Column::Id)
            .limit(20)
            .all(&self.db)
            .await?;
        for e in candidates {
            // Free when no lease holds: never claimed, released until a time now past, or
            // held by a worker that stopped renewing.
            let free = e.lease_until.is_none_or(|l| l <= now);
            if !free {
                continue;
            }
            let txn = crate::db::begin_write(&self.db).await?;
            let mut update = replication_execution::Entity::update_many()
                .col_expr(replication_execution::Column::Owner, owner.into())
                .col_expr(
                    replication_execution::Column::LeaseUntil,
                    lease_until.into(),
                )
                .col_expr(
                    replication_execution::Column::Status,
                    status::IN_PROGRESS.into(),
                )
                .filter(replication_execution::Column::Id.eq(e.id))
                .filter(
                    replication_execution::Column::Status
                        .is_in([status::PENDING, status::IN_PROGRESS]),
                );
            update = match &e.owner {
                Some(o) => update.filter(replication_execution::Column::Owner.eq(o.clone())),
                None => update.filter(replication_execution::Column::Owner.is_null()),
            };
            update = match e.lease_until {
                Some(l) => update.filter(replication_execution::Column::LeaseUntil.eq(l)),
                None => update.filter(replication_execution::Column::LeaseUntil.is_null()),
            };
            let won = update.exec(&*txn).await?.rows_affected == 1;
            txn.commit().await?;
            if !won {
                continue;
            }
            let Ok(policy) = find_policy(&self.db, e.policy_id).await else {
                self.finish_replication(e.id, status::FAILED, "the policy was deleted")
                    .await?;
                continue;
            };
            let claimed = find_execution(&self.db, e.id).await?;
            return Ok(Some((claimed, Policy::of(policy))));
        }
        Ok(None)
    }

    /// Extends `owner`'s lease on an execution; answers whether to go on (`false`: the lease
    /// was lost to another replica, or an administrator asked to stop).
    pub async fn renew_replication(
        &self,
        id: i64,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> DomainResult<bool> {
        let txn = crate::db::begin_write(&self.db).await?;
        let renewed = replication_execution::Entity::update_many()
            .col_expr(
                replication_execution::Column::LeaseUntil,
                lease_until.into(),
            )
            .filter(replication_execution::Column::Id.eq(id))
            .filter(replication_execution::Column::Owner.eq(owner))
            .filter(replication_execution::Column::StopRequested.eq(false))
            .exec(&*txn)
            .await?
            .rows_affected
            == 1;
        txn.commit().await?;
        Ok(renewed)
    }

    /// Whether an administrator asked execution `id` to stop.
    pub async fn replication_stop_requested(&self, id: i64) -> DomainResult<bool> {
        Ok(find_execution(&self.db, id).await?.stop_requested)
    }

    /// Whether the execution has its tasks already (a worker that took over does not list
    /// the source again).
    pub async fn replication_has_tasks(&self, id: i64) -> DomainResult<bool> {
        Ok(replication_task::Entity::find()
            .filter(replication_task::Column::ExecutionId.eq(id))
            .count(&self.db)
            .await?
            > 0)
    }

    pub async fn add_replication_tasks(&self, id: i64, tasks: Vec<NewTask>) -> DomainResult<()> {
        let txn = crate::db::begin_write(&self.db).await?;
        insert_tasks(&*txn, id, &tasks).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Gives an execution back until `not_before` (its open tasks all wait for a retry), so
    /// the worker can run others meanwhile; any replica may take it up then.
    pub async fn release_replication(
        &self,
        id: i64,
        owner: &str,
        not_before: DateTime<Utc>,
    ) -> DomainResult<()> {
        let txn = crate::db::begin_write(&self.db).await?;
        replication_execution::Entity::update_many()
            .col_expr(
                replication_execution::Column::Owner,
                Option::<String>::None.into(),
            )
            .col_expr(replication_execution::Column::LeaseUntil, not_before.into())
            .filter(replication_execution::Column::Id.eq(id))
            .filter(replication_execution::Column::Owner.eq(owner))
            .exec(&*txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The tasks of an execution that are still to do (pending, or in progress when a worker
    /// died), in order.
    pub async fn open_replication_tasks(
        &self,
        id: i64,
    ) -> DomainResult<Vec<replication_task::Model>> {
        Ok(replication_task::Entity::find()
            .filter(replication_task::Column::ExecutionId.eq(id))
            .filter(replication_task::Column::Status.is_in([status::PENDING, status::IN_PROGRESS]))
            .order_by_asc(replication_task::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Marks a task in progress and counts the attempt.
    pub async fn begin_replication_task(&self, task: &replication_task::Model) -> DomainResult<()> {
        let mut active = task.clone().into_active_model();
        active.status = Set(status::IN_PROGRESS.into());
        active.attempts = Set(task.attempts + 1);
        active.next_retry_at = Set(None);
        if task.start_time.is_none() {
            active.start_time = Set(Some(Utc::now()));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        active.update(&*txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Records a task's bytes so far, its resumable upload state and new log lines.
    pub async fn report_replication_task(
        &self,
        task_id: i64,
        bytes_done: i64,
        bytes_total: i64,
        upload_state: Option<Option<String>>,
        log: &str,
    ) -> DomainResult<()> {
        let txn = crate::db::begin_write(&self.db).await?;
        let Some(t) = replication_task::Entity::find_by_id(task_id)
            .one(&*txn)
            .await?
        else {
            return Ok(());
        };
        let mut active = t.clone().into_active_model();
        active.bytes_done = Set(bytes_done);
        active.bytes_total = Set(bytes_total);
        if let Some(state) = upload_state {
            active.upload_state = Set(state);
        }
        if !log.is_empty() {
            active.log = Set(format!("{}{log}", t.log));
        }
        active.update(&*txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Ends (or schedules the retry of) a task.
    pub async fn end_replication_task(
        &self,
        task_id: i64,
        outcome: TaskOutcome,
        log: &str,
    ) -> DomainResult<()> {
        let txn = crate::db::begin_write(&self.db).await?;
        let Some(t) = replication_task::Entity::find_by_id(task_id)
            .one(&*txn)
            .await?
        else {
            return Ok(());
        };
        let mut active = t.clone().into_active_model();
        let (s, text, retry) = match outcome {
            TaskOutcome::Succeed(text) => (status::SUCCEED, text, None),
            TaskOutcome::Skipped(text) => (status::SKIPPED, text, None),
            TaskOutcome::Failed(text) => (status::FAILED, text, None),
            TaskOutcome::Stopped => (status::STOPPED, "stopped".to_string(), None),
            TaskOutcome::Retry { error, at } => (status::PENDING, error, Some(at)),
        };
        active.status = Set(s.into());
        active.status_text = Set(text);
        active.next_retry_at = Set(retry);
        if retry.is_none() {
            active.end_time = Set(Some(Utc::now()));
            active.upload_state = Set(None);
        }
        if !log.is_empty() {
            active.log = Set(format!("{}{log}", t.log));
        }
        active.update(&*txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Ends an execution with `status_`; open tasks become `Stopped`. Audited as Berth.
    pub async fn finish_replication(&self, id: i64, status_: &str, text: &str) -> DomainResult<()> {
        let txn = crate::db::begin_write(&self.db).await?;
        let e = find_execution(&*txn, id).await?;
        stop_open_tasks(&*txn, id).await?;
        let policy = find_policy(&*txn, e.policy_id)
            .await
            .map(|p| p.name)
            .unwrap_or_default();
        let mut active = e.into_active_model();
        active.status = Set(status_.into());
        active.status_text = Set(text.into());
        active.end_time = Set(Some(Utc::now()));
        active.owner = Set(None);
        active.lease_until = Set(None);
        active.update(&*txn).await?;
        let c = counts(&*txn, &[id]).await?;
        let c = c.get(&id);
        let n = |s: &str| c.and_then(|c| c.get(s)).copied().unwrap_or(0);
        audit::record_with(
            &*txn,
            &Actor::replication(&policy),
            Record {
                operation: "completed",
                resource_type: "replication",
                resource: &format!("policy `{policy}` execution {id}: {status_}"),
                project_id: None,
                outcome: if status_ == status::SUCCEED {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
            },
            serde_json::json!({
                "execution_id": id,
                "policy": policy,
                "status": status_,
                "succeed": n(status::SUCCEED),
                "failed": n(status::FAILED),
                "skipped": n(status::SKIPPED),
                "stopped": n(status::STOPPED),
            }),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

/// Inserts the tasks of execution `id`.
async fn insert_tasks(conn: &impl ConnectionTrait, id: i64, tasks: &[NewTask]) -> DomainResult<()> {
    for chunk in tasks.chunks(200) {
        let rows = chunk.iter().map(|t| replication_task::ActiveModel {
            execution_id: Set(id),
            resource_type: Set("artifact".into()),
            operation: Set(t.operation.into()),
            src_resource: Set(t.src_resource.clone()),
            dst_resource: Set(t.dst_resource.clone()),
            digest: Set(t.digest.clone()),
            status: Set(status::PENDING.into()),
            status_text: Set(String::new()),
            attempts: Set(0),
            bytes_done: Set(0),
            bytes_total: Set(0),
            next_retry_at: Set(None),
            upload_state: Set(None),
            log: Set(String::new()),
            start_time: Set(None),
            end_time: Set(None),
            ..Default::default()
        });
        replication_task::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// A new pending execution of `policy_id` with its tasks, on `conn` (the event consumer's
/// transaction, for event-based runs).
pub async fn insert_execution(
    conn: &impl ConnectionTrait,
    policy_id: i64,
    trigger: &str,
    tasks: Vec<NewTask>,
) -> DomainResult<replication_execution::Model> {
    let e = replication_execution::ActiveModel {
        policy_id: Set(policy_id),
        trigger: Set(trigger.into()),
        status: Set(status::PENDING.into()),
        status_text: Set(String::new()),
        stop_requested: Set(false),
        owner: Set(None),
        lease_until: Set(None),
        start_time: Set(Utc::now()),
        end_time: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    insert_tasks(conn, e.id, &tasks).await?;
    Ok(e)
}

async fn stop_open_tasks(conn: &impl ConnectionTrait, execution_id: i64) -> DomainResult<()> {
    replication_task::Entity::update_many()
        .col_expr(replication_task::Column::Status, status::STOPPED.into())
        .col_expr(replication_task::Column::EndTime, Some(Utc::now()).into())
        .filter(replication_task::Column::ExecutionId.eq(execution_id))
        .filter(replication_task::Column::Status.is_in([status::PENDING, status::IN_PROGRESS]))
        .exec(conn)
        .await?;
    Ok(())
}
