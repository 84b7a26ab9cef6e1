//! OSV records (<https://ossf.github.io/osv-schema/>) and whether one affects a package version.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::version::Scheme;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub modified: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub severity: Vec<Severity>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    #[serde(default)]
    pub references: Vec<Reference>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub url: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    pub package: Package,
    #[serde(default)]
    pub ranges: Vec<Range>,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub severity: Vec<Severity>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
    #[serde(default)]
    pub ecosystem_specific: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: String,
    pub name: String,
    #[serde(default)]
    pub purl: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<Event>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(default)]
    pub introduced: Option<String>,
    #[serde(default)]
    pub fixed: Option<String>,
    #[serde(default)]
    pub last_affected: Option<String>,
    #[serde(default)]
    pub limit: Option<String>,
}

/// Why a record affects a package: the entry that matched and the version that fixes it, if
/// the record names one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub fixed: Option<String>,
}

/// PyPI names compare normalised (PEP 503); other ecosystems exactly.
pub fn normalise_name(ecosystem: &str, name: &str) -> String {
    if ecosystem == "PyPI" {
        let mut out = String::with_capacity(name.len());
        let mut last_sep = false;
        for c in name.chars() {
            if matches!(c, '-' | '_' | '.') {
                if !last_sep {
                    out.push('-');
                }
                last_sep = true;
            } else {
                out.push(c.to_ascii_lowercase());
                last_sep = false;
            }
        }
        out
    } else {
        name.to_string()
    }
}

impl Record {
    pub fn parse(json: &str) -> Result<Self, String> {
        let record: Self = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if record.id.trim().is_empty() {
            return Err("record has no id".into());
        }
        Ok(record)
    }

    /// Whether this record affects `name` at `version` in `ecosystem` (both exactly as OSV
    /// writes them: `Debian:12`, `Alpine:v3.18`, `crates.io`, …).
    pub fn affects(&self, ecosystem: &str, name: &str, version: &str) -> Option<Hit> {
        let scheme = Scheme::for_ecosystem(ecosystem)?;
        let wanted = normalise_name(ecosystem, name);
        self.affected
            .iter()
            .filter(|a| {
                a.package.ecosystem == ecosystem
                    && normalise_name(ecosystem, &a.package.name) == wanted
            })
            .find_map(|a| a.affects(scheme, version))
    }
}

impl Affected {
    fn affects(&self, scheme: Scheme, version: &str) -> Option<Hit> {
        if self
            .versions
            .iter()
            .any(|v| scheme.compare(v, version) == Ordering::Equal)
        {
            return Some(Hit {
                fixed: self.first_fix(scheme, version),
            });
        }
        for range in &self.ranges {
            let typed = match range.kind.as_str() {
                "SEMVER" => Scheme::Semver,
                "ECOSYSTEM" => scheme,
                _ => continue, // GIT ranges are commits, not versions
            };
            if let Some(hit) = range.affects(typed, version) {
                return Some(hit);
            }
        }
        None
    }

    fn first_fix(&self, scheme: Scheme, version: &str) -> Option<String> {
        self.ranges
            .iter()
            .flat_map(|r| r.events.iter().filter_map(|e| e.fixed.clone()))
            .filter(|f| scheme.compare(f, version) == Ordering::Greater)
            .min_by(|a, b| scheme.compare(a, b))
    }
}

impl Range {
    /// OSV's evaluation: walk the events in version order; `introduced` opens an affected span,
    /// `fixed` and `limit` close it at that version, `last_affected` just after it.
    fn affects(&self, scheme: Scheme, version: &str) -> Option<Hit> {
        let key = |e: &Event| -> Option<String> {
            e.introduced
                .clone()
                .or_else(|| e.fixed.clone())
                .or_else(|| e.last_affected.clone())
                .or_else(|| e.limit.clone())
        };
        let mut events: Vec<&Event> = self.events.iter().collect();
        events.sort_by(|a, b| match (key(a), key(b)) {
            (Some(x), Some(y)) if x == "0" && y != "0" => Ordering::Less,
            (Some(x), Some(y)) if y == "0" && x != "0" => Ordering::Greater,
            (Some(x), Some(y)) => scheme.compare(&x, &y),
            _ => Ordering::Equal,
        });
        let at_or_after =
            |bound: &str| bound == "0" || scheme.compare(version, bound) != Ordering::Less;
        let mut affected = false;
        let mut fixed = None;
        for e in events {
            if let Some(i) = &e.introduced {
                if at_or_after(i) {
                    affected = true;
                    fixed = None;
                }
            } else if let Some(f) = &e.fixed {
                if scheme.compare(version, f) != Ordering::Less {
                    affected = false;
                } else if affected && fixed.is_none() {
                    fixed = Some(f.clone());
                }
            } else if let Some(l) = &e.last_affected {
                if scheme.compare(version, l) == Ordering::Greater {
                    affected = false;
                }
            } else if let Some(l) = &e.limit {
                if scheme.compare(version, l) != Ordering::Less {
                    affected = false;
                }
            }
        }
        affected.then_some(Hit { fixed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ecosystem: &str, name: &str, events: serde_json::Value) -> Record {
        Record::parse(
            &serde_json::json!({
                "id": "TEST-1",
                "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                              "ranges": [{"type": "ECOSYSTEM", "events": events}]}]
            })
            .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn introduced_fixed_spans() {
        let r = record(
            "crates.io",
            "smallvec",
            serde_json::json!([{"introduced": "0.6.3"}, {"fixed": "0.6.14"}, {"introduced": "1.0.0"}, {"fixed": "1.6.1"}]),
        );
        assert!(r.affects("crates.io", "smallvec", "0.6.5").is_some());
        assert!(r.affects("crates.io", "smallvec", "0.6.14").is_none());
        assert!(r.affects("crates.io", "smallvec", "0.9.0").is_none());
        assert_eq!(
            r.affects("crates.io", "smallvec", "1.2.0"),
            Some(Hit {
                fixed: Some("1.6.1".into())
            })
        );
        assert!(r.affects("crates.io", "smallvec", "1.15.1").is_none());
        assert!(r.affects("crates.io", "other", "1.2.0").is_none());
        assert!(r.affects("npm", "smallvec", "1.2.0").is_none());
    }

    #[test]
    fn open_ended_last_affected_and_limit() {
        let open = record("Go", "m", serde_json::json!([{"introduced": "0"}]));
        assert_eq!(open.affects("Go", "m", "9.9.9"), Some(Hit { fixed: None }));
        let last = record(
            "Go",
            "m",
            serde_json::json!([{"introduced": "1.0.0"}, {"last_affected": "1.2.0"}]),
        );
        assert!(last.affects("Go", "m", "1.2.0").is_some());
        assert!(last.affects("Go", "m", "1.2.1").is_none());
        let limit = record(
            "Go",
            "m",
            serde_json::json!([{"introduced": "0"}, {"limit": "2.0.0"}]),
        );
        assert!(limit.affects("Go", "m", "1.9.0").is_some());
        assert!(limit.affects("Go", "m", "2.0.0").is_none());
    }

    #[test]
    fn listed_versions_and_pypi_names() {
        let r = Record::parse(
            &serde_json::json!({"id": "PYSEC-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "Flask_Cors"}, "versions": ["1.0", "1.1"]}]}).to_string(),
        )
        .unwrap();
        assert!(r.affects("PyPI", "flask-cors", "1.0.0").is_some());
        assert!(r.affects("PyPI", "flask-cors", "1.2").is_none());
        assert!(Record::parse("{}").is_err());
        assert!(Record::parse("not json").is_err());
    }
}
