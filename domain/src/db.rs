//! Opening the database: SQLite (embedded default) or PostgreSQL, chosen by the URL.

use std::str::FromStr;
use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr, ExecResult,
    QueryResult, SqlxPostgresConnector, SqlxSqliteConnector, Statement, TransactionTrait,
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

/// A pool of connections to Berth's database (SQLite or PostgreSQL): what the server holds and
/// hands to the services; only `domain` touches the ORM behind it.
pub type Database = DatabaseConnection;

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

/// How long a writer waits for its turn before the request is answered 503 (`Retry-After`).
pub const WRITE_WAIT: Duration = Duration::from_secs(30);

/// The statement that makes a SQLite transaction a writer at once (what `BEGIN IMMEDIATE`
/// does; sea-orm only issues `BEGIN`): a write that changes nothing still takes the write lock.
/// Taken as the transaction's first statement, no snapshot is held yet, so a writer of another
/// process makes it wait (`busy_timeout`) instead of failing with `SQLITE_BUSY_SNAPSHOT` later.
const TAKE_WRITE_LOCK: &str = "UPDATE seaql_migrations SET version = version WHERE 0";

/// Every write transaction of a process on one database goes through its gate.
///
/// SQLite allows one writer at a time. A transaction opened with a plain `BEGIN` that reads and
/// then writes fails with `database is locked` when another writer committed in between — the
/// busy timeout cannot help it. So on SQLite a write transaction first waits at this gate (one
/// holder per database file in this process: queueing here is fair and costs nothing), then
/// takes the database's write lock as its first statement (waiting up to `busy_timeout` for a
/// writer of another process). Reads never wait: WAL mode keeps them off the writer's path.
/// On PostgreSQL the gate never makes anyone wait; row locks and constraints do that work.
#[derive(Clone, Debug)]
pub struct WriteGate {
    permits: Option<std::sync::Arc<tokio::sync::Semaphore>>,
}

/// A writer's turn at the gate; [`WritePermit::begin`] turns it into a transaction.
#[must_use = "the turn ends when the permit is dropped"]
pub struct WritePermit {
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl WriteGate {
    /// The gate of `db`'s database: the same gate for every pool this process opened on the
    /// same SQLite file.
    pub fn of(db: &DatabaseConnection) -> Self {
        use std::collections::HashMap;
        use std::sync::{Arc, LazyLock, Mutex};
        static GATES: LazyLock<Mutex<HashMap<std::path::PathBuf, Arc<tokio::sync::Semaphore>>>> =
            LazyLock::new(Mutex::default);
        let permits = match db {
            DatabaseConnection::SqlxSqlitePoolConnection(_) => {
                // Keyed by the file as configured: a file reached by two spellings gets two
                // gates, which only costs fairness — the write lock still serialises writers.
                let file = db
                    .get_sqlite_connection_pool()
                    .connect_options()
                    .get_filename()
                    .to_path_buf();
                let mut gates = GATES.lock().expect("the gate map is never poisoned");
                Some(
                    gates
                        .entry(file)
                        .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(1)))
                        .clone(),
                )
            }
            _ => None,
        };
        Self { permits }
    }

    /// Waits for this writer's turn, at most [`WRITE_WAIT`]; past that the caller is told the
    /// database is busy (`ConnectionAcquire(Timeout)`, answered 503).
    pub async fn enter(&self) -> Result<WritePermit, DbErr> {
        let Some(permits) = &self.permits else {
            return Ok(WritePermit { _permit: None });
        };
        match tokio::time::timeout(WRITE_WAIT, permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(WritePermit {
                _permit: Some(permit),
            }),
            Ok(Err(_)) | Err(_) => Err(DbErr::ConnectionAcquire(
                sea_orm::error::ConnAcquireErr::Timeout,
            )),
        }
    }
}

impl WritePermit {
    /// Opens the write transaction for this turn; the turn lasts until it ends.
    pub async fn begin(self, db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
        let txn = db.begin().await?;
        if txn.get_database_backend() == DatabaseBackend::Sqlite {
            txn.execute_unprepared(TAKE_WRITE_LOCK).await?;
        }
        Ok(WriteTxn { txn, _turn: self })
    }
}

/// A transaction that writes: every service opens its transactions with [`begin_write`].
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _turn: WritePermit,
}

/// Opens a write transaction on `db` in the one way every writer does (see [`WriteGate`]).
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
    WriteGate::of(db).enter().await?.begin(db).await
}

/// Notified after every write transaction of this process commits: event consumers wake on it
/// instead of waiting for their next poll.
pub fn commits() -> &'static tokio::sync::Notify {
    static COMMITS: std::sync::OnceLock<tokio::sync::Notify> = std::sync::OnceLock::new();
    COMMITS.get_or_init(tokio::sync::Notify::new)
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await?;
        commits().notify_waiters();
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.txn.get_database_backend()
    }

    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one(stmt).await
    }

    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

/// Whether `e` says the database is busy for now (SQLite's lock, the pool or the write gate
/// exhausted) rather than that the request was wrong: answered 503 with `Retry-After`.
pub fn is_busy(e: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    let sqlx_error = match e {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match sqlx_error {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => {
            // SQLITE_BUSY (5) and SQLITE_LOCKED (6) with their extended codes.
            let sqlite_busy = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| matches!(c & 0xff, 5 | 6));
            sqlite_busy && db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        }
        _ => false,
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

/// Serializes start-up work (migrations, creating the first administrator) across processes
/// sharing a PostgreSQL database: a session advisory lock held on a connection of its own until
/// [`StartupLock::release`] (or until the process dies). SQLite: nothing to take (one process
/// per database file, see the server's single-process guard).
pub struct StartupLock(Option<sqlx::PgConnection>);

const STARTUP_LOCK: i64 = 0x6265_7274_6873_7470; // "berthstp"

impl StartupLock {
    pub async fn take(db: &DatabaseConnection) -> Result<Self, DbErr> {
        use sqlx::Connection as _;
        let DatabaseConnection::SqlxPostgresPoolConnection(_) = db else {
            return Ok(Self(None));
        };
        let pool = db.get_postgres_connection_pool();
        let err = |e: sqlx::Error| DbErr::Custom(format!("start-up lock: {e}"));
        let mut conn = pool.acquire().await.map_err(err)?.detach();
        conn.ping().await.map_err(err)?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(STARTUP_LOCK)
            .execute(&mut conn)
            .await
            .map_err(err)?;
        Ok(Self(Some(conn)))
    }

    pub async fn release(self) {
        use sqlx::Connection as _;
        if let Some(conn) = self.0 {
            // Closing the session releases its advisory locks.
            let _ = conn.close().await;
        }
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

    async fn scratch_sqlite(dir: &tempfile::TempDir) -> (String, DatabaseConnection) {
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let db = connect(&url, PoolSettings::default()).await.unwrap();
        db.execute_unprepared(
            "CREATE TABLE seaql_migrations (version TEXT PRIMARY KEY, applied_at INTEGER);
             CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
             INSERT INTO counter VALUES (1, 0);",
        )
        .await
        .unwrap();
        (url, db)
    }

    #[tokio::test]
    async fn a_write_transaction_holds_the_write_lock_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let (url, db) = scratch_sqlite(&dir).await;
        let txn = begin_write(&db).await.unwrap();
        // Another process's writer (its own pool, no gate) with a short busy timeout: it
        // cannot write while the transaction is open, although the transaction wrote nothing.
        let other = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::from_str(&url)
                    .unwrap()
                    .busy_timeout(Duration::from_millis(50)),
            )
            .await
            .unwrap();
        let refused = sqlx::query("UPDATE counter SET n = n + 1")
            .execute(&other)
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("locked"),
            "the lock was not taken: {refused}"
        );
        assert!(is_busy(&DbErr::Exec(sea_orm::RuntimeErr::SqlxError(
            refused
        ))));
        txn.commit().await.unwrap();
        sqlx::query("UPDATE counter SET n = n + 1")
            .execute(&other)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn concurrent_read_then_write_transactions_all_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (_, db) = scratch_sqlite(&dir).await;
        let read_n =
            |row: Option<QueryResult>| -> i64 { row.unwrap().try_get_by_index(0).unwrap() };
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                // Read, yield, then write what was read plus one: a lost update or a
                // `database is locked` shows up as a wrong count or an error.
                let txn = begin_write(&db).await?;
                let row = txn
                    .query_one(Statement::from_string(
                        DatabaseBackend::Sqlite,
                        "SELECT n FROM counter WHERE id = 1",
                    ))
                    .await?;
                let n = read_n(row);
                tokio::task::yield_now().await;
                txn.execute_unprepared(&format!("UPDATE counter SET n = {} WHERE id = 1", n + 1))
                    .await?;
                txn.commit().await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let row = db
            .query_one(Statement::from_string(
                DatabaseBackend::Sqlite,
                "SELECT n FROM counter WHERE id = 1",
            ))
            .await
            .unwrap();
        assert_eq!(read_n(row), 32);
    }

    #[test]
    fn busy_errors_are_told_from_other_errors() {
        assert!(is_busy(&DbErr::ConnectionAcquire(
            sea_orm::error::ConnAcquireErr::Timeout
        )));
        assert!(!is_busy(&DbErr::RecordNotFound("x".into())));
        assert!(!is_busy(&DbErr::Custom("database is locked".into())));
    }

    #[tokio::test]
    async fn unknown_scheme_is_refused() {
        let err = connect("mysql://x", PoolSettings::default())
            .await
            .unwrap_err();
        assert!(matches!(err, DbOpenError::UnsupportedScheme(_)));
    }
}
