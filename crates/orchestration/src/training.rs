//! Training Job manifests for the 9 cases (docs/contract.md §5.3.3), as typed `batch/v1` Jobs.
//!
//! The environment table of every case — names, order and value spelling — is the reference's,
//! because the training images read it (`eval`ing some values). What differs from the reference is
//! fixed on purpose: `imagePullPolicy: Always` sits on the container (decisions.md item 25), and the
//! Job carries labels and an annotation (see [`crate::labels`]) so the back-end can find it again, and
//! each URL of `RESULT_URL` ends in its result's `?token=` when the environment has a [`PodSigner`].

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, EnvVar, EnvVarSource, PodSpec, PodTemplateSpec, SecretKeySelector};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kafkaml_domain::rules::TrainingCase;
use kafkaml_domain::settings::DeploymentSettings;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::gpu::apply_gpu;
use crate::labels::{
    base_labels, join_ids, CASE_LABEL, DEPLOYMENT_ID_LABEL, RESULT_IDS_ANNOTATION, RESULT_ID_LABEL, TRAINING_COMPONENT,
};
use crate::plan::PlannedJob;
use crate::python::{python_bool, python_int, python_repr, python_str, PyDecimal};
use crate::signer::{PodPurpose, PodSigner};
use crate::workload::WorkloadPolicy;

/// The name of the training container.
pub const TRAINING_CONTAINER: &str = "training";

/// What every training Job receives from the back-end's settings.
#[derive(Debug, Clone, Default)]
pub struct TrainingEnvironment {
    /// `BOOTSTRAP_SERVERS`: the Kafka brokers.
    pub bootstrap_servers: Option<String>,
    /// `CONTROL_TOPIC`: the Kafka-ML control topic.
    pub control_topic: Option<String>,
    /// `BACKEND_URL`: this back-end as the pods reach it (`http://backend:8000`).
    pub backend_url: String,
    /// `MODEL_LOGGER_TOPIC`: the federated model logger topic.
    pub model_logger_topic: String,
    /// The `FEDML_BLOCKCHAIN_*` settings for case 9.
    pub blockchain: BlockchainEnvironment,
    /// The token of each `RESULT_URL` ([`PodPurpose::Training`]); none by default (bare URLs).
    pub signer: PodSigner,
    /// Confinement, resources, deadline and time-to-live of the Jobs.
    pub workload: WorkloadPolicy,
}

/// Where blockchain federated Jobs (case 9) take `ETH_WALLET_KEY` from.
#[derive(Debug, Clone, Default)]
pub enum WalletKey {
    /// Nowhere: the variable is null (the back-end refuses such deployments before building them).
    #[default]
    Unset,
    /// A key of a Kubernetes Secret of the Jobs' namespace (`valueFrom.secretKeyRef`): the key
    /// never appears in the Job object.
    Secret {
        /// The Secret's name.
        name: String,
        /// The key inside the Secret.
        key: String,
    },
    /// The value itself, written into every Job object (explicit opt-in only: whoever may read
    /// Jobs or pods of the namespace reads it). Never printed by `Debug`.
    Plain(SecretString),
}

/// The `FEDML_BLOCKCHAIN_*` settings passed to blockchain federated Jobs (case 9) as `ETH_*`.
#[derive(Debug, Clone, Default)]
pub struct BlockchainEnvironment {
    /// `FEDML_BLOCKCHAIN_RPC_URL` → `ETH_RPC_URL` (the text `None` when unset, as the reference).
    pub rpc_url: Option<String>,
    /// `FEDML_BLOCKCHAIN_TOKEN_ADDRESS` → `ETH_TOKEN_ADDRESS`.
    pub token_address: Option<String>,
    /// `FEDML_BLOCKCHAIN_ABI` → `ETH_TOKEN_ABI`.
    pub abi: Option<String>,
    /// `FEDML_BLOCKCHAIN_CHAIN_ID` → `ETH_CHAIN_ID`.
    pub chain_id: Option<String>,
    /// `FEDML_BLOCKCHAIN_NETWORK_ID` → `ETH_NETWORK_ID`.
    pub network_id: Option<String>,
    /// `FEDML_BLOCKCHAIN_WALLET_ADDRESS` → `ETH_WALLET_ADDRESS`.
    pub wallet_address: Option<String>,
    /// `ETH_WALLET_KEY`: a Secret's key (`FEDML_BLOCKCHAIN_WALLET_KEY_SECRET`), or the value of
    /// `FEDML_BLOCKCHAIN_WALLET_KEY` when the plain value is allowed.
    pub wallet_key: WalletKey,
    /// `FEDML_BLOCKCHAIN_BLOCKSCOUT_URL` → `ETH_BLOCKSCOUT_URL`.
    pub blockscout_url: Option<String>,
}

/// The deployment whose Jobs are built: its id, its settings as the domain defines them, and the
/// GPU memory asked for (`> 0` applies the GPU patch; not stored).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingDeployment<'a> {
    /// `DEPLOYMENT_ID`.
    pub id: i32,
    /// Every setting the environment tables read.
    pub settings: &'a DeploymentSettings,
    /// GPU memory per Job.
    pub gpumem: f64,
}

/// One Job to build: the planned Job plus what depends on its framework and randomness.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingUnit {
    /// Case and results of the Job.
    pub job: PlannedJob,
    /// The training image of the Job's framework.
    pub image: String,
    /// `KWARGS_FIT`: JSON text of the framework's fit kwargs.
    pub kwargs_fit: String,
    /// `KWARGS_VAL`: JSON text of the framework's validation kwargs (`{}` when empty).
    pub kwargs_val: String,
    /// `FEDERATED_STRING_ID` (federated cases): 8 characters from `[0-9a-z]`, new per Job.
    pub federated_string_id: String,
}

/// A fresh `FEDERATED_STRING_ID`: 8 random characters from `[0-9a-z]`.
pub fn federated_string_id() -> String {
    const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    uuid::Uuid::new_v4().as_bytes()[..8]
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

fn var(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar { name: name.to_owned(), value: Some(value.into()), value_from: None }
}

fn opt_var(name: &str, value: Option<&str>) -> EnvVar {
    EnvVar { name: name.to_owned(), value: value.map(str::to_owned), value_from: None }
}

/// `ETH_WALLET_KEY` from where `key` says.
fn wallet_key_var(key: &WalletKey) -> EnvVar {
    match key {
        WalletKey::Unset => opt_var("ETH_WALLET_KEY", None),
        WalletKey::Plain(value) => var("ETH_WALLET_KEY", value.expose_secret()),
        WalletKey::Secret { name, key } => EnvVar {
            name: "ETH_WALLET_KEY".to_owned(),
            value: None,
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector { name: name.clone(), key: key.clone(), optional: Some(false) }),
                ..EnvVarSource::default()
            }),
        },
    }
}

/// `<BACKEND_URL>/results/<id>`, with the training token of result `id` when `env` signs.
fn result_url(env: &TrainingEnvironment, id: i32) -> String {
    env.signer.url(&env.backend_url, "results", PodPurpose::Training, id)
}

/// The environment of a training Job, in the reference's order (docs/contract.md §5.3.3), without the GPU
/// variable (see [`crate::gpu::apply_gpu`]).
pub fn training_env(
    env: &TrainingEnvironment,
    deployment: &TrainingDeployment<'_>,
    unit: &TrainingUnit,
) -> Vec<EnvVar> {
    let case = unit.job.case;
    let DeploymentSettings { fit, distributed, incremental, semi_supervised, federated } = deployment.settings;
    let (result_url_value, result_id_value) = if case.is_distributed() {
        // Leaf first, root last, as Python list literals.
        let urls: Vec<Value> = unit.job.result_ids.iter().rev().map(|id| Value::String(result_url(env, *id))).collect();
        let ids: Vec<Value> = unit.job.result_ids.iter().rev().map(|id| Value::String(id.to_string())).collect();
        (python_repr(&Value::Array(urls)), python_repr(&Value::Array(ids)))
    } else {
        let id = unit.job.root_result();
        (result_url(env, id), id.to_string())
    };
    let single_incremental = matches!(case, TrainingCase::SingleIncremental | TrainingCase::SingleFederatedIncremental);

    let mut vars = vec![
        opt_var("BOOTSTRAP_SERVERS", env.bootstrap_servers.as_deref()),
        var("RESULT_URL", result_url_value),
        var("RESULT_ID", result_id_value),
    ];
    if !matches!(case, TrainingCase::SingleFederated | TrainingCase::SingleFederatedBlockchain) {
        vars.push(opt_var("CONTROL_TOPIC", env.control_topic.as_deref()));
    }
    vars.extend([
        var("DEPLOYMENT_ID", deployment.id.to_string()),
        var("BATCH", fit.batch.to_string()),
        var("KWARGS_FIT", unit.kwargs_fit.clone()),
        var("KWARGS_VAL", unit.kwargs_val.clone()),
        var(
            "CONF_MAT_CONFIG",
            match fit.conf_mat_settings {
                Some(true) => "true",
                Some(false) => "false",
                None => "null",
            },
        ),
        var("CASE", case.number().to_string()),
    ]);
    if case.is_distributed() {
        vars.extend([
            var("OPTIMIZER", distributed.optimizer.clone()),
            var("LEARNING_RATE", PyDecimal::from(Some(distributed.learning_rate)).to_python_str()),
            var("LOSS", distributed.loss.clone()),
            var("METRICS", distributed.metrics.clone()),
        ]);
    }
    vars.extend([
        var("UNSUPERVISED", python_bool(semi_supervised.unsupervised)),
        var("UNSUPERVISED_ROUNDS", python_int(semi_supervised.unsupervised_rounds)),
        var("CONFIDENCE", PyDecimal::from(semi_supervised.confidence).to_python_str()),
    ]);
    if case.is_incremental() {
        let timeout = if incremental.indefinite { "-1".to_owned() } else { python_int(incremental.stream_timeout) };
        vars.push(var("STREAM_TIMEOUT", timeout));
        if single_incremental {
            vars.push(opt_var("MONITORING_METRIC", incremental.monitoring_metric.as_deref()));
            vars.push(opt_var("CHANGE", incremental.change.as_deref()));
        }
        vars.push(var("IMPROVEMENT", PyDecimal::from(incremental.improvement).to_python_str()));
    }
    if case.is_federated() {
        vars.extend([
            var("AGGREGATION_ROUNDS", python_int(federated.agg_rounds)),
            var("MIN_DATA", python_int(federated.min_data)),
            var("AGG_STRATEGY", federated.agg_strategy.as_str()),
            var("DATA_RESTRICTION", python_str(federated.data_restriction.as_ref().unwrap_or(&Value::Null))),
            var("MODEL_LOGGER_TOPIC", env.model_logger_topic.clone()),
            var("FEDERATED_STRING_ID", unit.federated_string_id.clone()),
        ]);
    }
    if case == TrainingCase::SingleFederatedBlockchain {
        let b = &env.blockchain;
        vars.extend([
            var("ETH_RPC_URL", b.rpc_url.clone().unwrap_or_else(|| "None".to_owned())),
            opt_var("ETH_TOKEN_ADDRESS", b.token_address.as_deref()),
            opt_var("ETH_TOKEN_ABI", b.abi.as_deref()),
            opt_var("ETH_CHAIN_ID", b.chain_id.as_deref()),
            opt_var("ETH_NETWORK_ID", b.network_id.as_deref()),
            opt_var("ETH_WALLET_ADDRESS", b.wallet_address.as_deref()),
            wallet_key_var(&b.wallet_key),
            opt_var("ETH_BLOCKSCOUT_URL", b.blockscout_url.as_deref()),
        ]);
    }
    vars
}

/// The labels of a training Job (also put on its pods).
fn job_labels(deployment: &TrainingDeployment<'_>, unit: &TrainingUnit) -> BTreeMap<String, String> {
    let mut labels = base_labels(TRAINING_COMPONENT);
    labels.insert(RESULT_ID_LABEL.to_owned(), unit.job.root_result().to_string());
    labels.insert(DEPLOYMENT_ID_LABEL.to_owned(), deployment.id.to_string());
    labels.insert(CASE_LABEL.to_owned(), unit.job.case.number().to_string());
    labels
}

/// The training Job of one unit: name by case and results, environment of the case,
/// `restartPolicy: OnFailure`, `imagePullPolicy: Always` on the container, labels, the
/// confinement, resources, `ttlSecondsAfterFinished` and `activeDeadlineSeconds` of
/// [`TrainingEnvironment::workload`] (no deadline for indefinite incremental trainings, which run
/// until stopped), and the GPU patch when `gpumem > 0`.
pub fn training_job(env: &TrainingEnvironment, deployment: &TrainingDeployment<'_>, unit: &TrainingUnit) -> Job {
    let labels = job_labels(deployment, unit);
    let mut pod = PodSpec {
        containers: vec![Container {
            name: TRAINING_CONTAINER.to_owned(),
            image: Some(unit.image.clone()),
            image_pull_policy: Some("Always".to_owned()),
            env: Some(training_env(env, deployment, unit)),
            ..Container::default()
        }],
        restart_policy: Some("OnFailure".to_owned()),
        ..PodSpec::default()
    };
    let policy = &env.workload;
    policy.apply(&mut pod, &policy.training);
    apply_gpu(&mut pod, deployment.gpumem);
    let incremental = &deployment.settings.incremental;
    let indefinite = incremental.incremental && incremental.indefinite;
    Job {
        metadata: ObjectMeta {
            name: Some(unit.job.name()),
            labels: Some(labels.clone()),
            annotations: Some(BTreeMap::from([(RESULT_IDS_ANNOTATION.to_owned(), join_ids(&unit.job.result_ids))])),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            ttl_seconds_after_finished: Some(policy.ttl_seconds_after_finished),
            active_deadline_seconds: policy.active_deadline_seconds.filter(|_| !indefinite),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels), ..ObjectMeta::default() }),
                spec: Some(pod),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

#[cfg(test)]
mod tests;
