//! Black-box API tests: the real application over HTTP, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod kafka;
mod smoke;
