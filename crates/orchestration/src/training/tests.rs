//! Full environment tables of the 9 cases, compared with docs/contract.md §5.3.3, and the Job around them.

use super::*;
use crate::plan::PlannedJob;
use kafkaml_domain::settings::Decimal;
use kafkaml_domain::Framework;
use serde_json::json;

fn environment() -> TrainingEnvironment {
    TrainingEnvironment {
        bootstrap_servers: Some("kafka:9092".to_owned()),
        control_topic: Some("KAFKA_ML_CONTROL_TOPIC".to_owned()),
        backend_url: "http://backend:8000".to_owned(),
        model_logger_topic: "FEDERATED_MODEL_CONTROL_TOPIC".to_owned(),
        blockchain: BlockchainEnvironment {
            rpc_url: Some("http://eth:8545".to_owned()),
            token_address: Some("0xTOKEN".to_owned()),
            abi: Some("[{\"type\": \"function\"}]".to_owned()),
            chain_id: Some("1337".to_owned()),
            network_id: Some("5777".to_owned()),
            wallet_address: Some("0xWALLET".to_owned()),
            wallet_key: WalletKey::Plain("0xKEY".into()),
            blockscout_url: Some("http://blockscout:4000".to_owned()),
        },
        signer: PodSigner::none(),
        workload: WorkloadPolicy::default(),
    }
}

/// The reference's defaults for everything but batch 10.
fn settings() -> DeploymentSettings {
    let mut settings = DeploymentSettings::default();
    settings.fit.batch = 10;
    settings
}

/// Deployment 1 with `settings`, without GPU.
fn deployment(settings: &DeploymentSettings) -> TrainingDeployment<'_> {
    TrainingDeployment { id: 1, settings, gpumem: 0.0 }
}

fn unit(case: u8) -> TrainingUnit {
    let case = TrainingCase::from_number(case).unwrap();
    let result_ids = if case.is_distributed() { vec![13, 14, 15] } else { vec![1] };
    TrainingUnit {
        job: PlannedJob { case, framework: Framework::Tf, result_ids },
        image: "kafkaml/training:tf".to_owned(),
        kwargs_fit: r#"{"epochs": 5, "steps_per_epoch": 1000}"#.to_owned(),
        kwargs_val: "{}".to_owned(),
        federated_string_id: "a1b2c3d4".to_owned(),
    }
}

fn table(vars: &[EnvVar]) -> Vec<(String, Option<String>)> {
    vars.iter().map(|v| (v.name.clone(), v.value.clone())).collect()
}

fn expected(rows: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    rows.iter().map(|(n, v)| ((*n).to_owned(), v.map(str::to_owned))).collect()
}

fn env_of(case: u8, settings: &DeploymentSettings) -> Vec<(String, Option<String>)> {
    table(&training_env(&environment(), &deployment(settings), &unit(case)))
}

const FIT: &str = r#"{"epochs": 5, "steps_per_epoch": 1000}"#;
const URLS: &str =
    "['http://backend:8000/results/15', 'http://backend:8000/results/14', 'http://backend:8000/results/13']";
const IDS: &str = "['15', '14', '13']";

#[test]
fn case_1_single_classic_is_the_contract_example() {
    assert_eq!(
        env_of(1, &settings()),
        expected(&[
            ("BOOTSTRAP_SERVERS", Some("kafka:9092")),
            ("RESULT_URL", Some("http://backend:8000/results/1")),
            ("RESULT_ID", Some("1")),
            ("CONTROL_TOPIC", Some("KAFKA_ML_CONTROL_TOPIC")),
            ("DEPLOYMENT_ID", Some("1")),
            ("BATCH", Some("10")),
            ("KWARGS_FIT", Some(FIT)),
            ("KWARGS_VAL", Some("{}")),
            ("CONF_MAT_CONFIG", Some("false")),
            ("CASE", Some("1")),
            ("UNSUPERVISED", Some("False")),
            ("UNSUPERVISED_ROUNDS", Some("5")),
            ("CONFIDENCE", Some("0.9")),
        ])
    );
}

#[test]
fn case_2_single_incremental() {
    let mut d = settings();
    d.incremental.monitoring_metric = Some("val_loss".to_owned());
    d.incremental.change = Some("down".to_owned());
    assert_eq!(
        env_of(2, &d),
        expected(&[
            ("BOOTSTRAP_SERVERS", Some("kafka:9092")),
            ("RESULT_URL", Some("http://backend:8000/results/1")),
            ("RESULT_ID", Some("1")),
            ("CONTROL_TOPIC", Some("KAFKA_ML_CONTROL_TOPIC")),
            ("DEPLOYMENT_ID", Some("1")),
            ("BATCH", Some("10")),
            ("KWARGS_FIT", Some(FIT)),
            ("KWARGS_VAL", Some("{}")),
            ("CONF_MAT_CONFIG", Some("false")),
            ("CASE", Some("2")),
            ("UNSUPERVISED", Some("False")),
            ("UNSUPERVISED_ROUNDS", Some("5")),
            ("CONFIDENCE", Some("0.9")),
            ("STREAM_TIMEOUT", Some("60000")),
            ("MONITORING_METRIC", Some("val_loss")),
            ("CHANGE", Some("down")),
            ("IMPROVEMENT", Some("0.05")),
        ])
    );
}

#[test]
fn case_2_indefinite_and_unset_metric() {
    let mut d = settings();
    d.incremental.indefinite = true;
    let env = env_of(2, &d);
    assert!(env.contains(&("STREAM_TIMEOUT".to_owned(), Some("-1".to_owned()))));
    // Unset values are null (the variable is empty in the pod), as the reference sends them.
    assert!(env.contains(&("MONITORING_METRIC".to_owned(), None)));
    assert!(env.contains(&("CHANGE".to_owned(), None)));
}

#[test]
fn case_3_distributed_classic_lists_leaf_first() {
    assert_eq!(
        env_of(3, &settings()),
        expected(&[
            ("BOOTSTRAP_SERVERS", Some("kafka:9092")),
            ("RESULT_URL", Some(URLS)),
            ("RESULT_ID", Some(IDS)),
            ("CONTROL_TOPIC", Some("KAFKA_ML_CONTROL_TOPIC")),
            ("DEPLOYMENT_ID", Some("1")),
            ("BATCH", Some("10")),
            ("KWARGS_FIT", Some(FIT)),
            ("KWARGS_VAL", Some("{}")),
            ("CONF_MAT_CONFIG", Some("false")),
            ("CASE", Some("3")),
            ("OPTIMIZER", Some("adam")),
            ("LEARNING_RATE", Some("0.001")),
            ("LOSS", Some("sparse_categorical_crossentropy")),
            ("METRICS", Some("sparse_categorical_accuracy")),
            ("UNSUPERVISED", Some("False")),
            ("UNSUPERVISED_ROUNDS", Some("5")),
            ("CONFIDENCE", Some("0.9")),
        ])
    );
}

#[test]
fn case_4_distributed_incremental() {
    assert_eq!(
        env_of(4, &settings()),
        expected(&[
            ("BOOTSTRAP_SERVERS", Some("kafka:9092")),
            ("RESULT_URL", Some(URLS)),
            ("RESULT_ID", Some(IDS)),
            ("CONTROL_TOPIC", Some("KAFKA_ML_CONTROL_TOPIC")),
            ("DEPLOYMENT_ID", Some("1")),
            ("BATCH", Some("10")),
            ("KWARGS_FIT", Some(FIT)),
            ("KWARGS_VAL", Some("{}")),
            ("CONF_MAT_CONFIG", Some("false")),
            ("CASE", Some("4")),
            ("OPTIMIZER", Some("adam")),
            ("LEARNING_RATE", Some("0.001")),
            ("LOSS", Some("sparse_categorical_crossentropy")),
            ("METRICS", Some("sparse_categorical_accuracy")),
            ("UNSUPERVISED", Some("False")),
            ("UNSUPERVISED_ROUNDS", Some("5")),
            ("CONFIDENCE", Some("0.9")),
            ("STREAM_TIMEOUT", Some("60000")),
            ("IMPROVEMENT", Some("0.05")),
        ])
    );
}

#[test]
fn case_5_single_federated() {
    assert_eq!(
        env_of(5, &settings()),
        expected(&[
            ("BOOTSTRAP_SERVERS", Some("kafka:9092")),
            ("RESULT_URL", Some("http://backend:8000/results/1")),
            ("RESULT_ID", Some("1")),
            ("DEPLOYMENT_ID", Some("1")),
            ("BATCH", Some("10")),
            ("KWARGS_FIT", Some(FIT)),
            ("KWARGS_VAL", Some("{}")),
            ("CONF_MAT_CONFIG", Some("false")),
            ("CASE", Some("5")),
            ("UNSUPERVISED", Some("False")),
            ("UNSUPERVISED_ROUNDS", Some("5")),
            ("CONFIDENCE", Some("0.9")),
            ("AGGREGATION_ROUNDS", Some("15")),
            ("MIN_DATA", Some("1000")),
            ("AGG_STRATEGY", Some("FedAvg")),
            ("DATA_RESTRICTION", Some("{}")),
            ("MODEL_LOGGER_TOPIC", Some("FEDERATED_MODEL_CONTROL_TOPIC")),
            ("FEDERATED_STRING_ID", Some("a1b2c3d4")),
        ])
    );
}

#[test]
fn case_6_single_federated_incremental() {
    assert_eq!(
        env_of(6, &settings()),
        expected(&[
            ("BOOTSTRAP_SERVERS", Some("kafka:9092")),
            ("RESULT_URL", Some("http://backend:8000/results/1")),
            ("RESULT_ID", Some("1")),
            ("CONTROL_TOPIC", Some("KAFKA_ML_CONTROL_TOPIC")),
            ("DEPLOYMENT_ID", Some("1")),
            ("BATCH", Some("10")),
            ("KWARGS_FIT", Some(FIT)),
            ("KWARGS_VAL", Some("{}")),
            ("CONF_MAT_CONFIG", Some("false")),
            ("CASE", Some("6")),
            ("UNSUPERVISED", Some("False")),
            ("UNSUPERVISED_ROUNDS", Some("5")),
            ("CONFIDENCE", Some("0.9")),
            ("STREAM_TIMEOUT", Some("60000")),
            ("MONITORING_METRIC", None),
            ("CHANGE", None),
            ("IMPROVEMENT", Some("0.05")),
            ("AGGREGATION_ROUNDS", Some("15")),
            ("MIN_DATA", Some("1000")),
            ("AGG_STRATEGY", Some("FedAvg")),
            ("DATA_RESTRICTION", Some("{}")),
            ("MODEL_LOGGER_TOPIC", Some("FEDERATED_MODEL_CONTROL_TOPIC")),
            ("FEDERATED_STRING_ID", Some("a1b2c3d4")),
        ])
    );
}

#[test]
fn case_7_federated_distributed() {
    assert_eq!(
        env_of(7, &settings()),
        expected(&[
            ("BOOTSTRAP_SERVERS", Some("kafka:9092")),
            ("RESULT_URL", Some(URLS)),
            ("RESULT_ID", Some(IDS)),
            ("CONTROL_TOPIC", Some("KAFKA_ML_CONTROL_TOPIC")),
            ("DEPLOYMENT_ID", Some("1")),
            ("BATCH", Some("10")),
            ("KWARGS_FIT", Some(FIT)),
            ("KWARGS_VAL", Some("{}")),
            ("CONF_MAT_CONFIG", Some("false")),
            ("CASE", Some("7")),
            ("OPTIMIZER", Some("adam")),
            ("LEARNING_RATE", Some("0.001")),
            ("LOSS", Some("sparse_categorical_crossentropy")),
            ("METRICS", Some("sparse_categorical_accuracy")),
            ("UNSUPERVISED", Some("False")),
            ("UNSUPERVISED_ROUNDS", Some("5")),
            ("CONFIDENCE", Some("0.9")),
            ("AGGREGATION_ROUNDS", Some("15")),
            ("MIN_DATA", Some("1000")),
            ("AGG_STRATEGY", Some("FedAvg")),
            ("DATA_RESTRICTION", Some("{}")),
            ("MODEL_LOGGER_TOPIC", Some("FEDERATED_MODEL_CONTROL_TOPIC")),
            ("FEDERATED_STRING_ID", Some("a1b2c3d4")),
        ])
    );
}

#[test]
fn case_8_federated_distributed_incremental() {
    assert_eq!(
        env_of(8, &settings()),
        expected(&[
            ("BOOTSTRAP_SERVERS", Some("kafka:9092")),
            ("RESULT_URL", Some(URLS)),
            ("RESULT_ID", Some(IDS)),
            ("CONTROL_TOPIC", Some("KAFKA_ML_CONTROL_TOPIC")),
            ("DEPLOYMENT_ID", Some("1")),
            ("BATCH", Some("10")),
            ("KWARGS_FIT", Some(FIT)),
            ("KWARGS_VAL", Some("{}")),
            ("CONF_MAT_CONFIG", Some("false")),
            ("CASE", Some("8")),
            ("OPTIMIZER", Some("adam")),
            ("LEARNING_RATE", Some("0.001")),
            ("LOSS", Some("sparse_categorical_crossentropy")),
            ("METRICS", Some("sparse_categorical_accuracy")),
            ("UNSUPERVISED", Some("False")),
            ("UNSUPERVISED_ROUNDS", Some("5")),
            ("CONFIDENCE", Some("0.9")),
            ("STREAM_TIMEOUT", Some("60000")),
            ("IMPROVEMENT", Some("0.05")),
            ("AGGREGATION_ROUNDS", Some("15")),
            ("MIN_DATA", Some("1000")),
            ("AGG_STRATEGY", Some("FedAvg")),
            ("DATA_RESTRICTION", Some("{}")),
            ("MODEL_LOGGER_TOPIC", Some("FEDERATED_MODEL_CONTROL_TOPIC")),
            ("FEDERATED_STRING_ID", Some("a1b2c3d4")),
        ])
    );
}

#[test]
fn case_9_single_federated_blockchain() {
    assert_eq!(
        env_of(9, &settings()),
        expected(&[
            ("BOOTSTRAP_SERVERS", Some("kafka:9092")),
            ("RESULT_URL", Some("http://backend:8000/results/1")),
            ("RESULT_ID", Some("1")),
            ("DEPLOYMENT_ID", Some("1")),
            ("BATCH", Some("10")),
            ("KWARGS_FIT", Some(FIT)),
            ("KWARGS_VAL", Some("{}")),
            ("CONF_MAT_CONFIG", Some("false")),
            ("CASE", Some("9")),
            ("UNSUPERVISED", Some("False")),
            ("UNSUPERVISED_ROUNDS", Some("5")),
            ("CONFIDENCE", Some("0.9")),
            ("AGGREGATION_ROUNDS", Some("15")),
            ("MIN_DATA", Some("1000")),
            ("AGG_STRATEGY", Some("FedAvg")),
            ("DATA_RESTRICTION", Some("{}")),
            ("MODEL_LOGGER_TOPIC", Some("FEDERATED_MODEL_CONTROL_TOPIC")),
            ("FEDERATED_STRING_ID", Some("a1b2c3d4")),
            ("ETH_RPC_URL", Some("http://eth:8545")),
            ("ETH_TOKEN_ADDRESS", Some("0xTOKEN")),
            ("ETH_TOKEN_ABI", Some("[{\"type\": \"function\"}]")),
            ("ETH_CHAIN_ID", Some("1337")),
            ("ETH_NETWORK_ID", Some("5777")),
            ("ETH_WALLET_ADDRESS", Some("0xWALLET")),
            ("ETH_WALLET_KEY", Some("0xKEY")),
            ("ETH_BLOCKSCOUT_URL", Some("http://blockscout:4000")),
        ])
    );
}

#[test]
fn case_9_takes_the_wallet_key_from_a_secret() {
    let mut env = environment();
    env.blockchain.wallet_key = WalletKey::Secret { name: "eth-wallet".to_owned(), key: "private-key".to_owned() };
    let vars = training_env(&env, &deployment(&settings()), &unit(9));
    let key = vars.iter().find(|v| v.name == "ETH_WALLET_KEY").unwrap();
    assert_eq!(
        serde_json::to_value(key).unwrap(),
        json!({"name": "ETH_WALLET_KEY", "valueFrom": {"secretKeyRef": {"name": "eth-wallet", "key": "private-key", "optional": false}}})
    );
    // The same place in the table as the plain value.
    let plain = table(&training_env(&environment(), &deployment(&settings()), &unit(9)));
    let names: Vec<_> = vars.iter().map(|v| v.name.clone()).collect();
    assert_eq!(names, plain.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>());
    let job = serde_json::to_string(&training_job(&env, &deployment(&settings()), &unit(9))).unwrap();
    assert!(!job.contains("0xKEY"), "{job}");
}

#[test]
fn workload_policy_sets_deadline_ttl_and_resources_but_no_deadline_on_indefinite_training() {
    let mut env = environment();
    env.workload.active_deadline_seconds = Some(86400);
    env.workload.ttl_seconds_after_finished = 120;
    env.workload.training.cpu_request = Some("1".to_owned());
    env.workload.training.memory_limit = Some("4Gi".to_owned());
    env.workload.inference.cpu_limit = Some("9".to_owned());
    let job = training_job(&env, &TrainingDeployment { gpumem: 2.0, ..deployment(&settings()) }, &unit(1));
    let spec = job.spec.unwrap();
    assert_eq!(spec.active_deadline_seconds, Some(86400));
    assert_eq!(spec.ttl_seconds_after_finished, Some(120));
    let container = &spec.template.spec.unwrap().containers[0];
    assert_eq!(
        serde_json::to_value(container.resources.as_ref().unwrap()).unwrap(),
        json!({"limits": {"memory": "4Gi", "nvidia.com/gpu": "2"}, "requests": {"cpu": "1"}})
    );
    let mut indefinite = settings();
    indefinite.incremental.incremental = true;
    indefinite.incremental.indefinite = true;
    let job = training_job(&env, &deployment(&indefinite), &unit(2));
    assert_eq!(job.spec.unwrap().active_deadline_seconds, None);
    let mut finite = settings();
    finite.incremental.incremental = true;
    let job = training_job(&env, &deployment(&finite), &unit(2));
    assert_eq!(job.spec.unwrap().active_deadline_seconds, Some(86400));
}

#[test]
fn case_9_without_blockchain_settings() {
    let mut env = environment();
    env.blockchain = BlockchainEnvironment::default();
    let vars = table(&training_env(&env, &deployment(&settings()), &unit(9)));
    let eth: Vec<_> = vars.into_iter().filter(|(n, _)| n.starts_with("ETH_")).collect();
    assert_eq!(eth[0], ("ETH_RPC_URL".to_owned(), Some("None".to_owned())));
    assert!(eth[1..].iter().all(|(_, v)| v.is_none()));
    assert_eq!(eth.len(), 8);
}

#[test]
fn client_values_are_quantized_decimals_and_python_literals() {
    let mut d = settings();
    d.distributed.learning_rate = Decimal::given(0.01);
    d.semi_supervised.confidence = Some(Decimal::given(0.8));
    d.incremental.improvement = None;
    d.semi_supervised.unsupervised = true;
    d.semi_supervised.unsupervised_rounds = None;
    d.fit.conf_mat_settings = None;
    d.federated.data_restriction = Some(json!({"x": [1, 2], "ok": true}));
    d.incremental.stream_timeout = None;
    let env = env_of(8, &d);
    let get = |name: &str| env.iter().find(|(n, _)| n == name).unwrap().1.clone().unwrap();
    assert_eq!(get("LEARNING_RATE"), "0.010000");
    assert_eq!(get("CONFIDENCE"), "0.800000");
    assert_eq!(get("IMPROVEMENT"), "None");
    assert_eq!(get("UNSUPERVISED"), "True");
    assert_eq!(get("UNSUPERVISED_ROUNDS"), "None");
    assert_eq!(get("CONF_MAT_CONFIG"), "null");
    assert_eq!(get("DATA_RESTRICTION"), "{'x': [1, 2], 'ok': True}");
    assert_eq!(get("STREAM_TIMEOUT"), "None");
}

#[test]
fn unset_brokers_and_topic_are_null() {
    let mut env = environment();
    env.bootstrap_servers = None;
    env.control_topic = None;
    env.backend_url = "http://backend:8000/".to_owned();
    let vars = table(&training_env(&env, &deployment(&settings()), &unit(1)));
    assert_eq!(vars[0], ("BOOTSTRAP_SERVERS".to_owned(), None));
    assert_eq!(vars[1], ("RESULT_URL".to_owned(), Some("http://backend:8000/results/1".to_owned())));
    assert_eq!(vars[3], ("CONTROL_TOPIC".to_owned(), None));
}

#[test]
fn whole_job_of_case_1() {
    let job = training_job(&environment(), &deployment(&settings()), &unit(1));
    let value = serde_json::to_value(&job).unwrap();
    assert_eq!(
        value,
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": "model-training-1",
                "labels": {
                    "app.kubernetes.io/component": "training",
                    "app.kubernetes.io/managed-by": "kafkaml-backend",
                    "kafkaml.io/case": "1",
                    "kafkaml.io/deployment-id": "1",
                    "kafkaml.io/result-id": "1",
                },
                "annotations": {"kafkaml.io/result-ids": "1"},
            },
            "spec": {
                "ttlSecondsAfterFinished": 3600,
                "template": {
                    "metadata": {"labels": {
                        "app.kubernetes.io/component": "training",
                        "app.kubernetes.io/managed-by": "kafkaml-backend",
                        "kafkaml.io/case": "1",
                        "kafkaml.io/deployment-id": "1",
                        "kafkaml.io/result-id": "1",
                    }},
                    "spec": {
                        "automountServiceAccountToken": false,
                        "containers": [{
                            "name": "training",
                            "image": "kafkaml/training:tf",
                            "imagePullPolicy": "Always",
                            "env": training_env(&environment(), &deployment(&settings()), &unit(1)),
                            "securityContext": {
                                "allowPrivilegeEscalation": false,
                                "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                        }],
                        "restartPolicy": "OnFailure",
                    },
                },
            },
        })
    );
    // imagePullPolicy is on the container, never on the pod spec (decisions.md item 25).
    assert!(value["spec"]["template"]["spec"].get("imagePullPolicy").is_none());
}

#[test]
fn job_names_and_labels_of_every_case() {
    let names = [
        "model-training-1",
        "incremental-model-training-1",
        "distributed-model-training-13-14-15",
        "distributed-incremental-model-training-13-14-15",
        "federated-model-training-controller-1",
        "federated-incremental-model-training-controller-1",
        "federated-distributed-model-training-controller-13-14-15",
        "fed-dist-incremental-model-training-controller-13-14-15",
        "federated-blockchain-model-training-controller-1",
    ];
    for (i, name) in names.iter().enumerate() {
        let case = u8::try_from(i + 1).unwrap();
        let job = training_job(&environment(), &deployment(&settings()), &unit(case));
        assert_eq!(job.metadata.name.as_deref(), Some(*name));
        let labels = job.metadata.labels.unwrap();
        assert_eq!(labels[CASE_LABEL], case.to_string());
        let root = if case == 3 || case == 4 || case == 7 || case == 8 { "13" } else { "1" };
        assert_eq!(labels[RESULT_ID_LABEL], root);
        let ids = &job.metadata.annotations.unwrap()[RESULT_IDS_ANNOTATION];
        assert_eq!(ids, if root == "13" { "13,14,15" } else { "1" });
    }
}

#[test]
fn gpu_patch_on_training_jobs() {
    let d = settings();
    let job = training_job(&environment(), &TrainingDeployment { gpumem: 2.0, ..deployment(&d) }, &unit(1));
    let pod = job.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.runtime_class_name.as_deref(), Some("nvidia"));
    let container = &pod.containers[0];
    let env = container.env.as_ref().unwrap();
    let last = env.last().unwrap();
    assert_eq!((last.name.as_str(), last.value.as_deref()), ("NVIDIA_VISIBLE_DEVICES", Some("all")));
    assert_eq!(env.len(), 14);
    assert_eq!(
        serde_json::to_value(container.resources.as_ref().unwrap()).unwrap(),
        json!({"limits": {"nvidia.com/gpu": "2"}})
    );
}

#[test]
fn federated_string_ids_are_8_base36_characters() {
    let a = federated_string_id();
    let b = federated_string_id();
    assert_eq!(a.len(), 8);
    assert!(a.chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()), "{a}");
    assert_ne!(a, b);
}

#[test]
fn blockchain_key_does_not_print() {
    let text = format!("{:?}", environment());
    assert!(!text.contains("0xKEY"), "{text}");
}

/// A signer whose token names its purpose and result, as a test can read it back.
fn test_signer() -> PodSigner {
    PodSigner::new(|purpose, id| Some(format!("{}-{id}", if purpose == PodPurpose::Training { "t" } else { "s" })))
}

#[test]
fn a_signer_adds_each_results_training_token_to_result_url() {
    let env = TrainingEnvironment { signer: test_signer(), ..environment() };
    let d = settings();
    let single = table(&training_env(&env, &deployment(&d), &unit(1)));
    assert_eq!(single[1], ("RESULT_URL".to_owned(), Some("http://backend:8000/results/1?token=t-1".to_owned())));
    assert_eq!(single[2], ("RESULT_ID".to_owned(), Some("1".to_owned())));
    // Distributed cases: every URL of the list literal carries its own result's token, leaf first.
    for case in [3, 4, 7, 8] {
        let vars = table(&training_env(&env, &deployment(&d), &unit(case)));
        assert_eq!(
            vars[1],
            (
                "RESULT_URL".to_owned(),
                Some(
                    "['http://backend:8000/results/15?token=t-15', 'http://backend:8000/results/14?token=t-14', \
                     'http://backend:8000/results/13?token=t-13']"
                        .to_owned()
                )
            ),
            "case {case}"
        );
        assert_eq!(vars[2], ("RESULT_ID".to_owned(), Some(IDS.to_owned())), "case {case}");
    }
    // Nothing else changes: the tables of every case are the unsigned ones but for RESULT_URL.
    for case in 1..=9 {
        let signed = table(&training_env(&env, &deployment(&d), &unit(case)));
        let mut bare = env_of(case, &d);
        bare[1] = signed[1].clone();
        assert_eq!(signed, bare, "case {case}");
    }
}

#[test]
fn a_signer_that_gives_no_token_leaves_result_url_bare() {
    let env = TrainingEnvironment { signer: PodSigner::new(|_, _| None), ..environment() };
    let vars = table(&training_env(&env, &deployment(&settings()), &unit(3)));
    assert_eq!(vars[1], ("RESULT_URL".to_owned(), Some(URLS.to_owned())));
}
