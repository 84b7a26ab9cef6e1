//! Layers built from the real package databases in `../shared/vulndb`: the final view after an
//! upper layer replaces or deletes the Debian status file decides what a scan reports.

use std::io::Write;
use std::path::{Path, PathBuf};

use domain::scan::layers::ImageFiles;
use domain::scan::matches;
use domain::scan::osv::Record;

fn vulndb() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vulndb");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is absent", dir.display());
        None
    }
}

fn layer(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, path, *data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn debian_records(dir: &Path) -> Vec<Record> {
    std::fs::read_dir(dir.join("osv/Debian12-changelog"))
        .unwrap()
        .map(|e| Record::parse(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap())
        .collect()
}

#[test]
fn the_final_view_decides_what_is_reported() {
    let Some(dir) = vulndb() else { return };
    let records = debian_records(&dir);
    let older = std::fs::read(dir.join("pkgdb/debian12-dpkg-status-older")).unwrap();
    let current = std::fs::read(dir.join("pkgdb/debian12-dpkg-status")).unwrap();
    let os = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";

    let mut image = ImageFiles::new();
    image
        .apply_layer(&layer(&[("etc/os-release", os), ("var/lib/dpkg/status", &older)])[..])
        .unwrap();
    assert_eq!(image.os_ecosystem().as_deref(), Some("Debian:12"));
    let sources: std::collections::BTreeSet<_> = matches(&records, &image.inventory())
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(sources.len(), 36, "{sources:?}");

    // An upper layer replaces the status file with the upgraded one: nothing left to report.
    let mut upgraded = ImageFiles::new();
    upgraded
        .apply_layer(&layer(&[("etc/os-release", os), ("var/lib/dpkg/status", &older)])[..])
        .unwrap();
    upgraded
        .apply_layer(&layer(&[("var/lib/dpkg/status", &current)])[..])
        .unwrap();
    assert!(matches(&records, &upgraded.inventory()).is_empty());

    // An upper layer deletes it: no Debian packages at all.
    let mut deleted = ImageFiles::new();
    deleted
        .apply_layer(&layer(&[("etc/os-release", os), ("var/lib/dpkg/status", &older)])[..])
        .unwrap();
    deleted
        .apply_layer(&layer(&[("var/lib/dpkg/.wh.status", b"")])[..])
        .unwrap();
    assert!(deleted.inventory().is_empty());
}
