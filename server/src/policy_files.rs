//! Per-project policy files: configuration as code for a project's visibility, storage limit,
//! immutable tag rules and tag retention. Declared in `berth.yml` (`policy_files:`, applied at
//! every start) or applied with `berth apply <file>`. A file is authoritative for what it names:
//! the project is created if missing, and a project's immutable rules and retention policy are
//! made exactly what the file says; settings the file leaves out are left alone. Applying is
//! idempotent and reports the changes, or that there were none.
//!
//! ```yaml
//! projects:
//!   - name: payments
//!     public: false
//!     storage_limit: 50GB
//!     immutable_tag_rules:
//!       - pattern: "release-*"
//!     retention:
//!       schedule: "0 3 * * *"
//!       rules:
//!         - rule: tag
//!           pattern: "v*"
//!           retain: 10
//!     trust_anchors:            # exactly these (by name); others are removed
//!       - name: release
//!         kind: cosign          # or notation, with `certificate` / `certificate_file`
//!         public_key_file: /etc/berth/keys/release.pub
//! ```

use std::path::Path;

use domain::policy::selector::Selector;
use domain::service::immutability::RuleInput;
use domain::service::projects::{NewProject, ProjectUpdate};
use domain::service::{Actor, DomainError, Principal, UserPrincipal};
use serde::Deserialize;

use crate::config::{ByteLimit, ImmutableTagRule, RetentionRule};
use crate::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    pub projects: Vec<ProjectPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectPolicy {
    pub name: String,
    pub public: Option<bool>,
    pub storage_limit: Option<ByteLimit>,
    pub immutable_tag_rules: Option<Vec<ImmutableTagRule>>,
    pub retention: Option<ProjectRetention>,
    /// The project's trusted signers, exactly (see `docs/signing.md`).
    pub trust_anchors: Option<Vec<TrustAnchorPolicy>>,
}

/// A trust anchor as a policy file declares it: the PEM inline or in a file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustAnchorPolicy {
    pub name: String,
    /// `cosign` or `notation`.
    pub kind: String,
    pub public_key: Option<String>,
    pub public_key_file: Option<std::path::PathBuf>,
    pub certificate: Option<String>,
    pub certificate_file: Option<std::path::PathBuf>,
}

impl TrustAnchorPolicy {
    fn pem(
        inline: &Option<String>,
        file: &Option<std::path::PathBuf>,
    ) -> anyhow::Result<Option<String>> {
        match (inline, file) {
            (Some(_), Some(_)) => anyhow::bail!("give the PEM inline or as a file, not both"),
            (Some(text), None) => Ok(Some(text.clone())),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(Some)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display())),
            (None, None) => Ok(None),
        }
    }

    /// The anchor as the trust service takes it.
    fn input(&self) -> anyhow::Result<domain::service::trust::AnchorInput> {
        let context = |e: anyhow::Error| anyhow::anyhow!("trust anchor `{}`: {e}", self.name);
        Ok(domain::service::trust::AnchorInput {
            name: self.name.clone(),
            kind: self.kind.clone(),
            public_key: Self::pem(&self.public_key, &self.public_key_file).map_err(context)?,
            certificate: Self::pem(&self.certificate, &self.certificate_file).map_err(context)?,
        })
    }
}

/// What identifies an anchor for comparison: name, kind and the DER's fingerprint.
fn anchor_key(name: &str, kind: &str, pem: Option<&str>) -> String {
    let fingerprint = pem
        .and_then(domain::signing::anchors::der_of)
        .map(|der| domain::signing::anchors::fingerprint(&der))
        .unwrap_or_default();
    format!("{name} ({kind}, {fingerprint})")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectRetention {
    pub schedule: Option<String>,
    #[serde(default)]
    pub rules: Vec<RetentionRule>,
}

/// Reads a policy file; errors name the file and the key.
pub fn load(path: &Path) -> anyhow::Result<PolicyFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read policy file {}: {e}", path.display()))?;
    parse(&text).map_err(|e| anyhow::anyhow!("policy file {}: {e}", path.display()))
}

pub fn parse(text: &str) -> anyhow::Result<PolicyFile> {
    let de = serde_yaml::Deserializer::from_str(text);
    let file: PolicyFile = serde_path_to_error::deserialize(de)
        .map_err(|e| anyhow::anyhow!("`{}`: {}", e.path(), e.inner()))?;
    Ok(file)
}

/// Acts as the first system administrator (policy files are an administrator's tool, and the
/// audit log then says who they act for).
async fn actor(state: &AppState) -> anyhow::Result<Actor> {
    let admin =
        state.services.first_admin().await?.ok_or_else(|| {
            anyhow::anyhow!("no system administrator exists to apply policies as")
        })?;
    Ok(Actor::new(
        Principal::User(UserPrincipal {
            id: admin.0,
            username: admin.1,
            is_admin: true,
        }),
        "policy file",
    ))
}

fn rule_key(repositories: &Selector, tags: &Selector) -> String {
    format!(
        "repositories {} {:?}, tags {} {:?}",
        repositories.pattern, repositories.decoration, tags.pattern, tags.decoration
    )
}

/// Applies a file (or, with `dry_run`, only works out what would change). Returns the changes.
pub async fn apply(
    state: &AppState,
    file: &PolicyFile,
    dry_run: bool,
) -> anyhow::Result<Vec<String>> {
    let actor = actor(state).await?;
    let services = &state.services;
    let mut diff = Vec::new();
    for p in &file.projects {
        let name = p.name.as_str();
        let existing = match services.get_project(&actor, name).await {
            Ok(view) => Some(view),
            Err(DomainError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let Some(view) = existing else {
            diff.push(format!("project {name}: create"));
            if !dry_run {
                services
                    .create_project(
                        &actor,
                        NewProject {
                            name: name.into(),
                            public: p.public.unwrap_or(false),
                            storage_limit: p.storage_limit.map(ByteLimit::as_i64),
                            ..Default::default()
                        },
                    )
                    .await?;
            }
            if dry_run {
                // Everything below would be added to the new, empty project.
                for r in p.immutable_tag_rules.iter().flatten() {
                    diff.push(format!(
                        "project {name}: add immutable rule for tags {}",
                        r.pattern
                    ));
                }
                if let Some(r) = &p.retention {
                    diff.push(format!(
                        "project {name}: set {} retention rule(s)",
                        r.rules.len()
                    ));
                }
                for a in p.trust_anchors.iter().flatten() {
                    diff.push(format!("project {name}: trust {} key {}", a.kind, a.name));
                }
                continue;
            }
            apply_rules(state, &actor, p, dry_run, &mut diff).await?;
            continue;
        };
        let mut update = ProjectUpdate {
            public: None,
            metadata: Default::default(),
            storage_limit: None,
        };
        if let Some(public) = p.public.filter(|v| *v != view.public) {
            diff.push(format!("project {name}: public {} → {public}", view.public));
            update.public = Some(public);
        }
        if let Some(limit) = p
            .storage_limit
            .map(ByteLimit::as_i64)
            .filter(|l| *l != view.storage_limit)
        {
            diff.push(format!(
                "project {name}: storage limit {} → {}",
                crate::config::units::human_limit(view.storage_limit),
                crate::config::units::human_limit(limit)
            ));
            update.storage_limit = Some(limit);
        }
        if !dry_run && (update.public.is_some() || update.storage_limit.is_some()) {
            services.update_project(&actor, name, update).await?;
        }
        apply_rules(state, &actor, p, dry_run, &mut diff).await?;
    }
    Ok(diff)
}

async fn apply_rules(
    state: &AppState,
    actor: &Actor,
    p: &ProjectPolicy,
    dry_run: bool,
    diff: &mut Vec<String>,
) -> anyhow::Result<()> {
    let services = &state.services;
    let name = p.name.as_str();
    if let Some(wanted) = &p.immutable_tag_rules {
        let wanted: Vec<(Selector, Selector)> = wanted
            .iter()
            .map(|r| {
                (
                    r.repositories
                        .as_deref()
                        .map(Selector::matches)
                        .unwrap_or_else(Selector::everything),
                    Selector::matches(r.pattern.clone()),
                )
            })
            .collect();
        let current: Vec<_> = services
            .list_immutable_rules(actor, name)
            .await?
            .into_iter()
            .filter(|r| r.source != "config")
            .collect();
        let current_keys: Vec<(i64, String)> = current
            .iter()
            .map(|r| {
                let repo = Selector {
                    pattern: r.repo_pattern.clone(),
                    decoration: decoration(&r.repo_decoration),
                };
                let tags = Selector {
                    pattern: r.tag_pattern.clone(),
                    decoration: decoration(&r.tag_decoration),
                };
                (r.id, rule_key(&repo, &tags))
            })
            .collect();
        let wanted_keys: Vec<String> = wanted.iter().map(|(r, t)| rule_key(r, t)).collect();
        for (id, key) in &current_keys {
            if !wanted_keys.contains(key) {
                diff.push(format!("project {name}: remove immutable rule ({key})"));
                if !dry_run {
                    services.delete_immutable_rule(actor, name, *id).await?;
                }
            }
        }
        for ((repositories, tags), key) in wanted.into_iter().zip(wanted_keys) {
            if !current_keys.iter().any(|(_, k)| *k == key) {
                diff.push(format!("project {name}: add immutable rule ({key})"));
                if !dry_run {
                    services
                        .create_immutable_rule(
                            actor,
                            name,
                            RuleInput {
                                repositories,
                                tags,
                                disabled: false,
                            },
                        )
                        .await?;
                }
            }
        }
    }
    if let Some(retention) = &p.retention {
        let rules: Vec<_> = retention.rules.iter().map(RetentionRule::to_rule).collect();
        let current = services.get_retention_policy(actor, name).await?;
        let own = current.source == "project";
        let changed = if rules.is_empty() && retention.schedule.is_none() {
            own // an empty policy: remove the project's own rules, if it has any
        } else {
            !own || current.rules != rules || current.schedule != retention.schedule
        };
        if changed {
            diff.push(format!(
                "project {name}: retention policy → {} rule(s), {}",
                rules.len(),
                retention
                    .schedule
                    .as_deref()
                    .map(|s| format!("schedule {s}"))
                    .unwrap_or_else(|| "manual runs".into())
            ));
            if !dry_run {
                services
                    .set_retention_policy(actor, name, rules, retention.schedule.clone())
                    .await?;
            }
        }
    }
    if let Some(wanted) = &p.trust_anchors {
        apply_anchors(state, actor, name, wanted, dry_run, diff).await?;
    }
    Ok(())
}

/// Makes the project's trust anchors exactly `wanted`: an anchor whose name, kind or key
/// differs is replaced, one the file does not name is removed.
async fn apply_anchors(
    state: &AppState,
    actor: &Actor,
    name: &str,
    wanted: &[TrustAnchorPolicy],
    dry_run: bool,
    diff: &mut Vec<String>,
) -> anyhow::Result<()> {
    use domain::service::trust::AnchorScope;
    let services = &state.services;
    let inputs = wanted
        .iter()
        .map(TrustAnchorPolicy::input)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let wanted_keys: Vec<String> = inputs
        .iter()
        .map(|i| {
            anchor_key(
                &i.name,
                &i.kind,
                i.public_key.as_deref().or(i.certificate.as_deref()),
            )
        })
        .collect();
    let current = services
        .list_trust_anchors(actor, AnchorScope::Project(name))
        .await?;
    let current_keys: Vec<(i64, String)> = current
        .iter()
        .map(|a| (a.id, format!("{} ({}, {})", a.name, a.kind, a.fingerprint)))
        .collect();
    for (id, key) in &current_keys {
        if !wanted_keys.contains(key) {
            diff.push(format!("project {name}: remove trust anchor {key}"));
            if !dry_run {
                services
                    .delete_trust_anchor(actor, AnchorScope::Project(name), *id)
                    .await?;
            }
        }
    }
    for (input, key) in inputs.into_iter().zip(wanted_keys) {
        if !current_keys.iter().any(|(_, k)| *k == key) {
            diff.push(format!("project {name}: add trust anchor {key}"));
            if !dry_run {
                services
                    .create_trust_anchor(actor, AnchorScope::Project(name), input)
                    .await?;
            }
        }
    }
    Ok(())
}

fn decoration(text: &str) -> domain::policy::selector::Decoration {
    if text == "excludes" {
        domain::policy::selector::Decoration::Excludes
    } else {
        domain::policy::selector::Decoration::Matches
    }
}

/// Applies the configuration's `policy_files` at start, logging each change.
pub async fn apply_configured(state: &AppState) -> anyhow::Result<()> {
    for path in &state.config.policy_files {
        let file = load(path)?;
        let diff = apply(state, &file, false).await?;
        if diff.is_empty() {
            tracing::info!(file = %path.display(), "policy file: no changes");
        }
        for change in diff {
            tracing::info!(file = %path.display(), change, "policy file applied");
        }
    }
    Ok(())
}
