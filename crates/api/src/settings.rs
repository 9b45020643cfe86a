//! Settings, read once at start from the environment (the reference's variable names, contract §7)
//! and from command-line flags of `kafkaml-backend`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A value that must not appear in logs: `Debug` prints `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Every setting of the back-end. Each field is a flag and an environment variable.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "kafkaml-backend", version, about = "Kafka-ML control-plane back-end")]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "KAFKAML_BIND", default_value = "127.0.0.1:8000")]
    pub bind: String,

    /// Directory for the SQLite database (when DATABASE_URL is unset) and the trained models.
    #[arg(long, env = "KAFKAML_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// `postgres://…` or `sqlite://PATH`; default: `sqlite://<data dir>/kafkaml.sqlite3`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Maximum number of pooled database connections.
    #[arg(long, env = "KAFKAML_DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: u32,

    /// The web UI's address: allowed CORS origin (besides `http://localhost:4200`).
    #[arg(long, env = "FRONTEND_URL", default_value = "http://localhost")]
    pub frontend_url: String,

    /// Comma-separated `Host` header values accepted (`*` accepts any).
    #[arg(long, env = "ALLOWED_HOSTS", default_value = "backend,frontend,127.0.0.1,localhost,[::1]")]
    pub allowed_hosts: String,

    /// Base URL of the TensorFlow executor.
    #[arg(long, env = "TFEXECUTOR_URL", default_value = "http://localhost:8001/")]
    pub tfexecutor_url: String,

    /// Base URL of the PyTorch executor.
    #[arg(long, env = "PTHEXECUTOR_URL", default_value = "http://localhost:8002/")]
    pub pthexecutor_url: String,

    /// Seconds an executor call may take (model checks build the model).
    #[arg(long, env = "KAFKAML_EXECUTOR_TIMEOUT", default_value_t = 60)]
    pub executor_timeout: u64,

    /// Kafka bootstrap servers (control topic, predictions, Job environment).
    #[arg(long, env = "BOOTSTRAP_SERVERS")]
    pub bootstrap_servers: Option<String>,

    /// The Kafka-ML control topic.
    #[arg(long, env = "CONTROL_TOPIC")]
    pub control_topic: Option<String>,

    /// Seconds a control-message publication may take (broker acknowledgement included) before
    /// `POST /datasources/kafka` answers 503.
    #[arg(long, env = "KAFKAML_KAFKA_TIMEOUT", default_value_t = 5)]
    pub kafka_timeout: u64,

    /// Most prediction WebSockets (`/ws/`) served at once; each holds a Kafka consumer.
    #[arg(long, env = "KAFKAML_WS_MAX_CONNECTIONS", default_value_t = 64)]
    pub ws_max_connections: usize,

    /// The back-end's own URL as training and inference pods reach it (e.g. `http://backend:8000`).
    #[arg(long, env = "BACKEND_URL")]
    pub backend_url: Option<String>,

    /// Training image for TensorFlow models.
    #[arg(long, env = "TENSORFLOW_TRAINING_MODEL_IMAGE")]
    pub tensorflow_training_model_image: Option<String>,

    /// Inference image for TensorFlow and distributed models.
    #[arg(long, env = "TENSORFLOW_INFERENCE_MODEL_IMAGE")]
    pub tensorflow_inference_model_image: Option<String>,

    /// Training image for PyTorch models.
    #[arg(long, env = "PYTORCH_TRAINING_MODEL_IMAGE")]
    pub pytorch_training_model_image: Option<String>,

    /// Inference image for PyTorch models.
    #[arg(long, env = "PYTORCH_INFERENCE_MODEL_IMAGE")]
    pub pytorch_inference_model_image: Option<String>,

    /// Topic of the federated model logger.
    #[arg(long, env = "MODEL_LOGGER_TOPIC", default_value = "FEDERATED_MODEL_CONTROL_TOPIC")]
    pub model_logger_topic: String,

    /// Namespace of the training Jobs and inference ReplicationControllers.
    #[arg(long, env = "KUBE_NAMESPACE", default_value = "kafkaml")]
    pub kube_namespace: String,

    /// Kubernetes API server URL (with KUBE_TOKEN), instead of the in-cluster account.
    #[arg(long, env = "KUBE_HOST")]
    pub kube_host: Option<String>,

    /// Bearer token for KUBE_HOST.
    #[arg(long, env = "KUBE_TOKEN", hide_env_values = true)]
    pub kube_token: Option<Secret>,

    /// A kubeconfig file whose current context is the default cluster (when KUBE_HOST is unset).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,

    /// A PEM file of CA certificates to trust for KUBE_HOST, the kubeconfig and external clusters.
    #[arg(long, env = "KUBE_CA_CERT")]
    pub kube_ca_cert: Option<PathBuf>,

    /// Accept any Kubernetes API certificate (`1`), as the reference always did. Insecure.
    #[arg(long, env = "KUBE_INSECURE_SKIP_TLS_VERIFY", value_parser = clap::builder::FalseyValueParser::new())]
    pub kube_insecure_skip_tls_verify: bool,

    /// Seconds a Kubernetes API call may take.
    #[arg(long, env = "KAFKAML_KUBE_TIMEOUT", default_value_t = 10)]
    pub kube_timeout: u64,

    /// The reference's switch to deploy a token contract at start-up (`1`). This back-end does not
    /// deploy one: with the switch on it warns at start-up unless the contract is given by
    /// `FEDML_BLOCKCHAIN_TOKEN_ADDRESS` and `FEDML_BLOCKCHAIN_ABI`.
    #[arg(long, env = "ENABLE_FEDML_BLOCKCHAIN", value_parser = clap::builder::FalseyValueParser::new())]
    pub enable_fedml_blockchain: bool,

    /// Ethereum RPC endpoint of blockchain federated training (`ETH_RPC_URL` of its Jobs).
    #[arg(long, env = "FEDML_BLOCKCHAIN_RPC_URL")]
    pub fedml_blockchain_rpc_url: Option<String>,

    /// Address of the deployed ERC20 token contract (`ETH_TOKEN_ADDRESS`).
    #[arg(long, env = "FEDML_BLOCKCHAIN_TOKEN_ADDRESS")]
    pub fedml_blockchain_token_address: Option<String>,

    /// ABI (JSON) of the token contract (`ETH_TOKEN_ABI`).
    #[arg(long, env = "FEDML_BLOCKCHAIN_ABI")]
    pub fedml_blockchain_abi: Option<String>,

    /// Chain id (`ETH_CHAIN_ID`).
    #[arg(long, env = "FEDML_BLOCKCHAIN_CHAIN_ID")]
    pub fedml_blockchain_chain_id: Option<String>,

    /// Network id (`ETH_NETWORK_ID`).
    #[arg(long, env = "FEDML_BLOCKCHAIN_NETWORK_ID")]
    pub fedml_blockchain_network_id: Option<String>,

    /// Wallet address (`ETH_WALLET_ADDRESS`).
    #[arg(long, env = "FEDML_BLOCKCHAIN_WALLET_ADDRESS")]
    pub fedml_blockchain_wallet_address: Option<String>,

    /// Wallet private key (`ETH_WALLET_KEY`); never logged.
    #[arg(long, env = "FEDML_BLOCKCHAIN_WALLET_KEY", hide_env_values = true)]
    pub fedml_blockchain_wallet_key: Option<Secret>,

    /// Blockscout explorer URL (`ETH_BLOCKSCOUT_URL`).
    #[arg(long, env = "FEDML_BLOCKCHAIN_BLOCKSCOUT_URL")]
    pub fedml_blockchain_blockscout_url: Option<String>,

    /// Milliseconds an IoT device has to answer the status request of the device list.
    #[arg(long, env = "KAFKAML_IOT_PROBE_WINDOW_MS", default_value_t = 500)]
    pub iot_probe_window_ms: u64,

    /// Milliseconds the IoT device list waits at most for the status of all devices together.
    #[arg(long, env = "KAFKAML_IOT_PROBE_DEADLINE_MS", default_value_t = 1500)]
    pub iot_probe_deadline_ms: u64,

    /// Seconds an MQTT exchange with a device's broker may take (connection and acknowledgement).
    #[arg(long, env = "KAFKAML_IOT_MQTT_TIMEOUT", default_value_t = 5)]
    pub iot_mqtt_timeout: u64,
}

impl Settings {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("kafkaml.sqlite3").display()),
        }
    }

    /// Settings with every default, as if no variable and no flag were given.
    pub fn defaults() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        // Without their variables the arguments fall back to their defaults, whatever the
        // process environment holds (tests and embedders start from a known state).
        let command = Settings::command().mut_args(|arg| arg.env(None::<&str>));
        Settings::from_arg_matches(&command.get_matches_from(["kafkaml-backend"])).unwrap_or_else(|e| e.exit())
    }

    /// The accepted `Host` names; `None` accepts any.
    pub fn host_whitelist(&self) -> Option<Vec<String>> {
        let hosts: Vec<String> =
            self.allowed_hosts.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect();
        if hosts.is_empty() || hosts.iter().any(|h| h == "*") {
            None
        } else {
            Some(hosts)
        }
    }
}
