//! What a replication policy selects and where it puts it, as Harbor defines it: filters on
//! the repository name, the tag, labels and the resource type (doublestar patterns, `matches`
//! or `excludes`), the destination namespace with Harbor's flattening count, and the shape
//! checks of a policy's settings. Pure: the replication service asks, it does not decide.

use serde::{Deserialize, Serialize};

use super::selector::{glob, validate_pattern, Decoration};

/// One filter of a policy, in Harbor's shape: `{type, value, decoration}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    #[serde(rename = "type")]
    pub kind: FilterKind,
    /// A pattern for `name` and `tag`; label names for `label` (Harbor sends a list);
    /// `image` or `artifact` for `resource`.
    pub value: serde_json::Value,
    #[serde(default)]
    pub decoration: Decoration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterKind {
    Name,
    Tag,
    Label,
    Resource,
}

impl Filter {
    fn pattern(&self) -> Option<&str> {
        self.value.as_str()
    }

    fn labels(&self) -> Vec<&str> {
        match &self.value {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    fn keeps(&self, matched: bool) -> bool {
        matched == (self.decoration == Decoration::Matches)
    }
}

/// Checks a policy's filters; the error names the field (`filters[1].value`).
pub fn validate_filters(filters: &[Filter]) -> Result<(), (String, String)> {
    for (i, f) in filters.iter().enumerate() {
        let field = format!("filters[{i}].value");
        match f.kind {
            FilterKind::Name | FilterKind::Tag => {
                let pattern = f
                    .pattern()
                    .ok_or_else(|| (field.clone(), "must be a pattern (a string)".to_string()))?;
                validate_pattern(pattern).map_err(|e| (field.clone(), e))?;
            }
            FilterKind::Label => {
                if f.labels().is_empty() {
                    return Err((field, "must name at least one label".into()));
                }
            }
            FilterKind::Resource => match f.pattern() {
                Some("image" | "artifact") => {}
                _ => return Err((field, "must be `image` or `artifact`".into())),
            },
        }
    }
    Ok(())
}

/// Whether the filters keep a repository (its full name, `project/path`).
pub fn selects_repository(filters: &[Filter], repository: &str) -> bool {
    filters
        .iter()
        .filter(|f| f.kind == FilterKind::Name)
        .all(|f| f.keeps(f.pattern().is_some_and(|p| glob(p, repository))))
}

/// What the filters keep of one artifact: `None` when the artifact is not replicated, else
/// the tags to replicate (empty: by digest only, for an untagged artifact).
pub fn selects_artifact(
    filters: &[Filter],
    is_image: bool,
    tags: &[String],
    labels: &[String],
) -> Option<Vec<String>> {
    for f in filters {
        match f.kind {
            FilterKind::Label => {
                let wanted = f.labels();
                let has_all = wanted.iter().all(|w| labels.iter().any(|l| l == w));
                if !f.keeps(has_all) {
                    return None;
                }
            }
            FilterKind::Resource => {
                let wants_image = f.pattern() == Some("image");
                if wants_image && !f.keeps(is_image) {
                    return None;
                }
            }
            FilterKind::Name | FilterKind::Tag => {}
        }
    }
    let tag_filters: Vec<&Filter> = filters
        .iter()
        .filter(|f| f.kind == FilterKind::Tag)
        .collect();
    if tag_filters.is_empty() {
        return Some(tags.to_vec());
    }
    let kept: Vec<String> = tags
        .iter()
        .filter(|t| {
            tag_filters
                .iter()
                .all(|f| f.keeps(f.pattern().is_some_and(|p| glob(p, t))))
        })
        .cloned()
        .collect();
    // A tag filter selects tagged artifacts only, as in Harbor.
    (!kept.is_empty()).then_some(kept)
}

/// The destination repository of `source` (`project/a/b/img`) under `namespace`, flattened as
/// Harbor's `dest_namespace_replace_count` says: `-1` keeps only the last component
/// (`ns/img`), `0` keeps everything (`ns/project/a/b/img`), `n` drops the first `n`
/// components (`1`: `ns/a/b/img`). An empty namespace keeps the name as it is.
pub fn destination_repository(
    source: &str,
    namespace: &str,
    replace_count: i32,
) -> Result<String, String> {
    let namespace = namespace.trim_matches('/');
    if namespace.is_empty() {
        return Ok(source.to_string());
    }
    let parts: Vec<&str> = source.split('/').collect();
    let drop = match replace_count {
        -1 => parts.len() - 1,
        n if n < -1 => return Err(format!("invalid flattening count {n}")),
        n => {
            let n = n as usize;
            if n > parts.len() - 1 {
                return Err(format!(
                    "cannot flatten {n} levels of `{source}`, which has only {} above the image",
                    parts.len() - 1
                ));
            }
            n
        }
    };
    Ok(format!("{namespace}/{}", parts[drop..].join("/")))
}

/// The security gate of a policy: what an artifact must satisfy to leave.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityGate {
    pub require_scan: bool,
    /// `Low`, `Medium`, `High` or `Critical`: findings above this severity keep the artifact.
    pub max_severity: Option<String>,
    pub require_signature: bool,
}

impl SecurityGate {
    pub fn is_open(&self) -> bool {
        !self.require_scan && self.max_severity.is_none() && !self.require_signature
    }

    pub fn validate(&self) -> Result<(), (String, String)> {
        if let Some(s) = &self.max_severity {
            if !["Low", "Medium", "High", "Critical"].contains(&s.as_str()) {
                return Err((
                    "security.max_severity".into(),
                    format!("`{s}` is not one of Low, Medium, High, Critical"),
                ));
            }
        }
        Ok(())
    }
}

/// Checks a platform filter entry: `os/architecture[/variant]`.
pub fn validate_platform(p: &str) -> Result<(), String> {
    let parts: Vec<&str> = p.split('/').collect();
    let ok = (2..=3).contains(&parts.len())
        && parts.iter().all(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{p}` is not a platform (os/architecture or os/architecture/variant, e.g. linux/arm64/v8)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(kind: FilterKind, value: serde_json::Value, decoration: Decoration) -> Filter {
        Filter {
            kind,
            value,
            decoration,
        }
    }

    #[test]
    fn namespaces_flatten_as_harbor_documents() {
        let src = "a/b/c/d/img";
        assert_eq!(destination_repository(src, "ns", -1).unwrap(), "ns/img");
        assert_eq!(
            destination_repository(src, "ns", 0).unwrap(),
            "ns/a/b/c/d/img"
        );
        assert_eq!(
            destination_repository(src, "ns", 1).unwrap(),
            "ns/b/c/d/img"
        );
        assert_eq!(destination_repository(src, "ns", 2).unwrap(), "ns/c/d/img");
        assert_eq!(destination_repository(src, "ns", 4).unwrap(), "ns/img");
        assert!(destination_repository(src, "ns", 5).is_err());
        assert_eq!(destination_repository(src, "", 3).unwrap(), src);
        assert_eq!(
            destination_repository("p/img", "/ns/", 1).unwrap(),
            "ns/img"
        );
    }

    #[test]
    fn name_filters_match_the_full_repository_name() {
        let f = [filter(
            FilterKind::Name,
            "library/**".into(),
            Decoration::Matches,
        )];
        assert!(selects_repository(&f, "library/app"));
        assert!(selects_repository(&f, "library/team/app"));
        assert!(!selects_repository(&f, "other/app"));
        let ex = [filter(
            FilterKind::Name,
            "*/tmp-*".into(),
            Decoration::Excludes,
        )];
        assert!(!selects_repository(&ex, "p/tmp-1"));
        assert!(selects_repository(&ex, "p/app"));
        assert!(selects_repository(&[], "anything/at/all"));
    }

    #[test]
    fn tag_filters_keep_matching_tags_and_drop_untagged_artifacts() {
        let tags = vec!["v1.0".to_string(), "latest".to_string(), "dev".to_string()];
        let f = [filter(FilterKind::Tag, "v*".into(), Decoration::Matches)];
        assert_eq!(
            selects_artifact(&f, true, &tags, &[]),
            Some(vec!["v1.0".to_string()])
        );
        assert_eq!(selects_artifact(&f, true, &[], &[]), None);
        let ex = [filter(FilterKind::Tag, "dev".into(), Decoration::Excludes)];
        assert_eq!(
            selects_artifact(&ex, true, &tags, &[]),
            Some(vec!["v1.0".to_string(), "latest".to_string()])
        );
        // Without a tag filter everything is kept, untagged artifacts by digest.
        assert_eq!(selects_artifact(&[], true, &[], &[]), Some(vec![]));
    }

    #[test]
    fn label_and_resource_filters() {
        let labels = vec!["prod".to_string(), "team-a".to_string()];
        let image = true;
        let tags = vec!["1".to_string()];
        let needs = |v: serde_json::Value, d| [filter(FilterKind::Label, v, d)];
        assert!(selects_artifact(
            &needs("prod".into(), Decoration::Matches),
            image,
            &tags,
            &labels
        )
        .is_some());
        assert!(selects_artifact(
            &needs(serde_json::json!(["prod", "team-b"]), Decoration::Matches),
            image,
            &tags,
            &labels
        )
        .is_none());
        assert!(selects_artifact(
            &needs("prod".into(), Decoration::Excludes),
            image,
            &tags,
            &labels
        )
        .is_none());
        let images = [filter(
            FilterKind::Resource,
            "image".into(),
            Decoration::Matches,
        )];
        assert!(selects_artifact(&images, image, &tags, &[]).is_some());
        assert!(selects_artifact(&images, false, &tags, &[]).is_none());
    }

    #[test]
    fn malformed_settings_name_their_field() {
        let bad = [
            filter(FilterKind::Name, "**".into(), Decoration::Matches),
            filter(FilterKind::Tag, "[".into(), Decoration::Matches),
        ];
        assert_eq!(validate_filters(&bad).unwrap_err().0, "filters[1].value");
        let bad = [filter(
            FilterKind::Resource,
            "chart".into(),
            Decoration::Matches,
        )];
        assert_eq!(validate_filters(&bad).unwrap_err().0, "filters[0].value");
        let gate = SecurityGate {
            max_severity: Some("Severe".into()),
            ..Default::default()
        };
        assert_eq!(gate.validate().unwrap_err().0, "security.max_severity");
        assert!(validate_platform("linux/arm64/v8").is_ok());
        assert!(validate_platform("linux").is_err());
        assert!(validate_platform("linux/amd64/v1/x").is_err());
    }
}
