//! End-to-end tests of the orchestration routes: the real application against the fake Kubernetes
//! API server (over HTTP, `KUBE_HOST`/`KUBE_TOKEN`), the stub executor, SQLite and PostgreSQL.
//! They assert the exact objects the fake received, the rows, and the answers.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ReplicationController;
use kafkaml_api::settings::AuthMode;
use kafkaml_api::usecase::accounts::SecretKey;
use kafkaml_api::usecase::capability::{self, Purpose};
use kafkaml_domain::ResultStatus;
use kafkaml_persistence::repo::results;
use kafkaml_tests::auth::As;
use kafkaml_tests::fake_kube::{FakeKube, Kind};
use kafkaml_tests::{db_test, DbKind, TestApp};
use serde_json::{json, Value};

pub(crate) const TOKEN: &str = "fake-token";
pub(crate) const NS: &str = "kafkaml";
pub(crate) const TF_TRAIN: &str = "kafkaml/tf-training:test";
pub(crate) const PTH_TRAIN: &str = "kafkaml/pth-training:test";
pub(crate) const TF_INF: &str = "kafkaml/tf-inference:test";
pub(crate) const PTH_INF: &str = "kafkaml/pth-inference:test";
/// `SECRET_KEY`: signs the pods' URLs.
const SECRET: &str = "orchestration-test-key";

fn secret() -> SecretKey {
    SecretKey::new(SECRET.to_owned().into())
}

/// `RESULT_URL` of result `r` as the application writes it with tokens that never expire
/// (`KAFKAML_POD_TOKEN_TTL=0`, as [`spawn`] sets it).
fn training_url(r: i64) -> String {
    let r = i32::try_from(r).unwrap();
    format!("http://backend:8000/results/{r}?token={}", capability::sign(&secret(), Purpose::Training, r, None))
}

/// `<BACKEND_URL>/<path>/<r>` with the serving token of result `r`.
fn serving_url(path: &str, r: i64) -> String {
    let r = i32::try_from(r).unwrap();
    format!("http://backend:8000/{path}/{r}?token={}", capability::sign(&secret(), Purpose::Serving, r, None))
}

/// Spawns the application pointed at `kube`, with every setting the manifests use.
pub(crate) async fn spawn(kind: DbKind, kube: &FakeKube) -> TestApp {
    spawn_listing(kind, kube, String::new(), Some(0)).await
}

/// [`spawn`] with `KAFKAML_EXTERNAL_CLUSTERS=external_clusters` and `KAFKAML_POD_TOKEN_TTL=ttl`
/// (`None`: its default).
async fn spawn_listing(kind: DbKind, kube: &FakeKube, external_clusters: String, ttl: Option<u64>) -> TestApp {
    spawn_listing_with(kind, kube, external_clusters, ttl, AuthMode::Off).await
}

/// [`spawn_listing`] with authentication `auth`.
pub(crate) async fn spawn_listing_with(
    kind: DbKind,
    kube: &FakeKube,
    external_clusters: String,
    ttl: Option<u64>,
    auth: AuthMode,
) -> TestApp {
    let (url, token) = (kube.url(), kube.token().to_owned());
    TestApp::spawn_with(kind, move |s| {
        s.server.auth = auth;
        s.server.secret_key = Some(SECRET.to_owned().into());
        if let Some(ttl) = ttl {
            s.images.pod_token_ttl_secs = ttl;
        }
        s.kube.external_clusters = external_clusters;
        s.kube.host = Some(url);
        s.kube.token = Some(token.into());
        s.kube.timeout_secs = 2;
        s.images.backend_url = Some("http://backend:8000".to_owned());
        s.kafka.bootstrap_servers = Some("kafka:9092".to_owned());
        s.kafka.control_topic = Some("KAFKA_ML_CONTROL_TOPIC".to_owned());
        s.images.tensorflow_training = Some(TF_TRAIN.to_owned());
        s.images.pytorch_training = Some(PTH_TRAIN.to_owned());
        s.images.tensorflow_inference = Some(TF_INF.to_owned());
        s.images.pytorch_inference = Some(PTH_INF.to_owned());
        s.blockchain.rpc_url = Some("http://ganache:8545".to_owned());
        s.blockchain.token_address = Some("0xTOKEN".to_owned());
        s.blockchain.abi = Some("[]".to_owned());
        s.blockchain.chain_id = Some("1337".to_owned());
        s.blockchain.network_id = Some("5777".to_owned());
        s.blockchain.wallet_address = Some("0xWALLET".to_owned());
        s.blockchain.wallet_key = Some("0xKEY".into());
        // The key reaches the Jobs through this Secret, never as the value above.
        s.blockchain.wallet_key_secret = Some("eth-wallet/private-key".parse().unwrap());
        s.blockchain.blockscout_url = Some("http://blockscout:4000".to_owned());
    })
    .await
}

/// The fixtures of a `db_test!` on `kind` with a fresh fake cluster: the application pointed at
/// it ([`spawn`]) and the cluster.
pub(crate) async fn with_kube(kind: DbKind) -> (TestApp, FakeKube) {
    let kube = FakeKube::start(TOKEN).await;
    (spawn(kind, &kube).await, kube)
}

/// A deployment body as the web UI sends it, with `extra` merged in.
pub(crate) fn body(configuration: i64, extra: Value) -> Value {
    let mut b = json!({
        "configuration": configuration, "batch": 10, "gpumem": 0,
        "tf_kwargs_fit": "epochs=5, steps_per_epoch=1000", "tf_kwargs_val": "",
        "pth_kwargs_fit": "", "pth_kwargs_val": "", "unsupervised": false, "incremental": false,
        "federated": false, "conf_mat_settings": false,
    });
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

pub(crate) async fn deploy(app: &TestApp, body: &Value) -> (u16, String) {
    let res = app.post_json("/deployments/", body).await;
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// The newest deployment's id and its result ids by model name.
pub(crate) async fn latest_results(app: &TestApp) -> (i64, HashMap<String, i64>) {
    let deployments = app.get_json("/deployments/").await;
    let d = &deployments[0];
    let ids = d["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["model"]["name"].as_str().unwrap().to_owned(), r["id"].as_i64().unwrap()));
    (d["id"].as_i64().unwrap(), ids.collect())
}

pub(crate) fn env_table(job: &Job) -> Vec<(String, Option<String>)> {
    let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    pod.containers[0].env.as_ref().unwrap().iter().map(|e| (e.name.clone(), e.value.clone())).collect()
}

pub(crate) fn env_value(job: &Job, name: &str) -> Option<String> {
    env_table(job).into_iter().find(|(n, _)| n == name).and_then(|(_, v)| v)
}

fn rows(rows: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
    rows.iter().map(|(n, v)| ((*n).to_owned(), Some((*v).to_owned()))).collect()
}

pub(crate) fn job_names(kube: &FakeKube) -> Vec<String> {
    kube.jobs(NS).into_iter().map(|j| j.metadata.name.unwrap()).collect()
}

pub(crate) async fn status_of(app: &TestApp, result: i64) -> Value {
    let all = app.get_json("/results/").await;
    all.as_array().unwrap().iter().find(|r| r["id"] == result).cloned().unwrap()
}

pub(crate) fn set_finished(app: &TestApp, result: i64) {
    let mut conn = app.db.connect();
    let n = results::transition(&mut conn, &[result as i32], &[ResultStatus::Created], ResultStatus::Finished, None)
        .unwrap();
    assert_eq!(n, 1);
}

db_test!(deploys_a_single_model, fixtures = |kind| with_kube(kind), |(app, kube)| async move {
    let m = app.create_model("single", "tf", false, None).await;
    let cfg = app.create_configuration("cfg", &[m]).await;
    assert_eq!(deploy(&app, &body(cfg, json!({}))).await, (201, String::new()));
    let (deployment, ids) = latest_results(&app).await;
    let r = ids["single"];
    assert_eq!(job_names(&kube), vec![format!("model-training-{r}")]);
    let job = kube.job(NS, &format!("model-training-{r}")).unwrap();
    assert_eq!(
        env_table(&job),
        rows(&[
            ("BOOTSTRAP_SERVERS", "kafka:9092"),
            ("RESULT_URL", &training_url(r)),
            ("RESULT_ID", &r.to_string()),
            ("CONTROL_TOPIC", "KAFKA_ML_CONTROL_TOPIC"),
            ("DEPLOYMENT_ID", &deployment.to_string()),
            ("BATCH", "10"),
            ("KWARGS_FIT", r#"{"epochs": 5, "steps_per_epoch": 1000}"#),
            ("KWARGS_VAL", "{}"),
            ("CONF_MAT_CONFIG", "false"),
            ("CASE", "1"),
            ("UNSUPERVISED", "False"),
            ("UNSUPERVISED_ROUNDS", "5"),
            ("CONFIDENCE", "0.9"),
        ])
    );
    let value = serde_json::to_value(&job).unwrap();
    let labels = &value["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "kafkaml-backend");
    assert_eq!(labels["kafkaml.io/result-id"], r.to_string());
    assert_eq!(labels["kafkaml.io/deployment-id"], deployment.to_string());
    assert_eq!(value["metadata"]["annotations"]["kafkaml.io/result-ids"], r.to_string());
    assert_eq!(value["spec"]["ttlSecondsAfterFinished"], 3600);
    let pod = &value["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "OnFailure");
    assert_eq!(pod["containers"][0]["image"], TF_TRAIN);
    assert_eq!(pod["containers"][0]["imagePullPolicy"], "Always");
    assert!(pod.get("runtimeClassName").is_none());
    // The executor checked the TensorFlow kwargs, and only those.
    let checks: Vec<Value> = app
        .executor
        .requests()
        .into_iter()
        .filter(|(p, _)| p.contains("check_deploy_config"))
        .map(|(_, b)| b)
        .collect();
    assert_eq!(
        checks,
        vec![json!({"batch": 10, "kwargs_fit": r#"{"epochs": 5, "steps_per_epoch": 1000}"#, "kwargs_val": "{}"})]
    );
    let status = status_of(&app, r).await;
    assert_eq!(status["status"], "created");
});

db_test!(deploys_a_distributed_chain_as_one_job, fixtures = |kind| with_kube(kind), |(app, kube)| async move {
    let a = app.create_model("root", "tf", true, None).await;
    let b = app.create_model("middle", "tf", true, Some(a)).await;
    let _c = app.create_model("leaf", "tf", true, Some(b)).await;
    let cfg = app.create_configuration("chain", &[a]).await;
    let extra = json!({"optimizer": "sgd", "learning_rate": "0.01", "loss": "mse", "metrics": "accuracy"});
    assert_eq!(deploy(&app, &body(cfg, extra)).await.0, 201);
    let (deployment, ids) = latest_results(&app).await;
    let (r1, r2, r3) = (ids["root"], ids["middle"], ids["leaf"]);
    let name = format!("distributed-model-training-{r1}-{r2}-{r3}");
    assert_eq!(job_names(&kube), vec![name.clone()]);
    let job = kube.job(NS, &name).unwrap();
    let url = |r: i64| format!("'{}'", training_url(r));
    assert_eq!(
        env_table(&job),
        rows(&[
            ("BOOTSTRAP_SERVERS", "kafka:9092"),
            ("RESULT_URL", &format!("[{}, {}, {}]", url(r3), url(r2), url(r1))),
            ("RESULT_ID", &format!("['{r3}', '{r2}', '{r1}']")),
            ("CONTROL_TOPIC", "KAFKA_ML_CONTROL_TOPIC"),
            ("DEPLOYMENT_ID", &deployment.to_string()),
            ("BATCH", "10"),
            ("KWARGS_FIT", r#"{"epochs": 5, "steps_per_epoch": 1000}"#),
            ("KWARGS_VAL", "{}"),
            ("CONF_MAT_CONFIG", "false"),
            ("CASE", "3"),
            ("OPTIMIZER", "sgd"),
            ("LEARNING_RATE", "0.010000"),
            ("LOSS", "mse"),
            ("METRICS", "accuracy"),
            ("UNSUPERVISED", "False"),
            ("UNSUPERVISED_ROUNDS", "5"),
            ("CONFIDENCE", "0.9"),
        ])
    );
    assert_eq!(
        serde_json::to_value(&job).unwrap()["metadata"]["annotations"]["kafkaml.io/result-ids"],
        format!("{r1},{r2},{r3}")
    );
});

db_test!(deploys_mixed_frameworks_with_their_own_kwargs_and_images, fixtures = |kind| with_kube(kind), |(
    app,
    kube,
)| async move {
    let tf = app.create_model("tfm", "tf", false, None).await;
    let pth = app.create_model("pthm", "pth", false, None).await;
    let cfg = app.create_configuration("mixed", &[tf, pth]).await;
    let extra = json!({"pth_kwargs_fit": "max_epochs=3", "pth_kwargs_val": "x='a b'", "gpumem": 2});
    assert_eq!(deploy(&app, &body(cfg, extra)).await.0, 201);
    let (_, ids) = latest_results(&app).await;
    let tf_job = kube.job(NS, &format!("model-training-{}", ids["tfm"])).unwrap();
    let pth_job = kube.job(NS, &format!("model-training-{}", ids["pthm"])).unwrap();
    assert_eq!(env_value(&tf_job, "KWARGS_FIT").unwrap(), r#"{"epochs": 5, "steps_per_epoch": 1000}"#);
    assert_eq!(env_value(&pth_job, "KWARGS_FIT").unwrap(), r#"{"max_epochs": 3}"#);
    assert_eq!(env_value(&pth_job, "KWARGS_VAL").unwrap(), r#"{"x": "a b"}"#);
    for (job, image) in [(&tf_job, TF_TRAIN), (&pth_job, PTH_TRAIN)] {
        let pod = serde_json::to_value(job.spec.as_ref().unwrap().template.spec.as_ref().unwrap()).unwrap();
        assert_eq!(pod["containers"][0]["image"], image);
        // The GPU patch (decisions.md item 5).
        assert_eq!(pod["containers"][0]["resources"], json!({"limits": {"nvidia.com/gpu": "2"}}));
        assert_eq!(pod["runtimeClassName"], "nvidia");
        assert_eq!(env_table(job).last().unwrap(), &("NVIDIA_VISIBLE_DEVICES".to_owned(), Some("all".to_owned())));
    }
    let mut checked: Vec<Value> = app
        .executor
        .requests()
        .into_iter()
        .filter(|(p, _)| p.contains("check_deploy_config"))
        .map(|(_, b)| b)
        .collect();
    checked.sort_by_key(|b| b["kwargs_fit"].as_str().unwrap().to_owned());
    assert_eq!(
        checked,
        vec![
            json!({"batch": 10, "kwargs_fit": r#"{"epochs": 5, "steps_per_epoch": 1000}"#, "kwargs_val": "{}"}),
            json!({"batch": 10, "kwargs_fit": r#"{"max_epochs": 3}"#, "kwargs_val": r#"{"x": "a b"}"#}),
        ]
    );
});

db_test!(deploys_incremental_training, fixtures = |kind| with_kube(kind), |(app, kube)| async move {
    let m = app.create_model("inc", "tf", false, None).await;
    let cfg = app.create_configuration("inc", &[m]).await;
    let extra = json!({"incremental": true, "indefinite": true, "monitoring_metric": "build_inc", "change": "up",
        "improvement": 0.1, "stream_timeout": 1000});
    assert_eq!(deploy(&app, &body(cfg, extra)).await.0, 201);
    let (_, ids) = latest_results(&app).await;
    let job = kube.job(NS, &format!("incremental-model-training-{}", ids["inc"])).unwrap();
    let table = env_table(&job);
    let tail: Vec<_> = table[9..].to_vec();
    assert_eq!(
        tail,
        rows(&[
            ("CASE", "2"),
            ("UNSUPERVISED", "False"),
            ("UNSUPERVISED_ROUNDS", "5"),
            ("CONFIDENCE", "0.9"),
            ("STREAM_TIMEOUT", "-1"),
            ("MONITORING_METRIC", "build_inc"),
            ("CHANGE", "up"),
            ("IMPROVEMENT", "0.100000"),
        ])
    );
    // The monitored metric must appear in the code of every non-distributed model.
    let extra = json!({"incremental": true, "indefinite": true, "monitoring_metric": "val_loss"});
    assert_eq!(deploy(&app, &body(cfg, extra)).await, (400, "Monitoring metric does not match.".to_owned()));
    assert_eq!(kube.jobs(NS).len(), 1);
    assert_eq!(app.get_json("/deployments/").await.as_array().unwrap().len(), 1);
});

db_test!(
    deploys_federated_training_with_the_web_ui_fields,
    fixtures = |kind| with_kube(kind),
    |(app, kube)| async move {
        let m = app.create_model("fed", "tf", false, None).await;
        let cfg = app.create_configuration("fed", &[m]).await;
        let extra = json!({"federated": true, "agg_rounds": 3, "min_data": 50, "strategy": "FedAdam",
        "data_restriction": "{\"features\": {\"x\": [1, 2]}, \"ok\": true}"});
        assert_eq!(deploy(&app, &body(cfg, extra)).await.0, 201);
        let (deployment, ids) = latest_results(&app).await;
        let job = kube.job(NS, &format!("federated-model-training-controller-{}", ids["fed"])).unwrap();
        let table = env_table(&job);
        let names: Vec<&str> = table.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "BOOTSTRAP_SERVERS",
                "RESULT_URL",
                "RESULT_ID",
                "DEPLOYMENT_ID",
                "BATCH",
                "KWARGS_FIT",
                "KWARGS_VAL",
                "CONF_MAT_CONFIG",
                "CASE",
                "UNSUPERVISED",
                "UNSUPERVISED_ROUNDS",
                "CONFIDENCE",
                "AGGREGATION_ROUNDS",
                "MIN_DATA",
                "AGG_STRATEGY",
                "DATA_RESTRICTION",
                "MODEL_LOGGER_TOPIC",
                "FEDERATED_STRING_ID",
            ]
        );
        assert_eq!(env_value(&job, "AGG_STRATEGY").unwrap(), "FedAdam");
        assert_eq!(env_value(&job, "AGGREGATION_ROUNDS").unwrap(), "3");
        assert_eq!(env_value(&job, "DATA_RESTRICTION").unwrap(), "{'features': {'x': [1, 2]}, 'ok': True}");
        assert_eq!(env_value(&job, "MODEL_LOGGER_TOPIC").unwrap(), "FEDERATED_MODEL_CONTROL_TOPIC");
        let id = env_value(&job, "FEDERATED_STRING_ID").unwrap();
        assert!(id.len() == 8 && id.chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()), "{id}");
        let stored = app.get_json("/deployments/").await;
        assert_eq!(stored[0]["id"], deployment);
        assert_eq!(stored[0]["agg_strategy"], "FedAdam");
        assert_eq!(stored[0]["data_restriction"], json!({"features": {"x": [1, 2]}, "ok": true}));
    }
);

db_test!(deploys_blockchain_federated_training, fixtures = |kind| with_kube(kind), |(app, kube)| async move {
    let m = app.create_model("chainfed", "tf", false, None).await;
    let cfg = app.create_configuration("bc", &[m]).await;
    assert_eq!(deploy(&app, &body(cfg, json!({"federated": true, "blockchain": true}))).await.0, 201);
    let (_, ids) = latest_results(&app).await;
    let job = kube.job(NS, &format!("federated-blockchain-model-training-controller-{}", ids["chainfed"])).unwrap();
    let eth: Vec<_> =
        env_table(&job).into_iter().filter(|(n, _)| n.starts_with("ETH_") && n != "ETH_WALLET_KEY").collect();
    assert_eq!(
        eth,
        rows(&[
            ("ETH_RPC_URL", "http://ganache:8545"),
            ("ETH_TOKEN_ADDRESS", "0xTOKEN"),
            ("ETH_TOKEN_ABI", "[]"),
            ("ETH_CHAIN_ID", "1337"),
            ("ETH_NETWORK_ID", "5777"),
            ("ETH_WALLET_ADDRESS", "0xWALLET"),
            ("ETH_BLOCKSCOUT_URL", "http://blockscout:4000"),
        ])
    );
    // The wallet key comes from the Secret: the Job object never holds it.
    let pod = &serde_json::to_value(&job).unwrap()["spec"]["template"]["spec"];
    let key = pod["containers"][0]["env"].as_array().unwrap().iter().find(|e| e["name"] == "ETH_WALLET_KEY").unwrap();
    assert_eq!(
        *key,
        json!({"name": "ETH_WALLET_KEY",
            "valueFrom": {"secretKeyRef": {"name": "eth-wallet", "key": "private-key", "optional": false}}})
    );
    assert!(!serde_json::to_string(&job).unwrap().contains("0xKEY"));
    assert_eq!(env_value(&job, "CASE").unwrap(), "9");
    assert!(env_value(&job, "CONTROL_TOPIC").is_none());
});

/// The application against `kube` without blockchain settings, plus `token_address` if given.
async fn spawn_without_token_contract(kube: &FakeKube, token_address: Option<&str>) -> TestApp {
    let (url, token) = (kube.url(), kube.token().to_owned());
    let token_address = token_address.map(str::to_owned);
    TestApp::spawn_with(DbKind::Sqlite, move |s| {
        s.kube.host = Some(url);
        s.kube.token = Some(token.into());
        s.images.backend_url = Some("http://backend:8000".to_owned());
        s.images.tensorflow_training = Some(TF_TRAIN.to_owned());
        s.blockchain.token_address = token_address;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blockchain_training_without_a_token_contract_is_refused_and_changes_nothing() {
    let kube = FakeKube::start(TOKEN).await;
    let app = spawn_without_token_contract(&kube, None).await;
    let m = app.create_model("chainfed", "tf", false, None).await;
    let cfg = app.create_configuration("bc", &[m]).await;
    let blockchain = body(cfg, json!({"federated": true, "blockchain": true}));
    let message = "The blockchain token contract for blockchain federated training (address) is not configured: \
                   set FEDML_BLOCKCHAIN_TOKEN_ADDRESS.";
    assert_eq!(deploy(&app, &blockchain).await, (503, message.to_owned()));
    assert!(kube.jobs(NS).is_empty());
    assert_eq!(app.get_json("/deployments/").await, json!([]));
    assert_eq!(app.get_json("/results/").await, json!([]));
    // Only single federated non-incremental training uses the token: other cases go ahead.
    let incremental = body(cfg, json!({"federated": true, "blockchain": true, "incremental": true}));
    assert_eq!(deploy(&app, &incremental).await.0, 201);
    assert_eq!(job_names(&kube).len(), 1);

    // With an address but no ABI, the ABI is what is missing.
    let app = spawn_without_token_contract(&kube, Some("0xTOKEN")).await;
    let m = app.create_model("chainfed", "tf", false, None).await;
    let cfg = app.create_configuration("bc", &[m]).await;
    let message = "The blockchain token contract for blockchain federated training (ABI) is not configured: \
                   set FEDML_BLOCKCHAIN_ABI.";
    let blockchain = body(cfg, json!({"federated": true, "blockchain": true}));
    assert_eq!(deploy(&app, &blockchain).await, (503, message.to_owned()));
    assert_eq!(job_names(&kube).len(), 1);
}

db_test!(stops_every_kind_of_training, fixtures = |kind| with_kube(kind), |(app, kube)| async move {
    let single = app.create_model("s", "tf", false, None).await;
    let root = app.create_model("r", "tf", true, None).await;
    let middle = app.create_model("m", "tf", true, Some(root)).await;
    let _leaf = app.create_model("l", "tf", true, Some(middle)).await;
    let cfg = app.create_configuration("all", &[single, root]).await;
    for (extra, single_prefix, chain_prefix) in [
        (json!({}), "model-training", "distributed-model-training"),
        (json!({"incremental": true}), "incremental-model-training", "distributed-incremental-model-training"),
        (
            json!({"federated": true}),
            "federated-model-training-controller",
            "federated-distributed-model-training-controller",
        ),
        (
            json!({"federated": true, "incremental": true}),
            "federated-incremental-model-training-controller",
            "fed-dist-incremental-model-training-controller",
        ),
        (
            json!({"federated": true, "blockchain": true}),
            "federated-blockchain-model-training-controller",
            "federated-distributed-model-training-controller",
        ),
    ] {
        assert_eq!(deploy(&app, &body(cfg, extra.clone())).await.0, 201, "{extra}");
        let (_, ids) = latest_results(&app).await;
        let single_job = format!("{single_prefix}-{}", ids["s"]);
        let chain_job = format!("{chain_prefix}-{}-{}-{}", ids["r"], ids["m"], ids["l"]);
        assert!(kube.job(NS, &single_job).is_some() && kube.job(NS, &chain_job).is_some(), "{extra}");
        kube.clear_requests();
        // A deployed single result and a created chain member (decisions.md item 12 and 13).
        let mut conn = app.db.connect();
        results::transition(&mut conn, &[ids["s"] as i32], &[ResultStatus::Created], ResultStatus::Deployed, None)
            .unwrap();
        for result in [ids["s"], ids["m"]] {
            let res = app.client.post(app.url(&format!("/results/stop/{result}"))).send().await.unwrap();
            assert_eq!(res.status(), 200, "{extra}");
            assert_eq!(res.text().await.unwrap(), "");
        }
        let deletions = kube.deletion_records();
        let deleted: Vec<(&str, Option<&str>, Option<i64>)> = deletions
            .iter()
            .map(|d| (d.name.as_str(), d.propagation_policy.as_deref(), d.grace_period_seconds))
            .collect();
        assert_eq!(
            deleted,
            vec![(single_job.as_str(), Some("Foreground"), Some(5)), (chain_job.as_str(), Some("Foreground"), Some(5))]
        );
        assert!(kube.job(NS, &single_job).is_none() && kube.job(NS, &chain_job).is_none());
        for name in ["s", "r", "m", "l"] {
            assert_eq!(status_of(&app, ids[name]).await["status"], "stopped", "{name} {extra}");
        }
        // Stopped results cannot be stopped again.
        let res = app.client.post(app.url(&format!("/results/stop/{}", ids["r"]))).send().await.unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(
            res.text().await.unwrap(),
            "The training result is not running (its status is stopped): only created or deployed results can be stopped."
        );
    }
    let res = app.client.post(app.url("/results/stop/999999")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.text().await.unwrap(), "Training result does not exist");
});

db_test!(a_failing_job_creation_leaves_nothing_behind, fixtures = |kind| with_kube(kind), |(app, kube)| async move {
    let mut models = Vec::new();
    for i in 0..5 {
        models.push(app.create_model(&format!("m{i}"), "tf", false, None).await);
    }
    let cfg = app.create_configuration("five", &models).await;
    kube.fail_on("POST", Kind::Job, 3, 500);
    let (status, text) = deploy(&app, &body(cfg, json!({}))).await;
    assert_eq!(status, 502, "{text}");
    assert!(text.starts_with("the Kubernetes API refused to create Job model-training-"), "{text}");
    let posts = kube.requests().into_iter().filter(|(m, p)| m == "POST" && p.ends_with("/jobs")).count();
    assert_eq!(posts, 5);
    assert!(kube.jobs(NS).is_empty(), "{:?}", job_names(&kube));
    assert_eq!(app.get_json("/deployments/").await, json!([]));
    assert_eq!(app.get_json("/results/").await, json!([]));
    // The same configuration deploys once the cluster behaves.
    assert_eq!(deploy(&app, &body(cfg, json!({}))).await.0, 201);
    assert_eq!(kube.jobs(NS).len(), 5);
});

db_test!(
    an_existing_job_is_a_conflict_and_is_not_deleted,
    fixtures = |kind| with_kube(kind),
    |(app, kube)| async move {
        let m = app.create_model("dup", "tf", false, None).await;
        let other = app.create_model("other", "tf", false, None).await;
        let cfg = app.create_configuration("dup", &[m, other]).await;
        assert_eq!(deploy(&app, &body(cfg, json!({}))).await.0, 201);
        let (deployment, ids) = latest_results(&app).await;
        // Remove the deployment's rows behind the back-end's back: the next ids are new, so no conflict is
        // possible through the API; create a Job with the next result's name directly instead.
        let next = ids.values().max().unwrap() + 1;
        let squatter: Job = serde_json::from_value(json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": format!("model-training-{next}")},
            "spec": {"template": {"spec": {"containers": [{"name": "x", "image": "x"}], "restartPolicy": "Never"}}},
        }))
        .unwrap();
        let client = reqwest::Client::new();
        let res = client
            .post(format!("{}/apis/batch/v1/namespaces/{NS}/jobs", kube.url()))
            .bearer_auth(TOKEN)
            .json(&squatter)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let (status, text) = deploy(&app, &body(cfg, json!({}))).await;
        assert_eq!(status, 409, "{text}");
        assert_eq!(text, format!("Job model-training-{next} already exists in the cluster."));
        // The other Job of the failed deployment is gone, the squatter and the first deployment's Jobs stay.
        let mut names = job_names(&kube);
        names.sort();
        let mut expected = vec![
            format!("model-training-{}", ids["dup"]),
            format!("model-training-{}", ids["other"]),
            format!("model-training-{next}"),
        ];
        expected.sort();
        assert_eq!(names, expected);
        assert_eq!(app.get_json("/deployments/").await.as_array().unwrap().len(), 1);
        assert_eq!(app.get_json("/deployments/").await[0]["id"], deployment);
    }
);

db_test!(a_failed_job_fails_its_results, fixtures = |kind| with_kube(kind), |(app, kube)| async move {
    let a = app.create_model("root", "tf", true, None).await;
    let _b = app.create_model("child", "tf", true, Some(a)).await;
    let single = app.create_model("single", "tf", false, None).await;
    let cfg = app.create_configuration("watch", &[a, single]).await;
    assert_eq!(deploy(&app, &body(cfg, json!({}))).await.0, 201);
    let (_, ids) = latest_results(&app).await;
    // Wait until the back-end watches the Jobs.
    let deadline = Instant::now() + Duration::from_secs(10);
    while kube.open_watches(Kind::Job) == 0 {
        assert!(Instant::now() < deadline, "the back-end never watched Jobs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The single result finished before its Job failed: it stays finished.
    set_finished(&app, ids["single"]);
    let chain_job = format!("distributed-model-training-{}-{}", ids["root"], ids["child"]);
    kube.set_job_status(
        NS,
        &chain_job,
        FakeKube::failed_job_status("BackoffLimitExceeded", "Job has reached the specified backoff limit"),
    );
    kube.set_job_status(
        NS,
        &format!("model-training-{}", ids["single"]),
        FakeKube::failed_job_status("DeadlineExceeded", "late"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let root = status_of(&app, ids["root"]).await;
        let child = status_of(&app, ids["child"]).await;
        if root["status"] == "failed" && child["status"] == "failed" {
            let reason =
                format!("Job {chain_job} failed: BackoffLimitExceeded: Job has reached the specified backoff limit");
            assert_eq!(root["status_reason"], reason.as_str());
            assert_eq!(child["status_reason"], reason.as_str());
            break;
        }
        assert!(Instant::now() < deadline, "results not failed: {root} {child}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status_of(&app, ids["single"]).await["status"], "finished");
});

db_test!(
    an_unresponsive_cluster_is_a_503_within_the_timeout,
    fixtures = |kind| with_kube(kind),
    |(app, kube)| async move {
        let m = app.create_model("slow", "tf", false, None).await;
        let cfg = app.create_configuration("slow", &[m]).await;
        kube.clear_requests();
        kube.set_unresponsive(true);
        let started = Instant::now();
        let (status, text) = deploy(&app, &body(cfg, json!({}))).await;
        let took = started.elapsed();
        assert_eq!(status, 503, "{text}");
        assert!(text.starts_with(&format!("the Kubernetes API at {} did not answer within 2 s", kube.url())), "{text}");
        // One attempt, given up after the 2 s timeout and not retried: the fake received the
        // Job creation once. Counting requests proves that without a tight upper time bound,
        // which a loaded 2-core CI could break; the bound below only says "did not hang".
        let creations: Vec<_> = kube.requests().into_iter().filter(|(method, _)| method == "POST").collect();
        assert_eq!(creations.len(), 1, "{creations:?}");
        assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(15), "{took:?}");
        assert_eq!(app.get_json("/deployments/").await, json!([]));
    }
);

db_test!(
    deploys_and_stops_an_inference_in_the_default_cluster,
    fixtures = |kind| with_kube(kind),
    |(app, kube)| async move {
        let m = app.create_model("inf", "pth", false, None).await;
        let cfg = app.create_configuration("inf", &[m]).await;
        let pth = json!({"tf_kwargs_fit": "", "pth_kwargs_fit": "max_epochs=2"});
        assert_eq!(deploy(&app, &body(cfg, pth)).await.0, 201);
        let (_, ids) = latest_results(&app).await;
        let r = ids["inf"];
        let form = json!({"model_result": r, "gpumem": 1, "replicas": 2, "input_format": "RAW",
        "input_config": "{\"data_type\": \"uint8\"}", "input_topic": "in", "output_topic": "out",
        "input_kafka_broker": "ext:9092", "output_kafka_broker": "", "external_host": "", "token": ""});
        // Only finished results serve inferences.
        let res = app.post_json(&format!("/results/inference/{r}"), &form).await;
        assert_eq!(res.status(), 400);
        set_finished(&app, r);
        let res = app.post_json(&format!("/results/inference/{r}"), &form).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), "");
        let inferences = app.get_json("/inferences/").await;
        let inference = inferences[0]["id"].as_i64().unwrap();
        assert_eq!(inferences[0]["model_result"], r);
        assert_eq!(inferences[0]["status"], "deployed");
        assert!(inferences[0].get("token").is_none());
        let rc: ReplicationController = kube.rc(NS, &format!("model-inference-{inference}")).unwrap();
        let value = serde_json::to_value(&rc).unwrap();
        assert_eq!(value["spec"]["replicas"], 2);
        assert_eq!(value["spec"]["selector"], json!({"app": format!("inference{inference}")}));
        assert_eq!(value["metadata"]["labels"]["name"], format!("model-inference-{inference}"));
        let container = &value["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["image"], PTH_INF);
        assert_eq!(container["imagePullPolicy"], "Always");
        assert_eq!(container["resources"], json!({"limits": {"nvidia.com/gpu": "1"}}));
        assert_eq!(value["spec"]["template"]["spec"]["runtimeClassName"], "nvidia");
        let env: Vec<(String, Option<String>)> = rc.spec.unwrap().template.unwrap().spec.unwrap().containers[0]
            .env
            .clone()
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.value))
            .collect();
        assert_eq!(
            env,
            rows(&[
                ("INPUT_BOOTSTRAP_SERVERS", "ext:9092"),
                ("OUTPUT_BOOTSTRAP_SERVERS", "kafka:9092"),
                ("MODEL_ARCH_URL", &serving_url("results", r)),
                ("MODEL_URL", &serving_url("results/model", r)),
                ("INPUT_FORMAT", "RAW"),
                ("INPUT_CONFIG", "{\"data_type\": \"uint8\"}"),
                ("INPUT_TOPIC", "in"),
                ("OUTPUT_TOPIC", "out"),
                ("GROUP_ID", &format!("inf{r}")),
                ("NVIDIA_VISIBLE_DEVICES", "all"),
            ])
        );
        // A running inference cannot be deleted; stopping deletes its controller.
        assert_eq!(app.delete(&format!("/inferences/{inference}")).await.status(), 400);
        let res = app.client.post(app.url(&format!("/inferences/{inference}"))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(kube.rc(NS, &format!("model-inference-{inference}")).is_none());
        let deletions = kube.deletions();
        assert_eq!(
            deletions,
            vec![(
                Kind::ReplicationController,
                NS.to_owned(),
                format!("model-inference-{inference}"),
                Some("Foreground".to_owned())
            )]
        );
        assert_eq!(app.get_json(&format!("/inferences/{inference}")).await["status"], "stopped");
        let res = app.client.post(app.url(&format!("/inferences/{inference}"))).send().await.unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(res.text().await.unwrap(), "The inference is not running (its status is stopped).");
        assert_eq!(app.delete(&format!("/inferences/{inference}")).await.status(), 200);
        let res = app.client.post(app.url("/inferences/999999")).send().await.unwrap();
        assert_eq!(res.status(), 404);
        assert_eq!(res.text().await.unwrap(), "Inference does not exist");
    }
);

/// The fixtures of a test of external clusters: the application with a default cluster and
/// `KAFKAML_EXTERNAL_CLUSTERS` listing an external one, both fake.
async fn with_external_kube(kind: DbKind) -> (TestApp, FakeKube, FakeKube) {
    let kube = FakeKube::start(TOKEN).await;
    let external = FakeKube::start("external-token").await;
    let app = spawn_listing(kind, &kube, format!("https://k8s.example.com:6443, {}", external.url()), Some(0)).await;
    (app, kube, external)
}

db_test!(deploys_and_stops_an_inference_in_an_external_cluster, fixtures = |kind| with_external_kube(kind), |(
    app,
    kube,
    external,
)| async move {
    let root = app.create_model("droot", "tf", true, None).await;
    let _child = app.create_model("dchild", "tf", true, Some(root)).await;
    let cfg = app.create_configuration("ext", &[root]).await;
    assert_eq!(deploy(&app, &body(cfg, json!({}))).await.0, 201);
    let (_, ids) = latest_results(&app).await;
    let r = ids["dchild"];
    set_finished(&app, r);
    let form = json!({"model_result": r, "gpumem": 0, "replicas": 1, "input_format": "RAW", "input_config": "{}",
        "input_topic": "in", "output_topic": "out", "output_upper": "up", "limit": 0.5, "upper_kafka_broker": null,
        "external_host": external.url(), "token": "external-token"});
    let res = app.post_json(&format!("/results/inference/{r}"), &form).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let inference = app.get_json("/inferences/").await[0].clone();
    let id = inference["id"].as_i64().unwrap();
    assert_eq!(inference["external_host"], external.url());
    assert!(inference.get("token").is_none());
    assert!(kube.rcs(NS).is_empty());
    let rc = external.rc(NS, &format!("model-inference-{id}")).unwrap();
    let container = rc.spec.unwrap().template.unwrap().spec.unwrap().containers[0].clone();
    assert_eq!(container.image.as_deref(), Some(TF_INF));
    let env: Vec<(String, Option<String>)> = container.env.unwrap().into_iter().map(|e| (e.name, e.value)).collect();
    assert_eq!(
        env,
        rows(&[
            ("INPUT_BOOTSTRAP_SERVERS", "kafka:9092"),
            ("OUTPUT_BOOTSTRAP_SERVERS", "kafka:9092"),
            ("UPPER_BOOTSTRAP_SERVERS", "kafka:9092"),
            ("MODEL_URL", &serving_url("results/model", r)),
            ("INPUT_FORMAT", "RAW"),
            ("INPUT_CONFIG", "{}"),
            ("INPUT_TOPIC", "in"),
            ("OUTPUT_TOPIC", "out"),
            ("OUTPUT_UPPER", "up"),
            ("GROUP_ID", &format!("inf{r}")),
            ("LIMIT", "0.5000000000"),
        ])
    );
    let res = app.client.post(app.url(&format!("/inferences/{id}"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(external.rcs(NS).is_empty());
    assert_eq!(external.deletions().len(), 1);
    assert!(kube.deletions().is_empty());
    // A wrong token: the external cluster refuses, nothing is stored.
    let mut bad = form.clone();
    bad["token"] = json!("wrong");
    let res = app.post_json(&format!("/results/inference/{r}"), &bad).await;
    assert_eq!(res.status(), 502);
    assert!(res.text().await.unwrap().contains("(HTTP 401)"));
    assert_eq!(app.get_json("/inferences/").await.as_array().unwrap().len(), 1);
});

db_test!(inference_requests_are_checked, fixtures = |kind| with_kube(kind), |(app, kube)| async move {
    let m = app.create_model("chk", "tf", false, None).await;
    let cfg = app.create_configuration("chk", &[m]).await;
    assert_eq!(deploy(&app, &body(cfg, json!({}))).await.0, 201);
    let (_, ids) = latest_results(&app).await;
    let r = ids["chk"];
    set_finished(&app, r);
    let cases = [
        (json!({"model_result": r + 1, "gpumem": 0}), 400, format!("Inference not valid: model_result {} in the body is not the result {r} of the URL.", r + 1)),
        (json!({"model_result": r}), 400, "Inference not valid: missing field `gpumem`".to_owned()),
        (json!({"gpumem": 0, "input_format": "XML"}), 400, "Inference not valid: input_format: unknown variant `XML`, expected one of `RAW`, `AVRO`, `JSON`, `TELEGRAF_STR_JSON`".to_owned()),
        (json!({"gpumem": 0, "external_host": "https://k:6443"}), 400, "Inference not valid: external_host and token: give both to run the inference in an external cluster, or neither.".to_owned()),
    ];
    for (form, status, message) in cases {
        let res = app.post_json(&format!("/results/inference/{r}"), &form).await;
        assert_eq!(res.status().as_u16(), status, "{form}");
        assert_eq!(res.text().await.unwrap(), message, "{form}");
    }
    let res = app.post_json("/results/inference/999999", &json!({"gpumem": 0})).await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.text().await.unwrap(), "Training result does not exist");
    // The URL id is enough: no body id, and the inference is linked to the URL's result.
    let res = app.post_json(&format!("/results/inference/{r}"), &json!({"gpumem": 0, "input_topic": "i"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get_json("/inferences/").await[0]["model_result"], r);
    assert_eq!(kube.rcs(NS).len(), 1);
});

db_test!(deployment_requests_are_checked, fixtures = |kind| with_kube(kind), |(app, kube)| async move {
    let m = app.create_model("val", "tf", false, None).await;
    let cfg = app.create_configuration("val", &[m]).await;
    let cases = [
        (json!({"configuration": cfg, "batch": 1}), 400, "Deployment not valid: missing field `gpumem`"),
        (body(cfg, json!({"batch": 0})), 400, "Deployment not valid: batch: Batch has to be greater than 0"),
        (
            body(cfg, json!({"tf_kwargs_fit": "epochs=__import__('os').getpid()"})),
            400,
            "Deployment not valid: tf_kwargs_fit: invalid kwargs \"epochs=__import__('os').getpid()\": __import__('os').getpid() is not a literal (expected an integer, a float, True, False, None or a quoted string)",
        ),
        (body(cfg, json!({"tf_kwargs_fit": "steps=3"})), 400, "Some TensorFlow arguments are not valid."),
        (body(999_999, json!({})), 404, "Configuration does not exist"),
        (body(cfg, json!({"agg_strategy": "Best"})), 400, "Deployment not valid: agg_strategy: unknown variant `Best`, expected one of `FedAvg`, `FedOpt`, `FedAdagrad`, `FedAdam`, `FedYogi`"),
    ];
    for (b, status, message) in cases {
        let (s, text) = deploy(&app, &b).await;
        assert_eq!((s, text.as_str()), (status, message), "{b}");
    }
    assert!(kube.jobs(NS).is_empty());
    assert_eq!(app.get_json("/deployments/").await, json!([]));
});

mod without_a_cluster {
    use super::*;

    async fn check(kind: DbKind) {
        let app = TestApp::spawn_with(kind, |s| s.images.backend_url = Some("http://backend:8000".to_owned())).await;
        let m = app.create_model("nc", "tf", false, None).await;
        let cfg = app.create_configuration("nc", &[m]).await;
        let message = "Kubernetes is not configured: run the back-end in a cluster, or set KUBECONFIG, or KUBE_HOST and KUBE_TOKEN.";
        assert_eq!(deploy(&app, &body(cfg, json!({}))).await, (503, message.to_owned()));
        assert_eq!(app.get_json("/deployments/").await, json!([]));
        let (_, results) = app.seed_deployment(cfg, |_| {});
        let res = app.client.post(app.url(&format!("/results/stop/{}", results[0]))).send().await.unwrap();
        assert_eq!(res.status(), 503);
        assert_eq!(res.text().await.unwrap(), message);
        set_finished(&app, results[0]);
        let res = app.post_json(&format!("/results/inference/{}", results[0]), &json!({"gpumem": 0})).await;
        assert_eq!(res.status(), 503);
        assert_eq!(app.get_json("/inferences/").await, json!([]));
        // Validation comes first.
        let (status, _) = deploy(&app, &json!({"configuration": cfg})).await;
        assert_eq!(status, 400);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        check(DbKind::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        check(DbKind::Postgres).await
    }
}

/// The token of a pod URL, checked: the URL is `<base>?token=<token>` and nothing else.
fn token_of(url: &str, base: &str) -> String {
    let (start, query) = url.split_once('?').unwrap_or_else(|| panic!("no query in {url}"));
    assert_eq!(start, base);
    capability::token_of_query(query).unwrap().to_owned()
}

/// The expiry a token states (`0`: never).
fn expiry_of(token: &str) -> i64 {
    token.split_once('.').unwrap().0.parse().unwrap()
}

db_test!(
    pod_urls_carry_tokens_of_their_purpose_and_result,
    fixtures = |kind| async move {
        let kube = FakeKube::start(TOKEN).await;
        // The default time to live of training tokens; every call needs a credential.
        (spawn_listing_with(kind, &kube, String::new(), None, AuthMode::On).await, kube)
    },
    |(mut app, kube)| async move {
        // The test itself acts as an operator; the pods have only their URLs.
        let (_, key) = app.user_with_token("ops", As::Operator).await;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", format!("Token {key}").parse().unwrap());
        app.client = reqwest::Client::builder().default_headers(headers).build().unwrap();
        let pod = reqwest::Client::new();
        let m = app.create_model("tok", "tf", false, None).await;
        let cfg = app.create_configuration("tok", &[m]).await;
        assert_eq!(deploy(&app, &body(cfg, json!({}))).await.0, 201);
        let (_, ids) = latest_results(&app).await;
        let r = ids["tok"];
        let id = i32::try_from(r).unwrap();
        let job = kube.job(NS, &format!("model-training-{r}")).unwrap();
        let result_url = env_value(&job, "RESULT_URL").unwrap();
        let token = token_of(&result_url, &format!("http://backend:8000/results/{r}"));
        let now = chrono::Utc::now().timestamp();
        let thirty_days = 30 * 24 * 3600;
        assert!((now + thirty_days - 60..=now + thirty_days).contains(&expiry_of(&token)), "{token}");
        assert!(capability::verify(&secret(), Purpose::Training, id, &token, now));
        assert!(!capability::verify(&secret(), Purpose::Serving, id, &token, now));
        assert!(!capability::verify(&secret(), Purpose::Training, id + 1, &token, now));
        assert!(!capability::verify(&secret(), Purpose::Training, id, &token, now + thirty_days));
        assert!(!result_url.replace("results", "results_metrics").contains("results_metrics_metrics"));

        // The pod's conversation with its signed URL, as the images hold it (the query is kept).
        let url = result_url.replace("http://backend:8000", &app.address);
        let bare = url.split_once('?').unwrap().0.to_owned();
        // Without its token, or with another result's or purpose's, nobody gets in.
        let other = capability::sign(&secret(), Purpose::Training, id + 1, None);
        let serving = capability::sign(&secret(), Purpose::Serving, id, None);
        for wrong in [bare.clone(), format!("{bare}?token={other}"), format!("{bare}?token=0.{}", "0".repeat(32))] {
            assert_eq!(pod.get(&wrong).send().await.unwrap().status(), 401, "{wrong}");
        }
        let serving_metrics = format!("{bare}?token={serving}").replace("results", "results_metrics");
        let form = [("data", json!({"train_metrics": {"loss": [0.5]}}).to_string())];
        assert_eq!(pod.post(&serving_metrics).form(&form).send().await.unwrap().status(), 401);
        assert_eq!(pod.get(&url).send().await.unwrap().status(), 200);
        let metrics_url = url.replace("results", "results_metrics");
        assert_eq!(pod.post(&metrics_url).form(&form).send().await.unwrap().status(), 200);
        let upload = reqwest::multipart::Form::new()
            .part("trained_model", reqwest::multipart::Part::bytes(b"h5".to_vec()).file_name("m.h5"))
            .text("data", "{}");
        assert_eq!(pod.post(&url).multipart(upload).send().await.unwrap().status(), 200);
        assert_eq!(status_of(&app, r).await["status"], "finished");
        // The audit trail names the pod's capability.
        let entries = kafkaml_persistence::repo::audit::recent(&mut app.db.connect(), 5).unwrap();
        assert!(entries.iter().any(|e| e.actor == format!("training pod of result {r}")), "{entries:?}");

        // Inference pods: serving tokens that never expire, on both URLs.
        let form = json!({"gpumem": 0, "input_topic": "in", "output_topic": "out"});
        assert_eq!(app.post_json(&format!("/results/inference/{r}"), &form).await.status(), 200);
        let inference = app.get_json("/inferences/").await[0]["id"].as_i64().unwrap();
        let rc = kube.rc(NS, &format!("model-inference-{inference}")).unwrap();
        let env = rc.spec.unwrap().template.unwrap().spec.unwrap().containers[0].env.clone().unwrap();
        let value = |name: &str| env.iter().find(|e| e.name == name).and_then(|e| e.value.clone()).unwrap();
        for (name, base) in [("MODEL_URL", format!("results/model/{r}")), ("MODEL_ARCH_URL", format!("results/{r}"))] {
            // The inference pod reads both with its URL alone.
            let answer = pod.get(value(name).replace("http://backend:8000", &app.address)).send().await.unwrap();
            assert_eq!(answer.status(), 200, "{name}");
            let token = token_of(&value(name), &format!("http://backend:8000/{base}"));
            assert_eq!(expiry_of(&token), 0, "{name}");
            assert!(capability::verify(&secret(), Purpose::Serving, id, &token, i64::MAX - 1), "{name}");
            assert!(!capability::verify(&secret(), Purpose::Training, id, &token, now), "{name}");
        }

        // Indefinite trainings run without end: their tokens never expire.
        let extra = json!({"incremental": true, "indefinite": true, "monitoring_metric": "build_ind",
            "change": "down", "improvement": 0.1});
        let ind = app.create_model("ind", "tf", false, None).await;
        let cfg = app.create_configuration("ind", &[ind]).await;
        let (status, text) = deploy(&app, &body(cfg, extra)).await;
        assert_eq!(status, 201, "{text}");
        let (_, ids) = latest_results(&app).await;
        let r = ids["ind"];
        let job = kube.job(NS, &format!("incremental-model-training-{r}")).unwrap();
        let token = token_of(&env_value(&job, "RESULT_URL").unwrap(), &format!("http://backend:8000/results/{r}"));
        assert_eq!(expiry_of(&token), 0);
        assert!(capability::verify(&secret(), Purpose::Training, i32::try_from(r).unwrap(), &token, now));
    }
);

/// A server that answers every request `404` with a secret in its body (what T4 of the security
/// review reached), and counts the connections it accepted.
struct SecretServer {
    addr: std::net::SocketAddr,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

const INTERNAL_SECRET: &str = "INTERNAL-SECRET-12345";

impl SecretServer {
    async fn start() -> SecretServer {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    // Read the head and the body it announces, then answer and close.
                    let mut request = Vec::new();
                    let mut buf = [0_u8; 4096];
                    loop {
                        let Ok(n) = socket.read(&mut buf).await else { return };
                        if n == 0 {
                            return;
                        }
                        request.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let length = text[..end]
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                                .unwrap_or(0_usize);
                            if request.len() >= end + 4 + length {
                                break;
                            }
                        }
                    }
                    let answer = format!(
                        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{INTERNAL_SECRET}",
                        INTERNAL_SECRET.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        SecretServer { addr, connections }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A finished result of a new deployment of `app`.
async fn finished_result(app: &TestApp, name: &str) -> i64 {
    let m = app.create_model(name, "tf", false, None).await;
    let cfg = app.create_configuration(name, &[m]).await;
    assert_eq!(deploy(app, &body(cfg, json!({}))).await.0, 201);
    let r = latest_results(app).await.1[name];
    set_finished(app, r);
    r
}

/// The review's T4 body, with `external_host`.
fn t4(external_host: &str) -> Value {
    json!({"gpumem": 0, "replicas": 1, "input_format": "RAW", "input_config": "{}", "input_topic": "in",
        "output_topic": "out", "external_host": external_host, "token": "attacker-token"})
}

db_test!(unlisted_external_clusters_are_refused_before_any_connection, fixtures = |kind| with_kube(kind), |(
    app,
    kube,
)| async move {
    let secret = SecretServer::start().await;
    let r = finished_result(&app, "t4").await;
    let refusal = |host: &str, reason: &str| format!("The external cluster {host} cannot be used: {reason}.");
    // The review's T4 request: its URL carries a query, so it is not an API server URL.
    let t4_host = format!("{}/anything?x=", secret.url());
    let res = app.post_json(&format!("/results/inference/{r}"), &t4(&t4_host)).await;
    assert_eq!(res.status(), 400);
    let reason = "it is not an API server URL of the form https://host[:port]";
    assert_eq!(res.text().await.unwrap(), refusal(&t4_host, reason));
    // Well-formed, but nothing is listed (the default).
    for (host, listed) in [
        (secret.url(), secret.url()),
        (format!("{}/anything", secret.url()), format!("{}/anything", secret.url())),
        ("http://169.254.169.254/latest/meta-data".to_owned(), "http://169.254.169.254:80/latest/meta-data".to_owned()),
        ("https://k8s.example.com".to_owned(), "https://k8s.example.com:443".to_owned()),
    ] {
        let res = app.post_json(&format!("/results/inference/{r}"), &t4(&host)).await;
        assert_eq!(res.status(), 400, "{host}");
        let reason =
            format!("external clusters are not allowed; list {listed} in KAFKAML_EXTERNAL_CLUSTERS to allow this one");
        assert_eq!(res.text().await.unwrap(), refusal(&host, &reason));
    }
    assert_eq!(secret.connections(), 0, "nothing reached the target");
    assert_eq!(app.get_json("/inferences/").await, json!([]));
    assert!(kube.rcs(NS).is_empty());
});

db_test!(
    a_listed_external_cluster_never_has_its_answer_reflected,
    fixtures = |kind| async move {
        let kube = FakeKube::start(TOKEN).await;
        let secret = SecretServer::start().await;
        let app = spawn_listing(kind, &kube, secret.url(), Some(0)).await;
        (app, kube, secret)
    },
    |(app, kube, secret)| async move {
        let r = finished_result(&app, "t4").await;
        let res = app.post_json(&format!("/results/inference/{r}"), &t4(&secret.url())).await;
        assert_eq!(res.status(), 502);
        let text = res.text().await.unwrap();
        assert!(
            text.starts_with("the Kubernetes API refused to create ReplicationController model-inference-"),
            "{text}"
        );
        assert!(text.ends_with(" (HTTP 404)."), "{text}");
        assert!(!text.contains("SECRET") && !text.contains("anything"), "{text}");
        assert!(secret.connections() >= 1, "the listed cluster was called");
        assert_eq!(app.get_json("/inferences/").await, json!([]), "nothing is stored");
        // Listing one URL allows no other path, scheme or port on that host.
        let before = secret.connections();
        for host in [
            format!("{}/anything", secret.url()),
            format!("{}/anything?x=", secret.url()),
            secret.url().replace("http://", "https://"),
            format!("http://127.0.0.1:{}", secret.addr.port() + 1),
            format!("http://localhost:{}", secret.addr.port()),
        ] {
            let res = app.post_json(&format!("/results/inference/{r}"), &t4(&host)).await;
            assert_eq!(res.status(), 400, "{host}");
        }
        assert_eq!(secret.connections(), before);
        assert!(kube.rcs(NS).is_empty());
    }
);
