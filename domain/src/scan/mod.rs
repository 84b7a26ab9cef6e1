//! Vulnerability scanning, the pure parts: version ordering per ecosystem, OSV records and
//! their ranges, and the package databases found in images. No I/O: the server feeds these
//! with the files it streams out of layers and the records it imports.

#[cfg(feature = "server")]
pub mod layers;
pub mod osv;
pub mod packages;
pub mod report;
pub mod sbom;
pub mod severity;
pub mod version;

use packages::Installed;

/// One advisory affecting one installed package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub id: String,
    pub package: String,
    pub version: String,
    pub fixed: Option<String>,
}

/// Every (record, package) pair where the record affects the package.
pub fn matches(records: &[osv::Record], installed: &[Installed]) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in installed {
        for r in records {
            if let Some(hit) = r.affects(&p.ecosystem, &p.name, &p.version) {
                out.push(Finding {
                    id: r.id.clone(),
                    package: p.binary.clone().unwrap_or_else(|| p.name.clone()),
                    version: p.version.clone(),
                    fixed: hit.fixed,
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.id, &a.package).cmp(&(&b.id, &b.package)));
    out.dedup();
    out
}
