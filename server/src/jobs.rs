//! The scheduler: garbage collection (`gc.schedule`), scanning every artifact (the scan-all
//! schedule set through the API or console), tag retention (each project's policy schedule,
//! or `retention_schedule` for projects following the configuration file) and scheduled
//! replication policies at their cron times. Every replica ticks; a claim row per occurrence (`schedule_claims`) makes exactly
//! one of them run it. An occurrence missed while no replica was up is run when one comes back
//! within five minutes of it; older ones are skipped.

use chrono::{DateTime, Duration, Utc};
use domain::policy::cron::Schedule;
use domain::service::Actor;

use crate::AppState;

/// How far back a tick looks for occurrences it has not run yet.
const CATCH_UP: i64 = 5;

pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(20));
        loop {
            every.tick().await;
            let now = Utc::now();
            for started in tick(&state, now - Duration::minutes(CATCH_UP), now).await {
                tracing::info!(job = %started, "scheduled job started");
            }
        }
    });
}

/// Starts the jobs due in `(after, until]` that no replica has claimed yet; returns their
/// names. Runs go on in the background.
pub async fn tick(state: &AppState, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<String> {
    let mut started = Vec::new();
    if let Some(text) = &state.config.gc.schedule {
        match Schedule::parse(text) {
            Ok(schedule) => {
                for fire in schedule.fired_between(after, until) {
                    if claim(state, "gc", fire).await {
                        start_gc(state).await;
                        started.push(format!("gc@{fire}"));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "gc.schedule is invalid"),
        }
    }
    let schedules = match state.services.retention_schedules().await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read retention schedules");
            Vec::new()
        }
    };
    for (project, text) in schedules {
        let Ok(schedule) = Schedule::parse(&text) else {
            tracing::warn!(project, schedule = text, "invalid retention schedule");
            continue;
        };
        for fire in schedule.fired_between(after, until) {
            let job = format!("retention:{project}");
            if claim(state, &job, fire).await {
                let state = state.clone();
                let project = project.clone();
                tokio::spawn(async move {
                    let run = state
                        .services
                        .run_retention(&Actor::system(), &project, false, "schedule")
                        .await;
                    if let Err(e) = run {
                        tracing::warn!(project, error = %e, "scheduled retention run failed");
                    }
                });
                started.push(format!("{job}@{fire}"));
            }
        }
    }
    match state.scans.scan_all_schedule().await {
        Ok(Some(text)) => match Schedule::parse(&text) {
            Ok(schedule) => {
                for fire in schedule.fired_between(after, until) {
                    if claim(state, "scan_all", fire).await {
                        match state.scans.scan_all(&Actor::system(), "schedule").await {
                            Ok(n) => tracing::info!(queued = n, "scheduled scan of all artifacts"),
                            Err(e) => tracing::warn!(error = %e, "scheduled scan all failed"),
                        }
                        started.push(format!("scan_all@{fire}"));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "the scan-all schedule is invalid"),
        },
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the scan-all schedule"),
    }
    let replications = match state.services.scheduled_replications().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read replication schedules");
            Vec::new()
        }
    };
    for (policy, text) in replications {
        let Ok(schedule) = Schedule::parse(&text) else {
            tracing::warn!(policy, schedule = text, "invalid replication schedule");
            continue;
        };
        for fire in schedule.fired_between(after, until) {
            let job = format!("replication:{policy}");
            if claim(state, &job, fire).await {
                let run = state
                    .services
                    .start_replication(&Actor::system(), policy, "scheduled")
                    .await;
                if let Err(e) = run {
                    tracing::warn!(policy, error = %e, "scheduled replication not started");
                }
                started.push(format!("{job}@{fire}"));
            }
        }
    }
    started
}

async fn claim(state: &AppState, job: &str, fire: DateTime<Utc>) -> bool {
    match state.services.claim_schedule(job, fire).await {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!(job, error = %e, "cannot claim a scheduled job");
            false
        }
    }
}

async fn start_gc(state: &AppState) {
    let options = crate::api::gc::configured_options(state, false, state.config.gc.delete_untagged);
    let started = state
        .registry
        .start_gc_in_background(&Actor::system(), options, "schedule", None)
        .await;
    if let Err(e) = started {
        tracing::warn!(error = %e, "scheduled garbage collection not started");
    }
}
