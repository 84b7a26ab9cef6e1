//! The vulnerability database: importing the real OSV records of `../shared/vulndb` (read in
//! place), idempotently by id and `modified`, from a directory, a single file or a zip, with
//! bad records skipped and reported; lookups by package; and `berth vulndb import`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::TestApp;
use domain::scan::{layers::ImageFiles, matches};
use domain::service::vulndb::VulnDb;

fn osv_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vulndb/osv");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is absent", dir.display());
        None
    }
}

fn count_json(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            if p.is_dir() {
                count_json(&p)
            } else {
                u64::from(p.extension().is_some_and(|e| e == "json"))
            }
        })
        .sum()
}

#[tokio::test]
async fn imports_are_idempotent_and_skip_bad_records() {
    let Some(osv) = osv_dir() else { return };
    let app = TestApp::new().await;
    let vulndb = VulnDb::new(app.state.db.clone());
    let total = count_json(&osv);
    assert!(total > 150, "{total}");

    let first = vulndb.import_path(&osv).await.unwrap();
    assert_eq!(first.imported, total, "{first:?}");
    assert!(first.failed.is_empty(), "{:?}", first.failed);
    let again = vulndb.import_path(&osv).await.unwrap();
    assert_eq!(
        (again.imported, again.updated, again.unchanged),
        (0, 0, total)
    );

    let counts = vulndb.counts().await.unwrap();
    assert_eq!(counts.get("Debian:12"), Some(&144));
    assert_eq!(counts.get("npm"), Some(&1));

    let musl = vulndb.records_for("Alpine:v3.18", "musl").await.unwrap();
    assert_eq!(musl.len(), 1);
    assert_eq!(musl[0].id, "ALPINE-CVE-2025-26519");
    assert!(vulndb
        .records_for("Alpine:v3.18", "busybox")
        .await
        .unwrap()
        .is_empty());
    // PyPI names are looked up normalised.
    assert!(!vulndb
        .records_for("PyPI", "Flask")
        .await
        .unwrap()
        .is_empty());

    // A zip with a newer version of one record, an unchanged one and a broken one.
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("all.zip");
    let mut newer: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(osv.join("npm/GHSA-whgm-jr23-g3j9.json")).unwrap(),
    )
    .unwrap();
    newer["modified"] = "2099-01-01T00:00:00Z".into();
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("GHSA-whgm-jr23-g3j9.json", options).unwrap();
        zip.write_all(newer.to_string().as_bytes()).unwrap();
        zip.start_file("ALPINE-CVE-2025-26519.json", options)
            .unwrap();
        zip.write_all(&std::fs::read(osv.join("Alpine/ALPINE-CVE-2025-26519.json")).unwrap())
            .unwrap();
        zip.start_file("broken.json", options).unwrap();
        zip.write_all(b"{\"id\": ").unwrap();
        zip.finish().unwrap();
    }
    let report = vulndb.import_path(&zip_path).await.unwrap();
    assert_eq!(
        (report.imported, report.updated, report.unchanged),
        (0, 1, 1)
    );
    assert_eq!(report.failed.len(), 1);
    assert!(
        report.failed[0].0.ends_with("all.zip!broken.json"),
        "{:?}",
        report.failed
    );
    // An older copy does not replace the newer one.
    let single = vulndb
        .import_path(&osv.join("npm/GHSA-whgm-jr23-g3j9.json"))
        .await
        .unwrap();
    assert_eq!(single.unchanged, 1);
    let ansi = vulndb.records_for("npm", "ansi-html").await.unwrap();
    assert_eq!(ansi[0].modified, "2099-01-01T00:00:00Z");

    // From a layer to findings through the database.
    let status = std::fs::read(osv.join("../pkgdb/debian12-dpkg-status-older")).unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in [
        ("etc/os-release", &b"ID=debian\nVERSION_ID=\"12\"\n"[..]),
        ("var/lib/dpkg/status", &status[..]),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, path, data).unwrap();
    }
    let mut image = ImageFiles::new();
    image
        .apply_layer(&builder.into_inner().unwrap()[..])
        .unwrap();
    let installed = image.inventory();
    let mut records = Vec::new();
    for p in &installed {
        records.extend(vulndb.records_for(&p.ecosystem, &p.name).await.unwrap());
    }
    records.sort_by(|a, b| a.id.cmp(&b.id));
    records.dedup_by(|a, b| a.id == b.id);
    let ids: std::collections::BTreeSet<String> = matches(&records, &installed)
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(ids.len(), 36, "{ids:?}");
}

#[test]
fn berth_vulndb_import_reports() {
    let Some(osv) = osv_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("berth.yml");
    std::fs::write(
        &config,
        format!("data_dir: {}\n", dir.path().join("data").display()),
    )
    .unwrap();
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("--config")
            .arg(&config)
            .args(["vulndb", "import"])
            .arg(osv.join("crates.io"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run().contains("5 imported, 0 updated, 0 unchanged, 0 failed"));
    assert!(run().contains("0 imported, 0 updated, 5 unchanged, 0 failed"));
}
