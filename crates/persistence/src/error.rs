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
            other => DbError::Query(other),
        }
    }
}

/// Result alias of this crate.
pub type DbResult<T> = Result<T, DbError>;
