//! Event-based replication: the durable consumer of the domain events. A push, a new or moved
//! tag (and, for policies with `replicate_deletion`, a deleted tag or artifact) in a
//! repository an enabled `event_based` push-mode policy selects becomes a task of a new
//! execution of that policy, written in the transaction that advances the consumer's cursor:
//! nothing is lost across a restart, nothing is queued twice. A destination that is down gets
//! its tasks when it returns (they wait with a retry time).

use std::collections::BTreeMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use super::executions::{insert_execution, NewTask};
use super::policies::Policy;
use crate::entities::{artifact_label, event, label, replication_policy};
use crate::policy::replication::{destination_repository, selects_artifact, selects_repository};
use crate::service::DomainResult;

/// The consumer's name in `event_consumers`.
pub const REPLICATE_ON_EVENT: &str = "replication";

/// The consumer's handler.
pub struct ReplicateOnEvent;

/// What one event asks to replicate.
struct Change {
    repository: String,
    digest: String,
    tags: Vec<String>,
    /// The one tag the event is about (`tag.*` and a push by tag).
    tag: Option<String>,
    artifact_id: Option<i64>,
    deletion: bool,
}

fn change_of(e: &event::Model) -> Option<Change> {
    if e.outcome != "success" {
        return None;
    }
    let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
    let text = |k: &str| payload.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let deletion = match e.kind.as_str() {
        "artifact.push" | "tag.create" | "tag.move" => false,
        "tag.delete" | "artifact.delete" => true,
        _ => return None,
    };
    Some(Change {
        repository: e.repository.clone()?,
        digest: text("digest")?,
        tag: text("tag"),
        tags: match text("tag") {
            Some(t) => vec![t],
            // An artifact's deletion names every tag it had.
            None => payload
                .get("tags")
                .and_then(|t| t.as_array())
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
        },
        artifact_id: payload.get("artifact_id").and_then(|v| v.as_i64()),
        deletion,
    })
}

/// The policy whose replication made an event (its actor is the `replication` identity with
/// the policy in the source field), so its copies are not sent back where they came from.
fn origin_policy(e: &event::Model) -> Option<&str> {
    (e.actor == "replication")
        .then(|| e.source_ip.strip_prefix("replication policy "))
        .flatten()
}

async fn labels_of(conn: &impl ConnectionTrait, artifact_id: i64) -> DomainResult<Vec<String>> {
    let ids: Vec<i64> = artifact_label::Entity::find()
        .filter(artifact_label::Column::ArtifactId.eq(artifact_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.label_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(label::Entity::find()
        .filter(label::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.name)
        .collect())
}

impl crate::service::events::consumer::Handler for ReplicateOnEvent {
    async fn handle(&self, txn: &DatabaseTransaction, events: &[event::Model]) -> DomainResult<()> {
        let changes: Vec<(&event::Model, Change)> = events
            .iter()
            .filter_map(|e| change_of(e).map(|c| (e, c)))
            .collect();
        if changes.is_empty() {
            return Ok(());
        }
        let all = replication_policy::Entity::find()
            .filter(replication_policy::Column::TriggerType.eq("event_based"))
            .filter(replication_policy::Column::Enabled.eq(true))
            .filter(replication_policy::Column::SrcRegistryId.is_null())
            .all(txn)
            .await?;
        if all.is_empty() {
            return Ok(());
        }
        let policies: Vec<Policy> = all.into_iter().map(Policy::of).collect();
        // The remote each policy's own copies came from (pull mode), by policy name.
        let sources: BTreeMap<String, i64> = replication_policy::Entity::find()
            .filter(replication_policy::Column::SrcRegistryId.is_not_null())
            .all(txn)
            .await?
            .into_iter()
            .filter_map(|p| Some((p.name, p.src_registry_id?)))
            .collect();
        let mut planned: BTreeMap<i64, Vec<NewTask>> = BTreeMap::new();
        for (e, c) in changes {
            let came_from = origin_policy(e).and_then(|name| sources.get(name)).copied();
            let labels = match c.artifact_id {
                Some(id) if !c.deletion => labels_of(txn, id).await?,
                _ => Vec::new(),
            };
            for p in &policies {
                if c.deletion && !p.row.replicate_deletion {
                    continue;
                }
                if came_from.is_some() && came_from == p.row.dest_registry_id {
                    continue;
                }
                if !selects_repository(&p.filters, &c.repository) {
                    continue;
                }
                // An event names an artifact that the policy's filters judge by its tags and
                // labels.
                let Some(kept) = selects_artifact(&p.filters, true, &c.tags, &labels) else {
                    continue;
                };
                let Ok(dst) = destination_repository(
                    &c.repository,
                    &p.row.dest_namespace,
                    p.row.dest_namespace_replace_count,
                ) else {
                    continue;
                };
                // A deleted artifact goes by digest; a deleted tag by its name where the
                // destination can delete tags.
                let named = if c.deletion && c.tag.is_none() {
                    Vec::new()
                } else {
                    kept
                };
                let resource = |repo: &str| format!("{repo}:[{}]", named.join(","));
                planned.entry(p.row.id).or_default().push(NewTask {
                    operation: if c.deletion { "deletion" } else { "copy" },
                    src_resource: resource(&c.repository),
                    dst_resource: resource(&dst),
                    digest: Some(c.digest.clone()),
                });
            }
        }
        for (policy_id, tasks) in planned {
            insert_execution(txn, policy_id, "event_based", tasks).await?;
        }
        Ok(())
    }
}
