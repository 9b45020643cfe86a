//! The settings the use cases read, resolved once at start-up: what every training Job and
//! inference receives, the images by framework, and the settings some operations need — each
//! missing one kept as a [`NotConfigured`] that names its variable, so the operation that needs it
//! answers 503 with that name instead of failing at start-up.

use std::time::Duration;

use kafkaml_domain::Framework;
use kafkaml_iot::BrokerAllowList;
use kafkaml_orchestration::inference::InferenceEnvironment;
use kafkaml_orchestration::training::{BlockchainEnvironment, TrainingEnvironment, WalletKey};
use kafkaml_orchestration::PodSigner;

use crate::cluster::ExternalClusters;
use crate::cross_site::TrustedOrigins;
use crate::settings::Settings;
use crate::usecase::uploads::UploadLimits;

/// A setting an operation needs but the back-end was started without.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is not configured: set {variable}.")]
pub struct NotConfigured {
    /// What is missing, for users.
    pub what: String,
    /// The environment variable that sets it.
    pub variable: &'static str,
}

/// A setting, or the reason it is missing.
pub type Required<T> = Result<T, NotConfigured>;

fn required(value: Option<&str>, what: impl Into<String>, variable: &'static str) -> Required<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| NotConfigured { what: what.into(), variable })
}

/// Where case 9 Jobs take `ETH_WALLET_KEY` from: the Secret of
/// `FEDML_BLOCKCHAIN_WALLET_KEY_SECRET`, else the value of `FEDML_BLOCKCHAIN_WALLET_KEY` when
/// `FEDML_BLOCKCHAIN_PLAIN_WALLET_KEY` allows it; otherwise blockchain federated training is
/// refused, naming the Secret's variable.
fn wallet_key(settings: &Settings) -> (WalletKey, Required<()>) {
    let b = &settings.blockchain;
    if let Some(secret) = &b.wallet_key_secret {
        return (WalletKey::Secret { name: secret.name.clone(), key: secret.key.clone() }, Ok(()));
    }
    match (&b.wallet_key, b.plain_wallet_key) {
        (Some(key), true) => (WalletKey::Plain(key.clone()), Ok(())),
        (Some(_), false) => (
            WalletKey::Unset,
            Err(NotConfigured {
                what: "The blockchain wallet key as a Kubernetes Secret (FEDML_BLOCKCHAIN_WALLET_KEY is written into \
                       Jobs only with FEDML_BLOCKCHAIN_PLAIN_WALLET_KEY=1)"
                    .to_owned(),
                variable: "FEDML_BLOCKCHAIN_WALLET_KEY_SECRET",
            }),
        ),
        (None, _) => (
            WalletKey::Unset,
            Err(NotConfigured {
                what: "The blockchain wallet key for blockchain federated training".to_owned(),
                variable: "FEDML_BLOCKCHAIN_WALLET_KEY_SECRET",
            }),
        ),
    }
}

/// How long a new deployment's results are left alone by the reconciliation of Jobs: enough for
/// its Jobs to be created (32 at a time, each within the Kubernetes time limit, so twelve limits
/// cover a deployment of hundreds of Jobs) and seen, and never less than 30 s.
pub fn job_creation_grace(kube_timeout: Duration) -> Duration {
    (kube_timeout * 12).max(Duration::from_secs(30))
}

/// An image of each framework.
#[derive(Debug, Clone)]
pub struct Images {
    /// TensorFlow's.
    pub tf: Required<String>,
    /// PyTorch's.
    pub pth: Required<String>,
}

impl Images {
    /// The image of `framework`.
    pub fn of(&self, framework: Framework) -> Required<&str> {
        match framework {
            Framework::Tf => self.tf.as_deref().map_err(Clone::clone),
            Framework::Pth => self.pth.as_deref().map_err(Clone::clone),
        }
    }
}

/// The Kafka settings the int8 quantisation of IoT models needs (the executor reads the
/// deployment's data from the control topic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSource {
    /// `CONTROL_TOPIC`.
    pub control_topic: String,
    /// `BOOTSTRAP_SERVERS`.
    pub bootstrap_servers: String,
}

/// The settings of the use cases.
#[derive(Debug, Clone)]
pub struct Config {
    /// What every training Job receives (needs `BACKEND_URL`).
    pub training: Required<TrainingEnvironment>,
    /// What every inference receives (needs `BACKEND_URL`).
    pub inference: Required<InferenceEnvironment>,
    /// Training images by framework.
    pub training_images: Images,
    /// Inference images by framework (distributed models use TensorFlow's).
    pub inference_images: Images,
    /// The token contract of blockchain federated training (case 9): address and ABI.
    pub blockchain_token: Required<()>,
    /// Where case 9 Jobs take the wallet key from: a Secret, or the plain value when allowed.
    pub blockchain_wallet: Required<()>,
    /// Most replicas of one inference (`KAFKAML_MAX_INFERENCE_REPLICAS`).
    pub max_inference_replicas: i32,
    /// How long the results of a new deployment are left alone by the reconciliation of Jobs,
    /// while its Jobs are being created: a Job missing later has disappeared.
    pub job_creation_grace: Duration,
    /// Kafka for the int8 quantisation of IoT models.
    pub int8_kafka: Option<KafkaSource>,
    /// The web UI's address: the base of device download URLs when a request has no trusted
    /// `Origin`.
    pub frontend_url: String,
    /// The origins (besides a request's own) whose pages may change things: CORS, the cross-site
    /// guard, the admin's CSRF check, `/ws/`.
    pub origins: TrustedOrigins,
    /// The MQTT brokers devices may use (`KAFKAML_IOT_BROKERS`; empty: any).
    pub iot_brokers: BrokerAllowList,
    /// Most devices one device list probes (`KAFKAML_IOT_MAX_PROBED_DEVICES`).
    pub iot_max_probed: usize,
    /// How long training pods' tokens stay valid (`KAFKAML_POD_TOKEN_TTL`; `None`: no expiry).
    pub pod_token_ttl: Option<Duration>,
    /// Most results of one deployment (`KAFKAML_MAX_RESULTS_PER_DEPLOYMENT`).
    pub max_results_per_deployment: u32,
    /// The external clusters inferences may use (`KAFKAML_EXTERNAL_CLUSTERS`).
    pub external_clusters: ExternalClusters,
    /// Upload size and free disk space (`KAFKAML_MAX_UPLOAD_BYTES`, `KAFKAML_MIN_FREE_DISK_BYTES`).
    pub uploads: UploadLimits,
}

impl Config {
    /// Resolves `settings`.
    pub fn from_settings(settings: &Settings) -> Self {
        let backend_url = required(
            settings.images.backend_url.as_deref(),
            "The back-end URL for training and inference pods",
            "BACKEND_URL",
        );
        let image = |value: &Option<String>, kind: &str, framework: Framework, variable: &'static str| {
            required(value.as_deref(), format!("The {kind} image of {} models", framework.as_str()), variable)
        };
        let contract = "The blockchain token contract for blockchain federated training";
        let blockchain_token = required(
            settings.blockchain.token_address.as_deref(),
            format!("{contract} (address)"),
            "FEDML_BLOCKCHAIN_TOKEN_ADDRESS",
        )
        .and_then(|_| required(settings.blockchain.abi.as_deref(), format!("{contract} (ABI)"), "FEDML_BLOCKCHAIN_ABI"))
        .map(|_| ());
        let (wallet_key, blockchain_wallet) = wallet_key(settings);
        let workload = settings.workloads.policy();
        Config {
            training: backend_url.clone().map(|backend_url| TrainingEnvironment {
                bootstrap_servers: settings.kafka.bootstrap_servers.clone(),
                control_topic: settings.kafka.control_topic.clone(),
                backend_url,
                model_logger_topic: settings.kafka.model_logger_topic.clone(),
                blockchain: BlockchainEnvironment {
                    rpc_url: settings.blockchain.rpc_url.clone(),
                    token_address: settings.blockchain.token_address.clone(),
                    abi: settings.blockchain.abi.clone(),
                    chain_id: settings.blockchain.chain_id.clone(),
                    network_id: settings.blockchain.network_id.clone(),
                    wallet_address: settings.blockchain.wallet_address.clone(),
                    wallet_key,
                    blockscout_url: settings.blockchain.blockscout_url.clone(),
                },
                // Signed by `Ctx::training_environment`, which has the key.
                signer: PodSigner::none(),
                workload: workload.clone(),
            }),
            inference: backend_url.map(|backend_url| InferenceEnvironment {
                bootstrap_servers: settings.kafka.bootstrap_servers.clone(),
                backend_url,
                signer: PodSigner::none(),
                workload,
            }),
            training_images: Images {
                tf: image(
                    &settings.images.tensorflow_training_image().map(str::to_owned),
                    "training",
                    Framework::Tf,
                    "TENSORFLOW_TRAINING_MODEL_IMAGE",
                ),
                pth: image(
                    &settings.images.pytorch_training,
                    "training",
                    Framework::Pth,
                    "PYTORCH_TRAINING_MODEL_IMAGE",
                ),
            },
            inference_images: Images {
                tf: image(
                    &settings.images.tensorflow_inference_image().map(str::to_owned),
                    "inference",
                    Framework::Tf,
                    "TENSORFLOW_INFERENCE_MODEL_IMAGE",
                ),
                pth: image(
                    &settings.images.pytorch_inference,
                    "inference",
                    Framework::Pth,
                    "PYTORCH_INFERENCE_MODEL_IMAGE",
                ),
            },
            blockchain_token,
            blockchain_wallet,
            max_inference_replicas: settings.workloads.max_inference_replicas,
            job_creation_grace: job_creation_grace(settings.kube.timeout()),
            int8_kafka: match (settings.kafka.control_topic.clone(), settings.kafka.bootstrap_servers.clone()) {
                (Some(control_topic), Some(bootstrap_servers)) => {
                    Some(KafkaSource { control_topic, bootstrap_servers })
                }
                _ => None,
            },
            frontend_url: settings.server.frontend_url.clone(),
            origins: TrustedOrigins::new(&settings.server.frontend_url, &settings.server.cors_extra_origins.0),
            iot_brokers: settings.iot.brokers.clone(),
            iot_max_probed: settings.iot.max_probed_devices,
            pod_token_ttl: settings.images.pod_token_ttl(),
            max_results_per_deployment: settings.images.max_results_per_deployment,
            external_clusters: ExternalClusters::from_settings(settings),
            uploads: UploadLimits {
                max_bytes: settings.limits.max_upload_bytes,
                min_free_disk: settings.limits.min_free_disk_bytes,
            },
        }
    }
}
