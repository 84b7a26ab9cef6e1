//! Replication as the REST API and the console show it, in Harbor's shape: registries,
//! policies, executions and tasks.

use serde::{Deserialize, Serialize};

use crate::policy::replication::{Filter, SecurityGate};

/// What Berth shows in place of a stored secret.
pub const MASKED_SECRET: &str = "*****";

/// A registry's credential as shown: the secret is never returned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialView {
    /// `basic` or `secret`.
    #[serde(rename = "type")]
    pub kind: String,
    pub access_key: String,
    /// `*****` when a secret is stored, else empty.
    pub access_secret: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryView {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// `harbor` or `docker-registry`.
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub credential: CredentialView,
    pub insecure: bool,
    /// Whether a CA certificate is configured (the certificate itself is in `ca_certificate`).
    #[serde(default)]
    pub ca_certificate: String,
    /// `healthy`, `unhealthy` or `unknown`.
    pub status: String,
    pub creation_time: String,
    pub update_time: String,
}

/// What `GET /registries/{id}/info` answers: the remote's type and the filters it supports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryInfo {
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub supported_resource_filters: Vec<FilterStyle>,
    pub supported_triggers: Vec<String>,
    pub supported_copy_by_chunk: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterStyle {
    #[serde(rename = "type")]
    pub kind: String,
    pub style: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// The registry a policy names: `{id}`; id 0 (or none) is this registry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryRef {
    #[serde(default)]
    pub id: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerSettings {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cron: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// `manual`, `scheduled` or `event_based`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub trigger_settings: TriggerSettings,
}

impl Default for Trigger {
    fn default() -> Self {
        Self {
            kind: "manual".into(),
            trigger_settings: TriggerSettings::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub creator: String,
    /// The source; id 0 is this registry.
    pub src_registry: RegistryView,
    pub dest_registry: RegistryView,
    pub dest_namespace: String,
    pub dest_namespace_replace_count: i32,
    pub filters: Vec<Filter>,
    pub trigger: Trigger,
    pub replicate_deletion: bool,
    /// Harbor's older name of `replicate_deletion`, echoed for older clients.
    pub deletion: bool,
    #[serde(rename = "override")]
    pub override_: bool,
    pub enabled: bool,
    /// KiB/s for the whole policy, shared by its parallel tasks; -1 or 0 is unlimited.
    pub speed: i32,
    pub copy_by_chunk: bool,
    /// Berth: copy only these platforms of an index (`os/arch[/variant]`); empty copies all.
    pub platforms: Vec<String>,
    /// Berth: what an artifact must satisfy to be copied.
    pub security: SecurityGate,
    pub creation_time: String,
    pub update_time: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionView {
    pub id: i64,
    pub policy_id: i64,
    /// `Pending`, `InProgress`, `Succeed`, `Failed` or `Stopped`.
    pub status: String,
    pub status_text: String,
    /// `manual`, `scheduled` or `event_based`.
    pub trigger: String,
    pub total: i64,
    pub failed: i64,
    pub succeed: i64,
    pub in_progress: i64,
    pub stopped: i64,
    /// Berth: tasks the policy's security gate kept back.
    pub skipped: i64,
    pub start_time: String,
    pub end_time: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskView {
    pub id: i64,
    pub execution_id: i64,
    pub resource_type: String,
    pub src_resource: String,
    pub dst_resource: String,
    /// `copy` or `deletion`.
    pub operation: String,
    /// `Pending`, `InProgress`, `Succeed`, `Failed`, `Stopped` or `Skipped`.
    pub status: String,
    pub status_text: String,
    pub attempts: i32,
    pub bytes_done: i64,
    pub bytes_total: i64,
    pub next_retry_time: String,
    pub start_time: String,
    pub end_time: String,
}

/// Task and execution statuses.
pub mod status {
    pub const PENDING: &str = "Pending";
    pub const IN_PROGRESS: &str = "InProgress";
    pub const SUCCEED: &str = "Succeed";
    pub const FAILED: &str = "Failed";
    pub const STOPPED: &str = "Stopped";
    pub const SKIPPED: &str = "Skipped";
}
