//! The executor calls as a trait, and the values they exchange.

use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;
use kafkaml_domain::enums::Framework;
use serde::{Deserialize, Serialize};

use crate::ExecutorError;

/// Which executor service a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutorKind {
    /// The TensorFlow / Keras executor (`TFEXECUTOR_URL`, path `exec_tf/`).
    TensorFlow,
    /// The PyTorch executor (`PTHEXECUTOR_URL`, path `exec_pth/`).
    PyTorch,
}

impl ExecutorKind {
    /// The executor for a model's `framework` field: `"tf"` or `"pth"`; `None` for anything else.
    pub fn from_framework(framework: &str) -> Option<Self> {
        match framework {
            "tf" => Some(Self::TensorFlow),
            "pth" => Some(Self::PyTorch),
            _ => None,
        }
    }

    /// The `framework` spelling of this executor: `"tf"` or `"pth"`.
    pub fn framework(self) -> &'static str {
        match self {
            Self::TensorFlow => "tf",
            Self::PyTorch => "pth",
        }
    }

    /// The path, relative to the executor's base URL, of its code-execution endpoint:
    /// `exec_tf/` or `exec_pth/`.
    pub fn exec_path(self) -> &'static str {
        match self {
            Self::TensorFlow => "exec_tf/",
            Self::PyTorch => "exec_pth/",
        }
    }

    /// The human name used in messages: `TensorFlow` or `PyTorch`.
    pub fn name(self) -> &'static str {
        match self {
            Self::TensorFlow => "TensorFlow",
            Self::PyTorch => "PyTorch",
        }
    }
}

impl fmt::Display for ExecutorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Framework> for ExecutorKind {
    fn from(framework: Framework) -> Self {
        match framework {
            Framework::Tf => Self::TensorFlow,
            Framework::Pth => Self::PyTorch,
        }
    }
}

/// The source code of a model as the executors receive it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelCode {
    /// Import statements run before the code (`imports` of the model; `""` when it has none).
    pub imports: String,
    /// The model code; it must define `model` (or, for distributed models, end with the
    /// expression that builds it).
    pub code: String,
    /// Whether the model is part of a distributed chain.
    pub distributed: bool,
}

impl ModelCode {
    /// Builds a model code value.
    pub fn new(imports: impl Into<String>, code: impl Into<String>, distributed: bool) -> Self {
        Self { imports: imports.into(), code: code.into(), distributed }
    }
}

/// The `request_type` of an `exec_tf/` / `exec_pth/` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestType {
    /// Run the code and check that it defines a usable model.
    Check,
    /// Build the model and answer with it saved as HDF5 (TensorFlow only).
    LoadModel,
    /// Build the model and answer with `str(model.input_shape)` (TensorFlow only).
    InputShape,
}

impl RequestType {
    /// The wire spelling: `check`, `load_model` or `input_shape`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::LoadModel => "load_model",
            Self::InputShape => "input_shape",
        }
    }

    /// Parses the wire spelling; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "check" => Some(Self::Check),
            "load_model" => Some(Self::LoadModel),
            "input_shape" => Some(Self::InputShape),
            _ => None,
        }
    }
}

impl fmt::Display for RequestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict of a validation call (`check`, `check_deploy_config`).
///
/// The executors only say yes (HTTP 200) or no (any other status); their answer body is logged
/// at debug level, never relied on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckOutcome {
    /// The executor answered 200.
    Valid,
    /// The executor answered another status.
    Invalid,
}

impl CheckOutcome {
    /// `true` for [`CheckOutcome::Valid`].
    pub fn is_valid(self) -> bool {
        matches!(self, Self::Valid)
    }
}

/// The int8 quantization of a TFLite conversion: the executor reads up to 100 samples of the
/// deployment's training data from Kafka (the control topic, key = deployment id, then the data
/// topic) to calibrate the quantization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Int8Quantization {
    /// The deployment whose data calibrates the quantization (`modelDeploymentId`).
    pub deployment_id: i32,
    /// The Kafka-ML control topic (`dataControlTopic`).
    pub control_topic: String,
    /// The Kafka bootstrap servers (`dataBootstrapServers`).
    pub bootstrap_servers: String,
}

/// A trained TensorFlow model to convert to TFLite (`POST /convert_to_tflite/`, docs/contract.md §4.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TfliteConversion {
    /// The training result the model belongs to; the file part is named `<result_id>.h5`.
    pub result_id: i32,
    /// The trained model, HDF5 bytes.
    pub model: Bytes,
    /// Quantize to int8 (`applyQuantization=True`, `quantizationType=int8`); `None` converts as is.
    pub quantization: Option<Int8Quantization>,
}

impl TfliteConversion {
    /// The name of the multipart file part (and its file name): `<result_id>.h5`.
    pub fn file_name(&self) -> String {
        format!("{}.h5", self.result_id)
    }

    /// The form fields in the reference's order: `applyQuantization` (`True`/`False`),
    /// `quantizationType` (`int8` or empty), `modelDeploymentId`, `dataControlTopic` and
    /// `dataBootstrapServers` (empty unless quantizing).
    pub fn form_fields(&self) -> [(&'static str, String); 5] {
        match &self.quantization {
            Some(q) => [
                ("applyQuantization", "True".to_owned()),
                ("quantizationType", "int8".to_owned()),
                ("modelDeploymentId", q.deployment_id.to_string()),
                ("dataControlTopic", q.control_topic.clone()),
                ("dataBootstrapServers", q.bootstrap_servers.clone()),
            ],
            None => [
                ("applyQuantization", "False".to_owned()),
                ("quantizationType", String::new()),
                ("modelDeploymentId", String::new()),
                ("dataControlTopic", String::new()),
                ("dataBootstrapServers", String::new()),
            ],
        }
    }
}

/// The calls Kafka-ML makes to its code executors (docs/contract.md §5.1).
///
/// [`crate::HttpExecutor`] is the real implementation; tests of callers can implement this trait
/// with an in-process fake.
#[async_trait]
pub trait Executor: Send + Sync {
    /// Checks model code: `POST exec_tf/` or `exec_pth/` with `request_type: "check"`.
    ///
    /// 200 → [`CheckOutcome::Valid`], any other status → [`CheckOutcome::Invalid`]; an error only
    /// when no status was obtained.
    async fn check(&self, kind: ExecutorKind, code: &ModelCode) -> Result<CheckOutcome, ExecutorError>;

    /// Builds the untrained TensorFlow model and returns it as HDF5 bytes
    /// (`POST exec_tf/` with `request_type: "load_model"`).
    ///
    /// A status other than 200 is [`ExecutorError::Rejected`].
    async fn load_model(&self, code: &ModelCode) -> Result<Bytes, ExecutorError>;

    /// Returns the input shape of a TensorFlow model as Python prints it, e.g. `(None, 28, 28)`
    /// (`POST exec_tf/` with `request_type: "input_shape"`).
    ///
    /// A status other than 200 is [`ExecutorError::Rejected`].
    async fn input_shape(&self, code: &ModelCode) -> Result<String, ExecutorError>;

    /// Checks training arguments: `POST check_deploy_config/` with
    /// `{"batch": <batch>, "kwargs_fit": "<JSON text>", "kwargs_val": "<JSON text>"}`.
    ///
    /// `batch` is sent as given; `kwargs_fit_json` and `kwargs_val_json` are JSON texts sent as
    /// strings. 200 → [`CheckOutcome::Valid`], any other status → [`CheckOutcome::Invalid`].
    async fn check_deploy_config(
        &self,
        kind: ExecutorKind,
        batch: &serde_json::Value,
        kwargs_fit_json: &str,
        kwargs_val_json: &str,
    ) -> Result<CheckOutcome, ExecutorError>;

    /// Converts a trained TensorFlow model to TFLite: `POST convert_to_tflite/` to the TensorFlow
    /// executor, multipart with the form fields of [`TfliteConversion::form_fields`] and the file
    /// part `<result_id>.h5`; the answer is the TFLite model. Bounded by
    /// [`crate::CONVERT_TIMEOUT`].
    ///
    /// A status other than 200 is [`ExecutorError::Rejected`]. The default implementation (for
    /// executors that cannot convert) fails with [`ExecutorError::Request`].
    async fn convert_to_tflite(&self, conversion: &TfliteConversion) -> Result<Bytes, ExecutorError> {
        let _ = conversion;
        Err(ExecutorError::Request {
            executor: ExecutorKind::TensorFlow,
            reason: "this executor client cannot convert models to TFLite".to_owned(),
        })
    }
}
