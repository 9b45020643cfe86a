//! Black-box API tests: the real application over HTTP, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod configurations;
mod datasources;
mod deployments;
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
mod smoke;
mod training_flow;
