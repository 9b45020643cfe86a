//! `kafkaml-backend`: serves the Kafka-ML back-end API; `kafkaml-backend openapi` prints the
//! OpenAPI document; `kafkaml-backend healthcheck` asks the running server's `/healthz` (exit 0
//! when it answers 200), for container health checks.

use anyhow::Context;
use clap::Parser;
use kafkaml_api::{Application, Settings};
use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("openapi") {
        print!("{}", kafkaml_api::openapi::document_json());
        return Ok(());
    }
    if args.get(1).map(String::as_str) == Some("healthcheck") {
        let settings = Settings::parse_from(["kafkaml-backend"]);
        return kafkaml_api::healthcheck::probe(&settings.bind, "/healthz", std::time::Duration::from_secs(3))
            .context("health check");
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let settings = Settings::parse();
    tracing::info!(bind = %settings.bind, data_dir = %settings.data_dir.display(), "starting kafkaml-backend");
    let app = Application::build(settings).await.context("building the application")?;
    tracing::info!(port = app.port(), "listening");
    app.run_until_stopped().await.context("serving")
}
