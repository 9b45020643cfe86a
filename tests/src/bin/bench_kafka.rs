//! Latency of `POST /datasources/kafka` against a real broker (docs/decisions.md, "Numbers to reach": p50 < 5 ms with a
//! long-lived producer). Not a test: run it in release mode with the broker of the test command:
//!
//! ```sh
//! scripts/services.sh >/dev/null   # starts tansu on 127.0.0.1:19092 when needed
//! KAFKAML_TEST_KAFKA=127.0.0.1:19092 cargo run --release -p kafkaml-tests --bin bench-kafka -- 1000
//! ```
//!
//! It spawns the application on SQLite with a fresh control topic, warms up with 50 requests, then
//! sends N (default 1,000) requests one after the other and prints p50, p90, p99 and max.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark tool run by hand: a failed step panics with its message"
)]

use std::time::{Duration, Instant};

use kafkaml_tests::kafka::{unique_topic, Kafka};
use kafkaml_tests::{DbKind, TestApp};
use serde_json::json;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn post(client: &reqwest::Client, url: &str, body: &[u8]) -> Duration {
    let started = Instant::now();
    let res = client.post(url).header("content-type", "application/json").body(body.to_vec()).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    started.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args().nth(1).map(|a| a.parse().expect("N is a number")).unwrap_or(1000);
    let kafka = Kafka::from_env();
    let topic = unique_topic("bench-control");
    kafka.create_topic(&topic, 1).await;
    let (bootstrap, control) = (kafka.bootstrap.clone(), topic.clone());
    let app = TestApp::spawn_with(DbKind::Sqlite, move |s| {
        s.kafka.bootstrap_servers = Some(bootstrap);
        s.kafka.control_topic = Some(control);
    })
    .await;
    let model = app.create_model("m1", "tf", false, None).await;
    let config = app.create_configuration("c1", &[model]).await;
    app.seed_deployment_with_id(config, 7);
    let body = json!({
        "input_format": "RAW", "deployment": "7",
        "input_config": "{\"data_type\": \"uint8\", \"label_type\": \"uint8\", \"data_reshape\": \"28 28\", \"label_reshape\": \"\"}",
        "description": "Mnist", "topic": "automl:0:0:70000", "validation_rate": 0.1, "test_rate": 0.1,
        "total_msg": 70000, "time": "2024-05-01T10:00:00Z"
    });
    let body = serde_json::to_vec(&body).unwrap();
    let url = app.url("/datasources/kafka");
    for _ in 0..50 {
        post(&app.client, &url, &body).await;
    }
    let mut samples = Vec::with_capacity(n);
    let started = Instant::now();
    for _ in 0..n {
        samples.push(post(&app.client, &url, &body).await);
    }
    let total = started.elapsed();
    samples.sort();
    println!("POST /datasources/kafka, {n} sequential requests, broker {} (topic {topic})", kafka.bootstrap);
    println!(
        "p50 {}  p90 {}  p99 {}  max {}  ({:.0} requests/s)",
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 90.0)),
        ms(percentile(&samples, 99.0)),
        ms(*samples.last().unwrap()),
        n as f64 / total.as_secs_f64()
    );
    let published = kafka.consume(&topic, n + 50, Duration::from_secs(60), Duration::from_secs(1)).await;
    println!("messages on the control topic: {}", published.len());
}
