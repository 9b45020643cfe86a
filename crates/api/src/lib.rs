//! Kafka-ML back-end HTTP API: an actix-web application serving the reference's routes (at `/` and
//! under `/api`, with or without a trailing slash), the OpenAPI document and Swagger UI.

#![warn(missing_docs)]

pub mod admin;
pub mod app;
pub mod auth;
pub mod background;
pub mod body_timeout;
pub mod cluster;
pub mod commands;
pub mod cross_site;
pub(crate) mod error;
pub(crate) mod fallback;
pub mod healthcheck;
pub mod logging;
pub(crate) mod middleware;
pub(crate) mod multipart;
pub mod openapi;
pub mod routes;
pub mod secret_key;
pub mod services;
pub mod settings;
pub(crate) mod state;
pub mod usecase;

pub use app::{Api, Application};
pub use services::Services;
pub use settings::Settings;
