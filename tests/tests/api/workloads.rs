//! The workloads the back-end runs on the cluster and their recovery, against the fake Kubernetes
//! API server: the confinement and sizes of the manifests it receives, the caps and refusals that
//! keep a request from reaching the cluster, the wallet key as a Secret, and what becomes of
//! results whose Job failed or disappeared — seen live, after a watch gap, or at start after the
//! back-end was away — of an inference whose controller creation timed out, and of a deployment
//! whose rollback fails.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use kafkaml_api::Settings;
use kafkaml_domain::ResultStatus;
use kafkaml_persistence::repo::results;
use kafkaml_tests::fake_kube::{FakeKube, Kind};
use kafkaml_tests::{db_test, DbKind, TestApp};
use serde_json::{json, Value};

use crate::orchestration::{
    body, deploy, job_names, latest_results, set_finished, status_of, with_kube, NS, PTH_INF, PTH_TRAIN, TF_INF,
    TF_TRAIN, TOKEN,
};

/// Points `s` at `kube` with the images and URLs the manifests need (no blockchain settings).
fn use_cluster(s: &mut Settings, kube_url: String, kube_token: String) {
    s.kube.host = Some(kube_url);
    s.kube.token = Some(kube_token.into());
    s.kube.timeout_secs = 2;
    s.images.pod_token_ttl_secs = 0;
    s.images.backend_url = Some("http://backend:8000".to_owned());
    s.kafka.bootstrap_servers = Some("kafka:9092".to_owned());
    s.images.tensorflow_training = Some(TF_TRAIN.to_owned());
    s.images.pytorch_training = Some(PTH_TRAIN.to_owned());
    s.images.tensorflow_inference = Some(TF_INF.to_owned());
    s.images.pytorch_inference = Some(PTH_INF.to_owned());
}

/// The application against `kube`, with its settings adjusted by `adjust`.
async fn spawn_adjusted(kind: DbKind, kube: &FakeKube, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let (url, token) = (kube.url(), kube.token().to_owned());
    TestApp::spawn_with(kind, move |s| {
        use_cluster(s, url, token);
        adjust(s);
    })
    .await
}

/// The bodies of the objects of `plural` (`jobs`, `replicationcontrollers`) the fake was asked to
/// create, in order.
fn created(kube: &FakeKube, plural: &str) -> Vec<Value> {
    kube.recorded_requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(&format!("/{plural}")))
        .filter_map(|r| r.body)
        .collect()
}

/// Waits (up to 20 s) until `check` holds, polling.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The status and reason of result `id`, read from the database.
fn result_row(app: &TestApp, id: i64) -> (String, Option<String>) {
    let r = results::get(&mut app.db.connect(), id as i32).unwrap().unwrap();
    let value = serde_json::to_value(&r).unwrap();
    (value["status"].as_str().unwrap().to_owned(), value["status_reason"].as_str().map(str::to_owned))
}

async fn wait_for_watch(kube: &FakeKube) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while kube.open_watches(Kind::Job) == 0 {
        assert!(Instant::now() < deadline, "the back-end never watched Jobs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const CONFINED: fn() -> Value = || {
    json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    })
};

db_test!(default_manifests_are_confined_and_unsized, fixtures = |kind| with_kube(kind), |(app, kube)| async move {
    let m = app.create_model("plain", "tf", false, None).await;
    let cfg = app.create_configuration("plain", &[m]).await;
    assert_eq!(deploy(&app, &body(cfg, json!({}))).await.0, 201);
    let job = created(&kube, "jobs").pop().unwrap();
    assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 3600);
    assert!(job["spec"].get("activeDeadlineSeconds").is_none(), "{job}");
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["containers"][0]["securityContext"], CONFINED());
    assert!(pod["containers"][0].get("resources").is_none(), "nothing set, nothing rendered: {pod}");

    let (_, ids) = latest_results(&app).await;
    set_finished(&app, ids["plain"]);
    let form = json!({"gpumem": 0, "replicas": 2, "input_format": "RAW", "input_config": "{}",
        "input_topic": "in", "output_topic": "out"});
    let res = app.post_json(&format!("/results/inference/{}", ids["plain"]), &form).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let rc = created(&kube, "replicationcontrollers").pop().unwrap();
    let pod = &rc["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["containers"][0]["securityContext"], CONFINED());
    assert!(pod["containers"][0].get("resources").is_none(), "{pod}");
    // The pods carry the labels the NetworkPolicy of docker/kubernetes lets in.
    assert_eq!(pod.get("labels"), None);
    assert_eq!(rc["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/managed-by"], "kafkaml-backend");
    assert_eq!(job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/managed-by"], "kafkaml-backend");
});

async fn with_workload_settings(kind: DbKind) -> (TestApp, FakeKube) {
    let kube = FakeKube::start(TOKEN).await;
    let app = spawn_adjusted(kind, &kube, |s| {
        s.workloads.run_as_non_root = true;
        s.workloads.training_cpu_request = Some("500m".to_owned());
        s.workloads.training_memory_limit = Some("2Gi".to_owned());
        s.workloads.inference_cpu_limit = Some("1".to_owned());
        s.workloads.inference_memory_request = Some("256Mi".to_owned());
        s.workloads.training_deadline_secs = 7200;
        s.workloads.job_ttl_secs = 600;
    })
    .await;
    (app, kube)
}

db_test!(
    manifests_follow_the_workload_settings,
    fixtures = |kind| with_workload_settings(kind),
    |(app, kube)| async move {
        let m = app.create_model("sized", "tf", false, None).await;
        let cfg = app.create_configuration("sized", &[m]).await;
        assert_eq!(deploy(&app, &body(cfg, json!({"gpumem": 1}))).await.0, 201);
        let job = created(&kube, "jobs").pop().unwrap();
        assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 600);
        assert_eq!(job["spec"]["activeDeadlineSeconds"], 7200);
        let container = &job["spec"]["template"]["spec"]["containers"][0];
        let mut confined = CONFINED();
        confined["runAsNonRoot"] = json!(true);
        assert_eq!(container["securityContext"], confined);
        // The GPU limit of gpumem is kept beside the settings' limits.
        assert_eq!(
            container["resources"],
            json!({"requests": {"cpu": "500m"}, "limits": {"memory": "2Gi", "nvidia.com/gpu": "1"}})
        );
        // An indefinite incremental training runs until stopped: no deadline.
        let indefinite = json!({"incremental": true, "indefinite": true, "monitoring_metric": "loss"});
        let m2 = app.create_model("loss", "tf", false, None).await;
        let cfg2 = app.create_configuration("indefinite", &[m2]).await;
        let (status, text) = deploy(&app, &body(cfg2, indefinite)).await;
        assert_eq!(status, 201, "{text}");
        let job = created(&kube, "jobs").pop().unwrap();
        assert!(job["spec"].get("activeDeadlineSeconds").is_none(), "{job}");

        let (_, ids) = latest_results(&app).await;
        let r = ids["loss"];
        set_finished(&app, r);
        let form = json!({"gpumem": 0, "replicas": 1, "input_format": "RAW", "input_config": "{}",
        "input_topic": "in", "output_topic": "out"});
        let res = app.post_json(&format!("/results/inference/{r}"), &form).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let rc = created(&kube, "replicationcontrollers").pop().unwrap();
        let container = &rc["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["securityContext"], confined);
        assert_eq!(container["resources"], json!({"requests": {"memory": "256Mi"}, "limits": {"cpu": "1"}}));
    }
);

db_test!(inference_replicas_and_gpus_are_capped, fixtures = |kind| with_kube(kind), |(app, kube)| async move {
    let m = app.create_model("capped", "tf", false, None).await;
    let cfg = app.create_configuration("capped", &[m]).await;
    assert_eq!(deploy(&app, &body(cfg, json!({}))).await.0, 201);
    let (_, ids) = latest_results(&app).await;
    let r = ids["capped"];
    set_finished(&app, r);
    let form = |extra: Value| {
        let mut f = json!({"gpumem": 0, "replicas": 1, "input_format": "RAW", "input_config": "{}",
            "input_topic": "in", "output_topic": "out"});
        for (k, v) in extra.as_object().unwrap() {
            f[k] = v.clone();
        }
        f
    };
    let cases = [
        (
            form(json!({"replicas": 17})),
            "Inference not valid: replicas: Ensure this value is less than or equal to 16.",
        ),
        (
            form(json!({"replicas": 2147483647})),
            "Inference not valid: replicas: Ensure this value is less than or equal to 1000.",
        ),
        (form(json!({"gpumem": 1e15})), "Inference not valid: gpumem: Ensure this value is less than or equal to 64."),
    ];
    for (body, message) in cases {
        let res = app.post_json(&format!("/results/inference/{r}"), &body).await;
        assert_eq!(res.status(), 400, "{body}");
        assert_eq!(res.text().await.unwrap(), message, "{body}");
    }
    assert!(created(&kube, "replicationcontrollers").is_empty());
    assert_eq!(app.get_json("/inferences/").await, json!([]));
    // A deployment asking for too much GPU is refused before anything is made.
    let jobs = created(&kube, "jobs").len();
    let (status, text) = deploy(&app, &body(cfg, json!({"gpumem": 65}))).await;
    assert_eq!(
        (status, text.as_str()),
        (400, "Deployment not valid: gpumem: Ensure this value is less than or equal to 64.")
    );
    assert_eq!(created(&kube, "jobs").len(), jobs);
    // At the cap, the inference runs.
    let res = app.post_json(&format!("/results/inference/{r}"), &form(json!({"replicas": 16}))).await;
    assert_eq!(res.status(), 200);
    assert_eq!(created(&kube, "replicationcontrollers")[0]["spec"]["replicas"], 16);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replicas_cap_is_a_setting() {
    let kube = FakeKube::start(TOKEN).await;
    let app = spawn_adjusted(DbKind::Sqlite, &kube, |s| s.workloads.max_inference_replicas = 3).await;
    let m = app.create_model("three", "tf", false, None).await;
    let cfg = app.create_configuration("three", &[m]).await;
    assert_eq!(deploy(&app, &body(cfg, json!({}))).await.0, 201);
    let (_, ids) = latest_results(&app).await;
    set_finished(&app, ids["three"]);
    let form = |replicas: i32| json!({"gpumem": 0, "replicas": replicas, "input_topic": "in", "output_topic": "out"});
    let res = app.post_json(&format!("/results/inference/{}", ids["three"]), &form(4)).await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.text().await.unwrap(),
        "Inference not valid: replicas: Ensure this value is less than or equal to 3."
    );
    let res = app.post_json(&format!("/results/inference/{}", ids["three"]), &form(3)).await;
    assert_eq!(res.status(), 200);
}

db_test!(
    federated_training_of_pytorch_models_is_refused,
    fixtures = |kind| with_kube(kind),
    |(app, kube)| async move {
        let tf = app.create_model("tfm", "tf", false, None).await;
        let pth = app.create_model("pthm", "pth", false, None).await;
        let cfg = app.create_configuration("mixed", &[tf, pth]).await;
        let federated = body(cfg, json!({"federated": true, "pth_kwargs_fit": "max_epochs=2"}));
        let (status, text) = deploy(&app, &federated).await;
        assert_eq!(status, 400);
        assert_eq!(
            text,
            "Federated training is only available for TensorFlow models: the configuration holds the PyTorch model \
         \"pthm\"."
        );
        assert!(kube.recorded_requests().iter().all(|r| r.method != "POST"), "no Job was asked for");
        assert_eq!(app.get_json("/deployments/").await, json!([]));
        assert_eq!(app.get_json("/results/").await, json!([]));
        // Classic training of the same configuration goes ahead.
        let classic = body(cfg, json!({"pth_kwargs_fit": "max_epochs=2"}));
        assert_eq!(deploy(&app, &classic).await.0, 201);
        assert_eq!(job_names(&kube).len(), 2);
    }
);

/// The application against `kube` with the blockchain token contract and `wallet` applied.
async fn spawn_blockchain(kube: &FakeKube, wallet: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_adjusted(DbKind::Sqlite, kube, |s| {
        s.blockchain.token_address = Some("0xTOKEN".to_owned());
        s.blockchain.abi = Some("[]".to_owned());
        wallet(s);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallet_key_goes_through_a_secret_unless_the_plain_value_is_allowed() {
    let kube = FakeKube::start(TOKEN).await;
    // A key given as a value, without the opt-in: refused before anything is made.
    let app = spawn_blockchain(&kube, |s| s.blockchain.wallet_key = Some("0xSECRET".into())).await;
    let m = app.create_model("bc", "tf", false, None).await;
    let cfg = app.create_configuration("bc", &[m]).await;
    let case9 = body(cfg, json!({"federated": true, "blockchain": true}));
    let (status, text) = deploy(&app, &case9).await;
    assert_eq!(status, 503);
    assert_eq!(
        text,
        "The blockchain wallet key as a Kubernetes Secret (FEDML_BLOCKCHAIN_WALLET_KEY is written into Jobs only \
         with FEDML_BLOCKCHAIN_PLAIN_WALLET_KEY=1) is not configured: set FEDML_BLOCKCHAIN_WALLET_KEY_SECRET."
    );
    assert!(created(&kube, "jobs").is_empty());
    assert_eq!(app.get_json("/results/").await, json!([]));
    // Other trainings are not concerned.
    assert_eq!(deploy(&app, &body(cfg, json!({"federated": true}))).await.0, 201);

    // No key at all: refused too, naming the Secret's variable.
    let app = spawn_blockchain(&kube, |_| {}).await;
    let m = app.create_model("bc", "tf", false, None).await;
    let cfg = app.create_configuration("bc", &[m]).await;
    let (status, text) = deploy(&app, &body(cfg, json!({"federated": true, "blockchain": true}))).await;
    assert_eq!(status, 503);
    assert!(text.ends_with("set FEDML_BLOCKCHAIN_WALLET_KEY_SECRET."), "{text}");

    // The explicit opt-in renders the value, as the reference did.
    let app = spawn_blockchain(&kube, |s| {
        s.blockchain.wallet_key = Some("0xSECRET".into());
        s.blockchain.plain_wallet_key = true;
    })
    .await;
    let m = app.create_model("bc", "tf", false, None).await;
    let cfg = app.create_configuration("bc", &[m]).await;
    assert_eq!(deploy(&app, &body(cfg, json!({"federated": true, "blockchain": true}))).await.0, 201);
    let job = created(&kube, "jobs").pop().unwrap();
    let env = job["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap().clone();
    let key = env.iter().find(|e| e["name"] == "ETH_WALLET_KEY").unwrap();
    assert_eq!(*key, json!({"name": "ETH_WALLET_KEY", "value": "0xSECRET"}));
}

db_test!(
    a_deleted_job_fails_the_results_still_waiting_for_it,
    fixtures = |kind| with_kube(kind),
    |(app, kube)| async move {
        let a = app.create_model("a", "tf", false, None).await;
        let b = app.create_model("b", "tf", false, None).await;
        let c = app.create_model("c", "tf", false, None).await;
        let cfg = app.create_configuration("three", &[a, b, c]).await;
        assert_eq!(deploy(&app, &body(cfg, json!({}))).await.0, 201);
        let (_, ids) = latest_results(&app).await;
        wait_for_watch(&kube).await;
        // b finished before its Job went away (the time-to-live); c is stopped by the back-end.
        set_finished(&app, ids["b"]);
        let res = app.post_json(&format!("/results/stop/{}", ids["c"]), &json!({})).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        assert!(kube.expire(Kind::Job, NS, &format!("model-training-{}", ids["b"])));
        // a's Job is deleted by someone else while a waits for it.
        let a_job = format!("model-training-{}", ids["a"]);
        assert!(kube.expire(Kind::Job, NS, &a_job));
        eventually("a failed", || async { status_of(&app, ids["a"]).await["status"] == "failed" }).await;
        assert_eq!(status_of(&app, ids["a"]).await["status_reason"], format!("Job {a_job} disappeared"));
        // Deleted earlier than a's Job, and settled by now: the others kept their status.
        assert_eq!(status_of(&app, ids["b"]).await["status"], "finished");
        assert_eq!(status_of(&app, ids["c"]).await["status"], "stopped");
    }
);

/// A Job of the back-end for result `id`, as it labels them.
fn job_of(id: i64) -> Job {
    serde_json::from_value(json!({
        "metadata": {
            "name": format!("model-training-{id}"),
            "labels": {"app.kubernetes.io/managed-by": "kafkaml-backend", "app.kubernetes.io/component": "training",
                "kafkaml.io/result-id": id.to_string()},
            "annotations": {"kafkaml.io/result-ids": id.to_string()},
        },
        "spec": {"template": {"spec": {"containers": [{"name": "training", "image": TF_TRAIN}],
            "restartPolicy": "OnFailure"}}},
    }))
    .unwrap()
}

/// Seeds a deployment of `cfg` created `age` ago; returns its one result.
fn seed_aged(app: &TestApp, cfg: i64, age: chrono::Duration) -> i64 {
    let (_, ids) = app.seed_deployment(cfg, |d| d.time = kafkaml_domain::datetime::now() - age);
    ids[0]
}

db_test!(a_job_that_vanished_during_a_watch_gap_is_found_by_the_next_list, fixtures = |kind| with_kube(kind), |(
    app,
    kube,
)| async move {
    let m = app.create_model("gap", "tf", false, None).await;
    let cfg = app.create_configuration("gap", &[m]).await;
    wait_for_watch(&kube).await;
    let r = seed_aged(&app, cfg, chrono::Duration::hours(1));
    kube.add_job(NS, job_of(r));
    // The Job goes while the events about it are lost, the watch breaks and cannot resume.
    assert!(kube.forget(Kind::Job, NS, &format!("model-training-{r}")));
    kube.fail_on("GET", Kind::Job, 1, 500);
    assert_eq!(kube.drop_watches(Kind::Job), 1);
    eventually("the result failed", || async { result_row(&app, r).0 == "failed" }).await;
    assert_eq!(result_row(&app, r).1, Some(format!("Job model-training-{r} disappeared")));
    // It listed again (a GET without watch=true after the failed one), and watches again.
    let gets: Vec<_> = kube
        .recorded_requests()
        .into_iter()
        .filter(|q| q.method == "GET" && q.path.ends_with("/jobs"))
        .map(|q| q.query.contains("watch=true"))
        .collect();
    assert!(gets.windows(2).any(|w| w == [true, false]), "{gets:?}");
    wait_for_watch(&kube).await;
});

/// An application that has never seen a cluster, and the fake cluster it will be pointed at.
async fn away_from_kube(kind: DbKind) -> (TestApp, FakeKube) {
    let kube = FakeKube::start(TOKEN).await;
    (TestApp::spawn(kind).await, kube)
}

db_test!(
    jobs_that_failed_or_vanished_while_the_back_end_was_away_fail_their_results,
    fixtures = |kind| { away_from_kube(kind) },
    |(app, kube)| async move {
        let m = app.create_model("m", "tf", false, None).await;
        let cfg = app.create_configuration("c", &[m]).await;
        let old = chrono::Duration::hours(2);
        let failed = seed_aged(&app, cfg, old);
        let vanished = seed_aged(&app, cfg, old);
        let running = seed_aged(&app, cfg, old);
        let finished = seed_aged(&app, cfg, old);
        // Its Jobs may still be being created by another replica: left alone.
        let young = seed_aged(&app, cfg, chrono::Duration::seconds(1));
        set_finished(&app, finished);
        kube.add_job(NS, job_of(failed));
        kube.set_job_status(
            NS,
            &format!("model-training-{failed}"),
            FakeKube::failed_job_status("BackoffLimitExceeded", "Job has reached the specified backoff limit"),
        );
        kube.add_job(NS, job_of(running));
        // The back-end comes back, now with the cluster.
        let (url, token) = (kube.url(), kube.token().to_owned());
        let _back = app.start_another(move |s| use_cluster(s, url, token)).await;
        eventually("the vanished Job's result failed", || async { result_row(&app, vanished).0 == "failed" }).await;
        eventually("the failed Job's result failed", || async { result_row(&app, failed).0 == "failed" }).await;
        assert_eq!(result_row(&app, vanished).1, Some(format!("Job model-training-{vanished} disappeared")));
        assert_eq!(
            result_row(&app, failed).1,
            Some(format!(
                "Job model-training-{failed} failed: BackoffLimitExceeded: Job has reached the specified backoff limit"
            ))
        );
        let statuses: BTreeMap<i64, String> =
            [running, finished, young].into_iter().map(|r| (r, result_row(&app, r).0)).collect();
        assert_eq!(
            statuses,
            BTreeMap::from([
                (running, "created".to_owned()),
                (finished, "finished".to_owned()),
                (young, "created".to_owned())
            ])
        );
        let _ = ResultStatus::Created;
    }
);

db_test!(
    an_inference_whose_controller_creation_timed_out_leaves_no_controller,
    fixtures = |kind| with_kube(kind),
    |(app, kube)| async move {
        let m = app.create_model("orphan", "tf", false, None).await;
        let cfg = app.create_configuration("orphan", &[m]).await;
        assert_eq!(deploy(&app, &body(cfg, json!({}))).await.0, 201);
        let (_, ids) = latest_results(&app).await;
        set_finished(&app, ids["orphan"]);
        // The API server answers after the back-end's 2 s limit, but still creates the controller.
        kube.set_latency(Duration::from_secs(3));
        let form = json!({"gpumem": 0, "replicas": 1, "input_topic": "in", "output_topic": "out"});
        let res = app.post_json(&format!("/results/inference/{}", ids["orphan"]), &form).await;
        assert_eq!(res.status(), 503, "{}", res.text().await.unwrap());
        assert_eq!(app.get_json("/inferences/").await, json!([]));
        let name = "model-inference-1".to_owned();
        eventually("the controller created late was deleted", || async {
            kube.deletions().iter().any(|(kind, _, n, _)| *kind == Kind::ReplicationController && *n == name)
        })
        .await;
        assert!(kube.rcs(NS).is_empty());
    }
);

/// Makes every deletion of a deployment row fail, as a database that refuses the rollback.
fn refuse_deployment_deletions(app: &TestApp, kind: DbKind) {
    use diesel::connection::SimpleConnection;
    let sql = match kind {
        DbKind::Sqlite => {
            "CREATE TRIGGER keep_deployments BEFORE DELETE ON automl_deployment \
                           BEGIN SELECT RAISE(ABORT, 'deployments are kept by the test'); END;"
        }
        DbKind::Postgres => {
            "CREATE FUNCTION keep_deployments() RETURNS trigger LANGUAGE plpgsql AS \
                             $$ BEGIN RAISE EXCEPTION 'deployments are kept by the test'; END $$; \
                             CREATE TRIGGER keep_deployments BEFORE DELETE ON automl_deployment \
                             FOR EACH ROW EXECUTE FUNCTION keep_deployments();"
        }
    };
    app.db.connect().batch_execute(sql).unwrap();
}

async fn with_kube_and_kind(kind: DbKind) -> (TestApp, FakeKube, DbKind) {
    let (app, kube) = with_kube(kind).await;
    (app, kube, kind)
}

db_test!(
    a_failed_rollback_keeps_the_cluster_error_and_fails_the_results,
    fixtures = |kind| { with_kube_and_kind(kind) },
    |(app, kube, kind)| async move {
        let m = app.create_model("rb", "tf", false, None).await;
        let cfg = app.create_configuration("rb", &[m]).await;
        refuse_deployment_deletions(&app, kind);
        kube.fail_on("POST", Kind::Job, 1, 500);
        let (status, text) = deploy(&app, &body(cfg, json!({}))).await;
        let (_, ids) = latest_results(&app).await;
        let r = ids["rb"];
        let cluster_error = format!("the Kubernetes API refused to create Job model-training-{r} (HTTP 500)");
        assert_eq!((status, text), (502, format!("{cluster_error}.")));
        // The rows could not be removed: the result says why it will never run.
        assert_eq!(
            result_row(&app, r),
            ("failed".to_owned(), Some(format!("The training Jobs could not be created: {cluster_error}")))
        );
        assert!(kube.jobs(NS).is_empty());
    }
);
