//! Data shown in the console and returned by the REST API, shared by server and browser.

use serde::{Deserialize, Serialize};

use super::Role;
use crate::policy::authz::RobotGrant;

/// A page of results and the total count across all pages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectView {
    pub id: i64,
    pub name: String,
    pub public: bool,
    pub owner: Option<String>,
    pub created_at: String,
    pub repo_count: u64,
    /// The caller's effective role, if a member.
    pub current_role: Option<Role>,
    pub storage_limit: i64,
    pub metadata: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    User,
    Group,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: i64,
    pub kind: MemberKind,
    pub name: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub project: Option<String>,
    pub permissions: Vec<RobotGrant>,
    pub disabled: bool,
    pub expires_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

/// A robot just created or refreshed: the only time its secret is visible.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotSecret {
    pub id: i64,
    pub name: String,
    pub secret: String,
    pub expires_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: String,
    /// Signs in through OpenID Connect (no local password).
    #[serde(default)]
    pub oidc: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub id: i64,
    pub name: String,
    pub group_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub op_time: String,
    pub actor_type: String,
    pub actor: String,
    pub source_ip: String,
    pub operation: String,
    pub resource_type: String,
    pub resource: String,
    pub project_id: Option<i64>,
    pub result: String,
    /// Why, for refusals that have a reason worth keeping (a failed single sign-on).
    #[serde(default)]
    pub detail: String,
}

/// Filters of the audit log view; empty fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub operation: Option<String>,
    pub resource_type: Option<String>,
    pub resource: Option<String>,
    pub project: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryView {
    pub id: i64,
    /// Full name: `project/name`.
    pub name: String,
    pub project_id: i64,
    pub artifact_count: u64,
    pub pull_count: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// A label (Harbor's shape): `scope` `g` (global) or `p` (of `project_id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub color: String,
    pub scope: String,
    pub project_id: Option<i64>,
    pub creation_time: String,
    pub update_time: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagView {
    pub name: String,
    pub push_time: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerView {
    pub digest: String,
    pub size: u64,
    /// `config`, `layer` or `manifest`.
    pub kind: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactView {
    pub id: i64,
    pub repository: String,
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    /// Manifest plus its unique blobs.
    pub size: u64,
    pub push_time: String,
    pub pull_time: Option<String>,
    pub pull_count: u64,
    pub pushed_by: String,
    pub tags: Vec<TagView>,
    /// `os/arch` of each image of an index.
    pub platforms: Vec<String>,
    /// Artifacts whose subject is this one (signatures, SBOMs, …).
    pub referrers: Vec<ArtifactRef>,
    /// The latest scan with the project's scanner, where the caller asked for it.
    #[serde(default)]
    pub scan: Option<crate::scan::report::Overview>,
    #[serde(default)]
    pub labels: Vec<LabelView>,
    /// `verified`, `invalid` or `unsigned`; empty for accessories (signatures, SBOMs).
    #[serde(default)]
    pub signed: String,
    #[serde(default)]
    pub signatures: Vec<SignatureView>,
    /// Digests of attestations and SBOMs attached to the artifact.
    #[serde(default)]
    pub attestations: Vec<String>,
    #[serde(default)]
    pub sboms: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    pub digest: String,
    pub artifact_type: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactDetail {
    pub artifact: ArtifactView,
    /// The manifest, pretty-printed.
    pub manifest: String,
    pub references: Vec<LayerView>,
    /// The image configuration, pretty-printed, for images.
    pub config: Option<String>,
    /// `created_by` of each history entry of the image configuration.
    pub history: Vec<String>,
    /// Platform and run settings, for images.
    #[serde(default)]
    pub image: Option<super::image::ImageSummary>,
    /// The image's layers in manifest order, each with the build step that made it.
    #[serde(default)]
    pub layers: Vec<super::image::LayerStep>,
    /// Every build step, including those that made no layer.
    #[serde(default)]
    pub build_history: Vec<super::image::HistoryStep>,
    /// Signatures, SBOMs and attestations whose subject is this artifact, in this repository.
    #[serde(default)]
    pub accessories: Vec<ArtifactView>,
}

/// The newest SBOM of an artifact and the packages it lists, as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SbomView {
    /// The SBOM's own manifest (a referrer, or cosign's `.sbom` tag).
    pub digest: String,
    /// The document's media type.
    pub media_type: String,
    /// `cyclonedx` or `spdx`, when recognised.
    pub format: Option<String>,
    /// Berth's version, when Berth generated it.
    pub generated_by: Option<String>,
    pub size: u64,
    pub push_time: String,
    pub packages: Vec<crate::scan::sbom::SbomPackage>,
}

/// An immutable tag rule as the API and console show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImmutableRuleView {
    pub id: i64,
    /// Empty for rules from the configuration file, which apply to every project.
    pub project: Option<String>,
    pub repo_pattern: String,
    pub repo_decoration: String,
    pub tag_pattern: String,
    pub tag_decoration: String,
    pub disabled: bool,
    pub source: String,
}

/// A trust anchor as the API and console show it: public material only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustAnchorView {
    pub id: i64,
    pub name: String,
    /// `cosign` (a public key) or `notation` (a CA certificate).
    pub kind: String,
    /// `project` or `system`.
    pub scope: String,
    pub project: Option<String>,
    /// `sha256:<hex>` of the key's or certificate's DER.
    pub fingerprint: String,
    pub algorithm: String,
    pub subject: Option<String>,
    pub not_after: Option<String>,
    pub public_key: Option<String>,
    pub certificate: Option<String>,
    pub creation_time: String,
    pub created_by: String,
}

/// One signature of an artifact as the API and console show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureView {
    /// `cosign` or `notation`.
    pub kind: String,
    /// `cosign`, `cosign-bundle` or `notation`.
    pub format: String,
    /// The signature artifact's digest.
    pub digest: String,
    /// The trusted anchor that verified it.
    pub key: Option<String>,
    pub verified: bool,
    pub reason: Option<String>,
}

/// A project's storage quota: its limit in bytes (-1 unlimited) and the bytes it uses (each
/// blob once per project, whichever repositories share it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaView {
    pub limit: i64,
    pub used: i64,
    /// Each repository's bytes, largest first (shared blobs appear in each repository).
    #[serde(default)]
    pub repositories: Vec<RepositoryUsage>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryUsage {
    pub name: String,
    pub used: i64,
}

/// Storage across the registry, for system administrators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemQuotaView {
    /// -1 unlimited.
    pub global_limit: i64,
    pub global_used: i64,
    /// The limit new projects get; -1 unlimited.
    pub default_project_limit: i64,
    /// Every project, largest usage first.
    pub projects: Vec<ProjectUsage>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectUsage {
    pub name: String,
    pub limit: i64,
    pub used: i64,
}

/// A project's retention policy. `source` is `project` (its own), `config` (the configuration
/// file's `retention` rules, which apply to projects without their own) or `none`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicyView {
    pub rules: Vec<crate::policy::retention::Rule>,
    pub source: String,
    /// Cron schedule (five fields, UTC) of automatic runs; `None` = manual runs only.
    #[serde(default)]
    pub schedule: Option<String>,
}

/// One retention run, real or dry, with every decision and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionExecutionView {
    pub id: i64,
    pub project: String,
    pub dry_run: bool,
    pub trigger: String,
    pub status: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub decisions: Vec<crate::policy::retention::Decision>,
    pub errors: Vec<String>,
}

impl RetentionExecutionView {
    /// How many decisions had this verdict.
    pub fn count(&self, verdict: crate::policy::retention::Verdict) -> usize {
        self.decisions
            .iter()
            .filter(|d| d.verdict == verdict)
            .count()
    }
}

/// What the configuration file declares about policies, shown read-only in the console and
/// marked "from configuration" there.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigPoliciesView {
    /// One line per `retention` rule, as written (`tag v* retain 10`).
    pub retention: Vec<String>,
    pub retention_schedule: Option<String>,
    /// One line per `immutable_tag_rules` entry.
    pub immutable: Vec<String>,
    /// `storage_quota.per_project` and `.global`, as written.
    pub per_project_quota: String,
    pub global_quota: String,
    pub gc_schedule: Option<String>,
    pub gc_delete_untagged: bool,
    pub gc_window: String,
    /// Projects whose policies a configured policy file declares: (project, file).
    #[serde(default)]
    pub managed_projects: Vec<(String, String)>,
}

/// What a run did (or, dry, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GcReport {
    pub dry_run: bool,
    pub untagged_artifacts_deleted: u64,
    pub links_removed: u64,
    pub blobs_deleted: u64,
    pub bytes_freed: u64,
    /// Blobs that were candidates in the mark phase but referenced again before the sweep.
    pub blobs_rescued: u64,
    pub elapsed_ms: u64,
}

/// One recorded garbage collection run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GcRun {
    pub id: i64,
    /// `manual` or `schedule`.
    pub trigger: String,
    pub actor: String,
    pub dry_run: bool,
    pub delete_untagged: bool,
    /// `running`, `success` or `error`.
    pub status: String,
    /// While running: `untagged`, `links` or `blobs`; then `done`.
    pub phase: String,
    pub done: i64,
    pub total: i64,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The report when finished, the error message when failed.
    pub report: Option<GcReport>,
    pub error: Option<String>,
}

/// A durable consumer of the domain events, as administrators see it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerStatus {
    pub name: String,
    /// The last event it finished.
    pub cursor: i64,
    /// Events written that it has not finished yet.
    pub lag: i64,
    /// The replica holding its lease, while the lease lasts.
    pub owner: Option<String>,
    pub lease_until: Option<String>,
    pub updated_at: String,
}

/// Every consumer and the newest event's id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventConsumersView {
    pub head: i64,
    pub consumers: Vec<ConsumerStatus>,
}
