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

const KEY_A: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEADPtdiam8c+lIk9xD68PUhMwuK3NBd9SMSYvTsA6ckM8=\n-----END PUBLIC KEY-----\n";
const KEY_B: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAQ1meUtXD4P3pUb5ITQ22izwh4fl3rtYr6lgoFYOQsP4=\n-----END PUBLIC KEY-----\n";
const KEY_C: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAUGRU0L+HZAWzgUHhIJVAfm64iRVicr4DOJAP7ZIrnK4=\n-----END PUBLIC KEY-----\n";
const KEY_D: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAvZggTKXOBEXXurJQ7Gc81Su2qraC00qpAYIv2dqxD+E=\n-----END PUBLIC KEY-----\n";

fn indent(pem: &str) -> String {
    pem.lines()
        .map(|l| format!("          {l}\n"))
        .collect::<String>()
}

#[tokio::test]
async fn a_policy_file_declares_the_projects_trust_anchors_exactly() {
    use domain::service::trust::AnchorScope;
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("ci.pub");
    std::fs::write(&key_file, KEY_B).unwrap();
    let file = |release: &str| {
        policy_files::parse(&format!(
            "projects:\n  - name: signed\n    trust_anchors:\n      - name: release\n        kind: cosign\n        public_key: |\n{}      - name: ci\n        kind: cosign\n        public_key_file: {}\n",
            indent(release),
            key_file.display()
        ))
        .unwrap()
    };
    let names = || async {
        let mut list: Vec<(String, String)> = app
            .state
            .services
            .list_trust_anchors(&admin, AnchorScope::Project("signed"))
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.name, a.fingerprint))
            .collect();
        list.sort();
        list
    };
    let diff = policy_files::apply(&app.state, &file(KEY_A), false)
        .await
        .unwrap();
    assert_eq!(diff.len(), 3, "{diff:#?}"); // create, two anchors
    let first = names().await;
    assert_eq!(
        first.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["ci", "release"]
    );
    // Idempotent.
    assert!(policy_files::apply(&app.state, &file(KEY_A), false)
        .await
        .unwrap()
        .is_empty());
    // Another key under the same name replaces it; an anchor added by hand is removed.
    app.state
        .services
        .create_trust_anchor(
            &admin,
            AnchorScope::Project("signed"),
            domain::service::trust::AnchorInput {
                name: "by-hand".into(),
                kind: "cosign".into(),
                public_key: Some(KEY_D.into()),
                certificate: None,
            },
        )
        .await
        .unwrap();
    let diff = policy_files::apply(&app.state, &file(KEY_C), false)
        .await
        .unwrap();
    assert_eq!(diff.len(), 3, "{diff:#?}"); // remove release, remove by-hand, add release
    assert!(diff
        .iter()
        .any(|d| d.contains("remove trust anchor by-hand")));
    let after = names().await;
    assert_eq!(after.len(), 2);
    assert_eq!(after[0], first[0]); // ci is untouched
    assert_ne!(after[1].1, first[1].1); // release now has key C
                                        // A malformed key is refused with the anchor named.
    let err = policy_files::apply(&app.state, &file("not a key"), false)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("PEM"), "{err}");
}
