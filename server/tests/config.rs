//! Configuration: the seed's harbor.yml is accepted, malformed files exit with status 2 and name
//! the key and line, environment overrides and `${VAR}` expansion work.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use berth_server::config::{
    load_from_str, AuthMode, ByteLimit, Config, HumanDuration, LogFormat, RetentionRuleKind,
    DEFAULT_CONFIG_YAML,
};

const SEED_FIXTURE: &str = include_str!("fixtures/seed-harbor.yml");

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The `harbor.yml: |` block of the seed document, one trimmed line each.
fn seed_harbor_lines(seed: &str) -> Vec<String> {
    let mut lines = seed
        .lines()
        .skip_while(|l| l.trim() != "harbor.yml: |")
        .skip(1);
    let mut out = Vec::new();
    for line in lines.by_ref() {
        if line.trim() == "---" {
            break;
        }
        if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            out.push(line.trim().to_string());
        }
    }
    out
}

#[test]
fn the_fixture_is_the_seeds_harbor_yml() {
    // The users' document, as committed (a clean clone has nothing beside the repository);
    // where the original is at hand (`../shared/seed.txt`), the copy must still be it.
    let seed = include_str!("fixtures/seed.txt");
    let original = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/seed.txt");
    if let Ok(current) = std::fs::read_to_string(&original) {
        assert_eq!(
            seed,
            current,
            "server/tests/fixtures/seed.txt differs from {}",
            original.display()
        );
    }
    let from_seed = seed_harbor_lines(seed);
    assert!(from_seed.len() > 20, "seed block not found");
    let from_fixture: Vec<String> = SEED_FIXTURE
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| l.trim().trim_start_matches("- ").to_string())
        .collect();
    let from_seed: Vec<String> = from_seed
        .iter()
        .map(|l| l.trim_start_matches("- ").to_string())
        .collect();
    assert_eq!(from_fixture, from_seed);
}

#[test]
fn the_seed_config_is_accepted_with_every_setting() {
    let config = load_from_str(
        SEED_FIXTURE,
        "seed.yml",
        &env(&[("OIDC_SECRET", "s3cr3t-from-env")]),
    )
    .unwrap();
    assert_eq!(config.auth_mode, AuthMode::OidcAuth);
    let oidc = config.oidc.as_ref().unwrap();
    assert_eq!(oidc.name, "company_oidc");
    assert_eq!(oidc.endpoint.as_deref(), Some("https://auth.company.com"));
    assert_eq!(
        oidc.client_secret.as_ref().unwrap().expose(),
        "s3cr3t-from-env"
    );
    assert_eq!(oidc.scope, "openid,profile,email,groups");
    assert!(oidc.verify_cert);
    assert!(!oidc.auto_onboard);
    assert_eq!(oidc.user_claim.as_deref(), Some("email"));
    assert_eq!(oidc.groups_claim.as_deref(), Some("groups"));
    assert_eq!(oidc.admin_group.as_deref(), Some("harbor-admins"));
    assert_eq!(
        config.clair.as_ref().unwrap().updaters_interval,
        Some(HumanDuration(std::time::Duration::from_secs(12 * 3600)))
    );
    let trivy = config.trivy.as_ref().unwrap();
    assert!(!trivy.skip_update && !trivy.ignore_unfixed && !trivy.insecure);
    let rules: Vec<_> = config
        .retention
        .iter()
        .map(|r| (r.rule, r.pattern.as_str(), r.retain))
        .collect();
    assert_eq!(
        rules,
        vec![
            (RetentionRuleKind::Tag, "v*", Some(10)),
            (RetentionRuleKind::Days, "latest", Some(7)),
            (RetentionRuleKind::Always, "release-*", None),
        ]
    );
    assert_eq!(config.immutable_tag_rules[0].pattern, "release-*");
    assert_eq!(
        config.storage_quota.per_project,
        ByteLimit::Bytes(100_000_000_000)
    );
    assert_eq!(
        config.storage_quota.global,
        ByteLimit::Bytes(10_000_000_000_000)
    );
    // Features of later releases are reported, not silently ignored.
    let inactive = config.inactive_settings();
    assert!(
        !inactive.iter().any(|s| s.contains("trivy")),
        "scanning is built"
    );
    assert!(
        !inactive.iter().any(|s| s.contains("retention")),
        "retention is built"
    );
    assert!(
        !inactive.iter().any(|s| s.contains("oidc")),
        "single sign-on is built"
    );
    // The secret never shows in debug output.
    assert!(!format!("{config:?}").contains("s3cr3t-from-env"));
}

#[test]
fn an_unset_variable_is_an_error_naming_it_and_its_line() {
    let err = load_from_str(SEED_FIXTURE, "seed.yml", &env(&[])).unwrap_err();
    assert!(err.to_string().contains("OIDC_SECRET"), "{err}");
    assert_eq!(err.line, Some(9));
}

#[test]
fn the_default_config_file_is_the_default_config() {
    let config = load_from_str(DEFAULT_CONFIG_YAML, "default.yml", &env(&[])).unwrap();
    let mut expected = Config::default();
    expected.database.url = Some(String::new());
    expected.storage.filesystem.rootdirectory = Some("".into());
    assert_eq!(config, expected);
    assert_eq!(config.database_url(), "sqlite://./data/berth.db");
    assert_eq!(config.external_url(), "http://localhost:8080");
}

#[test]
fn environment_overrides_sections_and_keys() {
    let config = load_from_str(
        "http:\n  port: 8080\nlog:\n  level: info\n",
        "berth.yml",
        &env(&[
            ("BERTH_HTTP__PORT", "9443"),
            ("BERTH_LOG__FORMAT", "json"),
            ("BERTH_DATA_DIR", "/srv/berth"),
            ("BERTH_ADMIN_PASSWORD", "not-a-config-key"),
            ("DATABASE_URL", "postgres://berth@db/berth"),
        ]),
    )
    .unwrap();
    assert_eq!(config.http.port, 9443);
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.data_dir, Path::new("/srv/berth"));
    assert_eq!(config.database_url(), "postgres://berth@db/berth");
}

#[test]
fn a_bad_override_names_the_variable() {
    let err = load_from_str("", "berth.yml", &env(&[("BERTH_HTTP__PORT", "eighty")])).unwrap_err();
    assert_eq!(err.key, "http.port");
    assert!(err.message.contains("BERTH_HTTP__PORT"), "{err}");
}

#[test]
fn errors_name_key_line_and_expectation() {
    let text = "hostname: r.example.com\nhttp:\n  port: 8080\n  bnid: 0.0.0.0\n";
    let err = load_from_str(text, "berth.yml", &env(&[])).unwrap_err();
    assert_eq!(err.line, Some(4), "{err}");
    assert!(
        err.message.contains("bnid") && err.message.contains("expected `port` or `bind`"),
        "{err}"
    );

    let text = "retention:\n  - rule: tag\n    pattern: v*\n    retain: 3\n  - rule: days\n    pattern: latest\n";
    let err = load_from_str(text, "berth.yml", &env(&[])).unwrap_err();
    assert_eq!(err.key, "retention[1].retain");
    assert_eq!(err.line, Some(5), "{err}");

    let text = "storage_quota:\n  per_project: 100 furlongs\n";
    let err = load_from_str(text, "berth.yml", &env(&[])).unwrap_err();
    assert_eq!(err.key, "storage_quota.per_project");
    assert_eq!(err.line, Some(2));
}

/// Runs the real binary on a config file and returns (exit code, stderr).
fn check_config(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.yml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .env("OIDC_SECRET", "x")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_binary_accepts_the_seed_config() {
    let (code, stderr) = check_config(SEED_FIXTURE);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn malformed_configs_exit_with_status_2_naming_the_key() {
    // A value of the wrong type.
    let (code, stderr) = check_config("http:\n  port: eighty\n");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`http.port`") && stderr.contains(":2:"),
        "{stderr}"
    );
    assert!(stderr.contains("expected u16"), "{stderr}");

    // An auth mode that does not exist.
    let (code, stderr) = check_config("hostname: x\nauth_mode: ldap_auth\n");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`auth_mode`") && stderr.contains(":2:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("db_auth") && stderr.contains("oidc_auth"),
        "{stderr}"
    );

    // oidc_auth without the provider's endpoint.
    let (code, stderr) =
        check_config("auth_mode: oidc_auth\noidc:\n  name: corp\n  client_id: berth\n");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`oidc.endpoint`") && stderr.contains(":2:"),
        "{stderr}"
    );

    // Schedules that are not cron.
    let (code, stderr) = check_config("hostname: x\ngc:\n  schedule: nightly\n");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`gc.schedule`") && stderr.contains("five fields"),
        "{stderr}"
    );
    let (code, stderr) = check_config("retention_schedule: \"0 25 * * *\"\n");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`retention_schedule`") && stderr.contains("hour"),
        "{stderr}"
    );
}

#[test]
fn print_default_config_round_trips() {
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("--print-default-config")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, DEFAULT_CONFIG_YAML);
    assert!(
        text.lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count()
            > 20,
        "comments expected"
    );
}
