//! Memory and start-up benchmark of the real server process (docs/decisions.md, "Numbers to reach"): start-up to the first
//! answered request on a fresh SQLite database (migrations included), idle resident memory, and
//! the peak memory growth while a training pod uploads a 256 MB trained model.
//!
//! It runs the release `kafkaml-backend` binary next to itself as a child process and reads the
//! child's `/proc/<pid>/status` (VmRSS, VmHWM; the peak is reset through `clear_refs` before the
//! upload), so the load generator's own memory is not counted.
//!
//! Run with `cargo build --release -p kafkaml-api -p kafkaml-tests --bins &&
//! target/release/bench-memory`.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark tool run by hand: a failed step panics with its message"
)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kafkaml_executor::stub::StubExecutor;
use kafkaml_persistence::db::ConnectionManager;
use kafkaml_persistence::repo::deployments::{self, NewDeployment};
use reqwest::multipart::{Form, Part};
use serde_json::json;

const UPLOAD: usize = 256 * 1024 * 1024;

/// A field of `/proc/<pid>/status` in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("{field} in /proc status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Kills the server when the benchmark ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A multipart upload with a model file of `len` bytes (held by this process only: the server's
/// memory is what is measured).
fn upload_form(len: usize) -> Form {
    let model =
        Part::bytes(vec![0x5a; len]).file_name("trained_model.h5").mime_str("application/octet-stream").unwrap();
    let data = json!({"train_metrics": {"loss": [0.5]}, "val_metrics": {"loss": [0.6]}, "training_time": 12.5});
    Form::new().part("trained_model", model).text("data", data.to_string())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let binary: PathBuf = std::env::current_exe().unwrap().with_file_name("kafkaml-backend");
    assert!(binary.exists(), "build the server first: cargo build --release -p kafkaml-api ({binary:?} is missing)");
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let executor = StubExecutor::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let started = Instant::now();
    let child = Command::new(&binary)
        .env_clear()
        .env("KAFKAML_BIND", format!("127.0.0.1:{port}"))
        .env("KAFKAML_DATA_DIR", &data_dir)
        .env("TFEXECUTOR_URL", executor.url())
        .env("PTHEXECUTOR_URL", executor.url())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let pid = server.0.id();
    let first_answer = loop {
        if let Ok(res) = client.get(format!("{base}/models/")).send().await {
            assert_eq!(res.status(), 200);
            break started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not answer within 30 s");
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = status_kib(pid, "VmRSS:");

    // A model, a configuration and a deployment with one result to upload to.
    let model = json!({"name": "big", "code": "model = build()", "framework": "tf", "distributed": false,
                       "imports": "", "description": ""});
    assert_eq!(client.post(format!("{base}/models/")).json(&model).send().await.unwrap().status(), 201);
    let config = json!({"name": "big", "ml_models": [1]});
    assert_eq!(client.post(format!("{base}/configurations/")).json(&config).send().await.unwrap().status(), 201);
    let db_url = format!("sqlite://{}", data_dir.join("kafkaml.sqlite3").display());
    let mut conn = ConnectionManager::new(&db_url).connect().unwrap();
    let deployment = deployments::create(&mut conn, &NewDeployment::with_defaults(1)).unwrap();
    let result = deployment.results[0].0;
    let url = format!("{base}/results/{result}");

    // Warm-up: a small upload, so buffers and connections the server keeps are counted as baseline.
    let res = client.post(&url).multipart(upload_form(4 * 1024 * 1024)).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let before = status_kib(pid, "VmRSS:");
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("resetting VmHWM (Linux ≥ 4.0)");

    let start = Instant::now();
    let res = client.post(&url).multipart(upload_form(UPLOAD)).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let took = start.elapsed();
    let peak = status_kib(pid, "VmHWM:");
    let stored = std::fs::metadata(data_dir.join("trained").join(format!("{result}.h5"))).unwrap().len();
    assert_eq!(stored, UPLOAD as u64, "the stored model has the uploaded size");

    println!(
        "start-up to first answered request (fresh SQLite, migrations): {:.1} ms",
        first_answer.as_secs_f64() * 1e3
    );
    println!("idle RSS 2 s after start-up: {:.1} MiB", mib(idle));
    println!(
        "256 MiB upload in {:.2} s: RSS before {:.1} MiB, peak during {:.1} MiB, growth {:.1} MiB",
        took.as_secs_f64(),
        mib(before),
        mib(peak),
        mib(peak.saturating_sub(before))
    );
}
