//! Berth's configuration: the `berth.yml` shape (modelled on Harbor's `harbor.yml`), environment
//! overrides, `${VAR}` expansion, and validation errors that name the key and the line.

mod load;
pub mod units;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use load::{load, load_from_str, ConfigError, DEFAULT_CONFIG_YAML};
pub use units::{ByteLimit, HumanDuration};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub hostname: String,
    pub external_url: Option<String>,
    pub http: HttpConfig,
    pub https: Option<HttpsConfig>,
    pub data_dir: PathBuf,
    /// Where the keys every replica must share live (token signing, sealing):
    /// `<data_dir>/keys` when unset. Several replicas mount one directory here.
    pub keys_dir: Option<PathBuf>,
    pub database: DatabaseConfig,
    pub storage: StorageConfig,
    pub auth_mode: AuthMode,
    /// Minutes.
    pub token_expiration: u32,
    /// Minutes.
    pub session_timeout: u32,
    pub oidc: Option<OidcConfig>,
    pub trivy: Option<TrivyConfig>,
    pub clair: Option<ClairConfig>,
    pub scanning: ScanningConfig,
    pub retention: Vec<RetentionRule>,
    /// When the `retention` rules run by themselves (cron, five fields, UTC), in every project
    /// that follows them.
    pub retention_schedule: Option<String>,
    pub immutable_tag_rules: Vec<ImmutableTagRule>,
    /// Per-project policy files applied at every start (see `berth apply`).
    pub policy_files: Vec<PathBuf>,
    pub storage_quota: StorageQuota,
    pub registry: RegistryConfig,
    pub gc: GcConfig,
    pub outbound: OutboundConfig,
    pub log: LogConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            hostname: "localhost".into(),
            external_url: None,
            http: HttpConfig::default(),
            https: None,
            data_dir: PathBuf::from("./data"),
            keys_dir: None,
            database: DatabaseConfig::default(),
            storage: StorageConfig::default(),
            auth_mode: AuthMode::DbAuth,
            token_expiration: 30,
            session_timeout: 60,
            oidc: None,
            trivy: None,
            clair: None,
            scanning: ScanningConfig::default(),
            retention: Vec::new(),
            retention_schedule: None,
            immutable_tag_rules: Vec::new(),
            policy_files: Vec::new(),
            storage_quota: StorageQuota::default(),
            registry: RegistryConfig::default(),
            gc: GcConfig::default(),
            outbound: OutboundConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Config {
    /// The database URL in effect: the configured one, or SQLite inside the data directory.
    pub fn database_url(&self) -> String {
        match self.database.url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => url.to_string(),
            None => format!("sqlite://{}", self.data_dir.join("berth.db").display()),
        }
    }

    /// A key file in the keys directory.
    pub fn key_file(&self, name: &str) -> PathBuf {
        match &self.keys_dir {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(name),
            _ => self.data_dir.join("keys").join(name),
        }
    }

    /// The sealing key of OIDC refresh tokens: in the keys directory when one is configured,
    /// else where earlier versions created it (`<data_dir>/oidc-refresh.key`).
    pub fn oidc_seal_key_file(&self) -> PathBuf {
        match &self.keys_dir {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join("oidc-refresh.key"),
            _ => self.data_dir.join("oidc-refresh.key"),
        }
    }

    pub fn blob_root(&self) -> PathBuf {
        match &self.storage.filesystem.rootdirectory {
            Some(dir) if !dir.as_os_str().is_empty() => dir.clone(),
            _ => self.data_dir.join("blobs"),
        }
    }

    /// The URL clients use to reach Berth, without a trailing slash.
    pub fn external_url(&self) -> String {
        if let Some(url) = self.external_url.as_deref().filter(|u| !u.is_empty()) {
            return url.trim_end_matches('/').to_string();
        }
        match &self.https {
            Some(https) if https.port == 443 => format!("https://{}", self.hostname),
            Some(https) => format!("https://{}:{}", self.hostname, https.port),
            None if self.http.port == 80 => format!("http://{}", self.hostname),
            None => format!("http://{}:{}", self.hostname, self.http.port),
        }
    }

    /// Settings that parse and validate but whose feature is not part of this build yet;
    /// the server logs them at start so nobody believes they are enforced.
    pub fn inactive_settings(&self) -> Vec<&'static str> {
        let mut inactive = Vec::new();
        if self
            .trivy
            .as_ref()
            .is_some_and(|t| t.github_token.is_some())
        {
            inactive.push("trivy.github_token (Berth's scanner reads OSV data, not GitHub)");
        }
        inactive
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub port: u16,
    pub bind: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            port: 8080,
            bind: "0.0.0.0".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpsConfig {
    #[serde(default = "default_https_port")]
    pub port: u16,
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    #[serde(default = "default_true")]
    pub redirect_http: bool,
    #[serde(default = "default_hsts_max_age")]
    pub hsts_max_age: u64,
}

fn default_https_port() -> u16 {
    8443
}
fn default_true() -> bool {
    true
}
fn default_hsts_max_age() -> u64 {
    31_536_000
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: Option<String>,
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 16,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub filesystem: FilesystemStorage,
    pub s3: Option<S3Storage>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FilesystemStorage {
    pub rootdirectory: Option<PathBuf>,
}

/// `storage.s3`: distribution's S3 driver settings, the subset Berth uses.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct S3Storage {
    pub bucket: String,
    /// AWS region (`us-east-1` when unset; S3-compatible services mostly ignore it).
    pub region: Option<String>,
    /// `https://host:port` of an S3-compatible service; AWS when unset.
    pub regionendpoint: Option<String>,
    /// Credentials; from the environment (`AWS_ACCESS_KEY_ID`, …) or the instance role when
    /// unset.
    pub accesskey: Option<String>,
    pub secretkey: Option<Secret>,
    /// Key prefix inside the bucket.
    pub rootdirectory: Option<String>,
    /// `https` for a `regionendpoint` given without a scheme (default true).
    #[serde(default = "yes")]
    pub secure: bool,
    /// Signature version 4; the only one Berth speaks (default true; false is refused).
    #[serde(default = "yes")]
    pub v4auth: bool,
    /// Path-style requests (`endpoint/bucket/key`): default true with a `regionendpoint`,
    /// false on AWS.
    pub forcepathstyle: Option<bool>,
    /// Multipart part size in bytes (default 8 MiB; at least 5 MiB).
    #[serde(default = "default_chunksize")]
    pub chunksize: ByteLimit,
    /// Requests moving bytes at once per process; each holds at most two parts in memory, so
    /// upload memory stays below `2 × chunksize × maxbuffers` (default 16).
    #[serde(default = "default_maxbuffers")]
    pub maxbuffers: usize,
    /// Answer blob downloads with a 307 to a presigned URL (default false).
    #[serde(default)]
    pub redirect: bool,
    /// How long such a URL is valid (default 20m).
    #[serde(default = "default_redirect_expiry")]
    pub redirectexpiry: HumanDuration,
}

fn yes() -> bool {
    true
}

fn default_chunksize() -> ByteLimit {
    ByteLimit::Bytes(8 * 1024 * 1024)
}

fn default_maxbuffers() -> usize {
    16
}

fn default_redirect_expiry() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(20 * 60))
}

impl S3Storage {
    /// The object store's settings; an error names the setting that is wrong.
    pub fn settings(&self) -> Result<domain::storage::s3::S3Settings, String> {
        use domain::storage::s3::{S3Settings, MIN_PART};
        if !self.v4auth {
            return Err(
                "storage.s3.v4auth: Berth signs requests with signature version 4 only".into(),
            );
        }
        let part_size = match self.chunksize {
            ByteLimit::Bytes(b) if b >= MIN_PART as u64 && b <= 5 * 1024 * 1024 * 1024 => b,
            _ => {
                return Err(format!(
                    "storage.s3.chunksize: between {MIN_PART} bytes (S3's smallest part) and 5 GiB"
                ))
            }
        };
        if self.maxbuffers == 0 {
            return Err("storage.s3.maxbuffers: at least 1".into());
        }
        let endpoint = self.regionendpoint.as_ref().map(|e| {
            if e.contains("://") {
                e.trim_end_matches('/').to_string()
            } else if self.secure {
                format!("https://{}", e.trim_end_matches('/'))
            } else {
                format!("http://{}", e.trim_end_matches('/'))
            }
        });
        let mut settings = S3Settings::new(&self.bucket);
        if let Some(region) = &self.region {
            settings.region = region.clone();
        }
        settings.path_style = self.forcepathstyle.unwrap_or(endpoint.is_some());
        settings.endpoint = endpoint;
        settings.access_key = self.accesskey.clone();
        settings.secret_key = self.secretkey.as_ref().map(|s| s.expose().to_string());
        settings.root = self.rootdirectory.clone().unwrap_or_default();
        settings.part_size = part_size as usize;
        settings.max_buffers = self.maxbuffers;
        settings.redirect = self.redirect.then_some(self.redirectexpiry.0);
        Ok(settings)
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    #[default]
    DbAuth,
    OidcAuth,
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthMode::DbAuth => "db_auth",
            AuthMode::OidcAuth => "oidc_auth",
        })
    }
}

/// A value that must not reach logs: `Debug` and `Serialize` mask it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    #[serde(default = "default_oidc_name")]
    pub name: String,
    pub endpoint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    #[serde(default = "default_oidc_scope")]
    pub scope: String,
    #[serde(default = "default_true")]
    pub verify_cert: bool,
    #[serde(default)]
    pub auto_onboard: bool,
    pub user_claim: Option<String>,
    pub groups_claim: Option<String>,
    pub admin_group: Option<String>,
    pub group_filter: Option<String>,
    #[serde(default)]
    pub extra_redirect_params: BTreeMap<String, String>,
    /// How long a generated CLI secret stays valid (Berth's own setting; default 90 days).
    #[serde(default = "default_cli_secret_lifetime")]
    pub cli_secret_lifetime: HumanDuration,
    /// How often, at most, a CLI secret's use re-checks the user's session at the provider by
    /// refreshing their token (Berth's own setting; default 15 minutes).
    #[serde(default = "default_refresh_check")]
    pub refresh_check_interval: HumanDuration,
}

fn default_cli_secret_lifetime() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(90 * 86_400))
}
fn default_refresh_check() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(15 * 60))
}

fn default_oidc_name() -> String {
    "OIDC".into()
}
fn default_oidc_scope() -> String {
    "openid,profile,email".into()
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrivyConfig {
    pub skip_update: bool,
    pub ignore_unfixed: bool,
    pub insecure: bool,
    pub offline_scan: bool,
    pub github_token: Option<Secret>,
    pub timeout: Option<HumanDuration>,
}

/// Berth's own scanning settings (the `trivy`/`clair` sections keep their Harbor meaning:
/// `trivy.ignore_unfixed`, `clair.updaters_interval`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScanningConfig {
    /// Scans run at the same time by one replica; the rest wait in the queue.
    pub workers: usize,
    /// Refuse pulls of artifacts without a report in projects that prevent vulnerable images.
    pub block_unscanned: bool,
    /// Where the vulnerability database is (re-)imported from every `updaters_interval`: an OSV
    /// directory, `.json` or `.zip` file, or an `http(s)://` URL of a `.zip` or `.json`.
    pub vulndb_source: Option<String>,
    /// Serve Harbor's pluggable-scanner API (`/api/v1/metadata`, `/api/v1/scan`) so other
    /// registries can use Berth's scanner.
    pub adapter: bool,
}

impl Default for ScanningConfig {
    fn default() -> Self {
        Self {
            workers: 1,
            block_unscanned: false,
            vulndb_source: None,
            adapter: true,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClairConfig {
    pub updaters_interval: Option<HumanDuration>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RetentionRuleKind {
    /// Keep the `retain` most recently pushed matching tags.
    Tag,
    /// Keep matching tags pushed within the last `retain` days.
    Days,
    /// Always keep matching tags.
    Always,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    pub rule: RetentionRuleKind,
    pub pattern: String,
    pub retain: Option<u32>,
    /// Repository selector (doublestar); every repository when absent.
    pub repositories: Option<String>,
    /// Berth: only artifacts carrying every one of these labels (by name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

impl RetentionRule {
    /// The configuration-shaped rule (`rule`, `pattern`, `retain`, `repositories`) as a
    /// policy rule.
    pub fn to_rule(&self) -> domain::policy::retention::Rule {
        use domain::policy::retention::{Rule, Template};
        use domain::policy::selector::Selector;
        Rule {
            repositories: self
                .repositories
                .as_deref()
                .map(Selector::matches)
                .unwrap_or_else(Selector::everything),
            tags: Selector::matches(self.pattern.clone()),
            untagged: false,
            template: match self.rule {
                RetentionRuleKind::Tag => Template::LatestPushedK(self.retain.unwrap_or(0)),
                RetentionRuleKind::Days => Template::NDaysSinceLastPush(self.retain.unwrap_or(0)),
                RetentionRuleKind::Always => Template::Always,
            },
            disabled: false,
            labels: self.labels.clone(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImmutableTagRule {
    pub pattern: String,
    /// Repository selector (doublestar); every repository when absent.
    pub repositories: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageQuota {
    pub per_project: ByteLimit,
    pub global: ByteLimit,
}

impl Default for StorageQuota {
    fn default() -> Self {
        Self {
            per_project: ByteLimit::Unlimited,
            global: ByteLimit::Unlimited,
        }
    }
}

/// Scheduled garbage collection.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GcConfig {
    /// Cron schedule (five fields, UTC); none = manual runs only.
    pub schedule: Option<String>,
    /// Scheduled runs also delete untagged artifacts.
    pub delete_untagged: bool,
    /// Blobs, links and untagged artifacts younger than this are never collected.
    pub window: HumanDuration,
}

impl Default for GcConfig {
    fn default() -> Self {
        Self {
            schedule: None,
            delete_untagged: false,
            window: HumanDuration(std::time::Duration::from_secs(2 * 3600)),
        }
    }
}

/// Calls Berth makes to addresses administrators typed (replication remotes).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundConfig {
    /// Networks beyond the public internet Berth may call (CIDR): loopback, link-local,
    /// private and other inward addresses are refused unless listed here.
    pub allowed_networks: Vec<crate::outbound::Network>,
}

/// Registry behaviour.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryConfig {
    /// Upload sessions untouched this long are removed with their bytes.
    pub upload_expiry: HumanDuration,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            upload_expiry: HumanDuration(std::time::Duration::from_secs(24 * 3600)),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}
