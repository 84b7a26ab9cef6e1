//! Per-project policy files: applied, they create the project and make its limit, immutable
//! rules and retention policy what the file says; applied again, nothing changes; a dry run
//! reports without changing; `berth apply` does the same from the command line.

mod common;

use std::process::Command;

use berth_server::policy_files;
use common::TestApp;

const FILE: &str = r#"
projects:
  - name: payments
    public: false
    storage_limit: 50GB
    immutable_tag_rules:
      - pattern: "release-*"
      - pattern: "v*"
        repositories: "api/**"
    retention:
      schedule: "0 3 * * *"
      rules:
        - rule: tag
          pattern: "v*"
          retain: 10
        - rule: always
          pattern: "release-*"
"#;

#[tokio::test]
async fn a_policy_file_is_applied_once_and_then_reports_no_changes() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let file = policy_files::parse(FILE).unwrap();

    // A dry run says what would happen and does nothing.
    let dry = policy_files::apply(&app.state, &file, true).await.unwrap();
    assert_eq!(dry[0], "project payments: create");
    assert!(!app.state.services.project_exists("payments").await.unwrap());

    let diff = policy_files::apply(&app.state, &file, false).await.unwrap();
    assert_eq!(diff.len(), 4, "{diff:#?}"); // create, two rules, retention
    let project = app
        .state
        .services
        .get_project(&admin, "payments")
        .await
        .unwrap();
    assert_eq!(project.storage_limit, 50_000_000_000);
    assert!(!project.public);
    let rules = app
        .state
        .services
        .list_immutable_rules(&admin, "payments")
        .await
        .unwrap();
    let mut patterns: Vec<_> = rules
        .iter()
        .map(|r| (r.repo_pattern.as_str(), r.tag_pattern.as_str()))
        .collect();
    patterns.sort();
    assert_eq!(patterns, vec![("**", "release-*"), ("api/**", "v*")]);
    let retention = app
        .state
        .services
        .get_retention_policy(&admin, "payments")
        .await
        .unwrap();
    assert_eq!(retention.source, "project");
    assert_eq!(retention.rules.len(), 2);
    assert_eq!(retention.schedule.as_deref(), Some("0 3 * * *"));

    // Idempotent.
    let again = policy_files::apply(&app.state, &file, false).await.unwrap();
    assert!(again.is_empty(), "{again:#?}");

    // Drift made in the console is reported and put back.
    app.state
        .services
        .update_project(
            &admin,
            "payments",
            domain::service::projects::ProjectUpdate {
                public: Some(true),
                metadata: Default::default(),
                storage_limit: Some(-1),
            },
        )
        .await
        .unwrap();
    let extra = rules.iter().find(|r| r.tag_pattern == "v*").unwrap().id;
    app.state
        .services
        .delete_immutable_rule(&admin, "payments", extra)
        .await
        .unwrap();
    let drift = policy_files::apply(&app.state, &file, false).await.unwrap();
    assert_eq!(
        drift,
        vec![
            "project payments: public true → false".to_string(),
            "project payments: storage limit unlimited → 50.0 GB (50000000000 bytes)".to_string(),
            "project payments: add immutable rule (repositories api/** Matches, tags v* Matches)"
                .to_string(),
        ]
    );
    assert!(policy_files::apply(&app.state, &file, false)
        .await
        .unwrap()
        .is_empty());
}

#[test]
fn malformed_policy_files_name_the_key() {
    let err = policy_files::parse("projects:\n  - name: x\n    storage_limit: lots\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("projects[0].storage_limit"), "{err}");
    let err = policy_files::parse("projects:\n  - name: x\n    colour: blue\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("colour"), "{err}");
}

#[test]
fn berth_apply_prints_the_changes_then_no_changes() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("berth.yml");
    std::fs::write(
        &config,
        format!("data_dir: {}\n", dir.path().join("data").display()),
    )
    .unwrap();
    let file = dir.path().join("payments.yml");
    std::fs::write(&file, FILE).unwrap();
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("--config")
            .arg(&config)
            .arg("apply")
            .arg(&file)
            .args(extra)
            .env("BERTH_ADMIN_PASSWORD", "Apply-Passw0rd")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let dry = run(&["--dry-run"]);
    assert!(dry.contains("[dry run] project payments: create"), "{dry}");
    let first = run(&[]);
    assert!(first.contains("project payments: create"), "{first}");
    assert!(
        first.contains("retention policy → 2 rule(s), schedule 0 3 * * *"),
        "{first}"
    );
    let second = run(&[]);
    assert!(second.trim_end().ends_with("no changes"), "{second}");
}
