//! Tag retention: which artifacts a policy keeps and which it deletes, and why. One pure
//! function, `evaluate`, used by the dry run, the real run and the console's preview.
//!
//! The rules, as in Harbor:
//! - a rule selects repositories (repository selector, without the project prefix) and, in
//!   them, artifacts with a tag its tag selector selects, plus untagged artifacts when the rule
//!   includes them; its template then picks which of those it retains;
//! - an artifact is kept when any rule retains it;
//! - in a repository that some rule selects, every other tagged artifact is deleted, and
//!   untagged artifacts are deleted only when a rule selecting the repository includes
//!   untagged artifacts; repositories that no rule selects are untouched;
//! - an artifact with an immutable tag is never deleted: it is reported as skipped;
//! - every tagged artifact is decided on its own tags, an image that a multi-arch index also
//!   references included; an untagged image of an index is decided like any untagged artifact;
//! - an image that an index still needs is never deleted from under it: when the index stays
//!   (kept, skipped or untouched), each image it references stays too, kept "for the index",
//!   whatever its own verdict was; when the index goes, its images keep their own verdicts.
//!
//! Ties (same push or pull time) are broken by the artifact stored later winning, so results do
//! not depend on the order rows come back in.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::selector::Selector;

/// What a rule keeps among the artifacts it selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", content = "count", rename_all = "camelCase")]
pub enum Template {
    /// The K most recently pushed.
    LatestPushedK(u32),
    /// The N most recently pulled (never-pulled ones last).
    LatestPulledN(u32),
    /// Those pushed within the last N days.
    NDaysSinceLastPush(u32),
    /// Those pulled within the last N days.
    NDaysSinceLastPull(u32),
    /// All of them.
    Always,
}

/// The largest count a template takes: more artifacts than any repository holds.
pub const MAX_COUNT: u32 = 100_000;
/// The most days a template looks back (about 100 years); keeps date arithmetic in range.
pub const MAX_DAYS: u32 = 36_500;

impl Template {
    /// Refuses counts and day numbers outside what a policy can mean, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        let (field, value, max) = match *self {
            Template::LatestPushedK(k) => ("count of artifacts to retain", k, MAX_COUNT),
            Template::LatestPulledN(n) => ("count of artifacts to retain", n, MAX_COUNT),
            Template::NDaysSinceLastPush(d) | Template::NDaysSinceLastPull(d) => {
                ("number of days", d, MAX_DAYS)
            }
            Template::Always => return Ok(()),
        };
        if value > max {
            return Err(format!("the {field} must be at most {max}, not {value}"));
        }
        Ok(())
    }

    pub fn describe(&self) -> String {
        match self {
            Template::LatestPushedK(k) => format!("retain the {k} most recently pushed"),
            Template::LatestPulledN(n) => format!("retain the {n} most recently pulled"),
            Template::NDaysSinceLastPush(d) => format!("retain those pushed within {d} days"),
            Template::NDaysSinceLastPull(d) => format!("retain those pulled within {d} days"),
            Template::Always => "retain always".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RuleWire")]
pub struct Rule {
    pub repositories: Selector,
    pub tags: Selector,
    /// Whether untagged artifacts are among what this rule selects.
    #[serde(default)]
    pub untagged: bool,
    #[serde(flatten)]
    pub template: Template,
    #[serde(default)]
    pub disabled: bool,
    /// Names of labels an artifact must all carry to be selected (none: no condition).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

impl Rule {
    pub fn describe(&self) -> String {
        format!(
            "{} of tags {} `{}` in repositories {} `{}`{}{}",
            self.template.describe(),
            decoration(&self.tags),
            self.tags.pattern,
            decoration(&self.repositories),
            self.repositories.pattern,
            if self.untagged {
                ", untagged included"
            } else {
                ""
            },
            if self.labels.is_empty() {
                String::new()
            } else {
                format!(", labelled {}", self.labels.join(" and "))
            }
        )
    }
}

/// A rule as it is written (`{"template": "latestPushedK", "count": 10, …}`), read field by
/// field so that a bad count is refused naming `count` (the tagged `Template` alone could only
/// say "expected u32").
#[derive(Deserialize)]
struct RuleWire {
    repositories: Selector,
    tags: Selector,
    #[serde(default)]
    untagged: bool,
    template: String,
    #[serde(default)]
    count: Option<i64>,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    labels: Vec<String>,
}

impl TryFrom<RuleWire> for Rule {
    type Error = String;

    fn try_from(w: RuleWire) -> Result<Self, String> {
        let count = |what: &str| -> Result<u32, String> {
            let n = w
                .count
                .ok_or_else(|| format!("count: the template `{}` needs a {what}", w.template))?;
            u32::try_from(n)
                .map_err(|_| format!("count: the {what} must be a number from 0 up, not {n}"))
        };
        let template = match w.template.as_str() {
            "latestPushedK" => Template::LatestPushedK(count("count of artifacts to retain")?),
            "latestPulledN" => Template::LatestPulledN(count("count of artifacts to retain")?),
            "nDaysSinceLastPush" => Template::NDaysSinceLastPush(count("number of days")?),
            "nDaysSinceLastPull" => Template::NDaysSinceLastPull(count("number of days")?),
            "always" => Template::Always,
            other => {
                return Err(format!(
                    "template: `{other}` is not one of latestPushedK, latestPulledN, \
                     nDaysSinceLastPush, nDaysSinceLastPull, always"
                ))
            }
        };
        template.validate().map_err(|why| format!("count: {why}"))?;
        Ok(Rule {
            repositories: w.repositories,
            tags: w.tags,
            untagged: w.untagged,
            template,
            disabled: w.disabled,
            labels: w.labels,
        })
    }
}

fn decoration(s: &Selector) -> &'static str {
    match s.decoration {
        super::selector::Decoration::Matches => "matching",
        super::selector::Decoration::Excludes => "excluding",
    }
}

/// One artifact as retention sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Stable id; a larger id was stored later.
    pub id: i64,
    /// Repository path without the project prefix.
    pub repository: String,
    pub digest: String,
    pub tags: Vec<String>,
    pub push_time: DateTime<Utc>,
    pub pull_time: Option<DateTime<Utc>>,
    /// Tags of this artifact that an immutability rule protects.
    pub immutable_tags: Vec<String>,
    /// For an index: the digests of the manifests it references (in the same repository).
    #[serde(default)]
    pub children: Vec<String>,
    /// Names of the labels on the artifact.
    #[serde(default)]
    pub labels: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Keep,
    Delete,
    /// Would be deleted, but an immutable tag protects it.
    Skip,
    /// In a repository no rule selects.
    Untouched,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub id: i64,
    pub repository: String,
    pub digest: String,
    pub tags: Vec<String>,
    pub verdict: Verdict,
    /// Why, in words: which rule kept it, or why it goes.
    pub reason: String,
}

/// Decides every candidate's fate under `rules` at time `now`. The output follows the input
/// order.
pub fn evaluate(rules: &[Rule], candidates: &[Candidate], now: DateTime<Utc>) -> Vec<Decision> {
    let active: Vec<(usize, &Rule)> = rules
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.disabled)
        .collect();
    let mut kept_by: Vec<Option<usize>> = vec![None; candidates.len()];
    for &(index, rule) in &active {
        // What this rule selects, per repository.
        let mut selected: Vec<usize> = (0..candidates.len())
            .filter(|&i| {
                let c = &candidates[i];
                rule.repositories.selects(&c.repository)
                    && rule.labels.iter().all(|l| c.labels.contains(l))
                    && if c.tags.is_empty() {
                        rule.untagged
                    } else {
                        c.tags.iter().any(|t| rule.tags.selects(t))
                    }
            })
            .collect();
        let mut repositories: Vec<&str> = selected
            .iter()
            .map(|&i| candidates[i].repository.as_str())
            .collect();
        repositories.sort_unstable();
        repositories.dedup();
        for repository in repositories {
            let mut in_repo: Vec<usize> = selected
                .iter()
                .copied()
                .filter(|&i| candidates[i].repository == repository)
                .collect();
            let retained = retain(rule.template, &mut in_repo, candidates, now);
            for i in retained {
                kept_by[i].get_or_insert(index);
            }
        }
        selected.clear();
    }
    let mut decisions: Vec<Decision> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let repo_selected = active
                .iter()
                .any(|(_, r)| r.repositories.selects(&c.repository));
            let untagged_selected = active
                .iter()
                .any(|(_, r)| r.untagged && r.repositories.selects(&c.repository));
            let (verdict, reason) = if let Some(rule) = kept_by[i] {
                (
                    Verdict::Keep,
                    format!("kept by rule {}: {}", rule + 1, rules[rule].describe()),
                )
            } else if !repo_selected {
                (
                    Verdict::Untouched,
                    "no rule selects this repository".to_string(),
                )
            } else if c.tags.is_empty() && !untagged_selected {
                (
                    Verdict::Untouched,
                    "untagged, and no rule includes untagged artifacts".to_string(),
                )
            } else if !c.immutable_tags.is_empty() {
                (
                    Verdict::Skip,
                    format!(
                        "no rule retains it, but immutable tag(s) {} protect it",
                        c.immutable_tags.join(", ")
                    ),
                )
            } else {
                (Verdict::Delete, "no rule retains it".to_string())
            };
            Decision {
                id: c.id,
                repository: c.repository.clone(),
                digest: c.digest.clone(),
                tags: c.tags.clone(),
                verdict,
                reason,
            }
        })
        .collect();
    keep_what_staying_indexes_need(candidates, &mut decisions);
    decisions
}

/// An index that stays keeps the images it references; repeated until nothing changes, so an
/// index of indexes keeps the images of its child indexes too.
fn keep_what_staying_indexes_need(candidates: &[Candidate], decisions: &mut [Decision]) {
    loop {
        let mut changed = false;
        for (i, parent) in candidates.iter().enumerate() {
            if parent.children.is_empty() || decisions[i].verdict == Verdict::Delete {
                continue;
            }
            let parent_name = display_name(parent);
            for (j, child) in candidates.iter().enumerate() {
                if decisions[j].verdict == Verdict::Delete
                    && child.repository == parent.repository
                    && parent.children.contains(&child.digest)
                {
                    decisions[j].verdict = Verdict::Keep;
                    decisions[j].reason =
                        format!("kept for index {parent_name}, which stays and references it");
                    changed = true;
                }
            }
        }
        if !changed {
            return;
        }
    }
}

fn display_name(c: &Candidate) -> String {
    if c.tags.is_empty() {
        format!("`{}`", c.digest)
    } else {
        format!("`{}`", c.tags.join("`, `"))
    }
}

/// The order a run deletes in: indexes before the images they reference, so that no index
/// is ever left pointing at a manifest that is already gone.
pub fn deletion_order(candidates: &[Candidate], decisions: &[Decision]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..decisions.len())
        .filter(|&i| decisions[i].verdict == Verdict::Delete)
        .collect();
    // Depth of each candidate below the indexes that reference it (0 = referenced by none).
    let depth = |i: usize| {
        let mut depth = 0;
        let mut frontier = vec![candidates[i].digest.as_str()];
        while depth < candidates.len() {
            let parents: Vec<&str> = candidates
                .iter()
                .filter(|p| {
                    p.repository == candidates[i].repository
                        && p.children.iter().any(|c| frontier.contains(&c.as_str()))
                })
                .map(|p| p.digest.as_str())
                .collect();
            if parents.is_empty() {
                break;
            }
            frontier = parents;
            depth += 1;
        }
        depth
    };
    order.sort_by_key(|&i| depth(i));
    order
}

/// `days` before `now`, or the earliest representable time when that is further back.
fn days_before(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    Duration::try_days(i64::from(days))
        .and_then(|d| now.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Applies a template to the selected artifacts of one repository.
fn retain(
    template: Template,
    selected: &mut [usize],
    candidates: &[Candidate],
    now: DateTime<Utc>,
) -> Vec<usize> {
    let newest_push = |a: &usize, b: &usize| {
        let (a, b) = (&candidates[*a], &candidates[*b]);
        b.push_time.cmp(&a.push_time).then(b.id.cmp(&a.id))
    };
    match template {
        Template::Always => selected.to_vec(),
        Template::LatestPushedK(k) => {
            selected.sort_by(newest_push);
            selected.iter().copied().take(k as usize).collect()
        }
        Template::LatestPulledN(n) => {
            selected.sort_by(|a, b| {
                let (ca, cb) = (&candidates[*a], &candidates[*b]);
                // Never pulled sorts after every pull; then newest push, then later stored.
                cb.pull_time
                    .cmp(&ca.pull_time)
                    .then_with(|| newest_push(a, b))
            });
            selected.iter().copied().take(n as usize).collect()
        }
        Template::NDaysSinceLastPush(days) => {
            let since = days_before(now, days);
            selected
                .iter()
                .copied()
                .filter(|&i| candidates[i].push_time >= since)
                .collect()
        }
        Template::NDaysSinceLastPull(days) => {
            let since = days_before(now, days);
            selected
                .iter()
                .copied()
                .filter(|&i| candidates[i].pull_time.is_some_and(|t| t >= since))
                .collect()
        }
    }
}

#[cfg(test)]
#[path = "retention_tests.rs"]
mod tests;
