//! Shared application state handed to every handler.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRef;
use domain::db::Database as DatabaseConnection;
use domain::types::InstanceInfo;
use leptos::config::LeptosOptions;

use crate::auth::token::TokenKeys;
use crate::auth::token::TOKEN_KEY_FILE;
use crate::config::Config;

/// The sealing key of secrets kept in the database (scanner credentials), in the keys directory.
pub const SECRETS_KEY_FILE: &str = "secrets.key";
use crate::observability::Metrics;
use domain::service::registry::{Registry, RegistrySettings};
use domain::service::{ServiceSettings, Services};
use domain::storage::fs::FsBlobStore;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub leptos: LeptosOptions,
    pub metrics: Arc<Metrics>,
    pub instance: InstanceInfo,
    pub services: Services,
    pub tokens: Arc<TokenKeys>,
    pub registry: Registry,
    /// The OpenID provider under `auth_mode: oidc_auth`.
    pub oidc: Option<Arc<crate::oidc::Oidc>>,
    pub scans: domain::service::scans::Scans,
    /// Bounds the adapter's scans for other registries like the worker pool bounds ours.
    pub adapter_permits: Arc<tokio::sync::Semaphore>,
    /// Seals secrets kept in the database (scanner credentials).
    pub secrets: Arc<crate::sealed::Sealer>,
    /// This process among the replicas: who holds an event consumer's lease.
    pub replica_id: Arc<str>,
    /// The one guard of every outbound call to an address an administrator typed.
    pub outbound: crate::outbound::Outbound,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

impl AppState {
    /// Builds the state; creates the token signing key in the data directory on first start.
    pub fn new(config: Config, db: DatabaseConnection, site_root: PathBuf) -> anyhow::Result<Self> {
        let leptos = LeptosOptions::builder()
            .output_name("berth")
            .site_root(site_root.display().to_string())
            .site_pkg_dir("pkg")
            .build();
        let instance = InstanceInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            auth_mode: config.auth_mode.to_string(),
            database_backend: domain::db::backend_name(&db).to_string(),
            external_url: config.external_url(),
            oidc_name: config
                .oidc
                .as_ref()
                .filter(|_| config.auth_mode == crate::config::AuthMode::OidcAuth)
                .map(|o| o.name.clone()),
        };
        let metrics = Arc::new(Metrics::new(db.clone()));
        let default_storage_limit = config.storage_quota.per_project.as_i64();
        let services = Services::new(
            db.clone(),
            ServiceSettings {
                default_storage_limit,
                cli_secret_lifetime: config
                    .oidc
                    .as_ref()
                    .and_then(|o| chrono::Duration::from_std(o.cli_secret_lifetime.0).ok())
                    .unwrap_or(chrono::Duration::days(90)),
                local_user_creation: config.auth_mode != crate::config::AuthMode::OidcAuth,
                default_retention: crate::policies::retention_rules(&config),
                default_retention_schedule: config.retention_schedule.clone(),
            },
        );
        let lifetime = std::time::Duration::from_secs(u64::from(config.token_expiration) * 60);
        let tokens = Arc::new(TokenKeys::load_or_create(
            &config.key_file(TOKEN_KEY_FILE),
            lifetime,
        )?);
        let store = open_blob_store(&config)?;
        let registry = Registry::new(
            db.clone(),
            store.clone(),
            RegistrySettings {
                global_storage_limit: config.storage_quota.global.as_i64(),
                block_unscanned: config.scanning.block_unscanned,
                hostname: config.hostname.clone(),
                ..RegistrySettings::default()
            },
        );
        let scans = domain::service::scans::Scans::new(
            db.clone(),
            store,
            config.trivy.as_ref().is_some_and(|t| t.ignore_unfixed),
        );
        let secrets = Arc::new(crate::sealed::Sealer::load_or_create(
            &config.key_file(SECRETS_KEY_FILE),
        )?);
        let adapter_permits = Arc::new(tokio::sync::Semaphore::new(config.scanning.workers.max(1)));
        let oidc = crate::oidc::Oidc::from_config(&config)?;
        let outbound = crate::outbound::Outbound::new(config.outbound.allowed_networks.clone());
        Ok(Self {
            config: Arc::new(config),
            db,
            leptos,
            metrics,
            instance,
            services,
            tokens,
            registry,
            oidc,
            scans,
            adapter_permits,
            secrets,
            replica_id: format!(
                "{}-{}",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "berth".into()),
                uuid::Uuid::new_v4().simple()
            )
            .into(),
            outbound,
        })
    }
}

/// Where the compiled site (wasm, JS, CSS, static files) is: `LEPTOS_SITE_ROOT`, or `site/`
/// beside the binary (`target/release/site` for `target/release/berth`).
pub fn default_site_root() -> PathBuf {
    if let Ok(root) = std::env::var("LEPTOS_SITE_ROOT").map(|r| r.trim().to_string()) {
        if !root.is_empty() {
            return PathBuf::from(root);
        }
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| site_beside(&exe))
        .unwrap_or_else(|| PathBuf::from("site"))
}

/// `site/` in the directory of the executable: where `scripts/build-site.sh` puts it.
fn site_beside(exe: &std::path::Path) -> Option<PathBuf> {
    exe.parent().map(|dir| dir.join("site"))
}

/// The configured blob store: S3 when `storage.s3` is set, else the filesystem.
fn open_blob_store(config: &Config) -> anyhow::Result<Arc<dyn domain::storage::BlobStore>> {
    if let Some(s3) = &config.storage.s3 {
        let settings = s3.settings().map_err(|e| anyhow::anyhow!(e))?;
        let store = domain::storage::s3::S3BlobStore::new(settings)
            .map_err(|e| anyhow::anyhow!("cannot use bucket `{}`: {e}", s3.bucket))?;
        return Ok(Arc::new(store));
    }
    let store = FsBlobStore::new(config.blob_root()).map_err(|e| {
        anyhow::anyhow!(
            "cannot open the blob store at {}: {e}",
            config.blob_root().display()
        )
    })?;
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_is_found_where_the_build_puts_it() {
        assert_eq!(
            site_beside(std::path::Path::new("/t/target/release/berth")),
            Some(PathBuf::from("/t/target/release/site"))
        );
    }
}
