//! An image's final filesystem, as far as scanning needs it: its layers are read in order as
//! streams (gzip, zstd or plain tar, told apart by their first bytes), OCI whiteouts
//! (`.wh.<name>`, and `.wh..wh..opq` for a whole directory) remove what lower layers put there,
//! and only the package databases the scanner reads are kept, each at most
//! [`MAX_FILE`] bytes. Memory stays bounded whatever the size of a layer.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};

use super::packages::{self, Installed};

/// The largest package database kept (a Debian status file is a few MiB).
pub const MAX_FILE: u64 = 64 << 20;

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// Whether the scanner reads the file at `path` (relative, no leading `/`).
pub fn wanted(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        path,
        "etc/os-release" | "usr/lib/os-release" | "var/lib/dpkg/status" | "lib/apk/db/installed"
    ) || path.starts_with("var/lib/dpkg/status.d/")
        || name == "Cargo.lock"
        || (name == "package-lock.json" && !path.contains("node_modules/"))
        || requirements_file(name)
        || (name == "METADATA" && path.contains(".dist-info/"))
        || npm_manifest(path)
}

/// pip requirement files an application ships (`requirements.txt`, `requirements.prod.txt`):
/// pinned versions of what it installs.
fn requirements_file(name: &str) -> bool {
    name.starts_with("requirements") && name.ends_with(".txt")
}

/// `…/node_modules/<name>/package.json` or `…/node_modules/@scope/<name>/package.json`.
fn npm_manifest(path: &str) -> bool {
    let Some(rest) = path.rsplit_once("node_modules/").map(|(_, r)| r) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [_, "package.json"] => true,
        [scope, _, "package.json"] => scope.starts_with('@'),
        _ => false,
    }
}

fn normalise(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

/// The files kept from the layers applied so far, by path.
#[derive(Debug, Default)]
pub struct ImageFiles {
    files: BTreeMap<String, Vec<u8>>,
}

impl ImageFiles {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    fn remove_tree(&mut self, path: &str) {
        self.files.remove(path);
        let prefix = format!("{path}/");
        self.files.retain(|p, _| !p.starts_with(&prefix));
    }

    /// Applies one layer (a blob as stored: compressed or not) on top of the layers before it.
    pub fn apply_layer(&mut self, blob: impl Read) -> io::Result<()> {
        let mut reader = BufReader::with_capacity(64 << 10, blob);
        let head = reader.fill_buf()?;
        let body: Box<dyn Read> = if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::read::MultiGzDecoder::new(reader))
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Box::new(zstd::stream::read::Decoder::with_buffer(reader)?)
        } else {
            Box::new(reader)
        };
        // Whiteouts apply to the layers below, whatever their place in this layer's tar; so this
        // layer's deletions are collected first and its files applied after them.
        let mut removed = Vec::new();
        let mut opaque = Vec::new();
        let mut added: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
        let mut archive = tar::Archive::new(body);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let path = normalise(&entry.path()?.to_string_lossy());
            let (dir, name) = match path.rsplit_once('/') {
                Some((d, n)) => (d.to_string(), n.to_string()),
                None => (String::new(), path.clone()),
            };
            if name == OPAQUE {
                opaque.push(dir);
                continue;
            }
            if let Some(hidden) = name.strip_prefix(WHITEOUT) {
                removed.push(if dir.is_empty() {
                    hidden.to_string()
                } else {
                    format!("{dir}/{hidden}")
                });
                continue;
            }
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                continue;
            }
            // Anything at a path (a file, a link) replaces what lower layers had there; a kept
            // file's content is read, at most MAX_FILE bytes.
            let content = if kind.is_file() && wanted(&path) && entry.size() <= MAX_FILE {
                let mut bytes = Vec::with_capacity(entry.size() as usize);
                (&mut entry).take(MAX_FILE).read_to_end(&mut bytes)?;
                Some(bytes)
            } else {
                None
            };
            added.insert(path, content);
        }
        for dir in opaque {
            if dir.is_empty() {
                self.files.clear();
            } else {
                let prefix = format!("{dir}/");
                self.files.retain(|p, _| !p.starts_with(&prefix));
            }
        }
        for path in removed {
            self.remove_tree(&path);
        }
        for (path, content) in added {
            self.remove_tree(&path);
            if let Some(bytes) = content {
                self.files.insert(path, bytes);
            }
        }
        Ok(())
    }

    /// The OSV ecosystem of the operating system, from `os-release`.
    pub fn os_ecosystem(&self) -> Option<String> {
        let text = self
            .get("etc/os-release")
            .or_else(|| self.get("usr/lib/os-release"))?;
        packages::os_ecosystem(&String::from_utf8_lossy(text))
    }

    /// Every installed package the kept files list: the operating system's (when `os-release`
    /// names a known distribution) and the language packages'.
    pub fn inventory(&self) -> Vec<Installed> {
        let mut out = Vec::new();
        let os = self.os_ecosystem();
        for (path, bytes) in &self.files {
            let text = String::from_utf8_lossy(bytes);
            let name = path.rsplit('/').next().unwrap_or(path);
            match (path.as_str(), os.as_deref()) {
                ("var/lib/dpkg/status", Some(eco)) => out.extend(packages::dpkg_status(&text, eco)),
                (p, Some(eco)) if p.starts_with("var/lib/dpkg/status.d/") => {
                    out.extend(packages::dpkg_status(&text, eco))
                }
                ("lib/apk/db/installed", Some(eco)) => {
                    out.extend(packages::apk_installed(&text, eco))
                }
                _ if name == "Cargo.lock" => out.extend(packages::cargo_lock(&text)),
                _ if name == "package-lock.json" => out.extend(packages::npm_lock(&text)),
                _ if requirements_file(name) => out.extend(packages::requirements(&text)),
                _ if name == "METADATA" => out.extend(packages::python_metadata(&text)),
                _ if name == "package.json" => out.extend(packages::npm_package_json(&text)),
                _ => {}
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A tar layer with regular files (`Some(content)`) and whiteout markers (`None`).
    fn layer(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content) in entries {
            let data = content.unwrap_or("").as_bytes();
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, path, data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    const DEBIAN: &str = "ID=debian\nVERSION_ID=\"12\"\n";
    const STATUS: &str = "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n";

    #[test]
    fn picks_the_package_databases_out_of_any_compression() {
        let base = layer(&[
            ("etc/os-release", Some(DEBIAN)),
            ("./var/lib/dpkg/status", Some(STATUS)),
            ("usr/bin/ls", Some("binary")),
            (
                "app/node_modules/ansi-html/package.json",
                Some(r#"{"name":"ansi-html","version":"0.0.1"}"#),
            ),
            (
                "app/node_modules/ansi-html/lib/package.json",
                Some(r#"{"name":"inner","version":"9"}"#),
            ),
        ]);
        for blob in [
            base.clone(),
            gzip(&base),
            zstd::encode_all(&base[..], 1).unwrap(),
        ] {
            let mut image = ImageFiles::new();
            image.apply_layer(&blob[..]).unwrap();
            let paths: Vec<&str> = image.paths().collect();
            assert_eq!(
                paths,
                vec![
                    "app/node_modules/ansi-html/package.json",
                    "etc/os-release",
                    "var/lib/dpkg/status"
                ]
            );
            let found: Vec<_> = image
                .inventory()
                .into_iter()
                .map(|p| (p.ecosystem, p.name, p.version))
                .collect();
            assert_eq!(
                found,
                vec![
                    (
                        "Debian:12".into(),
                        "openssl".into(),
                        "3.0.11-1~deb12u2".into()
                    ),
                    ("npm".into(), "ansi-html".into(), "0.0.1".into()),
                ]
            );
        }
    }

    #[test]
    fn whiteouts_and_replacements_give_the_final_view() {
        let mut image = ImageFiles::new();
        image
            .apply_layer(
                &layer(&[
                    ("etc/os-release", Some(DEBIAN)),
                    ("var/lib/dpkg/status", Some(STATUS)),
                    (
                        "var/lib/dpkg/status.d/base",
                        Some("Package: base-files\nVersion: 12.4\n"),
                    ),
                    (
                        "srv/a/Cargo.lock",
                        Some("[[package]]\nname = \"net2\"\nversion = \"0.2.33\"\n"),
                    ),
                ])[..],
            )
            .unwrap();
        assert_eq!(image.inventory().len(), 3);
        // Upper layer: deletes the status file, empties status.d (opaque), and replaces the
        // Cargo.lock with a newer one.
        image
            .apply_layer(
                &layer(&[
                    ("var/lib/dpkg/.wh.status", None),
                    ("var/lib/dpkg/status.d/.wh..wh..opq", None),
                    (
                        "srv/a/Cargo.lock",
                        Some("[[package]]\nname = \"net2\"\nversion = \"0.2.36\"\n"),
                    ),
                ])[..],
            )
            .unwrap();
        let found: Vec<_> = image
            .inventory()
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect();
        assert_eq!(found, vec![("net2".to_string(), "0.2.36".to_string())]);
        // A whole directory whited out takes its files with it; a file added in the same layer
        // as an opaque marker stays.
        image
            .apply_layer(
                &layer(&[
                    (
                        "var/lib/dpkg/status.d/new",
                        Some("Package: tzdata\nVersion: 2025b-0+deb12u2\n"),
                    ),
                    ("var/lib/dpkg/status.d/.wh..wh..opq", None),
                    ("srv/.wh.a", None),
                ])[..],
            )
            .unwrap();
        let found: Vec<_> = image
            .inventory()
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect();
        assert_eq!(
            found,
            vec![("tzdata".to_string(), "2025b-0+deb12u2".to_string())]
        );
    }

    #[test]
    fn a_layer_that_is_not_a_tar_is_an_error_not_a_panic() {
        let mut image = ImageFiles::new();
        // A truncated gzip stream.
        assert!(image.apply_layer(&[0x1f, 0x8b, 0, 1, 2][..]).is_err());
        // A tar cut off in the middle of a file.
        let whole = layer(&[("var/lib/dpkg/status", Some(STATUS))]);
        assert!(image.apply_layer(&whole[..600]).is_err());
    }
}
