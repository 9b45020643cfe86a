//! The settings of a deployment (a training launch) and of an inference, as typed values: defined
//! once here, with the reference's defaults, and used as they are by the other crates —
//! orchestration renders them into Kubernetes manifests, persistence converts them to and from
//! rows, and the API renders them in its answers.
//!
//! A request body ([`crate::deploy::DeploymentInput`], [`crate::deploy::InferenceInput`]) is
//! resolved into these once; nothing downstream looks at the body again.
//!
//! The groups of [`DeploymentSettings`] follow the training modes they configure, in the order
//! the reference's serializer writes their fields.

use secrecy::SecretString;
use serde::{Serialize, Serializer};
use serde_json::Value;
use utoipa::ToSchema;

use crate::enums::{AggStrategy, Framework, InputFormat};

/// A decimal setting: its value, and whether the client gave it.
///
/// The reference's Jobs print a value the client sent as a quantized `Decimal` (`0.010000`) and a
/// default as a Python float (`0.001`), so the difference reaches the manifests. On the wire it is
/// a plain JSON number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decimal {
    /// The value.
    pub value: f64,
    /// Whether the client sent it (`false`: the default).
    pub given: bool,
}

impl Decimal {
    /// A default value.
    pub const fn default_of(value: f64) -> Self {
        Decimal { value, given: false }
    }

    /// A value the client sent (or one read back from the database).
    pub const fn given(value: f64) -> Self {
        Decimal { value, given: true }
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.value)
    }
}

/// Batch, kwargs and confusion matrix: what every training case uses.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FitSettings {
    /// Batch size, greater than 0.
    pub batch: i32,
    /// Keyword arguments of `fit` for TensorFlow models, as the client wrote them.
    pub tf_kwargs_fit: String,
    /// Keyword arguments of `evaluate` for TensorFlow models.
    pub tf_kwargs_val: String,
    /// Keyword arguments of training for PyTorch models.
    pub pth_kwargs_fit: String,
    /// Keyword arguments of validation for PyTorch models.
    pub pth_kwargs_val: String,
    /// Generate a confusion matrix (`null` allowed, as in the reference).
    pub conf_mat_settings: Option<bool>,
}

impl Default for FitSettings {
    fn default() -> Self {
        FitSettings {
            batch: 1,
            tf_kwargs_fit: String::new(),
            tf_kwargs_val: String::new(),
            pth_kwargs_fit: String::new(),
            pth_kwargs_val: String::new(),
            conf_mat_settings: Some(false),
        }
    }
}

/// Optimiser, learning rate, loss and metrics of distributed training.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DistributedSettings {
    /// Optimizer (`adam`).
    pub optimizer: String,
    /// Learning rate, `decimal(7,6)` (0.001).
    #[schema(value_type = f64)]
    pub learning_rate: Decimal,
    /// Loss (`sparse_categorical_crossentropy`).
    pub loss: String,
    /// Metrics, comma-separated (`sparse_categorical_accuracy`).
    pub metrics: String,
}

impl Default for DistributedSettings {
    fn default() -> Self {
        DistributedSettings {
            optimizer: "adam".to_owned(),
            learning_rate: Decimal::default_of(0.001),
            loss: "sparse_categorical_crossentropy".to_owned(),
            metrics: "sparse_categorical_accuracy".to_owned(),
        }
    }
}

/// Incremental training on a stream.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IncrementalSettings {
    /// Incremental training.
    pub incremental: bool,
    /// Without end (`STREAM_TIMEOUT` becomes `-1`).
    pub indefinite: bool,
    /// Stream timeout in milliseconds (60000).
    pub stream_timeout: Option<i32>,
    /// Metric watched.
    pub monitoring_metric: Option<String>,
    /// `up` or `down`: the direction of improvement of the monitored metric.
    pub change: Option<String>,
    /// Minimal improvement, `decimal(7,6)` (0.05).
    #[schema(value_type = Option<f64>)]
    pub improvement: Option<Decimal>,
}

impl Default for IncrementalSettings {
    fn default() -> Self {
        IncrementalSettings {
            incremental: false,
            indefinite: false,
            stream_timeout: Some(60000),
            monitoring_metric: None,
            change: None,
            improvement: Some(Decimal::default_of(0.05)),
        }
    }
}

/// Semi-supervised training.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SemiSupervisedSettings {
    /// Semi-supervised training.
    pub unsupervised: bool,
    /// Rounds (5).
    pub unsupervised_rounds: Option<i32>,
    /// Confidence threshold, `decimal(7,6)` (0.9).
    #[schema(value_type = Option<f64>)]
    pub confidence: Option<Decimal>,
}

impl Default for SemiSupervisedSettings {
    fn default() -> Self {
        SemiSupervisedSettings {
            unsupervised: false,
            unsupervised_rounds: Some(5),
            confidence: Some(Decimal::default_of(0.9)),
        }
    }
}

/// Federated (and blockchain federated) training.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FederatedSettings {
    /// Federated training.
    pub federated: bool,
    /// Aggregation rounds (15).
    pub agg_rounds: Option<i32>,
    /// Minimal data per client (1000).
    pub min_data: Option<i32>,
    /// Aggregation strategy (`FedAvg`).
    pub agg_strategy: AggStrategy,
    /// Data restriction, any JSON value (`{}`).
    #[schema(value_type = Object)]
    pub data_restriction: Option<Value>,
    /// Blockchain-based aggregation.
    pub blockchain: bool,
}

impl Default for FederatedSettings {
    fn default() -> Self {
        FederatedSettings {
            federated: false,
            agg_rounds: Some(15),
            min_data: Some(1000),
            agg_strategy: AggStrategy::FedAvg,
            data_restriction: Some(Value::Object(serde_json::Map::new())),
            blockchain: false,
        }
    }
}

/// Every stored setting of a deployment. `Default` is the reference's defaults — the only copy of
/// them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeploymentSettings {
    /// Batch, kwargs, confusion matrix.
    pub fit: FitSettings,
    /// Distributed training.
    pub distributed: DistributedSettings,
    /// Incremental training.
    pub incremental: IncrementalSettings,
    /// Semi-supervised training.
    pub semi_supervised: SemiSupervisedSettings,
    /// Federated training.
    pub federated: FederatedSettings,
}

/// The kwargs of one framework, parsed as literals (never evaluated) and rendered as the JSON
/// texts the Jobs (`KWARGS_FIT`, `KWARGS_VAL`) and the executors (`kwargs_fit`, `kwargs_val`) read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kwargs {
    /// The fit kwargs as JSON text (`{}` when empty).
    pub fit: String,
    /// The validation kwargs as JSON text (`{}` when empty).
    pub val: String,
}

/// The kwargs of both frameworks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameworkKwargs {
    /// TensorFlow's.
    pub tf: Kwargs,
    /// PyTorch's.
    pub pth: Kwargs,
}

impl FrameworkKwargs {
    /// The kwargs of `framework`.
    pub fn of(&self, framework: Framework) -> &Kwargs {
        match framework {
            Framework::Tf => &self.tf,
            Framework::Pth => &self.pth,
        }
    }
}

/// A `POST /deployments/` body, resolved: what to train, with which settings, parsed once.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentRequest {
    /// The configuration to train (as sent: an id out of the column's range matches nothing).
    pub configuration: i64,
    /// GPU memory per Job; `> 0` asks for a GPU. Not stored.
    pub gpumem: f64,
    /// The settings to store and to give the Jobs.
    pub settings: DeploymentSettings,
    /// The kwargs of both frameworks.
    pub kwargs: FrameworkKwargs,
}

/// The external cluster an inference runs in.
#[derive(Debug, Clone)]
pub struct ExternalCluster {
    /// Its API URL.
    pub host: String,
    /// Its bearer token (write-only: never printed, never answered).
    pub token: SecretString,
}

impl PartialEq for ExternalCluster {
    /// Clusters are told apart by their URL; tokens are not compared.
    fn eq(&self, other: &Self) -> bool {
        self.host == other.host
    }
}

impl ExternalCluster {
    /// The cluster of a stored `external_host` and `token`, when both are set.
    pub fn of(host: Option<&str>, token: Option<&str>) -> Option<Self> {
        let host = host.map(str::trim).filter(|h| !h.is_empty())?;
        let token = token.map(str::trim).filter(|t| !t.is_empty())?;
        Some(ExternalCluster { host: host.to_owned(), token: token.into() })
    }
}

/// Every stored setting of an inference.
#[derive(Debug, Clone, PartialEq)]
pub struct InferenceSettings {
    /// Pod replicas, at least 1.
    pub replicas: i32,
    /// Encoding of the input records.
    pub input_format: InputFormat,
    /// Decoding settings of the input records, a JSON document as text.
    pub input_config: String,
    /// Topic the inference reads.
    pub input_topic: String,
    /// Topic the predictions go to.
    pub output_topic: String,
    /// Topic towards the upper model (distributed early exit).
    pub output_upper: String,
    /// Early-exit confidence threshold of distributed models.
    pub limit: Option<f64>,
    /// The external cluster to run in; `None`: the default cluster.
    pub external: Option<ExternalCluster>,
    /// Brokers of the input topic (default `BOOTSTRAP_SERVERS`).
    pub input_kafka_broker: Option<String>,
    /// Brokers of the output topic.
    pub output_kafka_broker: Option<String>,
    /// Brokers of the upper topic.
    pub upper_kafka_broker: Option<String>,
}

/// A `POST /results/inference/<id>` body, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct InferenceRequest {
    /// GPU memory per pod; `> 0` asks for a GPU. Not stored.
    pub gpumem: f64,
    /// The settings to store and to give the pods.
    pub settings: InferenceSettings,
}
