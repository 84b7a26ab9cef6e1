//! The scanner's matching over the real advisories and package databases in
//! `../shared/vulndb` (read in place, never copied), against `EXPECTED.md`: every expected
//! match and non-match, including the 144 Debian 12 records checked against two real status
//! files. Skips, saying why, only when that folder is absent.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use domain::scan::osv::Record;
use domain::scan::packages::{self, Installed};
use domain::scan::{matches, Finding};

fn vulndb() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vulndb");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: {} is absent; these tests need the shared vulnerability fixtures",
            dir.display()
        );
        None
    }
}

fn records(dir: &Path, ecosystem_dir: &str) -> Vec<Record> {
    let mut out: Vec<Record> = std::fs::read_dir(dir.join("osv").join(ecosystem_dir))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            Record::parse(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn pkgdb(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join("pkgdb").join(file)).unwrap()
}

fn ids(findings: &[Finding]) -> BTreeSet<(String, String)> {
    findings
        .iter()
        .map(|f| (f.id.clone(), f.package.clone()))
        .collect()
}

fn set(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn debian_9_advisories_do_not_match_debian_12() {
    let Some(dir) = vulndb() else { return };
    let installed = packages::dpkg_status(&pkgdb(&dir, "debian12-dpkg-status"), "Debian:12");
    assert!(installed.len() > 500, "{} packages", installed.len());
    // libssl3 is installed under its source, openssl.
    assert!(installed
        .iter()
        .any(|p| p.name == "openssl" && p.binary.as_deref() == Some("libssl3")));
    let dlas = records(&dir, "Debian");
    assert!(matches(&dlas, &installed).is_empty());
    // Even ignoring the release, the installed versions are past the fixes (dpkg ordering:
    // 2.9.14 > 2.9.4).
    let as_debian_9: Vec<Installed> = installed
        .iter()
        .map(|p| Installed {
            ecosystem: "Debian:9".into(),
            ..p.clone()
        })
        .collect();
    assert!(matches(&dlas, &as_debian_9).is_empty());
}

#[test]
fn alpine_uses_the_entry_for_its_own_branch() {
    let Some(dir) = vulndb() else { return };
    let text = pkgdb(&dir, "alpine-apk-installed");
    let records = records(&dir, "Alpine");
    let v318 = matches(&records, &packages::apk_installed(&text, "Alpine:v3.18"));
    assert_eq!(
        ids(&v318),
        set(&[
            ("ALPINE-CVE-2025-26519", "musl"),
            ("ALPINE-CVE-2025-26519", "musl-utils")
        ])
    );
    assert!(v318.iter().all(|f| f.fixed.as_deref() == Some("1.2.4-r3")));
    for other in ["Alpine:v3.16", "Alpine:v3.17"] {
        assert!(
            matches(&records, &packages::apk_installed(&text, other)).is_empty(),
            "{other}"
        );
    }
}

#[test]
fn crates_npm_and_pypi() {
    let Some(dir) = vulndb() else { return };
    let crates = records(&dir, "crates.io");
    let net2 = matches(
        &crates,
        &packages::cargo_lock(&pkgdb(&dir, "cargo-net2.Cargo.lock")),
    );
    assert_eq!(
        ids(&net2),
        set(&[("RUSTSEC-2020-0016", "net2"), ("RUSTSEC-2020-0078", "net2")])
    );
    let fixed: Vec<_> = net2.iter().map(|f| f.fixed.as_deref()).collect();
    assert!(
        fixed.contains(&Some("0.2.36")) && fixed.contains(&None),
        "{fixed:?}"
    );
    let newer = packages::cargo_lock(&pkgdb(&dir, "cargo-idna-smallvec.Cargo.lock"));
    assert!(newer
        .iter()
        .any(|p| p.name == "smallvec" && p.version == "1.15.1"));
    assert!(matches(&crates, &newer).is_empty());

    let npm = matches(
        &records(&dir, "npm"),
        &packages::npm_lock(&pkgdb(&dir, "npm-ansi-html.package-lock.json")),
    );
    assert_eq!(ids(&npm), set(&[("GHSA-whgm-jr23-g3j9", "ansi-html")]));

    let pypi = records(&dir, "PyPI");
    let dev = matches(
        &pypi,
        &packages::requirements(&pkgdb(&dir, "pypi-requirements.txt")),
    );
    assert_eq!(
        ids(&dev),
        set(&[
            ("PYSEC-2021-98", "django"),
            ("PYSEC-2023-62", "flask"),
            ("PYSEC-2023-74", "requests"),
        ])
    );
    let prod = packages::requirements(&pkgdb(&dir, "pypi-requirements.prod.txt"));
    assert!(prod
        .iter()
        .any(|p| p.name == "django" && p.version == "2.2.24"));
    assert!(
        !ids(&matches(&pypi, &prod))
            .iter()
            .any(|(id, _)| id == "PYSEC-2021-98"),
        "2.2.24 is the fixed version: not affected"
    );
}

#[test]
fn go_ranges() {
    let Some(dir) = vulndb() else { return };
    let go = records(&dir, "Go");
    let stdlib = go.iter().find(|r| r.id == "GO-2022-0493").unwrap();
    assert!(stdlib.affects("Go", "stdlib", "1.17.9").is_some());
    assert!(stdlib.affects("Go", "stdlib", "1.18.1").is_some());
    assert!(stdlib.affects("Go", "stdlib", "1.18.2").is_none());
    let beego = go.iter().find(|r| r.id == "GO-2022-0572").unwrap();
    assert!(beego
        .affects("Go", "github.com/beego/beego", "1.12.11")
        .is_some());
}

/// Rows of the `Debian12-changelog` table: (source, CVE, older matches, current matches).
fn changelog_table(expected: &str) -> Vec<(String, String, bool, bool)> {
    expected
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("| CVE-"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (
                cells[0].to_string(),
                cells[3].to_string(),
                cells[5] == "yes",
                cells[6] == "yes",
            )
        })
        .collect()
}

#[test]
fn debian_12_changelog_records_against_two_real_status_files() {
    let Some(dir) = vulndb() else { return };
    let rows = changelog_table(&std::fs::read_to_string(dir.join("EXPECTED.md")).unwrap());
    assert_eq!(rows.len(), 144);
    let records = records(&dir, "Debian12-changelog");
    let pairs = |status: &str| -> BTreeSet<(String, String)> {
        let installed = packages::dpkg_status(&pkgdb(&dir, status), "Debian:12");
        // By (source package, CVE), however many binaries a source installs.
        let sources: Vec<Installed> = installed
            .into_iter()
            .map(|p| Installed { binary: None, ..p })
            .collect();
        matches(&records, &sources)
            .into_iter()
            .map(|f| {
                let (_, cve) = f.id.rsplit_once("-CVE-").unwrap();
                (f.package, format!("CVE-{cve}"))
            })
            .collect()
    };
    let older = pairs("debian12-dpkg-status-older");
    let current = pairs("debian12-dpkg-status");
    let expect_older: BTreeSet<_> = rows
        .iter()
        .filter(|r| r.2)
        .map(|r| (r.0.clone(), r.1.clone()))
        .collect();
    assert_eq!(expect_older.len(), 36);
    assert_eq!(older, expect_older);
    assert!(current.is_empty(), "{current:?}");
    assert!(rows.iter().all(|r| !r.3));
}
