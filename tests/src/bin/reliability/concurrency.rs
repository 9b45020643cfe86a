//! Concurrency: `n` concurrent creates, then updates, then deletes on every resource, as an
//! operator's token. Every answer must be 2xx, 4xx or 503 within the request limit, and the rows,
//! files, Jobs and controllers left behind must agree with the answers.

use std::collections::{BTreeSet, HashMap};

use futures::future::join_all;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use kafkaml_tests::fake_kube::FakeKube;
use reqwest::Method;
use serde_json::{json, Value};

use crate::stage::{deployment_body, Answer, Stage, Tally, NAMESPACE};
use crate::Report;

/// Runs `n` requests at once; `make(i)` gives each one's method, path and body.
async fn burst(stage: &Stage, n: usize, make: impl Fn(usize) -> (Method, String, Option<Value>)) -> Vec<Answer> {
    let calls: Vec<_> = (0..n).map(&make).collect();
    join_all(calls.iter().map(|(m, p, b)| stage.call(m.clone(), p, b.as_ref()))).await
}

fn record(report: &mut Report, what: &str, answers: &[Answer]) -> Tally {
    let mut tally = Tally::default();
    for a in answers {
        tally.add(what, a);
    }
    report.line(format!("{what}: {}", tally.show()));
    for u in &tally.unacceptable {
        report.fail(u.clone());
    }
    tally
}

fn ids(list: &[Value]) -> Vec<i64> {
    list.iter().filter_map(|o| o["id"].as_i64()).collect()
}

/// A training Job of the fake cluster: its name, its `RESULT_URL` and whether it has ended.
pub struct TrainingJob {
    pub name: String,
    pub url: String,
    pub ended: bool,
}

/// The training Jobs the fake cluster holds, by the result their `RESULT_URL` names.
pub fn training_jobs(kube: &FakeKube) -> HashMap<i64, TrainingJob> {
    let mut jobs = HashMap::new();
    for job in kube.jobs(NAMESPACE) {
        let ended = ended(&job);
        let name = job.metadata.name.clone().unwrap_or_default();
        let containers = job.spec.and_then(|s| s.template.spec).map(|s| s.containers).unwrap_or_default();
        for var in containers.into_iter().flat_map(|c| c.env.unwrap_or_default()) {
            let Some(url) = var.value.filter(|_| var.name == "RESULT_URL") else { continue };
            let id =
                url.split("/results/").nth(1).and_then(|r| r.split(['?', '/']).next()).and_then(|r| r.parse().ok());
            if let Some(id) = id {
                jobs.insert(id, TrainingJob { name: name.clone(), url, ended });
            }
        }
    }
    jobs
}

/// The `RESULT_URL` of each training Job the fake cluster holds, by result id.
pub fn result_urls(stage: &Stage) -> HashMap<i64, String> {
    training_jobs(&stage.kube).into_iter().map(|(id, job)| (id, job.url)).collect()
}

/// The name of the training Job of `result` (the Job whose `RESULT_URL` names it).
pub fn job_of(kube: &FakeKube, result: i64) -> String {
    training_jobs(kube).remove(&result).map(|job| job.name).expect("the result's Job")
}

/// What the Job controller does when a training pod exits after its upload: the Job completes.
pub fn complete_job(kube: &FakeKube, result: i64) {
    let condition = JobCondition { type_: "Complete".to_owned(), status: "True".to_owned(), ..JobCondition::default() };
    let status =
        JobStatus { succeeded: Some(1), active: Some(0), conditions: Some(vec![condition]), ..JobStatus::default() };
    kube.set_job_status(NAMESPACE, &job_of(kube, result), status);
}

/// Whether a Job has ended (a `Complete` or `Failed` condition): the time-to-live controller
/// removes it later, so it is not an orphan.
fn ended(job: &Job) -> bool {
    let conditions = job.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    conditions.iter().any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
}

/// A training pod's upload of its trained model to `url` (its `RESULT_URL`, token included).
pub fn upload_form(len: usize) -> reqwest::multipart::Form {
    let model = reqwest::multipart::Part::bytes(vec![0x5a; len]).file_name("trained_model.h5");
    let data = json!({"train_metrics": {"loss": [0.5]}, "val_metrics": {"loss": [0.6]}, "training_time": 1.5});
    reqwest::multipart::Form::new().part("trained_model", model).text("data", data.to_string())
}

pub async fn run(stage: &Stage, n: usize, report: &mut Report) {
    report.section(format!("concurrency on {} ({n} concurrent requests per step)", stage.db.name()));

    // Models: creates, then two concurrent updates of each of half of them.
    let answers = burst(stage, n, |i| {
        (Method::POST, "/models/".into(), Some(json!({"name": format!("m{i}"), "code": format!("model = build({i})"),
            "framework": if i % 2 == 0 { "tf" } else { "pth" }, "distributed": false, "imports": "", "description": ""})))
    })
    .await;
    let created = record(report, "POST /models/", &answers).count(|s| s == 201);
    let models = ids(&stage.list("/models/").await);
    report.check(models.len() == created, format!("{} model rows for {created} answers 201", models.len()));

    let half = models.len().div_ceil(2).max(1);
    let answers = burst(stage, n, |i| {
        let id = models[i % half];
        (Method::PATCH, format!("/models/{id}"), Some(json!({"description": format!("patched {i}")})))
    })
    .await;
    record(report, "PATCH /models/{id}", &answers);
    let mut written: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for (i, a) in answers.iter().enumerate() {
        if a.ok() {
            written.entry(models[i % half]).or_default().insert(format!("patched {i}"));
        }
    }
    let mut torn = 0;
    for m in stage.list("/models/").await {
        let id = m["id"].as_i64().unwrap_or_default();
        if let Some(values) = written.get(&id) {
            if !values.contains(m["description"].as_str().unwrap_or_default()) {
                torn += 1;
            }
        }
    }
    report.check(torn == 0, format!("{torn} models hold a description no successful update wrote"));

    // Configurations of two models each.
    let tf: Vec<i64> = stage
        .list("/models/")
        .await
        .iter()
        .filter(|m| m["framework"] == "tf")
        .filter_map(|m| m["id"].as_i64())
        .collect();
    assert!(tf.len() >= 2, "at least two TensorFlow models were created");
    let answers = burst(stage, n, |i| {
        let models = [tf[i % tf.len()], tf[(i + 1) % tf.len()]];
        (Method::POST, "/configurations/".into(), Some(json!({"name": format!("c{i}"), "ml_models": models})))
    })
    .await;
    let created = record(report, "POST /configurations/", &answers).count(|s| s == 201);
    let configurations = ids(&stage.list("/configurations/").await);
    report.check(
        configurations.len() == created,
        format!("{} configuration rows for {created} answers 201", configurations.len()),
    );
    let wrong_links = stage.count(
        "SELECT COUNT(*) FROM automl_configuration c WHERE \
         (SELECT COUNT(*) FROM automl_configuration_ml_models l WHERE l.configuration_id = c.id) <> 2",
    );
    report.check(wrong_links == 0, format!("{wrong_links} configurations without exactly their two models"));

    // Deployments: each one's results, and one Job per result, or nothing at all.
    let answers = burst(stage, n, |i| {
        let c = configurations[i % configurations.len()];
        (Method::POST, "/deployments/".into(), Some(deployment_body(c)))
    })
    .await;
    let created = record(report, "POST /deployments/", &answers).count(|s| s == 201);
    let deployments = ids(&stage.list("/deployments/").await);
    report.check(
        deployments.len() == created,
        format!("{} deployment rows for {created} answers 201", deployments.len()),
    );
    let results = stage.count("SELECT COUNT(*) FROM automl_trainingresult");
    report.check(results == 2 * created as i64, format!("{results} results for {created} deployments of two models"));
    let urls = result_urls(stage);
    report.check(urls.len() as i64 == results, format!("{} training Jobs for {results} results", urls.len()));

    // Datasources announced for the deployments.
    let answers = burst(stage, n, |i| {
        let d = deployments[i % deployments.len().max(1)];
        (
            Method::POST,
            "/datasources/".into(),
            Some(json!({"input_format": "RAW", "deployment": d.to_string(),
            "input_config": "{\"data_type\": \"uint8\"}", "description": format!("stream {i}"),
            "topic": format!("data:0:0:{}", 100 + i), "validation_rate": 0.1, "test_rate": 0.1, "total_msg": 100 + i,
            "time": "2026-12-03T10:00:00Z"})),
        )
    })
    .await;
    let created = record(report, "POST /datasources/", &answers).count(|s| s == 201);
    let datasources = stage.list("/datasources/").await.len();
    report.check(datasources == created, format!("{datasources} datasource rows for {created} answers 201"));

    // The training pods upload their models, concurrently.
    let mut uploads: Vec<(i64, String)> = urls.into_iter().collect();
    uploads.sort();
    uploads.truncate(n);
    let answers = join_all(uploads.iter().map(|(_, url)| async move {
        let start = std::time::Instant::now();
        match stage.client.post(url).multipart(upload_form(64 * 1024)).send().await {
            Ok(res) => Answer {
                status: res.status().as_u16(),
                took: start.elapsed(),
                body: res.text().await.unwrap_or_default(),
            },
            Err(e) => Answer { status: 0, took: start.elapsed(), body: e.to_string() },
        }
    }))
    .await;
    let uploaded = record(report, "POST /results/{id} (uploads)", &answers).count(|s| s == 200);
    for ((result, _), answer) in uploads.iter().zip(&answers) {
        if answer.ok() {
            complete_job(&stage.kube, *result);
        }
    }
    let finished: Vec<i64> = stage
        .list("/results/")
        .await
        .iter()
        .filter(|r| r["status"] == "finished")
        .filter_map(|r| r["id"].as_i64())
        .collect();
    report.check(finished.len() == uploaded, format!("{} finished results for {uploaded} uploads", finished.len()));
    let files = stage.files_under("trained").len();
    report.check(files == uploaded, format!("{files} trained-model files for {uploaded} uploads"));

    // Inferences of the finished results.
    let answers = burst(stage, n.min(finished.len() * 4), |i| {
        let r = finished[i % finished.len()];
        (
            Method::POST,
            format!("/results/inference/{r}"),
            Some(json!({"gpumem": 0, "replicas": 1,
            "input_format": "RAW", "input_config": "{\"data_type\": \"uint8\"}",
            "input_topic": format!("in{i}"), "output_topic": format!("out{i}")})),
        )
    })
    .await;
    let created = record(report, "POST /results/inference/{id}", &answers).count(|s| (200..300).contains(&s));
    let inferences = ids(&stage.list("/inferences/").await);
    report.check(inferences.len() == created, format!("{} inference rows for {created} answers 2xx", inferences.len()));
    let rcs = stage.kube.rcs(NAMESPACE).len();
    report.check(rcs == created, format!("{rcs} inference controllers for {created} inferences"));

    // IoT devices: creates, updates, deletes.
    let answers = burst(stage, n, |i| {
        (
            Method::POST,
            "/iot-devices/".into(),
            Some(json!({"friendly_name": format!("d{i}"), "mqtt_address": "127.0.0.1",
            "mqtt_port": 1883, "mqtt_username": "u", "mqtt_password": "p"})),
        )
    })
    .await;
    let created = record(report, "POST /iot-devices/", &answers).count(|s| s == 201);
    let devices = stage.count("SELECT COUNT(*) FROM automl_iotdevice");
    report.check(devices == created as i64, format!("{devices} device rows for {created} answers 201"));
    let device_ids: Vec<i64> = {
        let answer = stage.get("/iot-devices/").await;
        ids(answer.json().as_array().map(Vec::as_slice).unwrap_or_default())
    };
    if !device_ids.is_empty() {
        let answers = burst(stage, n, |i| {
            let id = device_ids[i % device_ids.len()];
            (Method::PATCH, format!("/iot-devices/{id}"), Some(json!({"friendly_name": format!("renamed {i}")})))
        })
        .await;
        record(report, "PATCH /iot-devices/{id}", &answers);
        // Every device twice: one 204, one 404.
        let answers = burst(stage, 2 * device_ids.len(), |i| {
            (Method::DELETE, format!("/iot-devices/{}", device_ids[i / 2]), None)
        })
        .await;
        let tally = record(report, "DELETE /iot-devices/{id} (each twice)", &answers);
        let left = stage.count("SELECT COUNT(*) FROM automl_iotdevice");
        report.check(
            left == 0 && tally.count(|s| s == 204) == device_ids.len(),
            format!(
                "{left} devices left and {} answers 204 after deleting {} devices",
                tally.count(|s| s == 204),
                device_ids.len()
            ),
        );
        let folders = stage.files_under("devices").len();
        report.check(folders == 0, format!("{folders} device files left after every device was deleted"));
    }

    // Deletes: stop then delete the inferences, delete half the deployments (each twice),
    // then configurations and models (refused while in use).
    let answers =
        burst(stage, inferences.len(), |i| (Method::POST, format!("/inferences/{}", inferences[i]), None)).await;
    record(report, "POST /inferences/{id} (stop)", &answers);
    let answers =
        burst(stage, inferences.len(), |i| (Method::DELETE, format!("/inferences/{}", inferences[i]), None)).await;
    let deleted = record(report, "DELETE /inferences/{id}", &answers).count(|s| s == 200);
    let left = stage.count("SELECT COUNT(*) FROM automl_inference");
    report.check(
        left as usize + deleted == inferences.len(),
        format!("{left} inferences left after {deleted} deletes of {}", inferences.len()),
    );
    let rcs = stage.kube.rcs(NAMESPACE).len();
    report.check(rcs == 0, format!("{rcs} inference controllers left after every inference was stopped"));

    // Then everything else, each delete sent twice at once: the trainings still running are
    // stopped, then results, deployments, configurations and models go, and nothing is left.
    let running: Vec<i64> = stage
        .list("/results/")
        .await
        .iter()
        .filter(|r| r["status"] == "created" || r["status"] == "deployed")
        .filter_map(|r| r["id"].as_i64())
        .collect();
    let answers = burst(stage, running.len(), |i| (Method::POST, format!("/results/stop/{}", running[i]), None)).await;
    record(report, "POST /results/stop/{id}", &answers);
    let results: Vec<i64> = ids(&stage.list("/results/").await);
    for (what, path, all) in [
        ("results", "/results", &results),
        ("deployments", "/deployments", &deployments),
        ("configurations", "/configurations", &configurations),
        ("models", "/models", &models),
    ] {
        let answers = burst(stage, 2 * all.len(), |i| (Method::DELETE, format!("{path}/{}", all[i / 2]), None)).await;
        let tally = record(report, &format!("DELETE {path}/{{id}} (each twice)"), &answers);
        let deleted = tally.count(|s| (200..300).contains(&s));
        report.check(
            deleted == all.len(),
            format!("{deleted} {what} deleted by {} requests for {} {what}", answers.len(), all.len()),
        );
    }
    for table in [
        "automl_trainingresult",
        "automl_deployment",
        "automl_configuration",
        "automl_configuration_ml_models",
        "automl_mlmodel",
    ] {
        let left = stage.count(&format!("SELECT COUNT(*) FROM {table}"));
        report.check(left == 0, format!("{left} rows left in {table}"));
    }
    let running = stage.kube.jobs(NAMESPACE).iter().filter(|j| !ended(j)).count();
    report.check(
        running == 0,
        format!("{running} running training Jobs left after every training was stopped or finished"),
    );
    orphans(stage, report);
}

/// No row points at a row that is gone, no file or Job outlives its row.
pub fn orphans(stage: &Stage, report: &mut Report) {
    let checks = [
        ("results without their deployment", "SELECT COUNT(*) FROM automl_trainingresult r WHERE NOT EXISTS (SELECT 1 FROM automl_deployment d WHERE d.id = r.deployment_id)"),
        ("results without their model", "SELECT COUNT(*) FROM automl_trainingresult r WHERE NOT EXISTS (SELECT 1 FROM automl_mlmodel m WHERE m.id = r.model_id)"),
        ("deployments without their configuration", "SELECT COUNT(*) FROM automl_deployment d WHERE NOT EXISTS (SELECT 1 FROM automl_configuration c WHERE c.id = d.configuration_id)"),
        ("model links without their configuration or model", "SELECT COUNT(*) FROM automl_configuration_ml_models l WHERE NOT EXISTS (SELECT 1 FROM automl_configuration c WHERE c.id = l.configuration_id) OR NOT EXISTS (SELECT 1 FROM automl_mlmodel m WHERE m.id = l.mlmodel_id)"),
        ("inferences of a result that is gone", "SELECT COUNT(*) FROM automl_inference i WHERE i.model_result_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM automl_trainingresult r WHERE r.id = i.model_result_id)"),
    ];
    for (what, sql) in checks {
        let n = stage.count(sql);
        report.check(n == 0, format!("{n} {what}"));
    }
    let results: BTreeSet<i64> = {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            id: i32,
        }
        let q = "SELECT id FROM automl_trainingresult";
        let rows: Vec<Id> =
            kafkaml_persistence::with_conn!(&mut stage.connect(), |c| diesel::sql_query(q).load(c).unwrap());
        rows.into_iter().map(|r| i64::from(r.id)).collect()
    };
    let stray_files: Vec<String> = stage
        .files_under("trained")
        .into_iter()
        .filter(|f| f.split('.').next().and_then(|id| id.parse::<i64>().ok()).is_none_or(|id| !results.contains(&id)))
        .collect();
    report.check(
        stray_files.is_empty(),
        format!("{} files in trained/ without their result: {stray_files:?}", stray_files.len()),
    );
    // Running Jobs whose result row is gone (an ended Job is removed by its time-to-live).
    let stray_jobs: Vec<String> = training_jobs(&stage.kube)
        .into_iter()
        .filter(|(id, job)| !job.ended && !results.contains(id))
        .map(|(_, job)| job.name)
        .collect();
    report.check(
        stray_jobs.is_empty(),
        format!("{} running training Jobs without their result: {stray_jobs:?}", stray_jobs.len()),
    );
}
