//! `kafkaml-backend`: serves the Kafka-ML back-end API; `kafkaml-backend openapi` prints the
//! OpenAPI document; `kafkaml-backend healthcheck` asks the running server's `/healthz` (exit 0
//! when it answers 200), for container health checks; `createsuperuser`, `changepassword`,
//! `createtoken` and `migrate` are the operator's commands, as in Django's `manage.py`
//! (`kafkaml_api::commands`).
//!
//! Without a subcommand the server runs, configured by the flags and environment variables of
//! [`Settings`] (`kafkaml-backend --bind 0.0.0.0:8000` is `kafkaml-backend serve --bind 0.0.0.0:8000`).
//! The other subcommands read the settings from the environment only.
//! A new subcommand is a variant of [`Command`], its own arguments in the variant (the logic in
//! `kafkaml_api::commands`), and an arm in [`Cli::run`].

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kafkaml_api::commands::{ChangePassword, CreateSuperuser, CreateToken, Migrate};
use kafkaml_api::logging::OneLine;
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
    /// Create an active staff superuser: asks for username, e-mail and password, or with
    /// --noinput reads KAFKAML_SUPERUSER_USERNAME, KAFKAML_SUPERUSER_EMAIL, KAFKAML_SUPERUSER_PASSWORD.
    Createsuperuser(CreateSuperuser),
    /// Change a user's password (asked twice, hidden); the user's sessions end.
    Changepassword(ChangePassword),
    /// Create an API token for a user and print its key alone on standard output (shown once).
    Createtoken(CreateToken),
    /// Apply the pending database migrations and exit; --check lists them and exits 1 when some are pending.
    Migrate(Migrate),
}

impl Cli {
    async fn run(self) -> anyhow::Result<ExitCode> {
        let settings = match &self.command {
            Some(Command::Serve(settings)) => settings.as_ref(),
            _ => &self.settings,
        };
        init_logging(settings, matches!(self.command, None | Some(Command::Serve(_))));
        match self.command {
            None => serve(self.settings).await,
            Some(Command::Serve(settings)) => serve(*settings).await,
            Some(Command::Openapi) => {
                print!("{}", kafkaml_api::openapi::document_json().context("serializing the OpenAPI document")?);
                Ok(ExitCode::SUCCESS)
            }
            Some(Command::Healthcheck) => {
                kafkaml_api::healthcheck::probe(&self.settings.server.bind, "/healthz", HEALTHCHECK_TIMEOUT)
                    .await
                    .context("health check")?;
                Ok(ExitCode::SUCCESS)
            }
            Some(Command::Createsuperuser(command)) => command.run(&self.settings).await,
            Some(Command::Changepassword(command)) => command.run(&self.settings).await,
            Some(Command::Createtoken(command)) => command.run(&self.settings).await,
            Some(Command::Migrate(command)) => command.run(&self.settings),
        }
    }
}

/// Logs to standard output for the server, standard error for the other commands (their own
/// output is on standard output). RUST_LOG is the filter; without it, `info` for the server and
/// `warn` for the commands, `debug` for both with DEBUG.
fn init_logging(settings: &Settings, server: bool) {
    let default = if server || settings.server.debug { settings.log_filter() } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // One event per line, whatever user text the event carries (kafkaml_api::logging).
    if server {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(OneLine(std::io::stdout)).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(OneLine(std::io::stderr)).init();
    }
}

async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    tracing::info!(
        bind = %settings.server.bind, data_dir = %settings.server.data_dir.display(), "starting kafkaml-backend"
    );
    let app = Application::build(settings).await.context("building the application")?;
    tracing::info!(port = app.port(), "listening");
    app.run_until_stopped().await.context("serving")?;
    Ok(ExitCode::SUCCESS)
}

#[actix_web::main]
async fn main() -> anyhow::Result<ExitCode> {
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
    fn the_operators_commands_are_subcommands() {
        let Some(Command::Createsuperuser(c)) = parse(&["createsuperuser"]).command else {
            panic!("not createsuperuser")
        };
        assert_eq!((c.username, c.email, c.noinput), (None, None, false));
        let Some(Command::Createsuperuser(c)) =
            parse(&["createsuperuser", "--username", "root", "--email", "root@example.org", "--noinput"]).command
        else {
            panic!("not createsuperuser")
        };
        assert_eq!(c.username.as_deref(), Some("root"));
        assert_eq!(c.email.as_deref(), Some("root@example.org"));
        assert!(c.noinput);
        // No password flag: command lines are visible to every user of the machine.
        assert!(Cli::try_parse_from(["kafkaml-backend", "createsuperuser", "--password", "x"]).is_err());

        let Some(Command::Changepassword(c)) = parse(&["changepassword", "ann"]).command else {
            panic!("not changepassword")
        };
        assert_eq!(c.username, "ann");
        assert!(Cli::try_parse_from(["kafkaml-backend", "changepassword"]).is_err(), "the username is required");

        let Some(Command::Createtoken(t)) = parse(&["createtoken", "ann"]).command else { panic!("not createtoken") };
        assert_eq!((t.username.as_str(), t.name.as_str(), t.expires), ("ann", "cli", None));
        let Some(Command::Createtoken(t)) = parse(&["createtoken", "ann", "--name", "ci", "--expires", "30d"]).command
        else {
            panic!("not createtoken")
        };
        assert_eq!((t.name.as_str(), t.expires.as_deref()), ("ci", Some("30d")));
        assert!(Cli::try_parse_from(["kafkaml-backend", "createtoken"]).is_err(), "the username is required");

        let Some(Command::Migrate(m)) = parse(&["migrate"]).command else { panic!("not migrate") };
        assert!(!m.check);
        let Some(Command::Migrate(m)) = parse(&["migrate", "--check"]).command else { panic!("not migrate") };
        assert!(m.check);
    }

    #[test]
    fn debug_is_a_flag_of_the_server() {
        assert!(!parse(&[]).settings.server.debug);
        assert_eq!(parse(&[]).settings.log_filter(), "info");
        let cli = parse(&["--debug"]);
        assert!(cli.settings.server.debug);
        assert_eq!(cli.settings.log_filter(), "debug");
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
