//! `berth`: the command line. Loads the configuration (exit 2 when it is invalid), then serves,
//! migrates, or prints the default configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use berth_server::config::{self, Config};
use berth_server::{observability, serve, state, AppState};
use migrations::MigratorTrait;

/// jemalloc instead of glibc's malloc: glibc kept freed memory in per-thread arenas (argon2's
/// 9 MiB block of every sign-in stayed resident in the arena of the thread that hashed), so
/// the resident set only grew; jemalloc returns freed pages to the system after a few seconds.
/// Measured in `docs/performance.md`.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "Berth: a secure private container registry with a web console"
)]
struct Cli {
    /// Configuration file (YAML, shaped like Harbor's harbor.yml).
    #[arg(long, short, env = "BERTH_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Print a commented default configuration and exit.
    #[arg(long)]
    print_default_config: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the registry and console (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Validate the configuration and exit.
    CheckConfig,
    /// The vulnerability database.
    Vulndb {
        #[command(subcommand)]
        command: VulndbCommand,
    },
    /// Apply a per-project policy file (configuration as code) and print what changed.
    Apply {
        /// The policy file (YAML; see docs/configuration.md).
        file: PathBuf,
        /// Only print what would change.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum VulndbCommand {
    /// Import OSV records: one `.json` record, a directory of them, or an OSV `all.zip`.
    Import {
        /// File, directory or zip.
        path: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.print_default_config {
        print!("{}", config::DEFAULT_CONFIG_YAML);
        return ExitCode::SUCCESS;
    }
    let config = match config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("berth: {e}");
            return ExitCode::from(2);
        }
    };
    observability::init_tracing(&config.log);
    // File I/O runs on blocking threads; a bounded pool keeps memory flat under many streams.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(64)
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => run(config).await,
            Command::Migrate => prepare(&config, false).await.map(|_| ()),
            Command::CheckConfig => {
                println!("configuration is valid");
                Ok(())
            }
            Command::Apply { file, dry_run } => apply(config, &file, dry_run).await,
            Command::Vulndb {
                command: VulndbCommand::Import { path },
            } => vulndb_import(&config, &path).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("berth: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the database, applies migrations and (with `bootstrap`) creates the first
/// administrator: one process at a time on a shared PostgreSQL database, so replicas started
/// together neither race the migrations nor each other's `admin`.
async fn prepare(config: &Config, bootstrap: bool) -> anyhow::Result<domain::db::Database> {
    std::fs::create_dir_all(&config.data_dir)?;
    let url = config.database_url();
    let settings = domain::db::PoolSettings {
        max_connections: config.database.max_connections,
        ..Default::default()
    };
    let db = domain::db::connect(&url, settings).await?;
    let lock = domain::db::StartupLock::take(&db).await?;
    let prepared = async {
        migrations::Migrator::up(&db, None).await?;
        tracing::info!(database = %domain::db::redact_url(&url), "database schema is up to date");
        if bootstrap {
            bootstrap_admin(&db).await?;
        }
        anyhow::Ok(())
    }
    .await;
    lock.release().await;
    prepared?;
    Ok(db)
}

/// One Berth process per SQLite database file: a second one (a second replica on the same
/// data directory) is refused at start, since SQLite's write lock is per process here and
/// several replicas need PostgreSQL.
fn single_sqlite_process(config: &Config) -> anyhow::Result<()> {
    let url = config.database_url();
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(());
    };
    let path = path.split('?').next().unwrap_or(path);
    let lock_path = format!("{path}.lock");
    if let Some(dir) = std::path::Path::new(&lock_path).parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| anyhow::anyhow!("cannot open {lock_path}: {e}"))?;
    if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        anyhow::bail!(
            "another Berth process is using the SQLite database {path}: several replicas need \
             PostgreSQL and object storage (docs/high-availability.md)"
        );
    }
    // Held until the process exits.
    std::mem::forget(file);
    Ok(())
}

async fn apply(config: Config, file: &std::path::Path, dry_run: bool) -> anyhow::Result<()> {
    let policies = berth_server::policy_files::load(file)?;
    let db = prepare(&config, true).await?;
    let state = AppState::new(config, db, state::default_site_root())?;
    let diff = berth_server::policy_files::apply(&state, &policies, dry_run).await?;
    if diff.is_empty() {
        println!("{}: no changes", file.display());
    }
    for change in diff {
        println!("{}{change}", if dry_run { "[dry run] " } else { "" });
    }
    Ok(())
}

async fn vulndb_import(config: &Config, path: &std::path::Path) -> anyhow::Result<()> {
    let db = prepare(config, false).await?;
    let vulndb = domain::service::vulndb::VulnDb::new(db);
    let report = vulndb
        .import_path(path)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    println!(
        "{}: {} imported, {} updated, {} unchanged, {} failed",
        path.display(),
        report.imported,
        report.updated,
        report.unchanged,
        report.failed.len()
    );
    for (source, why) in &report.failed {
        println!("  skipped {source}: {why}");
    }
    Ok(())
}

async fn run(config: Config) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    for setting in config.inactive_settings() {
        tracing::warn!(
            setting,
            "configured but not yet active in this version of Berth"
        );
    }
    single_sqlite_process(&config)?;
    let db = prepare(&config, true).await?;
    let listeners = serve::Listeners::bind(&config)?;
    let state = AppState::new(config.clone(), db, state::default_site_root())?;
    if let Err(e) = state.registry.store.check().await {
        anyhow::bail!("the blob store cannot be used: {e}");
    }
    berth_server::keys::verify_shared(&state).await?;
    berth_server::policies::apply(&state).await?;
    berth_server::policy_files::apply_configured(&state).await?;
    spawn_session_cleanup(state.db.clone());
    berth_server::jobs::spawn(state.clone());
    berth_server::scanning::spawn_workers(state.clone());
    berth_server::scanning::spawn_updater(state.clone());
    berth_server::replication::spawn_workers(state.clone());
    spawn_upload_expiry(state.registry.clone(), config.registry.upload_expiry.0);
    tracing::info!(
        external_url = %state.instance.external_url,
        auth_mode = %config.auth_mode,
        database = state.instance.database_backend,
        site_root = %state.leptos.site_root,
        "Berth {} starting", env!("CARGO_PKG_VERSION")
    );
    let bundle = std::path::Path::new(&*state.leptos.site_root).join("pkg/berth.js");
    if !bundle.is_file() {
        tracing::warn!(
            site_root = %state.leptos.site_root,
            "the console's compiled site is missing (no pkg/berth.js): pages will be unstyled and \
             inert; build it with scripts/build-site.sh or point LEPTOS_SITE_ROOT at it"
        );
    }
    let app = berth_server::router(state);
    serve::run(&config, app, listeners, serve::shutdown_signal()).await
}

/// Creates `admin` on first start. A generated password is shown once, on standard error, and
/// never written to the structured log.
async fn bootstrap_admin(db: &domain::db::Database) -> anyhow::Result<()> {
    use domain::service::bootstrap::{ensure_admin, AdminBootstrap};
    let given = std::env::var("BERTH_ADMIN_PASSWORD").ok();
    match ensure_admin(db, given.as_deref()).await? {
        AdminBootstrap::Existing => {}
        AdminBootstrap::CreatedWithGivenPassword => {
            tracing::info!("created user `admin` with the password from BERTH_ADMIN_PASSWORD")
        }
        AdminBootstrap::CreatedWithGeneratedPassword(password) => {
            tracing::warn!("created user `admin` with a generated password (shown once on stderr)");
            eprintln!(
                "\n  ┌──────────────────────────────────────────────────────────┐\n  \
                 │  Berth created the system administrator account.         │\n  \
                 │  username: admin                                         │\n  \
                 │  password: {password:<46}│\n  \
                 │  It is shown only this once: sign in and change it.      │\n  \
                 └──────────────────────────────────────────────────────────┘\n"
            );
        }
    }
    Ok(())
}

/// Deletes expired console sessions every ten minutes.
fn spawn_session_cleanup(db: domain::db::Database) {
    let store = berth_server::auth::session_store::DbSessionStore::new(db);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            every.tick().await;
            match store.delete_expired().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(removed = n, "expired sessions removed"),
                Err(e) => tracing::warn!(error = %e, "cannot remove expired sessions"),
            }
        }
    });
}

/// Removes stale upload sessions every hour (and once at start).
fn spawn_upload_expiry(
    registry: domain::service::registry::Registry,
    max_age: std::time::Duration,
) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            match registry.expire_uploads(max_age).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "expired upload sessions removed"),
                Err(e) => tracing::warn!(error = %e.message, "cannot expire upload sessions"),
            }
        }
    });
}
