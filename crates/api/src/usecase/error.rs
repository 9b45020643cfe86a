//! What a use case can fail with, as typed values. `crate::error` decides status and wording.

use kafkaml_domain::Violation;
use kafkaml_executor::ExecutorError;
use kafkaml_iot::IotError;
use kafkaml_messaging::PublishError;
use kafkaml_orchestration::ClusterError;
use kafkaml_persistence::{DbError, QueryError};

use crate::usecase::NotConfigured;

/// The object a use case did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// A model definition.
    Model,
    /// A configuration.
    Configuration,
    /// A deployment.
    Deployment,
    /// A training result.
    TrainingResult,
    /// A training result to delete.
    Result,
    /// A training result whose model is to go to IoT devices.
    ModelResult,
    /// The trained model file of a result.
    ModelFile,
    /// An inference.
    Inference,
    /// None of the IoT devices asked for.
    Devices,
    /// Any object of a generic route (DRF's "Not found.").
    Object,
}

/// Why a use case refused or failed. Nothing was changed unless the variant says otherwise.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is not valid: `prefix` names the object (`Deployment not valid`), `message`
    /// says what is wrong.
    #[error("{prefix}: {message}")]
    Invalid {
        /// The route's prefix of validation messages.
        prefix: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A request that is incomplete in a way with its own wording.
    #[error("{0}")]
    BadRequest(String),
    /// A business rule refused the request.
    #[error(transparent)]
    Rule(#[from] Violation),
    /// Something named in the request does not exist.
    #[error("{0:?} not found")]
    NotFound(Missing),
    /// No IoT device has these tokens.
    #[error("unknown device tokens {0:?}")]
    UnknownDevices(Vec<String>),
    /// A setting the operation needs is missing.
    #[error(transparent)]
    NotConfigured(#[from] NotConfigured),
    /// int8 quantisation needs the deployment's data, which only Kafka has.
    #[error("int8 quantization reads the deployment's data from Kafka: set BOOTSTRAP_SERVERS and CONTROL_TOPIC.")]
    Int8WithoutKafka,
    /// Kafka is needed but not configured.
    #[error("Kafka is not configured: set BOOTSTRAP_SERVERS and CONTROL_TOPIC.")]
    KafkaNotConfigured,
    /// The external cluster of an inference cannot be used.
    #[error("The external cluster {host} cannot be used: {reason}.")]
    ExternalCluster {
        /// Its URL.
        host: String,
        /// Why.
        reason: String,
    },
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Every pooled connection stayed busy.
    #[error("the database is busy")]
    DatabaseBusy,
    /// Kubernetes.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// An executor.
    #[error(transparent)]
    Executor(#[from] ExecutorError),
    /// The executor gave a model input shape without dimensions after the batch.
    #[error("The model's input shape {0} has no dimensions to reshape the data to.")]
    ShapeWithoutDimensions(String),
    /// The executor refused to convert a model for microcontrollers.
    #[error("Model conversion failed: {0}")]
    Conversion(ExecutorError),
    /// The control message was not published.
    #[error("The datasource was not published to {topic}: {error}.")]
    NotPublished {
        /// The control topic.
        topic: String,
        /// Why.
        error: PublishError,
    },
    /// Some devices' brokers did not take the download command (the files were stored).
    #[error("{0}")]
    NotDelivered(String),
    /// An IoT device's broker.
    #[error(transparent)]
    Iot(#[from] IotError),
    /// An upload carries more bytes than `KAFKAML_MAX_UPLOAD_BYTES`; nothing was kept.
    #[error("The upload is larger than {limit} bytes (KAFKAML_MAX_UPLOAD_BYTES); nothing was stored.")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Writing would leave the data volume less free space than `KAFKAML_MIN_FREE_DISK_BYTES`
    /// (or the volume is full); nothing was kept.
    #[error(
        "Not enough free disk space on the back-end's data volume to store this ({free} bytes free, {margin} \
         kept free by KAFKAML_MIN_FREE_DISK_BYTES); nothing was stored. Try again when space has been freed."
    )]
    DiskFull {
        /// The bytes free when refused.
        free: u64,
        /// The margin kept free.
        margin: u64,
    },
    /// A file of the stores.
    #[error("file store: {0}")]
    Io(#[from] std::io::Error),
    /// A fault of ours.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// `NotFound(missing)` for a repository's `NotFound`; anything else as it is.
    pub fn from_db(e: DbError, missing: Missing) -> Self {
        match e {
            DbError::NotFound => Error::NotFound(missing),
            other => other.into(),
        }
    }

    /// An invalid request with the route's `prefix`.
    pub fn invalid(prefix: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid { prefix, message: message.into() }
    }
}

/// A query error inside a transaction ([`kafkaml_persistence::write_transaction`]).
impl From<QueryError> for Error {
    fn from(e: QueryError) -> Self {
        Error::Db(e.into())
    }
}
