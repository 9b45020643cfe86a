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
            Backend::Postgres => Ok(DbConnection::Pg(PgConnection::establish(&self.url)?)),
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
/// PostgreSQL connections are checked (`SELECT 1`) as they leave the pool: a connection the server
/// closed (restart, failover, network cut) cannot be told apart otherwise, and would stay in the
/// pool failing every request long after the database is back. SQLite connections are files and
/// are not checked.
pub fn build_pool(url: &str, max_size: u32, timeout: Duration) -> Result<Pool, DbError> {
    let manager = ConnectionManager::new(url);
    let test_on_check_out = manager.backend == Backend::Postgres;
    r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(timeout)
        .test_on_check_out(test_on_check_out)
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
