//! `kafkaml-backend`: serves the Kafka-ML back-end API; `kafkaml-backend openapi` prints the
//! OpenAPI document; `kafkaml-backend healthcheck` asks the running server's `/healthz` (exit 0
//! when it answers 200), for container health checks.
//!
//! Without a subcommand the server runs, configured by the flags and environment variables of
//! [`Settings`] (`kafkaml-backend --bind 0.0.0.0:8000` is `kafkaml-backend serve --bind 0.0.0.0:8000`).
//! A new subcommand is a variant of [`Command`], its own arguments in the variant, and an arm in
//! [`Cli::run`].

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kafkaml_api::{Application, Settings};
use tracing_subscriber::EnvFilter;

/// How long `kafkaml-backend healthcheck` waits for the answer.
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The command line: a subcommand, or the server's settings for the default `serve`.
#[derive(Debug, Parser)]
#[command(
    name = "kafkaml-backend",
    version,
    about = "Kafka-ML control-plane back-end",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// The settings of `serve` when no subcommand is given; the other subcommands read the ones
    /// they need from here too (environment variables).
    #[command(flatten)]
    settings: Settings,
}

/// What `kafkaml-backend` does.
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve(Box<Settings>),
    /// Print the OpenAPI document (what `openapi/openapi.json` holds).
    Openapi,
    /// Ask the server at KAFKAML_BIND for `/healthz`; exit 0 when it answers 200.
    Healthcheck,
}

impl Cli {
    async fn run(self) -> anyhow::Result<()> {
        match self.command {
            None => serve(self.settings).await,
            Some(Command::Serve(settings)) => serve(*settings).await,
            Some(Command::Openapi) => {
                print!("{}", kafkaml_api::openapi::document_json().context("serializing the OpenAPI document")?);
                Ok(())
            }
            Some(Command::Healthcheck) => {
                kafkaml_api::healthcheck::probe(&self.settings.server.bind, "/healthz", HEALTHCHECK_TIMEOUT)
                    .await
                    .context("health check")
            }
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    tracing::info!(
        bind = %settings.server.bind, data_dir = %settings.server.data_dir.display(), "starting kafkaml-backend"
    );
    let app = Application::build(settings).await.context("building the application")?;
    tracing::info!(port = app.port(), "listening");
    app.run_until_stopped().await.context("serving")
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    Cli::parse().run().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("kafkaml-backend").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn no_subcommand_serves_with_the_top_level_flags() {
        let cli = parse(&["--bind", "0.0.0.0:9000", "--kube-timeout", "4"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.settings.server.bind, "0.0.0.0:9000");
        assert_eq!(cli.settings.kube.timeout(), Duration::from_secs(4));
    }

    #[test]
    fn serve_takes_the_same_flags() {
        let Some(Command::Serve(settings)) = parse(&["serve", "--bind", "0.0.0.0:9000"]).command else {
            panic!("not serve");
        };
        assert_eq!(settings.server.bind, "0.0.0.0:9000");
    }

    #[test]
    fn openapi_and_healthcheck_are_subcommands() {
        assert!(matches!(parse(&["openapi"]).command, Some(Command::Openapi)));
        assert!(matches!(parse(&["healthcheck"]).command, Some(Command::Healthcheck)));
        // Flags belong to a subcommand's own arguments, not before it.
        assert!(Cli::try_parse_from(["kafkaml-backend", "--bind", "x:1", "openapi"]).is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
