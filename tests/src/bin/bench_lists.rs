//! Benchmark of the list endpoints (docs/decisions.md, "Numbers to reach"): `GET /results/` with 1,000 results,
//! `GET /configurations/` with 100 configurations, `GET /models/` with 520 models, on SQLite.
//! One client in series (p50/p99) and 32 concurrent clients (requests per second).
//!
//! Run with `cargo run --release -p kafkaml-tests --bin bench-lists`. With
//! `KAFKAML_BENCH_SERVE_SECS=N` it then keeps serving the seeded data for N seconds and prints
//! its address and database file, for a load generator in another process (e.g. `wrk`).
#![expect(clippy::unwrap_used, reason = "a benchmark tool run by hand: a failed step panics with its message")]

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use kafkaml_tests::{DbKind, TestApp};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

async fn measure(app: &TestApp, path: &str, serial: usize, concurrent_secs: u64) {
    let url = app.url(path);
    let client = reqwest::Client::new();
    let body = client.get(&url).send().await.unwrap().bytes().await.unwrap();
    let mut times = Vec::with_capacity(serial);
    for _ in 0..serial {
        let start = Instant::now();
        let res = client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap();
        times.push(start.elapsed());
    }
    times.sort();
    let deadline = Instant::now() + Duration::from_secs(concurrent_secs);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let res = client.get(&url).send().await.unwrap();
                assert_eq!(res.status(), 200);
                res.bytes().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let start = Instant::now();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let rps = total as f64 / start.elapsed().as_secs_f64();
    println!(
        "GET {path:<16} body {:>7} B | 1 client: p50 {:>7.2} ms  p99 {:>7.2} ms | 32 clients: {:>7.0} req/s",
        body.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        rps
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let app = TestApp::spawn_with(DbKind::Sqlite, |s| s.database.pool_size = 8).await;
    // 520 models.
    let mut conn = app.db.connect();
    let mut sql = String::from("BEGIN;");
    for i in 0..520 {
        sql.push_str(&format!(
            "INSERT INTO automl_mlmodel (name, description, imports, code, distributed, framework) \
             VALUES ('model-{i}', 'benchmark model {i}', 'import tensorflow as tf', \
             'model = tf.keras.Sequential([tf.keras.layers.Dense({i})])', 0, 'tf');"
        ));
    }
    sql.push_str("COMMIT;");
    if let kafkaml_persistence::DbConnection::Sqlite(c) = &mut conn {
        c.batch_execute(&sql).unwrap();
    }
    // 100 configurations of 10 models; 100 deployments of the first one with 10 results each.
    for c in 0..100i64 {
        let models: Vec<i64> = (1..=10).map(|m| c * 5 + m).collect();
        app.create_configuration(&format!("config-{c}"), &models).await;
    }
    let configs = app.get_json("/configurations/").await;
    let first = configs.as_array().unwrap().last().unwrap()["id"].as_i64().unwrap();
    for _ in 0..100 {
        app.seed_deployment(first, |_| {});
    }
    if let kafkaml_persistence::DbConnection::Sqlite(c) = &mut conn {
        c.batch_execute(
            "UPDATE automl_trainingresult SET status = 'finished', \
             train_metrics = '{\"loss\": [0.51, 0.42], \"accuracy\": [0.8, 0.9]}', \
             val_metrics = '{\"loss\": [0.6, 0.5]}', test_metrics = '{\"loss\": [0.7]}', training_time = 12.3457",
        )
        .unwrap();
    }
    println!("seeded 520 models, 100 configurations, 100 deployments, 1000 results (SQLite)");
    measure(&app, "/results/", 300, 5).await;
    measure(&app, "/configurations/", 500, 5).await;
    measure(&app, "/models/", 500, 5).await;
    if let Some(secs) = std::env::var("KAFKAML_BENCH_SERVE_SECS").ok().and_then(|s| s.parse().ok()) {
        println!("serving {} for {secs} s (database {})", app.address, app.db.url);
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
}
