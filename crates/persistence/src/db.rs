//! Connections, the r2d2 pool and the embedded migrations, for SQLite and PostgreSQL from one
//! code base.

use std::time::Duration;

use diesel::connection::SimpleConnection;
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
        let url = match backend {
            Backend::Sqlite => {
                url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url).to_owned()
            }
            Backend::Postgres => url.to_owned(),
        };
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
                c.batch_execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                )?;
                Ok(DbConnection::Sqlite(c))
            }
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

/// Runs every pending migration.
pub fn run_migrations(conn: &mut DbConnection) -> Result<(), DbError> {
    match conn {
        DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    }
    .map_err(|e| DbError::Migration(e.to_string()))
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
