//! Test kit of the Kafka-ML back-end: spawns the real application on port 0 against a fresh
//! SQLite file or a fresh PostgreSQL schema, with a stub executor, and offers an HTTP client.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test kit: a setup step that fails panics, and the panic is the failing test's report"
)]

pub mod admin;
pub mod auth;
pub mod browser;
pub mod fake_kube;
pub mod kafka;
pub mod proxy;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use kafkaml_api::settings::OriginList;
use kafkaml_api::{Application, Services, Settings};
use kafkaml_executor::stub::StubExecutor;
use kafkaml_persistence::db::ConnectionManager;
use kafkaml_persistence::DbConnection;
use serde_json::Value;

pub use proxy::TcpProxy;

/// The web UI's development server (`ng serve`), trusted by the test apps through `CORS_EXTRA_ORIGINS`.
pub const WEB_UI_DEV_ORIGIN: &str = "http://localhost:4200";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    /// A fresh SQLite file in the test's data directory.
    Sqlite,
    /// A fresh schema in the PostgreSQL database `test` (see [`postgres_base_url`]).
    Postgres,
}

/// The PostgreSQL database the tests use: `KAFKAML_TEST_POSTGRES_URL`, default
/// `postgres://postgres@127.0.0.1:5432/test`.
pub fn postgres_base_url() -> String {
    std::env::var("KAFKAML_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A connection to the database of [`postgres_base_url`], opened like the application's own (so
/// libpq's OpenSSL is initialised the same way).
pub fn postgres_admin() -> Result<DbConnection, kafkaml_persistence::DbError> {
    ConnectionManager::new(&postgres_base_url()).connect()
}

/// The socket address of the PostgreSQL server of [`postgres_base_url`].
pub fn postgres_server_addr() -> SocketAddr {
    let url = reqwest::Url::parse(&postgres_base_url()).unwrap();
    let host = url.host_str().unwrap_or("127.0.0.1").trim_start_matches('[').trim_end_matches(']').to_owned();
    (host.as_str(), url.port().unwrap_or(5432)).to_socket_addrs().unwrap().next().unwrap()
}

/// `url` (a PostgreSQL URL) with its host and port replaced by `addr`, e.g. a [`TcpProxy`].
pub fn postgres_url_via(url: &str, addr: SocketAddr) -> String {
    let mut url = reqwest::Url::parse(url).unwrap();
    url.set_host(Some(&addr.ip().to_string())).unwrap();
    url.set_port(Some(addr.port())).unwrap();
    url.to_string()
}

/// A disposable database: a SQLite file, or a PostgreSQL schema dropped when the value is dropped.
pub struct TestDb {
    /// The URL the application uses.
    pub url: String,
    schema: Option<String>,
}

impl TestDb {
    /// Creates a fresh database of `kind`; SQLite files go into `dir`.
    pub fn create(kind: DbKind, dir: &std::path::Path) -> TestDb {
        match kind {
            DbKind::Sqlite => TestDb { url: format!("sqlite://{}", dir.join("test.sqlite3").display()), schema: None },
            DbKind::Postgres => {
                let base = postgres_base_url();
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let mut conn =
                    postgres_admin().unwrap_or_else(|e| panic!("PostgreSQL at {base} is required for the tests: {e}"));
                conn.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                TestDb { url, schema: Some(schema) }
            }
        }
    }

    /// A new connection to this database (for seeding and for checking rows).
    pub fn connect(&self) -> DbConnection {
        ConnectionManager::new(&self.url).connect().unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            if let Ok(mut conn) = postgres_admin() {
                let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// A running application with its database, data directory and stub executor.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The data directory (trained models live in `trained/`).
    pub data_dir: PathBuf,
    /// The database.
    pub db: TestDb,
    /// The stub executor the application talks to.
    pub executor: StubExecutor,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// The settings the application was started with.
    pub settings: Settings,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// Spawns the application on `kind` with default settings plus the test's data directory,
    /// database and stub executor.
    pub async fn spawn(kind: DbKind) -> TestApp {
        Self::spawn_with(kind, |_| {}).await
    }

    /// Like [`TestApp::spawn`], letting the test adjust the settings first.
    pub async fn spawn_with(kind: DbKind, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        Self::spawn_with_services(kind, adjust, |_| {}).await
    }

    /// Like [`TestApp::spawn_with`], letting the test also replace outside services of the
    /// settings' own set (e.g. a `FakePredictionSource` as `predictions`).
    pub async fn spawn_with_services(
        kind: DbKind,
        adjust: impl FnOnce(&mut Settings),
        replace: impl FnOnce(&mut Services),
    ) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::create(kind, dir.path());
        let executor = StubExecutor::start().await;
        let mut settings = Settings::defaults();
        settings.server.bind = "127.0.0.1:0".to_owned();
        settings.server.data_dir = dir.path().join("data");
        settings.database.url = Some(db.url.clone());
        settings.database.pool_size = 4;
        settings.executors.tf_url = executor.url();
        settings.executors.pth_url = executor.url();
        settings.executors.timeout_secs = 10;
        // As a developer runs it next to `ng serve` (CORS_EXTRA_ORIGINS=http://localhost:4200):
        // the tests call as the web UI's development server does. A test of the default clears it.
        settings.server.cors_extra_origins = OriginList(vec![WEB_UI_DEV_ORIGIN.to_owned()]);
        adjust(&mut settings);
        let mut services = Services::from_settings(&settings).await.expect("the outside services are configured");
        replace(&mut services);
        let app = Application::build_with_services(settings.clone(), services).await.expect("the application starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestApp { address, data_dir: dir.path().join("data"), db, executor, client, settings, _dir: dir }
    }

    /// Starts a second application on this one's database, data directory and executor, with
    /// its settings adjusted by `adjust` (e.g. the back-end coming back after being away, now
    /// pointed at a cluster); returns its address, `http://127.0.0.1:PORT`. It serves until the
    /// test ends.
    pub async fn start_another(&self, adjust: impl FnOnce(&mut Settings)) -> String {
        let mut settings = self.settings.clone();
        adjust(&mut settings);
        let services = Services::from_settings(&settings).await.expect("the outside services are configured");
        let app = Application::build_with_services(settings, services).await.expect("the application starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        address
    }

    /// `address + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// GET.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// GET as the web UI's browser sends it in development: with `Origin: http://localhost:4200`
    /// (trusted through `CORS_EXTRA_ORIGINS`, which [`TestApp::spawn`] sets).
    pub async fn get_from_web_ui(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).header("Origin", WEB_UI_DEV_ORIGIN).send().await.unwrap()
    }

    /// GET, expecting 200 and a JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.unwrap()
    }

    /// POST a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.unwrap()
    }

    /// PUT a JSON body.
    pub async fn put_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.put(self.url(path)).json(body).send().await.unwrap()
    }

    /// PATCH a JSON body.
    pub async fn patch_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.patch(self.url(path)).json(body).send().await.unwrap()
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client.delete(self.url(path)).send().await.unwrap()
    }

    /// POST with a raw body and content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client.post(self.url(path)).header("content-type", content_type).body(body).send().await.unwrap()
    }

    /// Creates a model through the API and returns its id.
    pub async fn create_model(&self, name: &str, framework: &str, distributed: bool, father: Option<i64>) -> i64 {
        let body = serde_json::json!({
            "name": name, "code": format!("model = build_{name}()"), "framework": framework,
            "distributed": distributed, "father": father, "imports": "import x", "description": format!("{name} model"),
        });
        let res = self.post_json("/models/", &body).await;
        assert_eq!(res.status(), 201, "create model {name}: {}", res.text().await.unwrap());
        self.id_by_name("/models/", name).await
    }

    /// Creates a configuration through the API and returns its id.
    pub async fn create_configuration(&self, name: &str, models: &[i64]) -> i64 {
        let res = self.post_json("/configurations/", &serde_json::json!({"name": name, "ml_models": models})).await;
        assert_eq!(res.status(), 201, "create configuration {name}: {}", res.text().await.unwrap());
        self.id_by_name("/configurations/", name).await
    }

    async fn id_by_name(&self, list: &str, name: &str) -> i64 {
        let all = self.get_json(list).await;
        all.as_array().unwrap().iter().find(|m| m["name"] == name).unwrap()["id"].as_i64().unwrap()
    }

    /// Stores a deployment of `configuration` (with one `created` result per model) directly in the
    /// database, as `POST /deployments/` would; returns `(deployment id, result ids in model-link order)`.
    pub fn seed_deployment(
        &self,
        configuration: i64,
        adjust: impl FnOnce(&mut kafkaml_persistence::repo::deployments::NewDeployment),
    ) -> (i64, Vec<i64>) {
        let mut new = kafkaml_persistence::repo::deployments::NewDeployment::with_defaults(configuration as i32);
        adjust(&mut new);
        let mut conn = self.db.connect();
        let created = kafkaml_persistence::repo::deployments::create(&mut conn, &new).unwrap();
        (created.id as i64, created.results.iter().map(|(r, _)| *r as i64).collect())
    }

    /// Stores an inference of `result` with `status` directly in the database (a `RAW` stream
    /// from `in` to `out`, one replica, stamped now), as `POST /results/inference/<id>` would;
    /// returns its id.
    pub fn seed_inference(
        &self,
        result: Option<i32>,
        status: &str,
        adjust: impl FnOnce(&mut kafkaml_persistence::repo::inferences::NewInference),
    ) -> i32 {
        let now = kafkaml_domain::datetime::now();
        let mut new = kafkaml_persistence::repo::inferences::NewInference {
            status: kafkaml_domain::InferenceStatus::parse(status).expect("a known inference status"),
            status_changed: now,
            model_result_id: result,
            replicas: 1,
            input_format: kafkaml_domain::InputFormat::Raw,
            input_config: String::new(),
            input_topic: "in".to_owned(),
            output_topic: "out".to_owned(),
            time: now,
            limit_: None,
            output_upper: String::new(),
            token: None,
            external_host: None,
            input_kafka_broker: None,
            output_kafka_broker: None,
            upper_kafka_broker: None,
        };
        adjust(&mut new);
        kafkaml_persistence::repo::inferences::create(&mut self.db.connect(), &new).unwrap()
    }
}

/// One test per database: `db_test!(name, |app| async move { … })` becomes the tests
/// `name::sqlite` and `name::postgres`, each on a fresh application ([`TestApp::spawn`]).
///
/// Two more forms for tests that need more than the default application:
/// - `db_test!(name, settings = |s| { … }, |app| async move { … })` adjusts the settings first
///   ([`TestApp::spawn_with`]);
/// - `db_test!(name, fixtures = |kind| expr, |pattern| async move { … })` builds whatever the test
///   needs from the [`DbKind`] (`expr` is awaited and bound to `pattern`), e.g. an application
///   pointed at a fake Kubernetes API server together with that server:
///   `db_test!(name, fixtures = |kind| with_kube(kind), |(app, kube)| async move { … })`.
///
/// The body is compiled once, as an `async fn name(kind: DbKind)` next to the module `name` that
/// holds the two `#[test]` functions (a function and a module may share a name), so the module
/// needs no `use super::*`.
#[macro_export]
macro_rules! db_test {
    ($name:ident, |$app:ident| $body:expr) => {
        $crate::db_test!($name, fixtures = |kind| $crate::TestApp::spawn(kind), |$app| $body);
    };
    ($name:ident, settings = $adjust:expr, |$app:ident| $body:expr) => {
        $crate::db_test!($name, fixtures = |kind| $crate::TestApp::spawn_with(kind, $adjust), |$app| $body);
    };
    ($name:ident, fixtures = |$kind:ident| $fixtures:expr, |$fixture:pat_param| $body:expr) => {
        async fn $name($kind: $crate::DbKind) {
            let $fixture = $fixtures.await;
            $body.await
        }

        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::DbKind::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::DbKind::Postgres).await
            }
        }
    };
}
