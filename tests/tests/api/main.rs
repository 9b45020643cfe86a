//! Black-box API tests: the real application over HTTP, on SQLite and on PostgreSQL.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "this crate is test code throughout, but clippy.toml's allow-*-in-tests only covers #[test] functions, not the helpers and db_test! bodies around them"
)]

mod admin;
mod admin_tables;
mod admin_tokens;
mod auth;
mod bounds;
mod busy;
mod configurations;
mod cross_site;
mod datasources;
mod deployments;
mod head;
mod health;
mod inferences;
mod iot;
mod kafka;
mod migrations;
mod models;
mod orchestration;
mod resource_kit;
mod results;
mod robustness;
mod schema_drift;
mod smoke;
mod training_flow;
mod workloads;
mod ws_client;
