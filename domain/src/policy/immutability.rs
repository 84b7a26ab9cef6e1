//! Immutable tags: a tag that a rule protects cannot be moved to another artifact or deleted,
//! and retention skips it. Pushing the same digest to it again is allowed.

use serde::{Deserialize, Serialize};

use super::selector::Selector;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImmutableRule {
    pub id: i64,
    pub repositories: Selector,
    pub tags: Selector,
    pub disabled: bool,
    /// Declared in the configuration file (for every project) rather than in the project.
    pub from_config: bool,
}

impl ImmutableRule {
    pub fn describe(&self) -> String {
        let verb = |s: &Selector| match s.decoration {
            super::selector::Decoration::Matches => "matching",
            super::selector::Decoration::Excludes => "excluding",
        };
        format!(
            "immutable rule {}{}: tags {} `{}` in repositories {} `{}`",
            self.id,
            if self.from_config {
                " (from the configuration file)"
            } else {
                ""
            },
            verb(&self.tags),
            self.tags.pattern,
            verb(&self.repositories),
            self.repositories.pattern,
        )
    }
}

/// The first enabled rule that protects `tag` in `repository` (path without the project).
pub fn protecting<'a>(
    rules: &'a [ImmutableRule],
    repository: &str,
    tag: &str,
) -> Option<&'a ImmutableRule> {
    rules
        .iter()
        .find(|r| !r.disabled && r.repositories.selects(repository) && r.tags.selects(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_rule_protects_release_tags_everywhere() {
        let rules = vec![ImmutableRule {
            id: 1,
            repositories: Selector::everything(),
            tags: Selector::matches("release-*"),
            disabled: false,
            from_config: true,
        }];
        assert!(protecting(&rules, "team/app", "release-1.0").is_some());
        assert!(protecting(&rules, "app", "v1").is_none());
        let mut off = rules.clone();
        off[0].disabled = true;
        assert!(protecting(&off, "app", "release-1").is_none());
        let scoped = vec![ImmutableRule {
            repositories: Selector::matches("prod/**"),
            tags: Selector::excludes("dev-*"),
            ..rules[0].clone()
        }];
        assert!(protecting(&scoped, "prod/api", "v2").is_some());
        assert!(protecting(&scoped, "prod/api", "dev-3").is_none());
        assert!(protecting(&scoped, "staging/api", "v2").is_none());
        assert!(rules[0].describe().contains("`release-*`"));
    }
}
