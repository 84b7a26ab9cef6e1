//! Opening the database: SQLite (embedded default) or PostgreSQL, chosen by the URL.

use std::str::FromStr;
use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, SqlxPostgresConnector,
    SqlxSqliteConnector,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

#[derive(Debug, thiserror::Error)]
pub enum DbOpenError {
    #[error("unsupported database URL scheme in `{0}` (expected sqlite:// or postgres://)")]
    UnsupportedScheme(String),
    #[error("cannot open database: {0}")]
    Connect(#[from] sqlx::Error),
}

/// The most connections a SQLite pool opens, whatever is configured.
pub const SQLITE_MAX_CONNECTIONS: u32 = 4;

/// Pool limits; the defaults suit one Berth process.
#[derive(Clone, Copy, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens a pool. SQLite files are created if missing and run in WAL mode with foreign keys
/// enforced; every pooled connection gets the same pragmas.
pub async fn connect(url: &str, settings: PoolSettings) -> Result<DatabaseConnection, DbOpenError> {
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // One writer at a time and a page cache per connection: a few connections serve
        // SQLite best, and keep memory small.
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections.min(SQLITE_MAX_CONNECTIONS))
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
    } else {
        Err(DbOpenError::UnsupportedScheme(redact_url(url)))
    }
}

/// A short name for logs and the console.
pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => "sqlite",
        DatabaseBackend::Postgres => "postgres",
        DatabaseBackend::MySql => "mysql",
    }
}

/// Pool occupancy for metrics: (open connections, idle connections).
pub fn pool_usage(db: &DatabaseConnection) -> (u32, u32) {
    match db {
        DatabaseConnection::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle() as u32)
        }
        DatabaseConnection::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle() as u32)
        }
        _ => (0, 0),
    }
}

/// Cheap round trip used by the readiness probe.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Removes the password from a connection URL so it can be logged.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://berth:s3cret@db:5432/berth"),
            "postgres://berth:***@db:5432/berth"
        );
        assert_eq!(
            redact_url("sqlite:///data/berth.db"),
            "sqlite:///data/berth.db"
        );
    }

    #[tokio::test]
    async fn sqlite_runs_in_wal_mode_with_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = connect(&url, PoolSettings::default()).await.unwrap();
        use sea_orm::{QueryResult, Statement};
        let row: QueryResult = db
            .query_one(Statement::from_string(
                DatabaseBackend::Sqlite,
                "PRAGMA journal_mode",
            ))
            .await
            .unwrap()
            .unwrap();
        let mode: String = row.try_get_by_index(0).unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
        let row = db
            .query_one(Statement::from_string(
                DatabaseBackend::Sqlite,
                "PRAGMA foreign_keys",
            ))
            .await
            .unwrap()
            .unwrap();
        let on: i32 = row.try_get_by_index(0).unwrap();
        assert_eq!(on, 1);
    }

    #[tokio::test]
    async fn unknown_scheme_is_refused() {
        let err = connect("mysql://x", PoolSettings::default())
            .await
            .unwrap_err();
        assert!(matches!(err, DbOpenError::UnsupportedScheme(_)));
    }
}
