//! Kafka-ML back-end HTTP API: an actix-web application serving the reference's routes (at `/` and
//! under `/api`, with or without a trailing slash), the OpenAPI document and Swagger UI.

pub mod app;
pub mod cluster;
pub mod error;
pub mod fallback;
pub mod healthcheck;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod services;
pub mod settings;
pub mod state;
pub mod usecase;

pub use app::{Api, Application};
pub use services::Services;
pub use settings::Settings;
