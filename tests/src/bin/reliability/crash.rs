//! Crashes: the server killed with `SIGKILL` during a model upload and during a deployment, then
//! started again. Nothing may be left half-done: no partial file, no result that claims a model it
//! does not have, no result waiting for a Job that does not exist, no Job without its result.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::concurrency::{orphans, result_urls, upload_form};
use crate::stage::{deployment_body, model_body, Stage, NAMESPACE};
use crate::Report;

pub async fn run(stage: &mut Stage, report: &mut Report) {
    report.section(format!("crash on {}", stage.db.name()));
    let mut models = Vec::new();
    for name in ["c1", "c2", "c3"] {
        let a = stage.post("/models/", &model_body(name)).await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    for m in stage.list("/models/").await {
        models.push(m["id"].as_i64().unwrap());
    }
    let a = stage.post("/configurations/", &json!({"name": "crash", "ml_models": models})).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let configuration = stage.list("/configurations/").await[0]["id"].as_i64().unwrap();

    during_upload(stage, report, configuration).await;
    during_deployment(stage, report, configuration, false).await;
    during_deployment(stage, report, configuration, true).await;
    orphans(stage, report);
}

/// A training pod streams its model slowly; the server is killed half-way and started again.
async fn during_upload(stage: &mut Stage, report: &mut Report, configuration: i64) {
    let a = stage.post("/deployments/", &deployment_body(configuration)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let (result, url) = result_urls(stage).into_iter().min().expect("a training Job");
    // A multipart body whose model part arrives 256 KiB every 50 ms (16 MiB in about 3 s), written
    // by hand on a socket so that it can stop half-way.
    let boundary = "reliability-crash-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{{\"train_metrics\": {{}}}}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"trained_model\"; filename=\"m.h5\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let (chunk, chunks) = (256 * 1024, 64);
    let tail = format!("\r\n--{boundary}--\r\n");
    let length = head.len() + chunk * chunks + tail.len();
    let target = url.trim_start_matches(&stage.url(""));
    let request = format!(
        "POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {length}\r\n\r\n{head}"
    );
    let address = format!("127.0.0.1:{}", stage.port);
    let upload = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let mut socket = tokio::net::TcpStream::connect(address).await?;
        socket.write_all(request.as_bytes()).await?;
        for _ in 0..chunks {
            socket.write_all(&vec![0x5a; chunk]).await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        socket.write_all(tail.as_bytes()).await
    });
    // Kill once part of the model is on disk.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stage.files_under("trained").is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let partial = stage.files_under("trained");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stage.kill();
    let _ = upload.await;
    report.line(format!("killed during the upload of result {result}; on disk then: {partial:?}"));

    stage.launch().await;
    let files = stage.files_under("trained");
    report.check(files.is_empty(), format!("no partial upload left after the restart: {files:?}"));
    let status = result_status(stage, result).await;
    report.check(
        status == "created" || status == "deployed",
        format!("result {result} is still waiting for its model after the crash ({status})"),
    );
    let res = stage.client.post(&url).multipart(upload_form(1024 * 1024)).send().await.unwrap();
    report.check(res.status() == 200, format!("the pod's retry after the restart → {}", res.status()));
    let status = result_status(stage, result).await;
    report.check(status == "finished", format!("result {result} is finished after the retried upload ({status})"));
}

async fn result_status(stage: &Stage, result: i64) -> String {
    let list = stage.list("/results/").await;
    list.iter()
        .find(|r| r["id"].as_i64() == Some(result))
        .map(|r| r["status"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// A deployment of three models killed half-way, in two ways: the Kubernetes API answers slowly
/// (its Jobs exist, their answers had not come), or it hangs (the rows exist, no Job was
/// created). After the restart every result has its Job or is `failed` with a reason.
async fn during_deployment(stage: &mut Stage, report: &mut Report, configuration: i64, hang: bool) {
    let jobs_before = stage.kube.jobs(NAMESPACE).len();
    let deployments_before = stage.count("SELECT COUNT(*) FROM automl_deployment");
    if hang {
        stage.kube.set_unresponsive(true);
    } else {
        stage.kube.set_latency(Duration::from_millis(1500));
    }
    let client = stage.client.clone();
    let url = stage.url("/deployments/");
    let token = stage.token.clone();
    let body = deployment_body(configuration);
    let deploy = tokio::spawn(async move {
        client.post(url).header("Authorization", format!("Token {token}")).json(&body).send().await
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let started = if hang {
            stage.count("SELECT COUNT(*) FROM automl_deployment") > deployments_before
        } else {
            stage.kube.jobs(NAMESPACE).len() > jobs_before
        };
        if started || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stage.kill();
    let _ = deploy.await;
    stage.kube.set_latency(Duration::ZERO);
    stage.kube.set_unresponsive(false);
    let created = stage.kube.jobs(NAMESPACE).len() - jobs_before;
    let how = if hang { "hung" } else { "slow" };
    report.line(format!(
        "killed during a deployment of three models (Kubernetes API {how}), after {created} of its Jobs were created"
    ));

    stage.launch().await;
    // The reconciliation at start leaves a deployment alone for its Jobs' creation grace
    // (max(30 s, 12 × KAFKAML_KUBE_TIMEOUT)), then fails the results whose Job is missing.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting = waiting_without_job(stage).await;
        if waiting.is_empty() {
            report.check(true, "every running result has its Job after the restart".into());
            break;
        }
        if Instant::now() > deadline {
            report.fail(format!("results waiting for a Job that does not exist after the restart: {waiting:?}"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let failed = stage.count("SELECT COUNT(*) FROM automl_trainingresult WHERE status = 'failed'");
    report.line(format!("{failed} results failed after the restart"));
    let failed_without_reason = stage.count("SELECT COUNT(*) FROM automl_trainingresult WHERE status = 'failed' AND (status_reason IS NULL OR status_reason = '')");
    report.check(failed_without_reason == 0, format!("{failed_without_reason} failed results without a reason"));
}

/// Results `created` or `deployed` whose Job the cluster does not have.
async fn waiting_without_job(stage: &Stage) -> Vec<i64> {
    let jobs = result_urls(stage);
    stage
        .list("/results/")
        .await
        .iter()
        .filter(|r| r["status"] == "created" || r["status"] == "deployed")
        .filter_map(|r| r["id"].as_i64())
        .filter(|id| !jobs.contains_key(id))
        .collect()
}
