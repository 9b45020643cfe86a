//! Faults of the outside services while requests run: each request ends within a bound with a
//! 2xx, a 4xx or a 503 (a 502 where the outside service itself answered an error, which the
//! document states), nothing is half-written, and service resumes without a restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use kafkaml_tests::fake_kube::{FakeKube, Kind};
use reqwest::Method;
use serde_json::json;

use crate::concurrency::{job_of, result_urls};
use crate::stage::{deployment_body, model_body, Answer, Stage, Tally, NAMESPACE, SERVICE_TIMEOUT_SECS};
use crate::Report;

/// A bound on a request that meets a fault: the service's timeout and a margin for retries of
/// idempotent calls and for the answer itself.
fn bound() -> Duration {
    Duration::from_secs(3 * SERVICE_TIMEOUT_SECS + 2)
}

/// An answer to a request made during a fault: within the bound, and one of `allowed`.
fn expect(report: &mut Report, what: &str, answer: &Answer, allowed: &[u16]) {
    report.check(
        allowed.contains(&answer.status) && answer.took <= bound(),
        format!(
            "{what} → {} in {:.2} s ({})",
            answer.status,
            answer.took.as_secs_f64(),
            answer.body.chars().take(160).collect::<String>()
        ),
    );
}

pub async fn run(stage: &mut Stage, report: &mut Report) {
    report.section(format!("faults on {}", stage.db.name()));
    // The fixtures: two models and a configuration of them.
    for name in ["f1", "f2"] {
        let a = stage.post("/models/", &model_body(name)).await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let models: Vec<i64> = stage.list("/models/").await.iter().filter_map(|m| m["id"].as_i64()).collect();
    let a = stage.post("/configurations/", &json!({"name": "faults", "ml_models": models})).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let configuration = stage.list("/configurations/").await[0]["id"].as_i64().unwrap();

    database(stage, report, &models).await;
    kubernetes(stage, report, configuration).await;
    watches(stage, report, configuration).await;
    executor(stage, report).await;
    broker(stage, report, configuration).await;
}

/// PostgreSQL backends terminated every 200 ms while configurations are created and lists read.
async fn database(stage: &Stage, report: &mut Report, models: &[i64]) {
    let before = stage.count("SELECT COUNT(*) FROM automl_configuration");
    let stop = AtomicBool::new(false);
    let killer = async {
        let mut killed = 0;
        while !stop.load(Ordering::Relaxed) {
            killed += stage.terminate_backends();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        killed
    };
    let load = async {
        let mut tally = Tally::default();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut i = 0;
        while Instant::now() < deadline {
            let round: Vec<_> = (0..16)
                .map(|k| {
                    i += 1;
                    let body = json!({"name": format!("pg{i}"), "ml_models": models});
                    async move {
                        if k % 2 == 0 {
                            stage.post("/configurations/", &body).await
                        } else {
                            stage.get("/configurations/").await
                        }
                    }
                })
                .collect();
            for a in join_all(round).await {
                tally.add("configurations while backends are terminated", &a);
            }
        }
        stop.store(true, Ordering::Relaxed);
        tally
    };
    let (killed, tally) = tokio::join!(killer, load);
    report.line(format!("{killed} backends terminated; answers {}", tally.show()));
    for u in &tally.unacceptable {
        report.fail(u.clone());
    }
    report.check(
        tally.slowest <= bound(),
        format!("slowest answer {:.2} s within {:?}", tally.slowest.as_secs_f64(), bound()),
    );
    let created = tally.count(|s| s == 201) as i64;
    let after = stage.count("SELECT COUNT(*) FROM automl_configuration");
    report.check(
        after - before == created,
        format!("{} configuration rows written for {created} answers 201", after - before),
    );
    let half = stage.count(
        "SELECT COUNT(*) FROM automl_configuration c WHERE \
         (SELECT COUNT(*) FROM automl_configuration_ml_models l WHERE l.configuration_id = c.id) <> 2",
    );
    report.check(half == 0, format!("{half} configurations half-written (not both models linked)"));
    let a = stage.post("/configurations/", &json!({"name": "after-pg", "ml_models": models})).await;
    report.check(a.status == 201, format!("service resumed after the terminations: {} {}", a.status, a.body));
}

/// The Kubernetes API answering 500, then hanging: deployments fail cleanly, then work again.
async fn kubernetes(stage: &Stage, report: &mut Report, configuration: i64) {
    let deployments = stage.count("SELECT COUNT(*) FROM automl_deployment");
    let jobs = stage.kube.jobs(NAMESPACE).len();

    stage.kube.fail_on("POST", Kind::Job, 1, 500);
    let a = stage.post("/deployments/", &deployment_body(configuration)).await;
    expect(report, "POST /deployments/ while the Kubernetes API answers 500", &a, &[502, 503]);
    unchanged(stage, report, deployments, jobs).await;

    stage.kube.set_unresponsive(true);
    let a = stage.post("/deployments/", &deployment_body(configuration)).await;
    expect(report, "POST /deployments/ while the Kubernetes API hangs", &a, &[503]);
    stage.kube.set_unresponsive(false);
    // A Job created by the hung request may arrive late; the rollback removes it.
    tokio::time::sleep(Duration::from_secs(SERVICE_TIMEOUT_SECS)).await;
    unchanged(stage, report, deployments, jobs).await;

    let a = stage.post("/deployments/", &deployment_body(configuration)).await;
    report.check(a.status == 201, format!("deployments resumed after the Kubernetes faults: {} {}", a.status, a.body));
    let jobs_after = stage.kube.jobs(NAMESPACE).len();
    report.check(
        jobs_after == jobs + 2,
        format!("{jobs_after} Jobs after one more deployment of two models (was {jobs})"),
    );
}

/// No deployment row and no Job was left by a refused deployment.
async fn unchanged(stage: &Stage, report: &mut Report, deployments: i64, jobs: usize) {
    let now = stage.count("SELECT COUNT(*) FROM automl_deployment");
    let results = stage.count("SELECT COUNT(*) FROM automl_trainingresult r WHERE NOT EXISTS (SELECT 1 FROM automl_deployment d WHERE d.id = r.deployment_id)");
    let jobs_now = stage.kube.jobs(NAMESPACE).len();
    report.check(
        now == deployments && results == 0 && jobs_now == jobs,
        format!("nothing half-written: {now} deployments (was {deployments}), {jobs_now} Jobs (was {jobs})"),
    );
}

/// The Job watch dropped: a Job that fails during the gap is still seen, its results `failed`.
async fn watches(stage: &Stage, report: &mut Report, configuration: i64) {
    let a = stage.post("/deployments/", &deployment_body(configuration)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let newest: i64 = result_urls(stage).into_keys().max().unwrap();
    let job = job_of(&stage.kube, newest);
    let dropped = stage.kube.drop_watches(Kind::Job);
    stage.kube.set_job_status(
        NAMESPACE,
        &job,
        FakeKube::failed_job_status("BackoffLimitExceeded", "Job has reached the specified backoff limit"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let list = stage.list("/results/").await;
        let status = list
            .iter()
            .find(|r| r["id"].as_i64() == Some(newest))
            .map(|r| r["status"].as_str().unwrap_or_default().to_owned());
        if status.as_deref() == Some("failed") || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    report.check(
        status.as_deref() == Some("failed"),
        format!("a Job that failed while its watch was dropped ({dropped} streams) marks result {newest} {status:?}"),
    );
}

/// The executor hanging: a model is refused with 503 and not stored; then it is.
async fn executor(stage: &Stage, report: &mut Report) {
    let before = stage.count("SELECT COUNT(*) FROM automl_mlmodel");
    stage.executor.set_response_delay(Some(Duration::from_secs(120)));
    let a = stage.post("/models/", &model_body("hung")).await;
    expect(report, "POST /models/ while the executor hangs", &a, &[503]);
    stage.executor.set_response_delay(None);
    let after = stage.count("SELECT COUNT(*) FROM automl_mlmodel");
    report.check(after == before, format!("no model stored by the refused request ({after}, was {before})"));
    let a = stage.post("/models/", &model_body("after-executor")).await;
    report.check(a.status == 201, format!("models resumed after the executor fault: {} {}", a.status, a.body));
}

/// The broker stopped, then started again on the same address: publishing is refused with 503,
/// then works again, without restarting the server.
async fn broker(stage: &mut Stage, report: &mut Report, configuration: i64) {
    let a = stage.post("/deployments/", &deployment_body(configuration)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let deployment = stage.list("/deployments/").await.iter().filter_map(|d| d["id"].as_i64()).max().unwrap();
    let body = json!({"input_format": "RAW", "deployment": deployment.to_string(),
        "input_config": "{\"data_type\": \"uint8\", \"label_type\": \"uint8\", \"data_reshape\": \"28 28\", \"label_reshape\": \"\"}",
        "description": "faults", "topic": "data:0:0:100", "validation_rate": 0.1, "test_rate": 0.1, "total_msg": 100,
        "time": "2026-12-03T10:00:00Z"});
    let a = stage.post("/datasources/kafka", &body).await;
    report.check(a.status == 201, format!("POST /datasources/kafka with the broker up → {} {}", a.status, a.body));

    stage.broker.stop();
    let a = stage.call(Method::POST, "/datasources/kafka", Some(&body)).await;
    expect(report, "POST /datasources/kafka while the broker is stopped", &a, &[503]);
    let ready = stage.get("/readyz").await;
    report.line(format!("/readyz while the broker is stopped: {}", ready.status));

    stage.broker.restart().await;
    stage.broker.kafka().create_topic(&stage.control_topic, 1).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let resumed = loop {
        let a = stage.post("/datasources/kafka", &body).await;
        if a.status == 201 || Instant::now() > deadline {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    report.check(
        resumed.status == 201,
        format!("publishing resumed after the broker restarted: {} {}", resumed.status, resumed.body),
    );
}
