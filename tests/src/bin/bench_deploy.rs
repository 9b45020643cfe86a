//! Benchmark of `POST /deployments/` (docs/decisions.md, "Numbers to reach"): a 20-model configuration deployed against the
//! fake Kubernetes API server answering every call after 10 ms, on SQLite, end to end (HTTP
//! request to 201, including the executor check and the 20 Job creations).
//!
//! Run with `cargo run --release -p kafkaml-tests --bin bench-deploy`.
#![expect(clippy::unwrap_used, reason = "a benchmark tool run by hand: a failed step panics with its message")]

use std::time::{Duration, Instant};

use kafkaml_tests::fake_kube::FakeKube;
use kafkaml_tests::{DbKind, TestApp};
use serde_json::json;

const MODELS: usize = 20;
const RUNS: usize = 30;
const LATENCY: Duration = Duration::from_millis(10);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let kube = FakeKube::start("bench-token").await;
    let (url, token) = (kube.url(), kube.token().to_owned());
    let app = TestApp::spawn_with(DbKind::Sqlite, move |s| {
        s.kube.host = Some(url);
        s.kube.token = Some(token.into());
        s.images.backend_url = Some("http://backend:8000".to_owned());
        s.images.tensorflow_training = Some("kafkaml/tf-training:bench".to_owned());
    })
    .await;
    let mut models = Vec::new();
    for i in 0..MODELS {
        models.push(app.create_model(&format!("bench{i}"), "tf", false, None).await);
    }
    let configuration = app.create_configuration("bench", &models).await;
    let body = json!({
        "configuration": configuration, "batch": 10, "gpumem": 0, "tf_kwargs_fit": "epochs=5", "tf_kwargs_val": "",
        "pth_kwargs_fit": "", "pth_kwargs_val": "",
    });
    kube.set_latency(LATENCY);
    // Warm-up: connections to the fake and the executor.
    assert_eq!(app.post_json("/deployments/", &body).await.status(), 201);
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let res = app.post_json("/deployments/", &body).await;
        assert_eq!(res.status(), 201);
        times.push(start.elapsed());
    }
    assert_eq!(kube.jobs("kafkaml").len(), MODELS * (RUNS + 1));
    times.sort();
    let mean = times.iter().sum::<Duration>() / RUNS as u32;
    println!(
        "POST /deployments/ ({MODELS} models, {} ms per Kubernetes call, {RUNS} runs): p50 {:.1} ms  p90 {:.1} ms  \
         max {:.1} ms  mean {:.1} ms  (sequential floor: {} ms)",
        LATENCY.as_millis(),
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.9)),
        ms(*times.last().unwrap()),
        ms(mean),
        LATENCY.as_millis() * MODELS as u128,
    );
}
