//! The stage every part runs on: the real `kafkaml-backend` process (so it can be killed with
//! `SIGKILL` and restarted), with `KAFKAML_AUTH=on` and a superuser's token, in front of a real
//! database (a fresh SQLite file, or a fresh PostgreSQL database of its own so that its backends
//! can be terminated without touching anyone else's), a private tansu broker, the stub executor
//! and the fake Kubernetes API server of the test kit.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use kafkaml_executor::stub::StubExecutor;
use kafkaml_persistence::db::ConnectionManager;
use kafkaml_persistence::DbConnection;
use kafkaml_tests::fake_kube::FakeKube;
use kafkaml_tests::kafka::{unique_topic, TansuBroker};
use kafkaml_tests::{postgres_admin, postgres_base_url};
use reqwest::Method;
use serde_json::Value;

/// The namespace the server's Jobs and controllers go to.
pub const NAMESPACE: &str = "kafkaml";
/// How long any one request of the suite may take before it counts as hung.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(20);
/// The timeout the server is given for each outside service (executor, Kubernetes, Kafka).
pub const SERVICE_TIMEOUT_SECS: u64 = 3;

/// Which database the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    pub fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres => "PostgreSQL",
        }
    }
}

/// One answer: its status (0 when the request failed or hung), how long it took and its body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub took: Duration,
    pub body: String,
}

impl Answer {
    /// 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// What the suite allows under load and faults: 2xx, 4xx and 503, within [`REQUEST_LIMIT`].
    pub fn acceptable(&self) -> bool {
        self.ok() || (400..500).contains(&self.status) || self.status == 503
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// The server process; killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A PostgreSQL database created for one stage and dropped with it.
struct PgDatabase {
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres_admin() {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

pub struct Stage {
    pub db: Db,
    pub db_url: String,
    pg: Option<PgDatabase>,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    pub executor: StubExecutor,
    pub kube: FakeKube,
    pub broker: TansuBroker,
    pub control_topic: String,
    binary: PathBuf,
    server: Option<Server>,
    pub port: u16,
    pub token: String,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Where the server's log goes: `reliability-logs/<database>-<n>.log` next to this binary, kept
/// after the run (the path is printed).
fn log_path(db: Db) -> PathBuf {
    let path = kept(&format!("{}-", db.name()), ".log");
    println!("   (server log: {})", path.display());
    path
}

/// A new path `reliability-logs/<prefix><n><suffix>` next to this binary, for what the run keeps.
pub fn kept(prefix: &str, suffix: &str) -> PathBuf {
    let dir = std::env::current_exe().unwrap().with_file_name("reliability-logs");
    std::fs::create_dir_all(&dir).unwrap();
    let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    dir.join(format!("{prefix}{n}{suffix}"))
}

/// The `kafkaml-backend` binary built next to this one.
pub fn server_binary() -> PathBuf {
    let binary = std::env::current_exe().unwrap().with_file_name("kafkaml-backend");
    assert!(binary.exists(), "build the server first: cargo build -p kafkaml-api ({binary:?} is missing)");
    binary
}

impl Stage {
    /// Starts the outside services and the server, and makes the superuser's token.
    pub async fn start(db: Db) -> Stage {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let (db_url, pg) = match db {
            Db::Sqlite => (format!("sqlite://{}", data_dir.join("kafkaml.sqlite3").display()), None),
            Db::Postgres => {
                let name = format!("kafkaml_reliability_{}", uuid::Uuid::new_v4().simple());
                let mut admin = postgres_admin().unwrap_or_else(|e| panic!("PostgreSQL is required: {e}"));
                admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                let mut url = reqwest::Url::parse(&postgres_base_url()).unwrap();
                url.set_path(&format!("/{name}"));
                (url.to_string(), Some(PgDatabase { name }))
            }
        };
        let broker = TansuBroker::start().await;
        let control_topic = unique_topic("control");
        broker.kafka().create_topic(&control_topic, 1).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut stage = Stage {
            db,
            db_url,
            pg,
            log: log_path(db),
            data_dir,
            executor: StubExecutor::start().await,
            kube: FakeKube::start("reliability-kube-token").await,
            broker,
            control_topic,
            binary: server_binary(),
            server: None,
            port,
            token: String::new(),
            client: reqwest::Client::builder().timeout(REQUEST_LIMIT).pool_max_idle_per_host(512).build().unwrap(),
            _dir: dir,
        };
        std::fs::create_dir_all(&stage.data_dir).unwrap();
        stage.token = stage.make_token();
        stage.launch().await;
        stage
    }

    /// The server's environment (its settings), shared by the server and its commands.
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("KAFKAML_BIND", format!("127.0.0.1:{}", self.port))
            .env("KAFKAML_DATA_DIR", &self.data_dir)
            .env("DATABASE_URL", &self.db_url)
            .env("KAFKAML_DB_POOL_SIZE", "16")
            .env("SECRET_KEY", "reliability-suite-secret-key-0123456789")
            .env("KAFKAML_AUTH", "on")
            .env("BACKEND_URL", format!("http://127.0.0.1:{}", self.port))
            .env("TFEXECUTOR_URL", self.executor.url())
            .env("PTHEXECUTOR_URL", self.executor.url())
            .env("KAFKAML_EXECUTOR_TIMEOUT", SERVICE_TIMEOUT_SECS.to_string())
            .env("KUBE_HOST", self.kube.url())
            .env("KUBE_TOKEN", self.kube.token())
            .env("KUBE_NAMESPACE", NAMESPACE)
            .env("KAFKAML_KUBE_TIMEOUT", SERVICE_TIMEOUT_SECS.to_string())
            .env("BOOTSTRAP_SERVERS", &self.broker.bootstrap)
            .env("CONTROL_TOPIC", &self.control_topic)
            .env("KAFKAML_KAFKA_TIMEOUT", SERVICE_TIMEOUT_SECS.to_string())
            .env("TENSORFLOW_TRAINING_MODEL_IMAGE", "kafkaml/tf-train:reliability")
            .env("TENSORFLOW_INFERENCE_MODEL_IMAGE", "kafkaml/tf-infer:reliability")
            .env("PYTORCH_TRAINING_MODEL_IMAGE", "kafkaml/pth-train:reliability")
            .env("PYTORCH_INFERENCE_MODEL_IMAGE", "kafkaml/pth-infer:reliability")
            .env("KAFKAML_IOT_BROKERS", "127.0.0.1:1883")
            .env("RUST_LOG", "warn,kafkaml_api=info");
        cmd
    }

    /// `createsuperuser --noinput`, then `createtoken`: the key the suite sends.
    fn make_token(&self) -> String {
        let status = self
            .command()
            .args(["createsuperuser", "--noinput"])
            .env("KAFKAML_SUPERUSER_USERNAME", "reliability")
            .env("KAFKAML_SUPERUSER_EMAIL", "reliability@example.org")
            .env("KAFKAML_SUPERUSER_PASSWORD", "Kx7-quorum-lantern-92")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "createsuperuser failed");
        let out = self.command().args(["createtoken", "reliability", "--name", "reliability"]).output().unwrap();
        assert!(out.status.success(), "createtoken failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Starts the server process and waits until it answers.
    pub async fn launch(&mut self) {
        assert!(self.server.is_none(), "the server is already running");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        // The server logs on standard output.
        let child = self
            .command()
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("starting kafkaml-backend");
        self.server = Some(Server(child));
        let started = Instant::now();
        loop {
            if let Ok(res) = self.client.get(self.url("/healthz")).send().await {
                if res.status() == 200 {
                    break;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(60), "the server did not answer within 60 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `SIGKILL`: the server stops at once, whatever it was doing.
    pub fn kill(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.0.kill().unwrap();
            server.0.wait().unwrap();
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.server.as_ref().expect("the server is running").0.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// One request with the superuser's token; a transport failure or a hang is status 0.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let mut req =
            self.client.request(method, self.url(path)).header("Authorization", format!("Token {}", self.token));
        if let Some(body) = body {
            req = req.json(body);
        }
        let start = Instant::now();
        match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let body = res.text().await.unwrap_or_default();
                Answer { status, took: start.elapsed(), body }
            }
            Err(e) => Answer { status: 0, took: start.elapsed(), body: e.to_string() },
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    /// The objects of a list endpoint.
    pub async fn list(&self, path: &str) -> Vec<Value> {
        let answer = self.get(path).await;
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
        answer.json().as_array().cloned().unwrap_or_default()
    }

    /// A connection to the server's database.
    pub fn connect(&self) -> DbConnection {
        ConnectionManager::new(&self.db_url).connect().unwrap()
    }

    /// The single integer a SQL query returns (`SELECT COUNT(*) …`).
    pub fn count(&self, sql: &str) -> i64 {
        scalar(&mut self.connect(), sql)
    }

    /// Ends every connection the server holds to its PostgreSQL database (`pg_terminate_backend`).
    pub fn terminate_backends(&self) -> i64 {
        let name = &self.pg.as_ref().expect("a PostgreSQL stage").name;
        scalar(
            &mut postgres_admin().unwrap(),
            &format!(
                "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid()) t"
            ),
        )
    }

    /// The server's resident memory and its peak, in KiB (`/proc/<pid>/status`).
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let field = |name: &str| {
            let line = status.lines().find(|l| l.starts_with(name)).unwrap();
            line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap()
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Lines of the server's log that report a 500 (`request failed`, see `ApiError::Internal`) or a
    /// panic.
    pub fn log_errors(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines().filter(|l| l.contains("panicked") || l.contains("request failed")).map(str::to_owned).collect()
    }

    /// Files in `dir` under the data directory (recursively), relative names.
    pub fn files_under(&self, dir: &str) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(base, &path, out);
                } else {
                    out.push(path.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
        let base = self.data_dir.join(dir);
        let mut out = Vec::new();
        walk(&base, &base, &mut out);
        out.sort();
        out
    }
}

/// The body of `POST /deployments/` for a classic training of `configuration`, as the web UI
/// sends it.
pub fn deployment_body(configuration: i64) -> Value {
    serde_json::json!({"configuration": configuration, "batch": 10, "gpumem": 0, "tf_kwargs_fit": "epochs=1",
        "tf_kwargs_val": "", "pth_kwargs_fit": "", "pth_kwargs_val": "", "unsupervised": false, "incremental": false,
        "federated": false, "conf_mat_settings": false})
}

/// The body of `POST /models/` for a TensorFlow model named `name`.
pub fn model_body(name: &str) -> Value {
    serde_json::json!({"name": name, "code": "model = build()", "framework": "tf", "distributed": false,
        "imports": "", "description": ""})
}

/// The single integer a SQL query returns.
fn scalar(conn: &mut DbConnection, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let query = format!("SELECT CAST(({sql}) AS BIGINT) AS n");
    let rows: Vec<N> = kafkaml_persistence::with_conn!(conn, |c| diesel::sql_query(&query).load(c).unwrap());
    rows[0].n
}

/// A summary of answers: how many of each status, and the slowest.
#[derive(Debug, Default)]
pub struct Tally {
    pub by_status: std::collections::BTreeMap<u16, usize>,
    pub slowest: Duration,
    pub unacceptable: Vec<String>,
}

impl Tally {
    pub fn add(&mut self, what: &str, answer: &Answer) {
        *self.by_status.entry(answer.status).or_default() += 1;
        self.slowest = self.slowest.max(answer.took);
        if !answer.acceptable() && self.unacceptable.len() < 20 {
            self.unacceptable.push(format!(
                "{what} → {} {}",
                answer.status,
                answer.body.chars().take(300).collect::<String>()
            ));
        }
    }

    pub fn count(&self, pred: impl Fn(u16) -> bool) -> usize {
        self.by_status.iter().filter(|(s, _)| pred(**s)).map(|(_, n)| n).sum()
    }

    pub fn show(&self) -> String {
        let parts: Vec<String> = self.by_status.iter().map(|(s, n)| format!("{n}×{s}")).collect();
        format!("{} (slowest {:.2} s)", parts.join(" "), self.slowest.as_secs_f64())
    }
}
