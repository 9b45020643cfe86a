//! The application factory used by `main` and by the tests: it opens the database (running the
//! migrations), binds the listener (port 0 in tests) and reports the port.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::{HttpServiceFactory, Server};
use actix_web::http::header::ContentType;
use actix_web::http::KeepAlive;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::Context;
use kafkaml_persistence::files::{private_dir, private_file};
use kafkaml_persistence::{build_pool, run_migrations, ArtifactStore, Backend, DeviceFileStore, Pool};
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::auth::guard;
use crate::body_timeout;
use crate::cross_site;
use crate::fallback::{fallback, RouteTable};
use crate::middleware::normalize;
use crate::routes::ws::{ClientSlots, SocketLimits};
use crate::services::Services;
use crate::settings::{AuthMode, Settings};
use crate::state::AppState;
use crate::usecase::{Config, Ctx};

/// Where the OpenAPI document is served (and where Swagger UI reads it).
const OPENAPI_JSON: &str = "/api-docs/openapi.json";

/// Largest JSON body accepted (model code can be long).
const MAX_JSON_BODY: usize = 16 * 1024 * 1024;

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    watcher: Option<tokio::task::JoinHandle<()>>,
    /// The use cases' context, whose background work a stop waits for.
    ctx: Arc<Ctx>,
    /// `KAFKAML_SHUTDOWN_TIMEOUT`.
    shutdown_timeout: Duration,
}

/// Opens the pool for the settings' database without migrating it (for SQLite, the data
/// directory is created first).
pub fn connect_database(settings: &Settings) -> anyhow::Result<Pool> {
    let url = settings.database_url();
    let sqlite = Backend::sqlite_path(&url).map(std::path::Path::new);
    if sqlite.is_some() {
        private_dir(&settings.server.data_dir)
            .with_context(|| format!("creating the data directory {}", settings.server.data_dir.display()))?;
    }
    let pool =
        build_pool(&url, settings.database.pool_size(), Duration::from_secs(5)).context("opening the database")?;
    // SQLite creates its write-ahead log and shared-memory files with the database's mode.
    if let Some(file) = sqlite.filter(|f| f.is_file()) {
        private_file(file);
    }
    Ok(pool)
}

/// Opens the pool for the settings' database and runs the pending migrations (on PostgreSQL
/// under an advisory lock, so replicas starting together do not race).
pub fn open_database(settings: &Settings) -> anyhow::Result<Pool> {
    let pool = connect_database(settings)?;
    let mut conn = pool.get().context("connecting to the database")?;
    let applied = run_migrations(&mut conn).context("running the database migrations")?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied the pending database migrations");
    }
    Ok(pool)
}

/// The use cases' context for `settings`: the database (migrated), the file stores, `services`
/// and the settings resolved once ([`Config::from_settings`]). It
/// signs with a random key of this process: [`Api::open`] gives it the configured one
/// ([`crate::secret_key::resolve`]); commands that sign nothing keep it.
pub async fn open_context(settings: &Settings, services: Services) -> anyhow::Result<Ctx> {
    let pool = {
        let settings = settings.clone();
        tokio::task::spawn_blocking(move || open_database(&settings)).await.context("database start-up task")??
    };
    let store = ArtifactStore::open(&settings.server.data_dir).context("opening the file store")?;
    let device_files =
        DeviceFileStore::open(&settings.server.data_dir).context("opening the IoT devices' file store")?;
    let config = Config::from_settings(settings);
    Ok(Ctx::new(pool, store, device_files, services, config))
}

/// The API without a server of its own, for embedding: its state is open (database migrated,
/// stores opened, Job failures watched) and [`Api::configure`] registers its routes on any actix-web
/// `App` or `Scope`, e.g. under a path prefix (`examples/examples/embed_api.rs`).
#[derive(Clone)]
pub struct Api {
    state: web::Data<AppState>,
    /// `KAFKAML_AUTH`, for the guards of [`Api::scope`].
    auth: AuthMode,
    /// The documented operations, which the guards look requests up in.
    routes: Arc<RouteTable>,
    /// `KAFKAML_BODY_TIMEOUT`, for [`crate::body_timeout::guard`].
    body_timeout: Duration,
}

impl Api {
    /// Opens the database and stores of `settings` ([`open_context`]), with the secret key of
    /// `SECRET_KEY` or of the data directory ([`crate::secret_key::resolve`]), and starts watching
    /// the default cluster's Jobs; also returns the watcher's task, which ends when aborted.
    pub async fn open(
        settings: &Settings,
        services: Services,
    ) -> anyhow::Result<(Self, Option<tokio::task::JoinHandle<()>>)> {
        let secret_key = {
            let settings = settings.clone();
            tokio::task::spawn_blocking(move || crate::secret_key::resolve(&settings))
                .await
                .context("secret key task")?
                .context("resolving the secret key")?
        };
        let cluster = services.cluster.clone();
        let ctx = open_context(settings, services).await?.with_secret_key(secret_key);
        if settings.blockchain.wallet_key.is_some()
            && settings.blockchain.wallet_key_secret.is_none()
            && !settings.blockchain.plain_wallet_key
        {
            tracing::warn!(
                "FEDML_BLOCKCHAIN_WALLET_KEY is set but is never written into Jobs: blockchain federated trainings \
                 are refused until FEDML_BLOCKCHAIN_WALLET_KEY_SECRET names the Kubernetes Secret holding the key \
                 (or FEDML_BLOCKCHAIN_PLAIN_WALLET_KEY=1 allows the plain value)"
            );
        }
        if settings.blockchain.enabled && ctx.config.blockchain_token.is_err() {
            tracing::warn!(
                "ENABLE_FEDML_BLOCKCHAIN is set, but this back-end does not deploy the token contract at start-up: \
                 blockchain federated trainings are refused until FEDML_BLOCKCHAIN_TOKEN_ADDRESS and \
                 FEDML_BLOCKCHAIN_ABI name a deployed contract"
            );
        }
        let ctx = Arc::new(ctx);
        let max_consumers = usize::try_from(settings.limits.ws_max_consumers).unwrap_or(usize::MAX);
        let watcher = cluster.map(|c| tokio::spawn(crate::usecase::training::record_job_failures(ctx.clone(), c)));
        let state = web::Data::new(AppState {
            ctx,
            ws_slots: Arc::new(tokio::sync::Semaphore::new(settings.server.ws_max_connections)),
            ws_max_connections: settings.server.ws_max_connections,
            ws_any_topic: settings.server.ws_any_topic,
            ws_limits: SocketLimits {
                consumers: Arc::new(tokio::sync::Semaphore::new(max_consumers)),
                max_consumers,
                clients: ClientSlots::new(usize::try_from(settings.limits.ws_max_per_client).unwrap_or(usize::MAX)),
                idle_timeout: settings.limits.ws_idle_timeout(),
            },
            probe_deadline: settings.iot.probe_deadline(),
        });
        let routes = RouteTable::shared().context("building the route table from the OpenAPI document")?;
        let body_timeout = settings.limits.body_timeout();
        Ok((Api { state, auth: settings.server.auth, routes, body_timeout }, watcher))
    }

    /// The use cases' context (for callers that are not HTTP: commands, schedulers).
    pub fn context(&self) -> Arc<Ctx> {
        self.state.ctx.clone()
    }

    /// The API mounted under `prefix` with its guards around it: the cross-site defences
    /// ([`crate::cross_site::guard`]), authentication ([`crate::auth::guard`], `KAFKAML_AUTH`) and
    /// the body timeout ([`crate::body_timeout::guard`], `KAFKAML_BODY_TIMEOUT`).
    /// What an embedding application registers (`App::new().service(api.scope("/kafkaml"))`).
    pub fn scope(&self, prefix: &str) -> impl HttpServiceFactory {
        let (auth, routes) = (self.auth, self.routes.clone());
        let (origins, json_routes) = (Arc::new(self.state.ctx.config.origins.clone()), self.routes.clone());
        let api = self.clone();
        let body_timeout = self.body_timeout;
        web::scope(prefix)
            .configure(move |cfg| api.configure(cfg))
            .wrap(from_fn(move |req, next| guard(auth, routes.clone(), req, next)))
            .wrap(from_fn(move |req, next| cross_site::guard(origins.clone(), json_routes.clone(), req, next)))
            .wrap(from_fn(move |req, next| body_timeout::guard(body_timeout, req, next)))
    }

    /// Registers every route at its canonical path (no `/api` prefix, no trailing slash) and the
    /// admin site (under `/admin/`) with the state they share, without the guards of
    /// [`Api::scope`]: whoever registers them this way wraps them with those guards.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.state.clone())
            .app_data(web::PayloadConfig::new(MAX_JSON_BODY))
            .configure(crate::routes::configure)
            .configure(crate::admin::configure);
    }
}

impl Application {
    /// Builds the server from settings, with the real outside services.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let services = Services::from_settings(&settings).await?;
        Self::build_with_services(settings, services).await
    }

    /// Builds the server from settings and the given outside services (embedders and tests may
    /// bring their own).
    pub async fn build_with_services(settings: Settings, services: Services) -> anyhow::Result<Self> {
        let listener =
            TcpListener::bind(&settings.server.bind).with_context(|| format!("binding {}", settings.server.bind))?;
        let port = listener.local_addr().context("reading the bound address")?.port();
        let (api, watcher) = Api::open(&settings, services).await?;
        let spec = crate::openapi::served_json().context("serializing the OpenAPI document")?;
        let routes = RouteTable::shared().context("building the route table from the OpenAPI document")?;
        let whitelist = settings.server.host_whitelist();
        let auth = settings.server.auth;
        if auth == AuthMode::Off {
            tracing::warn!(
                "KAFKAML_AUTH=off: anyone who reaches this back-end may call every route, which runs code on the \
                 cluster and on IoT devices; set KAFKAML_AUTH=on and create tokens with `kafkaml-backend createtoken`"
            );
        }
        let origins = Arc::new(api.context().config.origins.clone());
        let limits = settings.limits.clone();
        let body_timeout = limits.body_timeout();
        let workers = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let ctx = api.context();

        let server = HttpServer::new(move || {
            let cors = origins
                .as_slice()
                .iter()
                .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
                .allowed_methods(["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"])
                .allowed_headers([
                    "accept",
                    "accept-encoding",
                    "authorization",
                    "content-type",
                    "dnt",
                    "origin",
                    "user-agent",
                    "x-csrftoken",
                    "x-requested-with",
                ])
                .expose_headers(["ML-Framework"])
                .max_age(86400)
                .block_on_origin_mismatch(false);
            let whitelist = whitelist.clone();
            let table = routes.clone();
            let literal = routes.clone();
            let guarded = routes.clone();
            let (trusted, json_routes) = (origins.clone(), routes.clone());
            let spec = spec.clone();
            let api = api.clone();
            App::new()
                .configure(|cfg| api.configure(cfg))
                .route(
                    OPENAPI_JSON,
                    web::get().to(move || {
                        let spec = spec.clone();
                        async move { HttpResponse::Ok().content_type(ContentType::json()).body(spec) }
                    }),
                )
                .service(
                    SwaggerUi::new("/swagger-ui/{_:.*}")
                        .config(SwaggerConfig::from(OPENAPI_JSON).validator_url("none")),
                )
                .default_service(web::to(move |req: HttpRequest| fallback(req, table.clone())))
                .wrap(from_fn(move |req, next| guard(auth, guarded.clone(), req, next)))
                .wrap(from_fn(move |req, next| cross_site::guard(trusted.clone(), json_routes.clone(), req, next)))
                .wrap(cors)
                .wrap(from_fn(move |req, next| body_timeout::guard(body_timeout, req, next)))
                .wrap(from_fn(move |req, next| normalize(whitelist.clone(), literal.clone(), req, next)))
        })
        // The connection bounds (README, "Limits and security"): the request head must come within
        // KAFKAML_CLIENT_REQUEST_TIMEOUT, idle keep-alive connections close after
        // KAFKAML_KEEP_ALIVE, and KAFKAML_MAX_CONNECTIONS is shared by the workers.
        .workers(workers)
        .client_request_timeout(Duration::from_secs(limits.client_request_timeout))
        .keep_alive(match limits.keep_alive {
            0 => KeepAlive::Disabled,
            secs => KeepAlive::Timeout(Duration::from_secs(secs)),
        })
        .max_connections(limits.max_connections_per_worker(workers))
        .max_connection_rate(usize::try_from(limits.max_connection_rate).unwrap_or(usize::MAX))
        .listen(listener)
        .context("starting the HTTP server")?
        .shutdown_timeout(settings.server.shutdown_timeout_secs)
        .run();
        Ok(Application { port, server, watcher, ctx, shutdown_timeout: settings.server.shutdown_timeout() })
    }

    /// A handle that stops the server (as SIGTERM does), for embedders and tests.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server is stopped (SIGTERM, Ctrl-C: requests in flight get up to
    /// `KAFKAML_SHUTDOWN_TIMEOUT`), then waits up to `KAFKAML_SHUTDOWN_TIMEOUT` again for the
    /// background work requests left running (deletions of Jobs and controllers).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let outcome = self.server.await;
        if let Some(watcher) = self.watcher {
            watcher.abort();
        }
        let running = self.ctx.background.running();
        if running > 0 {
            tracing::info!(tasks = running, timeout = ?self.shutdown_timeout, "waiting for background work to end");
            if !self.ctx.background.drain(self.shutdown_timeout).await {
                tracing::warn!(
                    tasks = self.ctx.background.running(),
                    "background work still running at the end of KAFKAML_SHUTDOWN_TIMEOUT; stopping anyway"
                );
            }
        }
        outcome
    }
}
