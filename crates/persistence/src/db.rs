//! Connections, the r2d2 pool and the embedded migrations, for SQLite and PostgreSQL from one
//! code base.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::DbError;

/// SQLite migrations, embedded at build time.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
/// PostgreSQL migrations, embedded at build time.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// One connection to either backend. Queries are written once and run on the concrete
/// connection through [`with_conn!`](crate::with_conn).
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// A PostgreSQL connection.
    Pg(PgConnection),
    /// A SQLite connection.
    Sqlite(SqliteConnection),
}

/// Runs `$body` with `$c` bound to the concrete connection inside a [`DbConnection`]. The body
/// is compiled once per backend.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// The database backend, chosen from the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `sqlite://PATH`, `sqlite:PATH`, or a plain file path.
    Sqlite,
}

impl Backend {
    /// Chooses the backend of `url`.
    pub fn of(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// The database file of a SQLite `url`; `None` for PostgreSQL.
    pub fn sqlite_path(url: &str) -> Option<&str> {
        match Backend::of(url) {
            Backend::Sqlite => {
                Some(url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url))
            }
            Backend::Postgres => None,
        }
    }
}

/// Opens connections of the backend named by the URL; SQLite connections get their pragmas
/// (foreign keys, WAL, busy timeout) as they are opened.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
}

impl ConnectionManager {
    /// A manager for `url`.
    pub fn new(url: &str) -> Self {
        let backend = Backend::of(url);
        let url = Backend::sqlite_path(url).unwrap_or(url).to_owned();
        ConnectionManager { url, backend }
    }

    /// Opens one connection.
    pub fn connect(&self) -> Result<DbConnection, DbError> {
        match self.backend {
            Backend::Postgres => {
                init_openssl_without_atexit();
                Ok(DbConnection::Pg(PgConnection::establish(&self.url)?))
            }
            Backend::Sqlite => {
                let mut c = SqliteConnection::establish(&self.url)?;
                c.batch_execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")?;
                switch_to_wal(&mut c)?;
                c.batch_execute("PRAGMA synchronous = NORMAL;")?;
                Ok(DbConnection::Sqlite(c))
            }
        }
    }
}

/// How long a new SQLite connection retries switching the file to WAL mode (the busy timeout).
const WAL_SWITCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Puts the SQLite file in WAL mode (kept in the file; a no-op once it is). Switching takes an
/// exclusive lock, and SQLite answers "database is locked" at once, without waiting for the busy
/// timeout, to a connection that would deadlock with another one switching at the same moment —
/// what the connections of a pool opened together on a new file do. Such an answer is retried
/// for up to [`WAL_SWITCH_TIMEOUT`].
fn switch_to_wal(c: &mut SqliteConnection) -> Result<(), DbError> {
    let deadline = std::time::Instant::now() + WAL_SWITCH_TIMEOUT;
    loop {
        match c.batch_execute("PRAGMA journal_mode = WAL;") {
            Ok(()) => return Ok(()),
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("database is locked") && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Initialises the OpenSSL that libpq uses (built in by openssl-sys), once per process, before
/// libpq does.
///
/// Left to libpq, OpenSSL registers an `atexit` handler that frees its global state while pool
/// threads may still be opening or closing connections, and the process dies with SIGSEGV as it
/// exits (diesel-rs/diesel#3441). rust-openssl's initialisation passes `OPENSSL_INIT_NO_ATEXIT`,
/// and the first initialisation decides.
fn init_openssl_without_atexit() {
    openssl_sys::init();
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = DbError;

    fn connect(&self) -> Result<DbConnection, DbError> {
        ConnectionManager::connect(self)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), DbError> {
        with_conn!(conn, |c| diesel::sql_query("SELECT 1").execute(c).map(|_| ()).map_err(DbError::from))
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// The shared pool.
pub type Pool = r2d2::Pool<ConnectionManager>;
/// A connection checked out of the pool.
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// Builds the pool for `url`: at most `max_size` connections, `timeout` to get one. For SQLite
/// the file's directory must exist.
///
/// PostgreSQL connections are checked (`SELECT 1`) as they are checked out: a connection the
/// server closed (restart, fail-over, idle kill) is replaced instead of failing requests until
/// the pool recycles it. SQLite connections cannot be lost and are not checked.
pub fn build_pool(url: &str, max_size: u32, timeout: Duration) -> Result<Pool, DbError> {
    let manager = ConnectionManager::new(url);
    let check_out_test = manager.backend == Backend::Postgres;
    r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(timeout)
        .test_on_check_out(check_out_test)
        .build(manager)
        .map_err(DbError::from)
}

/// The key of the PostgreSQL advisory lock held while migrations are checked or applied, so that
/// replicas starting together apply each migration once instead of racing (the loser would fail
/// on tables the winner just created). It is the ASCII bytes of `kafkaml` followed by `0x01`
/// read as a big-endian `i64`; every version of the back-end uses this value, so old and new
/// replicas exclude each other too. The lock is database-wide (not per schema) and
/// session-level: a back-end that dies while holding it releases it with its connection.
pub const MIGRATION_LOCK_KEY: i64 = 0x6b61_666b_616d_6c01;

/// Runs every pending migration and returns their names (`2026-12-03-000001_accounts`, …) in
/// the order they were applied; empty when the database was up to date.
///
/// On PostgreSQL it holds the advisory lock [`MIGRATION_LOCK_KEY`] meanwhile: a second back-end
/// migrating the same database waits, then finds nothing left to do.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    match conn {
        DbConnection::Pg(c) => with_migration_lock(c, |c| apply_pending(c, POSTGRES_MIGRATIONS)),
        DbConnection::Sqlite(c) => apply_pending(c, SQLITE_MIGRATIONS),
    }
}

/// The names of the migrations not yet applied (`2026-12-03-000001_accounts`, …), oldest first;
/// applies none. It creates diesel's bookkeeping table `__diesel_schema_migrations` when missing
/// (empty). On PostgreSQL it waits for a back-end that is migrating ([`MIGRATION_LOCK_KEY`]).
pub fn pending_migrations(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    match conn {
        DbConnection::Pg(c) => with_migration_lock(c, |c| pending_names(c, POSTGRES_MIGRATIONS)),
        DbConnection::Sqlite(c) => pending_names(c, SQLITE_MIGRATIONS),
    }
}

fn migration_error(e: impl std::fmt::Display) -> DbError {
    DbError::Migration(e.to_string())
}

fn pending_names<C, DB>(c: &mut C, source: EmbeddedMigrations) -> Result<Vec<String>, DbError>
where
    C: MigrationHarness<DB>,
    DB: diesel::backend::Backend,
    EmbeddedMigrations: MigrationSource<DB>,
{
    let pending = c.pending_migrations(source).map_err(migration_error)?;
    Ok(pending.iter().map(|m| m.name().to_string()).collect())
}

fn apply_pending<C, DB>(c: &mut C, source: EmbeddedMigrations) -> Result<Vec<String>, DbError>
where
    C: MigrationHarness<DB>,
    DB: diesel::backend::Backend,
    EmbeddedMigrations: MigrationSource<DB>,
{
    let pending = c.pending_migrations(source).map_err(migration_error)?;
    let mut applied = Vec::with_capacity(pending.len());
    for migration in &pending {
        c.run_migration(migration.as_ref()).map_err(migration_error)?;
        applied.push(migration.name().to_string());
    }
    Ok(applied)
}

/// Runs `f` holding the session-level advisory lock [`MIGRATION_LOCK_KEY`], waiting for it as long
/// as another session holds it. The lock is released whether `f` succeeds or not.
fn with_migration_lock<T>(
    c: &mut PgConnection,
    f: impl FnOnce(&mut PgConnection) -> Result<T, DbError>,
) -> Result<T, DbError> {
    c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
    let outcome = f(c);
    // A connection too broken to unlock has lost its session, and the lock with it.
    let unlocked = c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
    let value = outcome?;
    unlocked?;
    Ok(value)
}

/// The outcome of a `DELETE` of one row by its key: [`DbError::NotFound`] when it removed nothing.
/// A delete that checked the row first still counts what it removed, because on PostgreSQL (read
/// committed) two concurrent deletes of the same row both find it, and only one removes it: the
/// other must answer 404, not 2xx, and roll back what it did before.
pub fn gone(deleted: usize) -> crate::DbResult<()> {
    if deleted == 0 {
        Err(DbError::NotFound)
    } else {
        Ok(())
    }
}

/// Runs `f` in a transaction that writes, committing on `Ok` and rolling back on `Err`.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`: it takes the write lock first, so
/// concurrent writers wait for each other (up to the busy timeout) instead of failing with
/// "database is locked" when a read transaction tries to become a write transaction. Inside an
/// already open transaction, and on PostgreSQL, it is [`Connection::transaction`].
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    use diesel::result::Error;

    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    match AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE") {
        Ok(()) => {}
        Err(Error::AlreadyInTransaction) => return conn.transaction(f),
        Err(e) => return Err(e.into()),
    }
    match f(conn) {
        Ok(value) => {
            if let Err(e) = <DbConnection as Connection>::TransactionManager::commit_transaction(conn) {
                // A failed commit leaves the transaction open: close it before reporting.
                let _ = <DbConnection as Connection>::TransactionManager::rollback_transaction(conn);
                return Err(e.into());
            }
            Ok(value)
        }
        Err(error) => match <DbConnection as Connection>::TransactionManager::rollback_transaction(conn) {
            Ok(()) | Err(Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// Reverts every applied migration (used by the migration tests).
pub fn revert_all_migrations(conn: &mut DbConnection) -> Result<(), DbError> {
    match conn {
        DbConnection::Pg(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    }
    .map_err(|e| DbError::Migration(e.to_string()))
}

/// Checks that the database answers (readiness).
pub fn ping(conn: &mut DbConnection) -> Result<(), DbError> {
    with_conn!(conn, |c| diesel::sql_query("SELECT 1").execute(c).map(|_| ()).map_err(DbError::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::Error;

    fn sqlite(dir: &std::path::Path) -> DbConnection {
        ConnectionManager::new(&format!("sqlite://{}", dir.join("t.sqlite3").display())).connect().unwrap()
    }

    fn count(conn: &mut DbConnection) -> i64 {
        with_conn!(conn, |c| diesel::sql_query("SELECT id FROM t").load::<IdRow>(c)).unwrap().len() as i64
    }

    #[derive(diesel::QueryableByName)]
    struct IdRow {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        #[allow(dead_code)]
        id: i32,
    }

    /// The migration directories of `backend`, oldest first.
    fn migration_dirs(backend: &str) -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/");
        let mut names: Vec<String> = std::fs::read_dir(format!("{dir}{backend}"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn pending_migrations_lists_what_run_migrations_applies_then_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = sqlite(dir.path());
        let all = migration_dirs("sqlite");
        assert!(all.len() >= 2, "{all:?}");
        assert_eq!(pending_migrations(&mut conn).unwrap(), all);
        // Listing applies nothing.
        assert_eq!(pending_migrations(&mut conn).unwrap(), all);
        assert_eq!(run_migrations(&mut conn).unwrap(), all);
        assert!(pending_migrations(&mut conn).unwrap().is_empty());
        assert!(run_migrations(&mut conn).unwrap().is_empty());
        // A reverted migration is pending again, and only it is applied.
        match &mut conn {
            DbConnection::Sqlite(c) => {
                c.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
            }
            DbConnection::Pg(_) => unreachable!(),
        }
        let last = all.last().cloned().unwrap();
        assert_eq!(pending_migrations(&mut conn).unwrap(), std::slice::from_ref(&last));
        assert_eq!(run_migrations(&mut conn).unwrap(), [last]);
    }

    #[test]
    fn connections_opened_together_on_a_fresh_sqlite_file_all_succeed() {
        // Each new connection switches the file to WAL, which takes an exclusive lock: connections
        // opened at the same moment on a file not yet in WAL mode (a pool filling up at first
        // start) must wait for each other, not fail with "database is locked".
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("fresh.sqlite3").display());
            let start = std::sync::Arc::new(std::sync::Barrier::new(8));
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    let manager = ConnectionManager::new(&url);
                    let start = start.clone();
                    std::thread::spawn(move || {
                        start.wait();
                        manager.connect().map(|_| ())
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap().unwrap();
            }
        }
    }

    #[test]
    fn the_migration_lock_key_spells_kafkaml() {
        assert_eq!(&MIGRATION_LOCK_KEY.to_be_bytes()[..7], b"kafkaml");
    }

    #[test]
    fn write_transactions_commit_roll_back_and_nest() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = sqlite(dir.path());
        conn.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY)").unwrap();
        write_transaction(&mut conn, |c| c.batch_execute("INSERT INTO t (id) VALUES (1)")).unwrap();
        let failed: Result<(), Error> = write_transaction(&mut conn, |c| {
            c.batch_execute("INSERT INTO t (id) VALUES (2)")?;
            Err(Error::RollbackTransaction)
        });
        assert!(failed.is_err());
        assert_eq!(count(&mut conn), 1);
        // Inside an open transaction it nests as a savepoint.
        let nested: Result<(), Error> = write_transaction(&mut conn, |c| {
            c.batch_execute("INSERT INTO t (id) VALUES (3)")?;
            let inner: Result<(), Error> = write_transaction(c, |c| {
                c.batch_execute("INSERT INTO t (id) VALUES (4)")?;
                Err(Error::RollbackTransaction)
            });
            assert!(inner.is_err());
            Ok(())
        });
        nested.unwrap();
        assert_eq!(count(&mut conn), 2);
    }

    #[test]
    fn concurrent_sqlite_writers_that_read_first_wait_instead_of_failing() {
        let dir = tempfile::tempdir().unwrap();
        sqlite(dir.path()).batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY)").unwrap();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let path = dir.path().to_owned();
                std::thread::spawn(move || {
                    let mut conn = sqlite(&path);
                    for j in 0..10 {
                        write_transaction(&mut conn, |c| {
                            // Read first (as the repositories' checks do), then write.
                            assert!(count(c) < 80);
                            std::thread::sleep(std::time::Duration::from_millis(1));
                            c.batch_execute(&format!("INSERT INTO t (id) VALUES ({})", 1000 + i * 100 + j))
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(count(&mut sqlite(dir.path())), 80);
    }
}
