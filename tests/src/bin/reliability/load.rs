//! Load: `connections` clients for `seconds` of mixed reads (80%) and writes (20%) as an
//! operator's token. Every request must succeed; p50/p99 latency, throughput and the server's
//! peak resident memory are printed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::stage::{deployment_body, Stage};
use crate::{Counts, Report};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub async fn run(stage: &Stage, counts: &Counts, report: &mut Report) {
    report.section(format!(
        "load on {}: {} connections for {} s, 80% reads and 20% writes",
        stage.db.name(),
        counts.connections,
        counts.seconds
    ));
    // Data to read: 50 models, 10 configurations, 10 deployments of two results each.
    for i in 0..50 {
        let a = stage
            .post(
                "/models/",
                &json!({"name": format!("seed{i}"), "code": "model = build()", "framework": "tf",
                "distributed": false, "imports": "", "description": format!("seed model {i}")}),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let models: Vec<i64> = stage.list("/models/").await.iter().filter_map(|m| m["id"].as_i64()).collect();
    for i in 0..10 {
        let a = stage
            .post("/configurations/", &json!({"name": format!("seed{i}"), "ml_models": [models[i], models[i + 1]]}))
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let configurations: Vec<i64> =
        stage.list("/configurations/").await.iter().filter_map(|c| c["id"].as_i64()).collect();
    for c in &configurations {
        let a = stage.post("/deployments/", &deployment_body(*c)).await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let deployments: Vec<i64> = stage.list("/deployments/").await.iter().filter_map(|d| d["id"].as_i64()).collect();

    let (rss_before, _) = stage.memory_kib();
    std::fs::write(format!("/proc/{}/clear_refs", stage.pid()), "5").expect("resetting VmHWM (Linux ≥ 4.0)");
    let deadline = Instant::now() + Duration::from_secs(counts.seconds);
    let shared = Arc::new((models, configurations, deployments));
    let clients: Vec<_> = (0..counts.connections)
        .map(|c| {
            let shared = Arc::clone(&shared);
            async move {
                let (models, configurations, deployments) = &*shared;
                let mut times = Vec::new();
                let mut failures = Vec::new();
                let mut i = c;
                while Instant::now() < deadline {
                    i += counts.connections;
                    let (method, path, body) = match i % 10 {
                        0 => (
                            Method::POST,
                            "/models/".to_owned(),
                            Some(json!({"name": format!("load{i}"), "code": "model = build()",
                            "framework": "tf", "distributed": false, "imports": "", "description": ""})),
                        ),
                        1 => (
                            Method::PATCH,
                            format!("/models/{}", models[i % models.len()]),
                            Some(json!({"description": format!("load {i}")})),
                        ),
                        2 => (Method::GET, "/results/".to_owned(), None),
                        3 => (Method::GET, "/configurations/".to_owned(), None),
                        4 => (Method::GET, format!("/models/{}", models[i % models.len()]), None),
                        5 => (
                            Method::POST,
                            "/datasources/".to_owned(),
                            Some(json!({"input_format": "RAW",
                            "deployment": deployments[i % deployments.len()].to_string(), "input_config": "{}",
                            "description": "load", "topic": format!("data:0:0:{i}"), "validation_rate": 0.1,
                            "test_rate": 0.1, "total_msg": i, "time": "2026-12-03T10:00:00Z"})),
                        ),
                        6 => {
                            (Method::GET, format!("/configurations/{}", configurations[i % configurations.len()]), None)
                        }
                        7 => (Method::GET, "/deployments/".to_owned(), None),
                        8 => {
                            (Method::GET, format!("/deployments/results/{}", deployments[i % deployments.len()]), None)
                        }
                        _ => (Method::GET, "/models/".to_owned(), None),
                    };
                    let a = stage.call(method.clone(), &path, body.as_ref()).await;
                    if a.ok() {
                        times.push(a.took);
                    } else if failures.len() < 5 {
                        failures.push(format!(
                            "{method} {path} → {} {}",
                            a.status,
                            a.body.chars().take(200).collect::<String>()
                        ));
                    } else {
                        failures.push(String::new());
                    }
                }
                (times, failures)
            }
        })
        .collect();
    let started = Instant::now();
    let outcomes = futures::future::join_all(clients).await;
    let elapsed = started.elapsed();
    let (rss_after, peak) = stage.memory_kib();
    let mut times: Vec<Duration> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for (t, f) in outcomes {
        times.extend(t);
        failures.extend(f);
    }
    times.sort();
    report.line(format!(
        "{} requests in {:.1} s ({:.0} req/s): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        times.len() + failures.len(),
        elapsed.as_secs_f64(),
        (times.len() + failures.len()) as f64 / elapsed.as_secs_f64(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    ));
    report.line(format!(
        "server RSS {:.1} MiB before, {:.1} MiB after, peak {:.1} MiB during the load",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        peak as f64 / 1024.0
    ));
    let shown: Vec<&String> = failures.iter().filter(|f| !f.is_empty()).collect();
    report.check(failures.is_empty(), format!("{} failed requests under load {shown:?}", failures.len()));
}
