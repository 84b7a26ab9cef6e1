//! Background jobs: garbage collection runs recorded with progress and outcome (waited for, or
//! in the background), one run at a time, and the scheduler starting GC and tag retention at
//! their cron times exactly once per occurrence.

mod common;

use std::time::Duration as StdDuration;

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use common::{TestApp, ADMIN_PASSWORD};
use domain::policy::retention::{Rule, Template};
use domain::policy::selector::Selector;
use domain::service::registry::gc::GcOptions;
use serde_json::{json, Value};

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));

async fn project(app: &TestApp, name: &str) {
    app.project(name).await;
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let res = app.send(Method::GET, path, ADMIN, None, &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.body);
    serde_json::from_str(&res.body).unwrap()
}

/// Polls a GC run until it is no longer running.
async fn finished_run(app: &TestApp, id: i64) -> Value {
    for _ in 0..200 {
        let run = get_json(app, &format!("/api/v2.0/system/gc/{id}")).await;
        if run["status"] != "running" {
            return run;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("GC run {id} did not finish");
}

#[tokio::test]
async fn gc_runs_are_recorded_with_their_report_one_at_a_time() {
    let app = TestApp::new().await;
    project(&app, "lib").await;
    app.push_image("lib/app", "1", "gc-history").await;

    // Waited for: the answer carries the run's id and report.
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/system/gc",
            ADMIN,
            Some(json!({"dry_run": true, "window_minutes": 0})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let first: Value = serde_json::from_str(&res.body).unwrap();
    let first_id = first["id"].as_i64().unwrap();
    assert_eq!(first["dry_run"], true);

    // In the background: 202 at once, then the run is followed to its end.
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/system/gc",
            ADMIN,
            Some(json!({"background": true, "window_minutes": 0})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    let id = serde_json::from_str::<Value>(&res.body).unwrap()["id"]
        .as_i64()
        .unwrap();
    let run = finished_run(&app, id).await;
    assert_eq!(run["status"], "success", "{run}");
    assert_eq!(run["phase"], "done");
    assert_eq!(run["trigger"], "manual");
    assert_eq!(run["actor"], "admin");
    assert!(run["finished_at"].is_string());
    assert!(run["report"]["elapsed_ms"].is_u64(), "{run}");

    // History, newest first.
    let runs = get_json(&app, "/api/v2.0/system/gc").await;
    let ids: Vec<i64> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![id, first_id]);

    // While a run is in progress, another is refused.
    let running = app
        .state
        .registry
        .begin_gc_run(&GcOptions::default(), "manual", "test")
        .await
        .unwrap();
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/system/gc",
            ADMIN,
            Some(json!({})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(res.body.contains(&format!("run {running}")), "{}", res.body);

    // Only system administrators see the history.
    app.user("dev").await;
    let pw = common::password_of("dev");
    let res = app
        .send(
            Method::GET,
            "/api/v2.0/system/gc",
            Some(("dev", &pw)),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_scheduler_starts_gc_and_retention_once_per_occurrence() {
    let app = TestApp::with_config(|c| {
        c.gc.schedule = Some("* * * * *".into());
        c.gc.window = berth_server::config::HumanDuration(StdDuration::ZERO);
    })
    .await;
    project(&app, "sched").await;
    project(&app, "manual").await;
    app.push_image("sched/app", "old", "one").await;
    app.push_image("sched/app", "new", "two").await;
    let admin = app.admin().await;
    let keep_newest = vec![Rule {
        repositories: Selector::everything(),
        tags: Selector::matches("**"),
        untagged: false,
        template: Template::LatestPushedK(1),
        disabled: false,
        labels: Vec::new(),
    }];
    app.state
        .services
        .set_retention_policy(
            &admin,
            "sched",
            keep_newest.clone(),
            Some("*/5 * * * *".into()),
        )
        .await
        .unwrap();
    app.state
        .services
        .set_retention_policy(&admin, "manual", keep_newest, None)
        .await
        .unwrap();
    // A schedule is validated when it is saved.
    let bad = app
        .state
        .services
        .set_retention_policy(&admin, "manual", vec![], Some("every night".into()))
        .await;
    assert!(bad.is_err());

    // A window in which both schedules fire once: 10:05.
    let fire = Utc::now()
        .date_naive()
        .and_hms_opt(10, 5, 0)
        .unwrap()
        .and_utc();
    let started = berth_server::jobs::tick(&app.state, fire - Duration::seconds(30), fire).await;
    assert_eq!(
        started,
        vec![format!("gc@{fire}"), format!("retention:sched@{fire}")],
        "the project without a schedule is not run"
    );
    // The same occurrence again (another replica, or the next tick): nothing.
    let again = berth_server::jobs::tick(&app.state, fire - Duration::seconds(30), fire).await;
    assert!(again.is_empty(), "{again:?}");

    // The GC run is recorded as scheduled and by the system.
    let runs = get_json(&app, "/api/v2.0/system/gc").await;
    let run = finished_run(&app, runs[0]["id"].as_i64().unwrap()).await;
    assert_eq!(run["trigger"], "schedule");
    assert_eq!(run["actor"], "system");
    assert_eq!(run["status"], "success", "{run}");

    // The retention run deleted the older tag.
    let mut tags = Value::Null;
    for _ in 0..200 {
        tags = get_json(&app, "/v2/sched/app/tags/list").await;
        if tags["tags"] == json!(["new"]) {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(tags["tags"], json!(["new"]));
    let executions = get_json(&app, "/api/v2.0/projects/sched/retention/executions").await;
    assert_eq!(executions[0]["trigger"], "schedule", "{executions}");
}
