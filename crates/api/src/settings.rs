//! Settings, read once at start from the environment (the reference's variable names, docs/contract.md §7)
//! and from command-line flags of `kafkaml-backend`.
//!
//! [`Settings`] is grouped by concern: each group is a struct flattened into the one command line,
//! so every setting stays one flag and one environment variable. A field renamed by the grouping
//! keeps its former argument id, flag and value name (`id`, `long`, `value_name`), so the command
//! line and `--help` are what they were.

use std::path::PathBuf;
use std::time::Duration;

use kafkaml_executor::CaBundle;
use kafkaml_iot::BrokerAllowList;
use secrecy::SecretString;

/// Every setting of the back-end. Each field is a flag and an environment variable.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "kafkaml-backend", version, about = "Kafka-ML control-plane back-end")]
pub struct Settings {
    /// The HTTP server: address, data directory, accepted origins and hosts.
    #[command(flatten)]
    pub server: ServerSettings,
    /// The database.
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// The TensorFlow and PyTorch executors.
    #[command(flatten)]
    pub executors: ExecutorSettings,
    /// Kafka: brokers, control topic, model logger topic.
    #[command(flatten)]
    pub kafka: KafkaSettings,
    /// Kubernetes access for training Jobs and inference controllers.
    #[command(flatten)]
    pub kube: KubeSettings,
    /// What training and inference pods run and how they reach the back-end.
    #[command(flatten)]
    pub images: ImageSettings,
    /// Blockchain federated training.
    #[command(flatten)]
    pub blockchain: BlockchainSettings,
    /// IoT devices over MQTT.
    #[command(flatten)]
    pub iot: IotSettings,
    /// Resource bounds: upload sizes, free disk space, slow clients, connections, WebSockets.
    #[command(flatten)]
    pub limits: LimitSettings,
    /// The pods the back-end runs: confinement, sizes, deadlines, how long finished Jobs stay.
    #[command(flatten)]
    pub workloads: WorkloadSettings,
}

/// The HTTP server.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerSettings {
    /// Address to listen on.
    #[arg(long, env = "KAFKAML_BIND", default_value = "127.0.0.1:8000")]
    pub bind: String,

    /// Directory for the SQLite database (when DATABASE_URL is unset) and the trained models.
    #[arg(long, env = "KAFKAML_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// The web UI's origin, `http(s)://host[:port]` (no path; a trailing `/` is dropped):
    /// allowed CORS origin, trusted for changes from a browser and the base of IoT download links.
    #[arg(long, env = "FRONTEND_URL", default_value = "http://localhost", value_parser = parse_web_origin)]
    pub frontend_url: String,

    /// More origins trusted as `FRONTEND_URL` is, comma-separated `http(s)://host[:port]`, e.g.
    /// `http://localhost:4200` for the web UI's development server (`ng serve`). Empty: none.
    #[arg(
        long,
        env = "CORS_EXTRA_ORIGINS",
        default_value = "",
        value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<OriginList>())
    )]
    pub cors_extra_origins: OriginList,

    /// Comma-separated `Host` header values accepted (`*` accepts any).
    #[arg(long, env = "ALLOWED_HOSTS", default_value = DEFAULT_ALLOWED_HOSTS)]
    pub allowed_hosts: String,

    /// Most prediction WebSockets (`/ws/`) served at once; each holds a Kafka consumer.
    #[arg(long, env = "KAFKAML_WS_MAX_CONNECTIONS", default_value_t = 64)]
    pub ws_max_connections: usize,

    /// Let prediction WebSockets (`/ws/`) subscribe to any Kafka topic (`true`), not only to the
    /// output topics of known inferences.
    #[arg(
        long,
        env = "KAFKAML_WS_ANY_TOPIC",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub ws_any_topic: bool,

    /// The key that signs sessions. When unset, a random key is generated once and kept in
    /// `<data dir>/secret_key` (mode 0600); several replicas need one shared key.
    #[arg(long, env = "SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<SecretString>,

    /// Authentication of the REST API: `off` lets anyone who reaches the back-end call every
    /// route (as the reference did; a warning at start-up); `on` needs an API token or an admin
    /// session, with roles (viewer, operator, superuser), except on the health checks, the API
    /// docs, the IoT devices' downloads and the pods' callbacks (a signed capability).
    #[arg(long, env = "KAFKAML_AUTH", value_enum, default_value_t = AuthMode::Off)]
    pub auth: AuthMode,

    /// Seconds a stop (SIGTERM, Ctrl-C) waits for requests in flight (uploads) and for the
    /// background work they started (deletions of the Jobs of a failed deployment, of a
    /// controller whose creation timed out) before the process exits.
    #[arg(
        id = "shutdown_timeout",
        long = "shutdown-timeout",
        value_name = "KAFKAML_SHUTDOWN_TIMEOUT",
        env = "KAFKAML_SHUTDOWN_TIMEOUT",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(0..=3600)
    )]
    pub shutdown_timeout_secs: u64,

    /// Debug logging (`1`, `true`) instead of info, when RUST_LOG is unset. Never a debug page.
    #[arg(
        long,
        env = "DEBUG",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub debug: bool,
}

/// Whether the REST API needs credentials (`KAFKAML_AUTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// Anyone may call every route (the reference's behaviour).
    Off,
    /// Every route but the public ones needs a token, a session or a pod capability.
    On,
}

/// Checks that `value` is a web origin as browsers send it in `Origin`: `http` or `https`, a host
/// (a name, an IPv4 address or a bracketed IPv6 address) and an optional port, nothing else — no
/// user, path, query or fragment (one trailing `/` is tolerated and dropped). The scheme and host
/// are lower-cased and a default port (`:80` for `http`, `:443` for `https`) is dropped, as
/// browsers do, so the value compares equal to the `Origin` header of that site.
pub fn parse_web_origin(value: &str) -> Result<String, String> {
    let raw = value.trim();
    let refuse = |why: &str| {
        Err(format!(
            "{raw:?} is not a web origin ({why}): write http(s)://host[:port], e.g. https://kafkaml.example.org"
        ))
    };
    let Some((scheme, rest)) = raw.split_once("://") else { return refuse("no http:// or https://") };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return refuse("the scheme must be http or https");
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#', '\\']) {
        return refuse("an origin has no path, query or fragment");
    }
    if authority.contains('@') {
        return refuse("an origin has no user name or password");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((address, after)) = v6.split_once(']') else { return refuse("unclosed [") };
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return refuse("not an IPv6 address between [ and ]");
        }
        let port = match after {
            "" => None,
            p => match p.strip_prefix(':') {
                Some(p) => Some(p),
                None => return refuse("unexpected text after ]"),
            },
        };
        (format!("[{}]", address.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if host.is_empty() {
            return refuse("no host");
        }
        if !host.split('.').all(label_ok) {
            return refuse("the host is not a domain name or an IP address");
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return refuse("the port must be a number from 1 to 65535"),
        },
    };
    let default_port = if scheme == "http" { 80 } else { 443 };
    Ok(match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// A comma-separated list of web origins ([`parse_web_origin`]); blanks between commas are
/// ignored, so `""` is the empty list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginList(pub Vec<String>);

impl std::str::FromStr for OriginList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(parse_web_origin)
            .collect::<Result<_, _>>()
            .map(OriginList)
    }
}

/// The `Host` names accepted when `ALLOWED_HOSTS` is unset or names none.
pub const DEFAULT_ALLOWED_HOSTS: &str = "backend,frontend,127.0.0.1,localhost,[::1]";

impl ServerSettings {
    /// How long a stop waits for requests in flight and background work.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }

    /// The accepted `Host` names; `None` accepts any (`*`). A value that names no host (`""`,
    /// `","`) means the default list, never "any".
    pub fn host_whitelist(&self) -> Option<Vec<String>> {
        let names = |list: &str| -> Vec<String> {
            list.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect()
        };
        let mut hosts = names(&self.allowed_hosts);
        if hosts.is_empty() {
            hosts = names(DEFAULT_ALLOWED_HOSTS);
        }
        if hosts.iter().any(|h| h == "*") {
            None
        } else {
            Some(hosts)
        }
    }
}

/// The database.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseSettings {
    /// `postgres://…` or `sqlite://PATH`; default: `sqlite://<data dir>/kafkaml.sqlite3`.
    #[arg(
        id = "database_url",
        long = "database-url",
        value_name = "DATABASE_URL",
        env = "DATABASE_URL",
        hide_env_values = true
    )]
    pub url: Option<String>,

    /// Maximum number of pooled database connections.
    #[arg(
        id = "db_pool_size",
        long = "db-pool-size",
        value_name = "DB_POOL_SIZE",
        env = "KAFKAML_DB_POOL_SIZE",
        default_value_t = 8
    )]
    pub pool_size: u32,
}

impl DatabaseSettings {
    /// The pool size in effect (at least one connection).
    pub fn pool_size(&self) -> u32 {
        self.pool_size.max(1)
    }
}

/// The TensorFlow and PyTorch executors.
#[derive(Debug, Clone, clap::Args)]
pub struct ExecutorSettings {
    /// Base URL of the TensorFlow executor.
    #[arg(
        id = "tfexecutor_url",
        long = "tfexecutor-url",
        value_name = "TFEXECUTOR_URL",
        env = "TFEXECUTOR_URL",
        default_value = "http://localhost:8001/"
    )]
    pub tf_url: String,

    /// Base URL of the PyTorch executor.
    #[arg(
        id = "pthexecutor_url",
        long = "pthexecutor-url",
        value_name = "PTHEXECUTOR_URL",
        env = "PTHEXECUTOR_URL",
        default_value = "http://localhost:8002/"
    )]
    pub pth_url: String,

    /// Seconds an executor call may take (model checks build the model).
    #[arg(
        id = "executor_timeout",
        long = "executor-timeout",
        value_name = "EXECUTOR_TIMEOUT",
        env = "KAFKAML_EXECUTOR_TIMEOUT",
        default_value_t = 60
    )]
    pub timeout_secs: u64,

    /// A PEM file of certificate authorities to trust, besides the system's, for `https`
    /// executor URLs (e.g. a cluster's private CA). Read and checked at start-up.
    #[arg(
        id = "executor_ca_file",
        long = "executor-ca-file",
        value_name = "KAFKAML_EXECUTOR_CA_FILE",
        env = "KAFKAML_EXECUTOR_CA_FILE",
        value_parser = clap::builder::ValueParser::new(|s: &str| CaBundle::read(s))
    )]
    pub ca_file: Option<CaBundle>,
}

impl ExecutorSettings {
    /// How long an executor call may take (at least a second).
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }
}

/// Kafka.
#[derive(Debug, Clone, clap::Args)]
pub struct KafkaSettings {
    /// Kafka bootstrap servers (control topic, predictions, Job environment).
    #[arg(long, env = "BOOTSTRAP_SERVERS")]
    pub bootstrap_servers: Option<String>,

    /// The Kafka-ML control topic.
    #[arg(long, env = "CONTROL_TOPIC")]
    pub control_topic: Option<String>,

    /// Seconds a control-message publication may take (broker acknowledgement included) before
    /// `POST /datasources/kafka` answers 503.
    #[arg(
        id = "kafka_timeout",
        long = "kafka-timeout",
        value_name = "KAFKA_TIMEOUT",
        env = "KAFKAML_KAFKA_TIMEOUT",
        default_value_t = 5
    )]
    pub timeout_secs: u64,

    /// Topic of the federated model logger.
    #[arg(long, env = "MODEL_LOGGER_TOPIC", default_value = "FEDERATED_MODEL_CONTROL_TOPIC")]
    pub model_logger_topic: String,
}

impl KafkaSettings {
    /// How long a control-message publication may take (at least a second).
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }
}

/// Kubernetes access.
#[derive(Debug, Clone, clap::Args)]
pub struct KubeSettings {
    /// Namespace of the training Jobs and inference ReplicationControllers.
    #[arg(
        id = "kube_namespace",
        long = "kube-namespace",
        value_name = "KUBE_NAMESPACE",
        env = "KUBE_NAMESPACE",
        default_value = "kafkaml"
    )]
    pub namespace: String,

    /// Kubernetes API server URL (with KUBE_TOKEN), instead of the in-cluster account.
    #[arg(id = "kube_host", long = "kube-host", value_name = "KUBE_HOST", env = "KUBE_HOST")]
    pub host: Option<String>,

    /// Bearer token for KUBE_HOST.
    #[arg(
        id = "kube_token",
        long = "kube-token",
        value_name = "KUBE_TOKEN",
        env = "KUBE_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<SecretString>,

    /// A kubeconfig file whose current context is the default cluster (when KUBE_HOST is unset).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,

    /// A PEM file of CA certificates to trust for KUBE_HOST, the kubeconfig and external clusters.
    #[arg(id = "kube_ca_cert", long = "kube-ca-cert", value_name = "KUBE_CA_CERT", env = "KUBE_CA_CERT")]
    pub ca_cert: Option<PathBuf>,

    /// Accept any Kubernetes API certificate (`1`), as the reference always did. Insecure.
    #[arg(
        id = "kube_insecure_skip_tls_verify",
        long = "kube-insecure-skip-tls-verify",
        value_name = "KUBE_INSECURE_SKIP_TLS_VERIFY",
        env = "KUBE_INSECURE_SKIP_TLS_VERIFY",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub insecure_skip_tls_verify: bool,

    /// Comma-separated API server URLs (`https://host[:port]`) inferences may name as their
    /// external cluster; empty: none. `http://` only where an entry says so; loopback, link-local
    /// and private addresses only when written as the entry's host.
    #[arg(
        id = "external_clusters",
        long = "external-clusters",
        value_name = "KAFKAML_EXTERNAL_CLUSTERS",
        env = "KAFKAML_EXTERNAL_CLUSTERS",
        default_value = ""
    )]
    pub external_clusters: String,

    /// Seconds a Kubernetes API call may take.
    #[arg(
        id = "kube_timeout",
        long = "kube-timeout",
        value_name = "KUBE_TIMEOUT",
        env = "KAFKAML_KUBE_TIMEOUT",
        default_value_t = 10
    )]
    pub timeout_secs: u64,
}

impl KubeSettings {
    /// How long a Kubernetes API call may take (at least a second).
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }
}

/// What training and inference pods run and how they reach the back-end.
#[derive(Debug, Clone, clap::Args)]
pub struct ImageSettings {
    /// The back-end's own URL as training and inference pods reach it (e.g. `http://backend:8000`).
    #[arg(long, env = "BACKEND_URL")]
    pub backend_url: Option<String>,

    /// Training image for TensorFlow models.
    #[arg(
        id = "tensorflow_training_model_image",
        long = "tensorflow-training-model-image",
        value_name = "TENSORFLOW_TRAINING_MODEL_IMAGE",
        env = "TENSORFLOW_TRAINING_MODEL_IMAGE"
    )]
    pub tensorflow_training: Option<String>,

    /// Inference image for TensorFlow and distributed models.
    #[arg(
        id = "tensorflow_inference_model_image",
        long = "tensorflow-inference-model-image",
        value_name = "TENSORFLOW_INFERENCE_MODEL_IMAGE",
        env = "TENSORFLOW_INFERENCE_MODEL_IMAGE"
    )]
    pub tensorflow_inference: Option<String>,

    /// Training image for PyTorch models.
    #[arg(
        id = "pytorch_training_model_image",
        long = "pytorch-training-model-image",
        value_name = "PYTORCH_TRAINING_MODEL_IMAGE",
        env = "PYTORCH_TRAINING_MODEL_IMAGE"
    )]
    pub pytorch_training: Option<String>,

    /// Inference image for PyTorch models.
    #[arg(
        id = "pytorch_inference_model_image",
        long = "pytorch-inference-model-image",
        value_name = "PYTORCH_INFERENCE_MODEL_IMAGE",
        env = "PYTORCH_INFERENCE_MODEL_IMAGE"
    )]
    pub pytorch_inference: Option<String>,

    /// Training image for TensorFlow models when TENSORFLOW_TRAINING_MODEL_IMAGE is unset (the
    /// reference's older name).
    #[arg(
        id = "training_model_image",
        long = "training-model-image",
        value_name = "TRAINING_MODEL_IMAGE",
        env = "TRAINING_MODEL_IMAGE"
    )]
    pub training_fallback: Option<String>,

    /// Inference image for TensorFlow and distributed models when TENSORFLOW_INFERENCE_MODEL_IMAGE
    /// is unset (the reference's older name).
    #[arg(
        id = "inference_model_image",
        long = "inference-model-image",
        value_name = "INFERENCE_MODEL_IMAGE",
        env = "INFERENCE_MODEL_IMAGE"
    )]
    pub inference_fallback: Option<String>,

    /// Seconds the tokens of training pods' URLs stay valid (`0`: no expiry). Inference pods'
    /// tokens and those of indefinite trainings never expire.
    #[arg(
        id = "pod_token_ttl",
        long = "pod-token-ttl",
        value_name = "KAFKAML_POD_TOKEN_TTL",
        env = "KAFKAML_POD_TOKEN_TTL",
        default_value_t = 30 * 24 * 3600
    )]
    pub pod_token_ttl_secs: u64,

    /// Most results a deployment may have: indefinite trainings add one per upload.
    #[arg(
        id = "max_results_per_deployment",
        long = "max-results-per-deployment",
        value_name = "KAFKAML_MAX_RESULTS_PER_DEPLOYMENT",
        env = "KAFKAML_MAX_RESULTS_PER_DEPLOYMENT",
        default_value_t = 1000
    )]
    pub max_results_per_deployment: u32,
}

/// `value` when it holds more than blanks.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

impl ImageSettings {
    /// How long training pods' tokens stay valid; `None`: no expiry.
    pub fn pod_token_ttl(&self) -> Option<Duration> {
        (self.pod_token_ttl_secs > 0).then(|| Duration::from_secs(self.pod_token_ttl_secs))
    }

    /// The TensorFlow training image: TENSORFLOW_TRAINING_MODEL_IMAGE, else TRAINING_MODEL_IMAGE.
    pub fn tensorflow_training_image(&self) -> Option<&str> {
        given(&self.tensorflow_training).or_else(|| given(&self.training_fallback))
    }

    /// The TensorFlow inference image: TENSORFLOW_INFERENCE_MODEL_IMAGE, else
    /// INFERENCE_MODEL_IMAGE.
    pub fn tensorflow_inference_image(&self) -> Option<&str> {
        given(&self.tensorflow_inference).or_else(|| given(&self.inference_fallback))
    }
}

/// Blockchain federated training (the `ETH_*` variables of its Jobs).
#[derive(Debug, Clone, clap::Args)]
pub struct BlockchainSettings {
    /// The reference's switch to deploy a token contract at start-up (`1`). This back-end does not
    /// deploy one: with the switch on it warns at start-up unless the contract is given by
    /// `FEDML_BLOCKCHAIN_TOKEN_ADDRESS` and `FEDML_BLOCKCHAIN_ABI`.
    #[arg(
        id = "enable_fedml_blockchain",
        long = "enable-fedml-blockchain",
        value_name = "ENABLE_FEDML_BLOCKCHAIN",
        env = "ENABLE_FEDML_BLOCKCHAIN",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub enabled: bool,

    /// Ethereum RPC endpoint of blockchain federated training (`ETH_RPC_URL` of its Jobs).
    #[arg(
        id = "fedml_blockchain_rpc_url",
        long = "fedml-blockchain-rpc-url",
        value_name = "FEDML_BLOCKCHAIN_RPC_URL",
        env = "FEDML_BLOCKCHAIN_RPC_URL"
    )]
    pub rpc_url: Option<String>,

    /// Address of the deployed ERC20 token contract (`ETH_TOKEN_ADDRESS`).
    #[arg(
        id = "fedml_blockchain_token_address",
        long = "fedml-blockchain-token-address",
        value_name = "FEDML_BLOCKCHAIN_TOKEN_ADDRESS",
        env = "FEDML_BLOCKCHAIN_TOKEN_ADDRESS"
    )]
    pub token_address: Option<String>,

    /// ABI (JSON) of the token contract (`ETH_TOKEN_ABI`).
    #[arg(
        id = "fedml_blockchain_abi",
        long = "fedml-blockchain-abi",
        value_name = "FEDML_BLOCKCHAIN_ABI",
        env = "FEDML_BLOCKCHAIN_ABI"
    )]
    pub abi: Option<String>,

    /// Chain id (`ETH_CHAIN_ID`).
    #[arg(
        id = "fedml_blockchain_chain_id",
        long = "fedml-blockchain-chain-id",
        value_name = "FEDML_BLOCKCHAIN_CHAIN_ID",
        env = "FEDML_BLOCKCHAIN_CHAIN_ID"
    )]
    pub chain_id: Option<String>,

    /// Network id (`ETH_NETWORK_ID`).
    #[arg(
        id = "fedml_blockchain_network_id",
        long = "fedml-blockchain-network-id",
        value_name = "FEDML_BLOCKCHAIN_NETWORK_ID",
        env = "FEDML_BLOCKCHAIN_NETWORK_ID"
    )]
    pub network_id: Option<String>,

    /// Wallet address (`ETH_WALLET_ADDRESS`).
    #[arg(
        id = "fedml_blockchain_wallet_address",
        long = "fedml-blockchain-wallet-address",
        value_name = "FEDML_BLOCKCHAIN_WALLET_ADDRESS",
        env = "FEDML_BLOCKCHAIN_WALLET_ADDRESS"
    )]
    pub wallet_address: Option<String>,

    /// Wallet private key (`ETH_WALLET_KEY`); never logged.
    #[arg(
        id = "fedml_blockchain_wallet_key",
        long = "fedml-blockchain-wallet-key",
        value_name = "FEDML_BLOCKCHAIN_WALLET_KEY",
        env = "FEDML_BLOCKCHAIN_WALLET_KEY",
        hide_env_values = true
    )]
    pub wallet_key: Option<SecretString>,

    /// The Kubernetes Secret holding the wallet private key, as `name/key` (a Secret of
    /// KUBE_NAMESPACE): blockchain federated Jobs read `ETH_WALLET_KEY` from it
    /// (`valueFrom.secretKeyRef`), so the key is never written into a Job object.
    #[arg(
        id = "fedml_blockchain_wallet_key_secret",
        long = "fedml-blockchain-wallet-key-secret",
        value_name = "FEDML_BLOCKCHAIN_WALLET_KEY_SECRET",
        env = "FEDML_BLOCKCHAIN_WALLET_KEY_SECRET",
        value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<SecretRef>())
    )]
    pub wallet_key_secret: Option<SecretRef>,

    /// Write the value of FEDML_BLOCKCHAIN_WALLET_KEY into blockchain federated Jobs (`1`), as the
    /// reference did, when no FEDML_BLOCKCHAIN_WALLET_KEY_SECRET is given. Insecure: whoever may
    /// read Jobs or pods of the namespace reads the key.
    #[arg(
        id = "fedml_blockchain_plain_wallet_key",
        long = "fedml-blockchain-plain-wallet-key",
        value_name = "FEDML_BLOCKCHAIN_PLAIN_WALLET_KEY",
        env = "FEDML_BLOCKCHAIN_PLAIN_WALLET_KEY",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub plain_wallet_key: bool,

    /// Blockscout explorer URL (`ETH_BLOCKSCOUT_URL`).
    #[arg(
        id = "fedml_blockchain_blockscout_url",
        long = "fedml-blockchain-blockscout-url",
        value_name = "FEDML_BLOCKCHAIN_BLOCKSCOUT_URL",
        env = "FEDML_BLOCKCHAIN_BLOCKSCOUT_URL"
    )]
    pub blockscout_url: Option<String>,
}

/// A key of a Kubernetes Secret, written `name/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// The Secret's name (a DNS-1123 subdomain).
    pub name: String,
    /// The key inside it.
    pub key: String,
}

impl std::str::FromStr for SecretRef {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong = || format!("{text:?} is not a Secret's key: write name/key, e.g. eth-wallet/private-key");
        let (name, key) = text.trim().split_once('/').ok_or_else(wrong)?;
        let name_ok = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|part| {
                !part.is_empty()
                    && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            });
        let key_ok = !key.is_empty()
            && key.len() <= 253
            && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if name_ok && key_ok {
            Ok(SecretRef { name: name.to_owned(), key: key.to_owned() })
        } else {
            Err(wrong())
        }
    }
}

/// A Kubernetes quantity setting (`500m`, `2Gi`).
fn quantity(text: &str) -> Result<String, String> {
    if kafkaml_orchestration::workload::is_quantity(text.trim()) {
        Ok(text.trim().to_owned())
    } else {
        Err(format!("{text:?} is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 4Gi)"))
    }
}

/// The pods the back-end runs (training Jobs, inference controllers).
#[derive(Debug, Clone, clap::Args)]
pub struct WorkloadSettings {
    /// Set `runAsNonRoot: true` on training and inference containers (`1`). Kafka-ML's own images
    /// run as root and do not start with it; use it with images that run as another user.
    #[arg(
        id = "run_as_non_root",
        long = "run-as-non-root",
        value_name = "KAFKAML_RUN_AS_NON_ROOT",
        env = "KAFKAML_RUN_AS_NON_ROOT",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub run_as_non_root: bool,

    /// CPU request of training containers (a Kubernetes quantity, e.g. `500m`); unset: none.
    #[arg(long, env = "KAFKAML_TRAINING_CPU_REQUEST", value_parser = quantity)]
    pub training_cpu_request: Option<String>,

    /// CPU limit of training containers (e.g. `4`); unset: none.
    #[arg(long, env = "KAFKAML_TRAINING_CPU_LIMIT", value_parser = quantity)]
    pub training_cpu_limit: Option<String>,

    /// Memory request of training containers (e.g. `2Gi`); unset: none.
    #[arg(long, env = "KAFKAML_TRAINING_MEMORY_REQUEST", value_parser = quantity)]
    pub training_memory_request: Option<String>,

    /// Memory limit of training containers (e.g. `8Gi`); unset: none.
    #[arg(long, env = "KAFKAML_TRAINING_MEMORY_LIMIT", value_parser = quantity)]
    pub training_memory_limit: Option<String>,

    /// CPU request of inference containers; unset: none.
    #[arg(long, env = "KAFKAML_INFERENCE_CPU_REQUEST", value_parser = quantity)]
    pub inference_cpu_request: Option<String>,

    /// CPU limit of inference containers; unset: none.
    #[arg(long, env = "KAFKAML_INFERENCE_CPU_LIMIT", value_parser = quantity)]
    pub inference_cpu_limit: Option<String>,

    /// Memory request of inference containers; unset: none.
    #[arg(long, env = "KAFKAML_INFERENCE_MEMORY_REQUEST", value_parser = quantity)]
    pub inference_memory_request: Option<String>,

    /// Memory limit of inference containers; unset: none.
    #[arg(long, env = "KAFKAML_INFERENCE_MEMORY_LIMIT", value_parser = quantity)]
    pub inference_memory_limit: Option<String>,

    /// `activeDeadlineSeconds` of training Jobs: Kubernetes stops a training running longer and
    /// its results become `failed` (`0`: no deadline; indefinite incremental trainings never get
    /// one).
    #[arg(
        id = "training_deadline",
        long = "training-deadline",
        value_name = "KAFKAML_TRAINING_DEADLINE",
        env = "KAFKAML_TRAINING_DEADLINE",
        default_value_t = 0,
        value_parser = clap::value_parser!(i64).range(0..)
    )]
    pub training_deadline_secs: i64,

    /// `ttlSecondsAfterFinished` of training Jobs: seconds a finished (or failed) Job stays in the
    /// cluster, where its failure and its pods' logs can still be read.
    #[arg(
        id = "job_ttl",
        long = "job-ttl",
        value_name = "KAFKAML_JOB_TTL",
        env = "KAFKAML_JOB_TTL",
        default_value_t = kafkaml_orchestration::workload::DEFAULT_TTL_SECONDS_AFTER_FINISHED,
        value_parser = clap::value_parser!(i32).range(0..)
    )]
    pub job_ttl_secs: i32,

    /// Most replicas of one inference (at most 1000); more answer 400.
    #[arg(
        id = "max_inference_replicas",
        long = "max-inference-replicas",
        value_name = "KAFKAML_MAX_INFERENCE_REPLICAS",
        env = "KAFKAML_MAX_INFERENCE_REPLICAS",
        default_value_t = kafkaml_domain::deploy::DEFAULT_MAX_INFERENCE_REPLICAS,
        value_parser = clap::value_parser!(i32).range(1..=i64::from(kafkaml_domain::deploy::MAX_INFERENCE_REPLICAS))
    )]
    pub max_inference_replicas: i32,
}

impl WorkloadSettings {
    /// The policy the manifests are built with.
    pub fn policy(&self) -> kafkaml_orchestration::WorkloadPolicy {
        use kafkaml_orchestration::Resources;
        kafkaml_orchestration::WorkloadPolicy {
            run_as_non_root: self.run_as_non_root,
            training: Resources {
                cpu_request: self.training_cpu_request.clone(),
                cpu_limit: self.training_cpu_limit.clone(),
                memory_request: self.training_memory_request.clone(),
                memory_limit: self.training_memory_limit.clone(),
            },
            inference: Resources {
                cpu_request: self.inference_cpu_request.clone(),
                cpu_limit: self.inference_cpu_limit.clone(),
                memory_request: self.inference_memory_request.clone(),
                memory_limit: self.inference_memory_limit.clone(),
            },
            active_deadline_seconds: (self.training_deadline_secs > 0).then_some(self.training_deadline_secs),
            ttl_seconds_after_finished: self.job_ttl_secs,
        }
    }
}

/// IoT devices over MQTT.
#[derive(Debug, Clone, clap::Args)]
pub struct IotSettings {
    /// Milliseconds an IoT device has to answer the status request of the device list.
    #[arg(
        id = "iot_probe_window_ms",
        long = "iot-probe-window-ms",
        value_name = "IOT_PROBE_WINDOW_MS",
        env = "KAFKAML_IOT_PROBE_WINDOW_MS",
        default_value_t = 500
    )]
    pub probe_window_ms: u64,

    /// Milliseconds the IoT device list waits at most for the status of all devices together.
    #[arg(
        id = "iot_probe_deadline_ms",
        long = "iot-probe-deadline-ms",
        value_name = "IOT_PROBE_DEADLINE_MS",
        env = "KAFKAML_IOT_PROBE_DEADLINE_MS",
        default_value_t = 1500
    )]
    pub probe_deadline_ms: u64,

    /// Seconds an MQTT exchange with a device's broker may take (connection and acknowledgement).
    #[arg(
        id = "iot_mqtt_timeout",
        long = "iot-mqtt-timeout",
        value_name = "IOT_MQTT_TIMEOUT",
        env = "KAFKAML_IOT_MQTT_TIMEOUT",
        default_value_t = 5
    )]
    pub mqtt_timeout_secs: u64,

    /// Most devices whose status one device list probes (in list order); the others are listed
    /// as disconnected without a connection to their broker.
    #[arg(
        id = "iot_max_probed_devices",
        long = "iot-max-probed-devices",
        value_name = "IOT_MAX_PROBED_DEVICES",
        env = "KAFKAML_IOT_MAX_PROBED_DEVICES",
        default_value_t = 100
    )]
    pub max_probed_devices: usize,

    /// Comma-separated MQTT brokers devices may use: `host:port`, `*` for any port, `*.domain`
    /// for its subdomains, IPv6 as `[address]:port`. Empty: any broker.
    #[arg(
        id = "iot_brokers",
        long = "iot-brokers",
        value_name = "IOT_BROKERS",
        env = "KAFKAML_IOT_BROKERS",
        default_value = "",
        value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<BrokerAllowList>())
    )]
    pub brokers: BrokerAllowList,
}

impl IotSettings {
    /// How long a device has to answer the status request of the device list.
    pub fn probe_window(&self) -> Duration {
        Duration::from_millis(self.probe_window_ms)
    }

    /// How long the device list waits at most for the status of all devices together.
    pub fn probe_deadline(&self) -> Duration {
        Duration::from_millis(self.probe_deadline_ms)
    }

    /// How long an MQTT exchange with a device's broker may take (at least a second).
    pub fn mqtt_timeout(&self) -> Duration {
        Duration::from_secs(self.mqtt_timeout_secs.max(1))
    }
}

/// One GiB, for the defaults below.
const GIB: u64 = 1024 * 1024 * 1024;

/// Resource bounds: what one client, or many, may take of the disk, the connections and the
/// Kafka consumers (README, "Limits and security").
#[derive(Debug, Clone, clap::Args)]
pub struct LimitSettings {
    /// Most bytes of files one upload may carry (a training pod's `trained_model` and confusion
    /// matrix together); more answers 413 and nothing is kept.
    #[arg(
        long,
        env = "KAFKAML_MAX_UPLOAD_BYTES",
        default_value_t = 2 * GIB,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_upload_bytes: u64,

    /// Free space the data volume keeps: an upload, or an IoT deployment's files, that would leave
    /// less answers 507 (checked before and while writing) and nothing is kept.
    #[arg(long, env = "KAFKAML_MIN_FREE_DISK_BYTES", default_value_t = GIB / 4)]
    pub min_free_disk_bytes: u64,

    /// Seconds a request body may stop arriving (no byte at all) before the request answers 408.
    #[arg(
        long,
        env = "KAFKAML_BODY_TIMEOUT",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub body_timeout: u64,

    /// Seconds a client has to send a request's head (line and headers) after connecting or
    /// after the previous request; then 408 and the connection closes.
    #[arg(
        long,
        env = "KAFKAML_CLIENT_REQUEST_TIMEOUT",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub client_request_timeout: u64,

    /// Seconds an idle keep-alive connection stays open (`0`: no keep-alive).
    #[arg(
        long,
        env = "KAFKAML_KEEP_ALIVE",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(0..=3600)
    )]
    pub keep_alive: u64,

    /// Most connections served at once (in total, shared evenly by the worker threads); more wait
    /// in the listen backlog.
    #[arg(
        long,
        env = "KAFKAML_MAX_CONNECTIONS",
        default_value_t = 1024,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000)
    )]
    pub max_connections: u64,

    /// Most connections in their TLS handshake at once, per worker thread (actix-web's
    /// `max_connection_rate`). This server speaks plain HTTP, so it bounds only a TLS listener an
    /// embedder adds.
    #[arg(
        long,
        env = "KAFKAML_MAX_CONNECTION_RATE",
        default_value_t = 256,
        value_parser = clap::value_parser!(u64).range(1..=100_000)
    )]
    pub max_connection_rate: u64,

    /// Most prediction WebSockets one client address may hold open; more answer 429. Behind a
    /// proxy (the web UI's nginx) every browser has the proxy's address.
    #[arg(
        long,
        env = "KAFKAML_WS_MAX_PER_CLIENT",
        default_value_t = 16,
        value_parser = clap::value_parser!(u64).range(1..=100_000)
    )]
    pub ws_max_per_client: u64,

    /// Most Kafka consumers of prediction WebSockets, live or closing, at once; a subscription
    /// beyond it is refused with an error frame.
    #[arg(
        long,
        env = "KAFKAML_WS_MAX_CONSUMERS",
        default_value_t = 64,
        value_parser = clap::value_parser!(u64).range(1..=100_000)
    )]
    pub ws_max_consumers: u64,

    /// Seconds a prediction WebSocket may stay open without a subscription before it is closed.
    #[arg(
        long,
        env = "KAFKAML_WS_IDLE_TIMEOUT",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub ws_idle_timeout: u64,
}

impl LimitSettings {
    /// How long a request body may stop arriving.
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout)
    }

    /// How long a prediction WebSocket may stay without a subscription.
    pub fn ws_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.ws_idle_timeout)
    }

    /// Connections per worker thread for [`LimitSettings::max_connections`] over `workers`
    /// workers (at least one each).
    pub fn max_connections_per_worker(&self, workers: usize) -> usize {
        let total = usize::try_from(self.max_connections).unwrap_or(usize::MAX);
        total.div_ceil(workers.max(1)).max(1)
    }
}

impl Settings {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) if !url.trim().is_empty() => url.clone(),
            _ => format!("sqlite://{}", self.server.data_dir.join("kafkaml.sqlite3").display()),
        }
    }

    /// The default log filter when RUST_LOG is unset: `debug` with DEBUG, else `info`.
    pub fn log_filter(&self) -> &'static str {
        if self.server.debug {
            "debug"
        } else {
            "info"
        }
    }

    /// Settings with every default, as if no variable and no flag were given.
    #[expect(
        clippy::expect_used,
        reason = "parsing no argument with the environment switched off cannot fail: every argument is \
                  optional or has a default of its own type, none is required, and neither --help nor \
                  --version is given (the settings tests start from these defaults)"
    )]
    pub fn defaults() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        // Without their variables the arguments fall back to their defaults, whatever the
        // process environment holds (tests and embedders start from a known state).
        let command = Settings::command().mut_args(|arg| arg.env(None::<&str>));
        let matches = command.try_get_matches_from(["kafkaml-backend"]).expect("no argument: only defaults");
        Settings::from_arg_matches(&matches).expect("the defaults match the settings' own arguments")
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn parse(args: &[&str]) -> Settings {
        Settings::try_parse_from(std::iter::once("kafkaml-backend").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_generic_image_names_are_fallbacks_of_the_tensorflow_ones() {
        let s = Settings::defaults();
        assert_eq!(s.images.tensorflow_training_image(), None);
        assert_eq!(s.images.tensorflow_inference_image(), None);

        let s = parse(&["--training-model-image", "t:1", "--inference-model-image", "i:1"]);
        assert_eq!(s.images.tensorflow_training_image(), Some("t:1"));
        assert_eq!(s.images.tensorflow_inference_image(), Some("i:1"));
        // PyTorch images have no fallback.
        assert_eq!(s.images.pytorch_training, None);
        assert_eq!(s.images.pytorch_inference, None);

        // The specific name wins; a blank one counts as unset.
        let s = parse(&[
            "--training-model-image",
            "t:1",
            "--tensorflow-training-model-image",
            "tf-t:2",
            "--inference-model-image",
            "i:1",
            "--tensorflow-inference-model-image",
            " ",
        ]);
        assert_eq!(s.images.tensorflow_training_image(), Some("tf-t:2"));
        assert_eq!(s.images.tensorflow_inference_image(), Some("i:1"));
    }

    #[test]
    fn the_fallbacks_feed_the_use_cases_images() {
        use kafkaml_domain::Framework;
        let s = parse(&["--training-model-image", "t:1", "--inference-model-image", "i:1"]);
        let config = crate::usecase::Config::from_settings(&s);
        assert_eq!(config.training_images.of(Framework::Tf).ok(), Some("t:1"));
        assert_eq!(config.inference_images.of(Framework::Tf).ok(), Some("i:1"));
        assert!(config.training_images.of(Framework::Pth).is_err());
    }

    #[test]
    fn cross_site_and_iot_limits() {
        let s = Settings::defaults();
        assert!(!s.server.ws_any_topic);
        assert_eq!(s.iot.max_probed_devices, 100);
        assert!(s.iot.brokers.allows_any());
        let s = parse(&["--ws-any-topic", "--iot-max-probed-devices", "7", "--iot-brokers", "b.lan:1883, *.x:*"]);
        assert!(s.server.ws_any_topic);
        assert_eq!(s.iot.max_probed_devices, 7);
        assert!(s.iot.brokers.allows("b.lan", 1883) && s.iot.brokers.allows("a.x", 1) && !s.iot.brokers.allows("x", 1));
        let e = Settings::try_parse_from(["kafkaml-backend", "--iot-brokers", "broker"]).unwrap_err().to_string();
        assert!(e.contains("\"broker\" is not a broker pattern: write host:port"), "{e}");
    }

    #[test]
    fn resource_bounds_have_defaults_and_are_checked_when_parsed() {
        let s = Settings::defaults();
        let l = &s.limits;
        assert_eq!(l.max_upload_bytes, 2 * 1024 * 1024 * 1024);
        assert_eq!(l.min_free_disk_bytes, 256 * 1024 * 1024);
        assert_eq!(l.body_timeout(), Duration::from_secs(30));
        assert_eq!(
            (l.client_request_timeout, l.keep_alive, l.max_connections, l.max_connection_rate),
            (5, 5, 1024, 256)
        );
        assert_eq!((l.ws_max_per_client, l.ws_max_consumers, l.ws_idle_timeout), (16, 64, 30));
        assert_eq!(l.max_connections_per_worker(3), 342);
        assert_eq!(l.max_connections_per_worker(0), 1024);
        let s = parse(&["--max-upload-bytes", "10", "--body-timeout", "2", "--ws-idle-timeout", "1"]);
        assert_eq!((s.limits.max_upload_bytes, s.limits.body_timeout, s.limits.ws_idle_timeout), (10, 2, 1));
        for bad in [
            ["--max-upload-bytes", "0"],
            ["--body-timeout", "0"],
            ["--max-connections", "-1"],
            ["--ws-max-consumers", "x"],
        ] {
            let args = std::iter::once("kafkaml-backend").chain(bad);
            assert!(Settings::try_parse_from(args).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn frontend_url_is_an_origin_checked_when_the_settings_are_read() {
        assert_eq!(Settings::defaults().server.frontend_url, "http://localhost");
        for (given, kept) in [
            ("http://localhost:8080", "http://localhost:8080"),
            ("https://KafkaML.example.org/", "https://kafkaml.example.org"),
            ("HTTP://ui:80", "http://ui"),
            ("https://ui:443/", "https://ui"),
            ("https://ui:8443", "https://ui:8443"),
            (" http://127.0.0.1:4200 ", "http://127.0.0.1:4200"),
            ("http://[::1]:8080", "http://[::1]:8080"),
        ] {
            assert_eq!(parse(&["--frontend-url", given]).server.frontend_url, kept, "{given}");
        }
        for (given, why) in [
            ("*", "no http:// or https://"),
            ("http://ui/app", "an origin has no path, query or fragment"),
            ("http://ui/app/", "an origin has no path, query or fragment"),
            ("http://ui?x=1", "an origin has no path, query or fragment"),
            ("ftp://ui", "the scheme must be http or https"),
            ("localhost", "no http:// or https://"),
            ("http://", "no host"),
            ("http://user:pw@ui", "an origin has no user name or password"),
            ("http://ui:0", "the port must be a number from 1 to 65535"),
            ("http://ui:99999", "the port must be a number from 1 to 65535"),
            ("http://*.example", "the host is not a domain name or an IP address"),
            ("http://[zz]", "not an IPv6 address"),
        ] {
            let e = Settings::try_parse_from(["kafkaml-backend", "--frontend-url", given]).unwrap_err().to_string();
            assert!(e.contains(&format!("{:?} is not a web origin ({why}", given.trim())), "{given}: {e}");
            assert!(e.contains("write http(s)://host[:port]"), "{e}");
        }
    }

    #[test]
    fn workload_settings() {
        let s = Settings::defaults();
        let policy = s.workloads.policy();
        assert_eq!(policy, kafkaml_orchestration::WorkloadPolicy::default());
        assert_eq!(policy.ttl_seconds_after_finished, 3600);
        assert_eq!(s.workloads.max_inference_replicas, 16);
        assert_eq!(s.server.shutdown_timeout(), Duration::from_secs(30));
        assert_eq!(s.blockchain.wallet_key_secret, None);
        let s = parse(&[
            "--run-as-non-root",
            "--training-cpu-request",
            "500m",
            "--inference-memory-limit",
            "2Gi",
            "--training-deadline",
            "86400",
            "--job-ttl",
            "60",
            "--max-inference-replicas",
            "4",
            "--shutdown-timeout",
            "5",
            "--fedml-blockchain-wallet-key-secret",
            "eth-wallet/private.key",
        ]);
        let policy = s.workloads.policy();
        assert!(policy.run_as_non_root);
        assert_eq!(policy.training.cpu_request.as_deref(), Some("500m"));
        assert_eq!(policy.inference.memory_limit.as_deref(), Some("2Gi"));
        assert_eq!(policy.active_deadline_seconds, Some(86400));
        assert_eq!(policy.ttl_seconds_after_finished, 60);
        assert_eq!(s.workloads.max_inference_replicas, 4);
        assert_eq!(s.server.shutdown_timeout(), Duration::from_secs(5));
        assert_eq!(
            s.blockchain.wallet_key_secret,
            Some(SecretRef { name: "eth-wallet".to_owned(), key: "private.key".to_owned() })
        );
        for bad in [
            &["--max-inference-replicas", "0"][..],
            &["--max-inference-replicas", "1001"],
            &["--training-memory-limit", "2GB"],
            &["--job-ttl", "-1"],
            &["--fedml-blockchain-wallet-key-secret", "no-key"],
            &["--fedml-blockchain-wallet-key-secret", "Upper/key"],
            &["--fedml-blockchain-wallet-key-secret", "name/bad key"],
        ] {
            let args = std::iter::once("kafkaml-backend").chain(bad.iter().copied());
            assert!(Settings::try_parse_from(args).is_err(), "{bad:?} is refused at parse time");
        }
    }

    #[test]
    fn cors_extra_origins_are_origins_and_none_by_default() {
        assert_eq!(Settings::defaults().server.cors_extra_origins, OriginList(vec![]));
        let s = parse(&["--cors-extra-origins", "http://localhost:4200, https://ui.example/ ,"]);
        assert_eq!(s.server.cors_extra_origins.0, ["http://localhost:4200", "https://ui.example"]);
        let config = crate::usecase::Config::from_settings(&s);
        assert_eq!(config.origins.as_slice(), ["http://localhost", "http://localhost:4200", "https://ui.example"]);
        let e = Settings::try_parse_from(["kafkaml-backend", "--cors-extra-origins", "http://a, *"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"*\" is not a web origin"), "{e}");
    }

    #[test]
    fn the_executor_ca_file_is_read_when_the_settings_are_read() {
        assert!(Settings::defaults().executors.ca_file.is_none());
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("ca.pem");
        let e = Settings::try_parse_from(["kafkaml-backend", "--executor-ca-file", missing.to_str().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("cannot read {}", missing.display())), "{e}");
    }

    #[test]
    fn the_secret_key_never_prints() {
        let s = parse(&["--secret-key", "do-not-print-me"]);
        assert!(s.server.secret_key.is_some());
        assert!(!format!("{s:?}").contains("do-not-print-me"));
        assert!(Settings::defaults().server.secret_key.is_none());
    }
}
