//! Kafka-ML persistence: the diesel schema and repositories of the seven tables on SQLite and
//! PostgreSQL from one code base, the r2d2 pool with embedded migrations, and the file store for
//! trained models and confusion matrices.
//!
//! Repository functions take `&mut DbConnection` and know nothing of HTTP; multi-step writes run
//! in one transaction.

pub mod db;
pub mod device_files;
pub mod error;
pub mod files;
pub mod repo;
pub mod schema;
pub mod time;
pub mod wire;

pub use db::{build_pool, run_migrations, write_transaction, Backend, DbConnection, Pool, PooledConnection};
pub use device_files::{DeviceFile, DeviceFileStore};
pub use error::{DbError, DbResult};
pub use files::ArtifactStore;
