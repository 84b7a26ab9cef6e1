//! Secrets (user, admin and robot passwords, a wrong password) never reach the logs, at any
//! level and from any thread, nor the database in clear. Its own test binary: it installs the
//! process-wide log subscriber.

mod common;

use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use common::{TestApp, ADMIN_PASSWORD};
use serde_json::json;

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn secrets_never_reach_logs_or_the_database_in_clear() {
    // The process-wide subscriber (this file is its own test binary, with this one test): the
    // console's requests run on render threads, and their logs must be captured too.
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let app = TestApp::new().await;
    app.admin().await;
    let user_password = "Very-Secret-User-Password-7431";
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/users",
            Some(("admin", ADMIN_PASSWORD)),
            Some(json!({"username": "alice", "password": user_password, "email": "a@example.com"})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let res = app
        .send(
            Method::POST,
            "/api/v2.0/projects",
            Some(("admin", ADMIN_PASSWORD)),
            Some(json!({"project_name": "team"})),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let res = app.send(Method::POST, "/api/v2.0/robots", Some(("admin", ADMIN_PASSWORD)), Some(json!({
        "name": "ci", "level": "project", "duration": 30,
        "permissions": [{"namespace": "team", "access": [{"resource": "repository", "action": "push"}]}]})), &[]).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let robot_secret = res.json()["secret"].as_str().unwrap().to_string();
    let robot_name = res.json()["name"].as_str().unwrap().to_string();
    // Use every secret: console login, Basic, token service, and a failed attempt.
    app.console_login("alice", user_password).await;
    let res = app
        .send(
            Method::GET,
            "/service/token?scope=repository:team/a:push",
            Some((&robot_name, &robot_secret)),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    app.send(
        Method::GET,
        "/v2/",
        Some(("alice", user_password)),
        None,
        &[],
    )
    .await;
    app.send(
        Method::GET,
        "/v2/",
        Some(("alice", "Wrong-But-Still-Secret-99")),
        None,
        &[],
    )
    .await;

    let secrets = [
        user_password,
        robot_secret.as_str(),
        ADMIN_PASSWORD,
        "Wrong-But-Still-Secret-99",
    ];
    let log_text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(log_text.len() > 100, "the log capture works");
    for secret in secrets {
        assert!(!log_text.contains(secret), "a secret is in the log");
    }

    // Every row of every table, on either backend.
    use sea_orm::{ConnectionTrait, FromQueryResult, JsonValue, Statement};
    let backend = app.state.db.get_database_backend();
    let mut dump = String::new();
    for table in [
        "users",
        "sessions",
        "projects",
        "project_members",
        "user_groups",
        "robots",
        "audit_logs",
    ] {
        let rows = JsonValue::find_by_statement(Statement::from_string(
            backend,
            format!("SELECT * FROM {table}"),
        ))
        .all(&app.state.db)
        .await
        .unwrap();
        dump.push_str(&serde_json::to_string(&rows).unwrap());
    }
    assert!(
        dump.contains("alice") && dump.contains("$argon2id$"),
        "the dump holds the rows"
    );
    for secret in secrets {
        assert!(!dump.contains(secret), "a secret is stored in clear");
    }
    // On SQLite, also the raw database files, write-ahead log included.
    if common::backend_under_test() == "sqlite" {
        for file in ["berth.db", "berth.db-wal"] {
            let bytes = std::fs::read(app.data_dir.path().join(file)).unwrap_or_default();
            for secret in secrets {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "a secret is in {file}"
                );
            }
        }
    }
}
