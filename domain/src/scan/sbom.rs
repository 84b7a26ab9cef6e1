//! Software bills of materials, the pure parts: an inventory of installed packages written as
//! CycloneDX 1.6 or SPDX 2.3 JSON with package URLs, and the package list read back out of an
//! SBOM document (one Berth wrote, or one a user pushed: CycloneDX, SPDX, Harbor's own).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::packages::Installed;

/// The two formats Berth writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SbomFormat {
    CycloneDx,
    Spdx,
}

/// Harbor's artifact type for the SBOMs its scanners attach.
pub const HARBOR_SBOM: &str = "application/vnd.goharbor.harbor.sbom.v1";

impl SbomFormat {
    /// `cyclonedx` (the default) or `spdx`, as the API's `format` spells them.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "cyclonedx" | "cyclonedx-json" | "cdx" => Some(Self::CycloneDx),
            "spdx" | "spdx-json" => Some(Self::Spdx),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CycloneDx => "cyclonedx",
            Self::Spdx => "spdx",
        }
    }

    /// The referrer's `artifactType`, which is also the document layer's media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::CycloneDx => "application/vnd.cyclonedx+json",
            Self::Spdx => "application/spdx+json",
        }
    }

    /// The format of a referrer's artifact type or a layer's media type, when it is an SBOM.
    pub fn of_media_type(media_type: &str) -> Option<Self> {
        let t = media_type.split(';').next().unwrap_or("").trim();
        if t.starts_with("application/vnd.cyclonedx") {
            Some(Self::CycloneDx)
        } else if t.starts_with("application/spdx") || t.starts_with("text/spdx") {
            Some(Self::Spdx)
        } else {
            None
        }
    }
}

/// What an SBOM describes.
#[derive(Clone, Debug)]
pub struct SbomSubject<'a> {
    /// `project/repository`.
    pub repository: &'a str,
    pub digest: &'a str,
    /// The registry host, for the image's own package URL and SPDX's namespace.
    pub registry: &'a str,
}

/// Who wrote it, when, and a unique id (a UUID) for the document.
#[derive(Clone, Debug)]
pub struct SbomProvenance<'a> {
    pub tool_version: &'a str,
    /// RFC 3339, UTC, whole seconds (`2026-12-02T06:00:00Z`).
    pub timestamp: &'a str,
    pub serial: &'a str,
}

/// One package as an SBOM lists it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SbomPackage {
    pub name: String,
    pub version: String,
    /// Package URL (`pkg:deb/debian/libssl3@3.0.19-1~deb12u2?distro=debian-12&upstream=openssl`).
    #[serde(default)]
    pub purl: Option<String>,
    /// `deb`, `apk`, `cargo`, `npm`, `pypi` (the purl type), when known.
    #[serde(default)]
    pub kind: Option<String>,
}

/// Percent-encodes one purl segment (the characters purl's spec leaves unreserved stay).
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' | b'+' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The package as installed: (purl type, name, version, package URL).
pub fn package_of(p: &Installed) -> SbomPackage {
    let name = p.binary.clone().unwrap_or_else(|| p.name.clone());
    let version = p
        .binary_version
        .clone()
        .unwrap_or_else(|| p.version.clone());
    let (eco, release) = p.ecosystem.split_once(':').unwrap_or((&p.ecosystem, ""));
    let (kind, purl) = match eco {
        "Debian" | "Ubuntu" => {
            let distro = eco.to_ascii_lowercase();
            let mut q = vec![format!("distro={distro}-{}", enc(release))];
            if p.binary.is_some() {
                q.push(format!("upstream={}", enc(&p.name)));
            }
            (
                "deb",
                format!(
                    "pkg:deb/{distro}/{}@{}?{}",
                    enc(&name),
                    enc(&version),
                    q.join("&")
                ),
            )
        }
        "Alpine" => (
            "apk",
            format!(
                "pkg:apk/alpine/{}@{}?distro={}",
                enc(&name),
                enc(&version),
                enc(release.trim_start_matches('v'))
            ),
        ),
        "crates.io" => (
            "cargo",
            format!("pkg:cargo/{}@{}", enc(&name), enc(&version)),
        ),
        "npm" => {
            let path = match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
                Some((scope, n)) => format!("%40{}/{}", enc(scope), enc(n)),
                None => enc(&name),
            };
            ("npm", format!("pkg:npm/{path}@{}", enc(&version)))
        }
        "PyPI" => (
            "pypi",
            format!(
                "pkg:pypi/{}@{}",
                enc(&name.to_ascii_lowercase().replace('_', "-")),
                enc(&version)
            ),
        ),
        _ => {
            return SbomPackage {
                name,
                version,
                purl: None,
                kind: None,
            }
        }
    };
    SbomPackage {
        name,
        version,
        purl: Some(purl),
        kind: Some(kind.into()),
    }
}

/// The distinct packages of an inventory, in a stable order.
pub fn packages(inventory: &[Installed]) -> Vec<SbomPackage> {
    let set: BTreeSet<SbomPackage> = inventory.iter().map(package_of).collect();
    set.into_iter().collect()
}

/// The image's own package URL (`pkg:oci/<name>@sha256%3A…?repository_url=…`).
fn image_purl(s: &SbomSubject) -> String {
    let last = s.repository.rsplit('/').next().unwrap_or(s.repository);
    format!(
        "pkg:oci/{}@{}?repository_url={}",
        enc(last),
        enc(s.digest),
        enc(&format!("{}/{}", s.registry, s.repository))
    )
}

/// A CycloneDX 1.6 JSON document listing `inventory` as components of the container image.
pub fn cyclonedx(s: &SbomSubject, p: &SbomProvenance, inventory: &[Installed]) -> Value {
    let components: Vec<Value> = packages(inventory)
        .into_iter()
        .map(|pkg| {
            let mut c = json!({
                "type": "library",
                "name": pkg.name,
                "version": pkg.version,
            });
            if let Some(purl) = pkg.purl {
                c["bom-ref"] = purl.clone().into();
                c["purl"] = purl.into();
            }
            c
        })
        .collect();
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", p.serial),
        "version": 1,
        "metadata": {
            "timestamp": p.timestamp,
            "tools": {"components": [{
                "type": "application", "name": "Berth", "version": p.tool_version,
            }]},
            "component": {
                "type": "container",
                "bom-ref": image_purl(s),
                "name": s.repository,
                "version": s.digest,
                "purl": image_purl(s),
            },
        },
        "components": components,
    })
}

/// An SPDX 2.3 JSON document: the image as a package that contains `inventory`'s packages.
pub fn spdx(s: &SbomSubject, p: &SbomProvenance, inventory: &[Installed]) -> Value {
    let mut packages_json = vec![json!({
        "SPDXID": "SPDXRef-Image",
        "name": s.repository,
        "versionInfo": s.digest,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "CONTAINER",
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": image_purl(s),
        }],
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Image",
    })];
    for (n, pkg) in packages(inventory).into_iter().enumerate() {
        let id = format!("SPDXRef-Package-{}", n + 1);
        let mut entry = json!({
            "SPDXID": id,
            "name": pkg.name,
            "versionInfo": pkg.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "LIBRARY",
        });
        if let Some(purl) = pkg.purl {
            entry["externalRefs"] = json!([{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": purl,
            }]);
        }
        packages_json.push(entry);
        relationships.push(json!({
            "spdxElementId": "SPDXRef-Image",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{}@{}", s.repository, s.digest),
        "documentNamespace": format!("https://{}/spdx/{}/{}-{}", s.registry, s.repository, s.digest.replace(':', "-"), p.serial),
        "creationInfo": {
            "created": p.timestamp,
            "creators": [format!("Tool: Berth-{}", p.tool_version)],
        },
        "packages": packages_json,
        "relationships": relationships,
    })
}

/// The packages an SBOM document lists: CycloneDX `components` (nested ones too), SPDX
/// `packages` (the described image itself left out), Harbor's SBOM (a wrapper whose `sbom`
/// field holds one of the two). Unknown shapes list nothing.
pub fn packages_in(doc: &Value) -> Vec<SbomPackage> {
    if let Some(inner) = doc.get("sbom").filter(|v| v.is_object()) {
        return packages_in(inner);
    }
    let mut out = Vec::new();
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        fn walk(list: &Value, out: &mut Vec<SbomPackage>) {
            for c in list.as_array().into_iter().flatten() {
                let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
                if let Some(name) = text("name") {
                    let purl = text("purl");
                    out.push(SbomPackage {
                        kind: purl.as_deref().and_then(purl_type),
                        name,
                        version: text("version").unwrap_or_default(),
                        purl,
                    });
                }
                if let Some(nested) = c.get("components") {
                    walk(nested, out);
                }
            }
        }
        walk(&doc["components"], &mut out);
    } else if doc.get("spdxVersion").is_some() {
        let described: BTreeSet<&str> = doc["relationships"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["relationshipType"] == "DESCRIBES")
            .filter_map(|r| r["relatedSpdxElement"].as_str())
            .chain(
                doc["documentDescribes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            )
            .collect();
        for p in doc["packages"].as_array().into_iter().flatten() {
            if p["SPDXID"]
                .as_str()
                .is_some_and(|id| described.contains(id))
            {
                continue;
            }
            let Some(name) = p["name"].as_str() else {
                continue;
            };
            let purl = p["externalRefs"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["referenceType"] == "purl")
                .and_then(|r| r["referenceLocator"].as_str())
                .map(str::to_string);
            out.push(SbomPackage {
                kind: purl.as_deref().and_then(purl_type),
                name: name.into(),
                version: p["versionInfo"].as_str().unwrap_or_default().into(),
                purl,
            });
        }
    }
    out
}

fn purl_type(purl: &str) -> Option<String> {
    let rest = purl.strip_prefix("pkg:")?;
    Some(rest.split('/').next()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv() -> Vec<Installed> {
        vec![
            Installed {
                ecosystem: "Debian:12".into(),
                name: "openssl".into(),
                version: "3.0.19-1~deb12u2".into(),
                binary: Some("libssl3".into()),
                binary_version: None,
            },
            Installed {
                ecosystem: "npm".into(),
                name: "@babel/core".into(),
                version: "7.0.0".into(),
                binary: None,
                binary_version: None,
            },
            Installed {
                ecosystem: "Alpine:v3.18".into(),
                name: "musl".into(),
                version: "1.2.4-r0".into(),
                binary: None,
                binary_version: None,
            },
        ]
    }

    #[test]
    fn package_urls_follow_the_purl_types() {
        let p: Vec<_> = inv().iter().map(package_of).collect();
        assert_eq!(
            p[0].purl.as_deref(),
            Some("pkg:deb/debian/libssl3@3.0.19-1~deb12u2?distro=debian-12&upstream=openssl")
        );
        assert_eq!(p[0].name, "libssl3");
        assert_eq!(p[1].purl.as_deref(), Some("pkg:npm/%40babel/core@7.0.0"));
        assert_eq!(
            p[2].purl.as_deref(),
            Some("pkg:apk/alpine/musl@1.2.4-r0?distro=3.18")
        );
    }

    #[test]
    fn documents_read_back_to_their_packages() {
        let s = SbomSubject {
            repository: "p/app",
            digest: "sha256:abc",
            registry: "berth.example",
        };
        let prov = SbomProvenance {
            tool_version: "1",
            timestamp: "2026-12-02T00:00:00Z",
            serial: "00000000-0000-4000-8000-000000000000",
        };
        let want = packages(&inv());
        assert_eq!(packages_in(&cyclonedx(&s, &prov, &inv())), want);
        assert_eq!(packages_in(&spdx(&s, &prov, &inv())), want);
        let harbor = json!({"sbom": cyclonedx(&s, &prov, &inv())});
        assert_eq!(packages_in(&harbor), want);
        assert!(packages_in(&json!({"hello": 1})).is_empty());
    }

    #[test]
    fn formats_parse_and_map_to_media_types() {
        assert_eq!(SbomFormat::parse(""), Some(SbomFormat::CycloneDx));
        assert_eq!(SbomFormat::parse("SPDX"), Some(SbomFormat::Spdx));
        assert_eq!(SbomFormat::parse("xml"), None);
        assert_eq!(
            SbomFormat::of_media_type("text/spdx+json"),
            Some(SbomFormat::Spdx)
        );
        assert_eq!(SbomFormat::of_media_type(HARBOR_SBOM), None);
    }
}
