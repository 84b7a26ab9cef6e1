//! Installed-package databases as they sit in an image's filesystem: dpkg's `status` (and
//! distroless `status.d/*`), apk's `installed`, `os-release`, `Cargo.lock`, npm lock files and
//! `package.json`, pip requirements and `*.dist-info/METADATA`. Each parser takes the file's
//! text and returns what it lists; none of them fails on a malformed entry (it is skipped).

use serde::{Deserialize, Serialize};

/// One installed package, named and versioned the way its advisories name it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Installed {
    /// OSV ecosystem: `Debian:12`, `Alpine:v3.18`, `crates.io`, `npm`, `PyPI`.
    pub ecosystem: String,
    /// The name advisories use: the source package for Debian, the origin for Alpine.
    pub name: String,
    /// The version advisories compare against (the source version for Debian).
    pub version: String,
    /// The package as installed (a Debian binary package such as `libssl3`), when it differs.
    pub binary: Option<String>,
    /// The installed package's own version, when it differs from `version` (a Debian binary
    /// rebuilt apart from its source): what an SBOM lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_version: Option<String>,
}

/// The OSV ecosystem of an `os-release` file: `ID=debian`, `VERSION_ID="12"` → `Debian:12`;
/// Alpine keeps major.minor (`3.18.4` → `Alpine:v3.18`); Ubuntu its release (`Ubuntu:22.04`).
pub fn os_ecosystem(os_release: &str) -> Option<String> {
    let field = |key: &str| {
        os_release.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').trim_matches('\'').to_string())
        })
    };
    let id = field("ID")?;
    let version = field("VERSION_ID")?;
    match id.as_str() {
        "debian" => Some(format!("Debian:{}", version.split('.').next()?)),
        "alpine" => {
            let mut parts = version.split('.');
            Some(format!("Alpine:v{}.{}", parts.next()?, parts.next()?))
        }
        "ubuntu" => Some(format!("Ubuntu:{version}")),
        _ => None,
    }
}

fn paragraphs(text: &str) -> impl Iterator<Item = Vec<(&str, &str)>> {
    text.split("\n\n").map(|p| {
        p.lines()
            .filter(|l| !l.starts_with(' ') && !l.starts_with('\t'))
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect()
    })
}

/// dpkg's `status` (or one `status.d/*` file): installed packages only, under their source
/// package name and version (`Source: openssl (3.0.11-1~deb12u2)`, else the binary's).
pub fn dpkg_status(text: &str, ecosystem: &str) -> Vec<Installed> {
    let text = text.replace("\r\n", "\n");
    let mut out: Vec<Installed> = paragraphs(&text)
        .filter_map(|fields| {
            let get = |k: &str| fields.iter().find(|(f, _)| *f == k).map(|(_, v)| *v);
            let package = get("Package")?;
            let version = get("Version")?;
            // Distroless status.d files carry no Status field; a status file does.
            if let Some(status) = get("Status") {
                if !status.ends_with(" installed") || status.starts_with("deinstall") {
                    return None;
                }
            }
            let (source, source_version) = match get("Source") {
                Some(s) => match s.split_once('(') {
                    Some((name, v)) => (name.trim(), v.trim_end_matches(')').trim()),
                    None => (s, version),
                },
                None => (package, version),
            };
            Some(Installed {
                ecosystem: ecosystem.to_string(),
                name: source.to_string(),
                version: source_version.to_string(),
                binary: (package != source).then(|| package.to_string()),
                binary_version: (version != source_version).then(|| version.to_string()),
            })
        })
        .collect();
    out.sort();
    out
}

/// apk's `lib/apk/db/installed`: packages under their origin (`o:`) name.
pub fn apk_installed(text: &str, ecosystem: &str) -> Vec<Installed> {
    let mut out = Vec::new();
    let text = text.replace("\r\n", "\n");
    for block in text.split("\n\n") {
        let mut name = None;
        let mut version = None;
        let mut origin = None;
        for line in block.lines() {
            match line.split_once(':') {
                Some(("P", v)) => name = Some(v.trim()),
                Some(("V", v)) => version = Some(v.trim()),
                Some(("o", v)) => origin = Some(v.trim()),
                _ => {}
            }
        }
        if let (Some(name), Some(version)) = (name, version) {
            let origin = origin.unwrap_or(name);
            out.push(Installed {
                ecosystem: ecosystem.to_string(),
                name: origin.to_string(),
                version: version.to_string(),
                binary: (name != origin).then(|| name.to_string()),
                binary_version: None,
            });
        }
    }
    out.sort();
    out
}

/// `Cargo.lock`: every `[[package]]` with its name and version.
pub fn cargo_lock(text: &str) -> Vec<Installed> {
    let mut out = Vec::new();
    for block in text.split("[[package]]").skip(1) {
        let value = |key: &str| {
            block.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        if let (Some(name), Some(version)) = (value("name"), value("version")) {
            out.push(Installed {
                ecosystem: "crates.io".into(),
                name,
                version,
                binary: None,
                binary_version: None,
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `package-lock.json` (lockfile versions 1, 2 and 3).
pub fn npm_lock(text: &str) -> Vec<Installed> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(packages) = v.get("packages").and_then(|p| p.as_object()) {
        for (path, p) in packages {
            let Some(name) = path
                .rsplit("node_modules/")
                .next()
                .filter(|n| !n.is_empty() && path.contains("node_modules/"))
            else {
                continue;
            };
            if let Some(version) = p.get("version").and_then(|v| v.as_str()) {
                out.push(npm(name, version));
            }
        }
    } else if let Some(deps) = v.get("dependencies").and_then(|d| d.as_object()) {
        fn walk(deps: &serde_json::Map<String, serde_json::Value>, out: &mut Vec<Installed>) {
            for (name, d) in deps {
                if let Some(version) = d.get("version").and_then(|v| v.as_str()) {
                    out.push(npm(name, version));
                }
                if let Some(nested) = d.get("dependencies").and_then(|d| d.as_object()) {
                    walk(nested, out);
                }
            }
        }
        walk(deps, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// An installed npm package's own `package.json` (under `node_modules`).
pub fn npm_package_json(text: &str) -> Option<Installed> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(npm(v.get("name")?.as_str()?, v.get("version")?.as_str()?))
}

fn npm(name: &str, version: &str) -> Installed {
    Installed {
        ecosystem: "npm".into(),
        name: name.to_string(),
        version: version.to_string(),
        binary: None,
        binary_version: None,
    }
}

/// pip requirements: pinned `name==version` lines (comments, options and unpinned lines are
/// not installed versions and are skipped).
pub fn requirements(text: &str) -> Vec<Installed> {
    let mut out: Vec<Installed> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty() && !l.starts_with('-'))
        .filter_map(|l| {
            let (name, version) = l.split_once("==")?;
            let name = name.split('[').next()?.trim();
            let version = version.split(';').next()?.trim();
            (!name.is_empty() && !version.is_empty()).then(|| pypi(name, version))
        })
        .collect();
    out.sort();
    out
}

/// An installed distribution's `*.dist-info/METADATA`.
pub fn python_metadata(text: &str) -> Option<Installed> {
    let header = |key: &str| {
        text.lines()
            .take_while(|l| !l.is_empty())
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
    };
    Some(pypi(&header("Name:")?, &header("Version:")?))
}

fn pypi(name: &str, version: &str) -> Installed {
    Installed {
        ecosystem: "PyPI".into(),
        name: super::osv::normalise_name("PyPI", name),
        version: version.to_string(),
        binary: None,
        binary_version: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_names_the_ecosystem() {
        assert_eq!(
            os_ecosystem(
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"
            )
            .as_deref(),
            Some("Debian:12")
        );
        assert_eq!(
            os_ecosystem("ID=alpine\nVERSION_ID=3.18.4\n").as_deref(),
            Some("Alpine:v3.18")
        );
        assert_eq!(
            os_ecosystem("ID=ubuntu\nVERSION_ID=\"22.04\"\n").as_deref(),
            Some("Ubuntu:22.04")
        );
        assert_eq!(os_ecosystem("ID=plan9\n"), None);
    }

    #[test]
    fn dpkg_keeps_installed_packages_under_their_source() {
        let status = "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nDescription: x\n continued\n\n\
                      Package: bash\nStatus: install ok installed\nSource: bash (5.2.15-2)\nVersion: 5.2.15-2+b2\n\n\
                      Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n\
                      Package: tzdata\nStatus: install ok installed\nVersion: 2025b-0+deb12u2\n";
        let got = dpkg_status(status, "Debian:12");
        let names: Vec<_> = got
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.binary.as_deref()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("bash", "5.2.15-2", None),
                ("openssl", "3.0.11-1~deb12u2", Some("libssl3")),
                ("tzdata", "2025b-0+deb12u2", None),
            ]
        );
    }

    #[test]
    fn language_manifests() {
        let lock = "version = 3\n\n[[package]]\nname = \"net2\"\nversion = \"0.2.33\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"libc\"\nversion = \"0.2.150\"\n";
        assert_eq!(cargo_lock(lock).len(), 2);
        let v3 = r#"{"lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/ansi-html":{"version":"0.0.1"},"node_modules/a/node_modules/b":{"version":"2.0.0"}}}"#;
        let npm: Vec<_> = npm_lock(v3)
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect();
        assert_eq!(
            npm,
            vec![
                ("ansi-html".into(), "0.0.1".into()),
                ("b".into(), "2.0.0".into())
            ]
        );
        let req = requirements("# pinned\nFlask==1.0.0\nrequests[socks]==2.20.0 ; python_version > '3'\nnumpy>=1.0\n-r other.txt\n");
        let req: Vec<_> = req.into_iter().map(|p| (p.name, p.version)).collect();
        assert_eq!(
            req,
            vec![
                ("flask".into(), "1.0.0".into()),
                ("requests".into(), "2.20.0".into())
            ]
        );
        let meta = python_metadata(
            "Metadata-Version: 2.1\nName: Django\nVersion: 2.2.24\n\nLong description",
        )
        .unwrap();
        assert_eq!(
            (meta.name.as_str(), meta.version.as_str()),
            ("django", "2.2.24")
        );
    }
}
