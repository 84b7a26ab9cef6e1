//! Configuration as code: the policy blocks of the configuration file, reconciled into the
//! database at start. Idempotent; what changed is logged and audited.

use domain::policy::selector::Selector;

use crate::AppState;

/// Applies the configuration file's `immutable_tag_rules` (for every project). Returns the
/// changes, empty when the database already matched.
pub async fn apply(state: &AppState) -> anyhow::Result<Vec<String>> {
    let immutable: Vec<(Selector, Selector)> = state
        .config
        .immutable_tag_rules
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
    let diff = state
        .services
        .reconcile_config_immutable_rules(&immutable)
        .await
        .map_err(|e| anyhow::anyhow!("cannot apply immutable_tag_rules: {e}"))?;
    for change in &diff {
        tracing::info!(change, "configuration applied");
    }
    Ok(diff)
}

/// The configuration file's `retention` rules in the form of a project policy: `rule: tag`
/// keeps the `retain` most recently pushed matching tags, `rule: days` those pushed in the last
/// `retain` days, `rule: always` all matching tags.
pub fn retention_rules(config: &crate::config::Config) -> Vec<domain::policy::retention::Rule> {
    config
        .retention
        .iter()
        .map(crate::config::RetentionRule::to_rule)
        .collect()
}

/// The configuration file's policies as the console shows them ("from configuration").
pub fn config_view(config: &crate::config::Config) -> domain::types::dto::ConfigPoliciesView {
    use crate::config::RetentionRuleKind;
    let repos = |r: &Option<String>| {
        r.as_deref()
            .map(|r| format!(" in repositories {r}"))
            .unwrap_or_default()
    };
    domain::types::dto::ConfigPoliciesView {
        retention: config
            .retention
            .iter()
            .map(|r| match r.rule {
                RetentionRuleKind::Tag => format!(
                    "keep the {} most recently pushed tags matching {}{}",
                    r.retain.unwrap_or(0),
                    r.pattern,
                    repos(&r.repositories)
                ),
                RetentionRuleKind::Days => format!(
                    "keep tags matching {} pushed in the last {} days{}",
                    r.pattern,
                    r.retain.unwrap_or(0),
                    repos(&r.repositories)
                ),
                RetentionRuleKind::Always => format!(
                    "always keep tags matching {}{}",
                    r.pattern,
                    repos(&r.repositories)
                ),
            })
            .collect(),
        retention_schedule: config.retention_schedule.clone(),
        immutable: config
            .immutable_tag_rules
            .iter()
            .map(|r| format!("tags matching {}{}", r.pattern, repos(&r.repositories)))
            .collect(),
        per_project_quota: crate::config::units::human_limit(
            config.storage_quota.per_project.as_i64(),
        ),
        global_quota: crate::config::units::human_limit(config.storage_quota.global.as_i64()),
        gc_schedule: config.gc.schedule.clone(),
        gc_delete_untagged: config.gc.delete_untagged,
        gc_window: format!("{} minutes", config.gc.window.0.as_secs() / 60),
        managed_projects: config
            .policy_files
            .iter()
            .filter_map(|path| {
                let file = crate::policy_files::load(path).ok()?;
                Some(
                    file.projects
                        .into_iter()
                        .map(|p| (p.name, path.display().to_string()))
                        .collect::<Vec<_>>(),
                )
            })
            .flatten()
            .collect(),
    }
}
