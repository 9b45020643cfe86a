//! The processes a real-browser test drives besides the application: `chromedriver` on a free
//! loopback port (it starts headless Chromium), Kafka-ML's web UI behind its stand-in proxy
//! (`serve.py` of the workplace's `shared/webui/`), and the `kafkaml-backend` binary's
//! `createsuperuser` command. Each process is ended when its value is dropped, so a failing
//! test leaves nothing running.
//!
//! Nothing here skips: a missing browser, driver, web UI or binary fails the test with the
//! command that installs or builds it.

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::TestApp;

/// How long a process may take to answer after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Chromium from Debian's `chromium` package (`KAFKAML_TEST_CHROMIUM` overrides it).
pub fn chromium_path() -> PathBuf {
    installed("KAFKAML_TEST_CHROMIUM", "/usr/bin/chromium")
}

/// chromedriver from Debian's `chromium-driver` package (`KAFKAML_TEST_CHROMEDRIVER` overrides it).
pub fn chromedriver_path() -> PathBuf {
    installed("KAFKAML_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
}

fn installed(var: &str, default: &str) -> PathBuf {
    let path = PathBuf::from(std::env::var_os(var).unwrap_or_else(|| default.into()));
    assert!(
        path.is_file(),
        "{} not found: the browser tests need Chromium and its WebDriver; install them with \
         `apt-get install -y chromium chromium-driver` (scripts/test.sh does) or set {var}",
        path.display()
    );
    path
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process in a process group of its own, killed with everything it started (the
/// group) when dropped; its output goes to a log file shown when it fails to start.
struct Group {
    child: Child,
    log: PathBuf,
    name: &'static str,
}

impl Group {
    fn spawn(name: &'static str, mut command: Command, log: PathBuf) -> Group {
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        command.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
        let child = command.spawn().unwrap_or_else(|e| panic!("{name} could not be started: {e}"));
        Group { child, log, name }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `ready` answers true, failing when the process exits or takes too long.
    async fn wait_until<F, Fut>(&mut self, what: &str, mut ready: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let start = Instant::now();
        loop {
            if ready().await {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited ({status}) before {what}; its output:\n{}", self.name, self.log());
            }
            assert!(
                start.elapsed() < START_TIMEOUT,
                "{} did not {what} within {START_TIMEOUT:?}; its output:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // The whole group: chromedriver's Chromium processes go with it.
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running chromedriver; [`ChromeDriver::url`] is what a WebDriver client connects to.
pub struct ChromeDriver {
    url: String,
    dir: tempfile::TempDir,
    _process: Group,
}

impl ChromeDriver {
    /// Starts chromedriver on a free loopback port and waits until it reports itself ready.
    pub async fn start() -> ChromeDriver {
        let driver = chromedriver_path();
        chromium_path();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = Command::new(driver);
        command.arg(format!("--port={port}")).arg("--allowed-ips=127.0.0.1");
        let mut process = Group::spawn("chromedriver", command, dir.path().join("chromedriver.log"));
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        let client = reqwest::Client::new();
        process
            .wait_until("answered /status", || {
                let request = client.get(&status).timeout(Duration::from_secs(2)).send();
                async move {
                    match request.await {
                        Ok(res) => res.json::<serde_json::Value>().await.is_ok_and(|v| v["value"]["ready"] == true),
                        Err(_) => false,
                    }
                }
            })
            .await;
        ChromeDriver { url, dir, _process: process }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The WebDriver capabilities of a headless Chromium with a fresh profile, that reaches
    /// nothing but what the test opens (without the background-networking switches Chromium's
    /// own connections are refused on a closed network, and it logs them as errors), and keeps
    /// the page's console messages for [`ChromeDriver::browser_log`].
    pub fn capabilities(&self) -> serde_json::Map<String, serde_json::Value> {
        let profile = self.dir.path().join("profile");
        std::fs::create_dir_all(&profile).unwrap();
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": chromium_path(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    // Keep the renderer at full speed on a loaded machine: no background throttling.
                    "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
                    "--disable-backgrounding-occluded-windows", "--no-default-browser-check",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        match capabilities {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("a JSON object"),
        }
    }

    /// The console messages of session `session` since the last call (chromedriver's log
    /// endpoint), as `(level, message)`.
    pub async fn browser_log(&self, session: &str) -> Vec<(String, String)> {
        let res = reqwest::Client::new()
            .post(format!("{}/session/{session}/se/log", self.url))
            .json(&serde_json::json!({"type": "browser"}))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = res.json().await.unwrap();
        body["value"]
            .as_array()
            .unwrap_or_else(|| panic!("chromedriver's log answer: {body}"))
            .iter()
            .map(|e| {
                (
                    e["level"].as_str().unwrap_or_default().to_owned(),
                    e["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

/// The folder of Kafka-ML's built web UI and its stand-in proxy: `KAFKAML_WEBUI_DIR`, else
/// `shared/webui` beside the repository (where the workplace and CI's fresh clones have it),
/// else `/work/shared/webui`. Fails, naming the places it looked, when none has `serve.py` and
/// `dist/index.html`.
pub fn webui_dir() -> PathBuf {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates: Vec<PathBuf> = match std::env::var_os("KAFKAML_WEBUI_DIR") {
        Some(dir) => vec![PathBuf::from(dir)],
        None => vec![repository.join("../shared/webui"), PathBuf::from("/work/shared/webui")],
    };
    candidates
        .iter()
        .find(|dir| dir.join("serve.py").is_file() && dir.join("dist/index.html").is_file())
        .map(|dir| dir.canonicalize().unwrap())
        .unwrap_or_else(|| {
            panic!(
                "Kafka-ML's web UI (serve.py and dist/index.html) is in none of {candidates:?}; set KAFKAML_WEBUI_DIR \
                 to the folder that has them (the workplace's shared/webui)"
            )
        })
}

/// Kafka-ML's web UI served by its stand-in proxy (`python3 serve.py`): the built UI, and
/// `/api/*` proxied to the back-end with `/api` stripped, as the UI's nginx does.
pub struct WebUi {
    address: String,
    _process: Group,
    _dir: tempfile::TempDir,
}

impl WebUi {
    /// Serves the UI on `port` (see [`free_port`]) in front of `backend` (`http://HOST:PORT`) and
    /// waits until it answers.
    pub async fn start(backend: &str, port: u16) -> WebUi {
        let webui = webui_dir();
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new("python3");
        command
            .arg(webui.join("serve.py"))
            .env("DIST", webui.join("dist"))
            .env("BACKEND", backend)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("QUIET", "1")
            .env_remove("BACKEND_URL");
        let mut process = Group::spawn("the web UI's serve.py", command, dir.path().join("serve.log"));
        let address = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let root = format!("{address}/");
        process
            .wait_until("answered /", || {
                let request = client.get(&root).timeout(Duration::from_secs(2)).send();
                async move { request.await.is_ok_and(|res| res.status() == 200) }
            })
            .await;
        WebUi { address, _process: process, _dir: dir }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

/// The `kafkaml-backend` binary of the build that made this test: `target/<profile>/`, the
/// parent of the test executable's `deps/`. Cargo builds it with the workspace's tests
/// (`kafkaml-api` has integration tests); testing this package alone does not.
pub fn backend_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let binary = profile_dir.join("kafkaml-backend");
    assert!(
        binary.is_file(),
        "{} is missing: build it with `cargo build -p kafkaml-api --bin kafkaml-backend` (same profile as the tests), \
         or run the workspace's tests (`cargo nextest run --workspace --all-features`, what scripts/test.sh runs), \
         which builds it",
        binary.display()
    );
    binary
}

/// Variables of the test's own environment that would change what the command does.
const CLEARED: [&str; 4] = ["SECRET_KEY", "DEBUG", "RUST_LOG", "KAFKAML_DB_POOL_SIZE"];

/// Runs `kafkaml-backend createsuperuser --noinput` on the database and data directory of
/// `app`, with the username, e-mail and password in `KAFKAML_SUPERUSER_*`, and fails unless it
/// exits with status 0 within a minute.
pub async fn create_superuser_with_command(app: &TestApp, username: &str, email: &str, password: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut command = Command::new(backend_binary());
    command
        .args(["createsuperuser", "--noinput"])
        .env("DATABASE_URL", &app.db.url)
        .env("KAFKAML_DATA_DIR", &app.data_dir)
        .env("KAFKAML_SUPERUSER_USERNAME", username)
        .env("KAFKAML_SUPERUSER_EMAIL", email)
        .env("KAFKAML_SUPERUSER_PASSWORD", password)
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap());
    for var in CLEARED {
        command.env_remove(var);
    }
    let mut child =
        command.spawn().unwrap_or_else(|e| panic!("{} could not be started: {e}", backend_binary().display()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()),
        "kafkaml-backend createsuperuser --noinput: {}\n--- stdout\n{}--- stderr\n{}",
        status.map_or_else(|| "still running after 60 s, killed".to_owned(), |s| s.to_string()),
        read(&out),
        read(&err)
    );
}
