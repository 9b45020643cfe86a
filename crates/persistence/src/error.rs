//! Errors of the persistence layer.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What went wrong talking to the database or the file store.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No row with that id.
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write (`what` names the constraint or column).
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// A foreign key refused the write.
    #[error("foreign key constraint violated: {0}")]
    ForeignKey(String),
    /// A rule of the data model refused the change (its `Display` is for users).
    #[error(transparent)]
    Rule(#[from] kafkaml_domain::Violation),
    /// The database is busy with other writers (SQLite's "database is locked" after the busy
    /// timeout, PostgreSQL's serialization failures): the same request may succeed later.
    #[error("the database is busy: {0}")]
    Busy(String),
    /// The connection to the database was lost during the query (nothing was committed).
    #[error("the database connection was lost: {0}")]
    Lost(String),
    /// Any other query error.
    #[error("database query failed: {0}")]
    Query(DieselError),
    /// Opening a connection failed.
    #[error("database connection failed: {0}")]
    Connection(#[from] diesel::ConnectionError),
    /// The pool could not hand out a connection in time.
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A stored JSON column could not be read back.
    #[error("stored JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
    /// File store I/O.
    #[error("file store: {0}")]
    Io(#[from] std::io::Error),
}

impl From<DieselError> for DbError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => DbError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                DbError::Unique(info.constraint_name().or(info.column_name()).unwrap_or(info.message()).to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
                DbError::ForeignKey(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                DbError::Busy(info.message().to_owned())
            }
            DieselError::DatabaseError(_, info) if is_busy(info.message()) => DbError::Busy(info.message().to_owned()),
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                DbError::Lost(info.message().to_owned())
            }
            DieselError::DatabaseError(_, info) if is_lost(info.message()) => DbError::Lost(info.message().to_owned()),
            DieselError::BrokenTransactionManager => DbError::Lost(DieselError::BrokenTransactionManager.to_string()),
            other => DbError::Query(other),
        }
    }
}

/// Whether a database message is SQLite's "busy" or "locked" (`SQLITE_BUSY`, `SQLITE_LOCKED`).
fn is_busy(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("database is locked")
        || message.contains("database is busy")
        || message.contains("table is locked")
}

/// Whether a PostgreSQL error says the connection itself went away (the server ended the backend,
/// e.g. `pg_terminate_backend` or a restart, or the network dropped it) rather than the query
/// failing: nothing was committed and a new connection can do it.
fn is_lost(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "terminating connection",
        "server closed the connection",
        "no connection to the server",
        "connection to server",
        "could not receive data from server",
        "could not send data to server",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// Result alias of this crate.
pub type DbResult<T> = Result<T, DbError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn database_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn a_locked_or_busy_database_is_busy_not_a_query_failure() {
        for (kind, message) in [
            (DatabaseErrorKind::Unknown, "database is locked"),
            (DatabaseErrorKind::Unknown, "database is busy"),
            (DatabaseErrorKind::Unknown, "database table is locked"),
            (DatabaseErrorKind::SerializationFailure, "could not serialize access due to concurrent update"),
        ] {
            assert!(matches!(DbError::from(database_error(kind, message)), DbError::Busy(_)), "{message}");
        }
        for message in [
            "terminating connection due to administrator command",
            "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally",
            "no connection to the server",
        ] {
            assert!(
                matches!(DbError::from(database_error(DatabaseErrorKind::Unknown, message)), DbError::Lost(_)),
                "{message}"
            );
        }
        assert!(matches!(
            DbError::from(database_error(DatabaseErrorKind::ClosedConnection, "closed")),
            DbError::Lost(_)
        ));
        assert!(matches!(
            DbError::from(database_error(DatabaseErrorKind::Unknown, "no such table: x")),
            DbError::Query(_)
        ));
    }
}
