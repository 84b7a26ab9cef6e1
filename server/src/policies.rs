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
