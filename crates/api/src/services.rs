//! The outside services of the back-end, built once from the settings at start-up: the executors,
//! the default Kubernetes cluster and the connector of external ones, the Kafka control-topic
//! publisher and prediction source, and the MQTT link to IoT devices.
//!
//! Everything the use cases call outside the process goes through one of these trait objects, so
//! an embedder or a test replaces any of them (each trait has an in-memory fake behind its crate's
//! `test-support` feature) and hands the result to [`crate::Application::build_with_services`].

use std::sync::Arc;

use anyhow::Context;
use kafkaml_executor::{Executor, ExecutorConfig, HttpExecutor};
use kafkaml_iot::{MqttConfig, MqttLink, TasmotaLink};
use kafkaml_messaging::{
    ensure_topic, ControlPublisher, KafkaConfig, KafkaControlPublisher, KafkaPredictionSource, PredictionSource,
    TopicStatus,
};
use kafkaml_orchestration::{Cluster, ClusterConnector, KubeCluster, KubeConnector};

use crate::settings::Settings;

/// The outside services the application talks to.
#[derive(Clone)]
pub struct Services {
    /// The TensorFlow / PyTorch executors.
    pub executor: Arc<dyn Executor>,
    /// The default Kubernetes cluster, if any (its training Jobs are watched for failures).
    pub cluster: Option<Arc<dyn Cluster>>,
    /// Opens the external clusters of inferences.
    pub connector: Arc<dyn ClusterConnector>,
    /// Publishes to the control topic; `None` when `BOOTSTRAP_SERVERS` or `CONTROL_TOPIC` is unset.
    pub publisher: Option<Arc<dyn ControlPublisher>>,
    /// Live prediction subscriptions for `/ws/`; `None` when `BOOTSTRAP_SERVERS` is unset.
    pub predictions: Option<Arc<dyn PredictionSource>>,
    /// How IoT devices are probed and commanded.
    pub tasmota: Arc<dyn TasmotaLink>,
}

/// The HTTP client of the executors of `settings` (it connects when first used).
fn executor(settings: &Settings) -> anyhow::Result<HttpExecutor> {
    HttpExecutor::new(ExecutorConfig {
        tf_url: settings.executors.tf_url.clone(),
        pth_url: settings.executors.pth_url.clone(),
        request_timeout: settings.executors.timeout(),
        extra_roots: settings.executors.ca_file.clone(),
        ..ExecutorConfig::default()
    })
    .context("configuring the executor client")
}

/// The MQTT link to the IoT devices (it connects per command).
fn tasmota(settings: &Settings) -> Arc<dyn TasmotaLink> {
    Arc::new(MqttLink::new(MqttConfig {
        probe_window: settings.iot.probe_window(),
        timeout: settings.iot.mqtt_timeout(),
    }))
}

impl Services {
    /// The real services for `settings`: the HTTP executor client, kube clients, rdkafka clients
    /// (the control topic is created in the background when missing) and the MQTT link.
    pub async fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let executor = executor(settings)?;
        let cluster_settings = crate::cluster::cluster_settings(settings);
        let cluster = KubeCluster::from_settings(&cluster_settings).await.context("configuring Kubernetes access")?;
        match &cluster {
            Some(c) => {
                tracing::info!(cluster = %c.describe(), namespace = %settings.kube.namespace, "Kubernetes configured")
            }
            None => tracing::info!("no Kubernetes cluster configured: deployments and inferences answer 503"),
        }
        let (publisher, predictions) = kafka_clients(settings).context("configuring Kafka")?;
        Ok(Services {
            executor: Arc::new(executor),
            cluster: cluster.map(|c| Arc::new(c) as Arc<dyn Cluster>),
            connector: Arc::new(KubeConnector::new(cluster_settings)),
            publisher,
            predictions,
            tasmota: tasmota(settings),
        })
    }

    /// Services for commands that call nothing outside the process (`createsuperuser`,
    /// `changepassword`): the executor client, the external-cluster connector and the MQTT link
    /// are configured from `settings` but connect to nothing until used; there is no default
    /// cluster and no Kafka client (what needs them answers as when they are not configured).
    /// Unlike [`Services::from_settings`] it contacts no cluster and no broker.
    pub fn offline(settings: &Settings) -> anyhow::Result<Self> {
        let executor = executor(settings)?;
        Ok(Services {
            executor: Arc::new(executor),
            cluster: None,
            connector: Arc::new(KubeConnector::new(crate::cluster::cluster_settings(settings))),
            publisher: None,
            predictions: None,
            tasmota: tasmota(settings),
        })
    }
}

type KafkaClients = (Option<Arc<dyn ControlPublisher>>, Option<Arc<dyn PredictionSource>>);

/// The Kafka clients of the settings: none without `BOOTSTRAP_SERVERS`, no publisher without
/// `CONTROL_TOPIC`. The control topic is created in the background when missing (a broker that
/// is down delays nothing).
fn kafka_clients(settings: &Settings) -> anyhow::Result<KafkaClients> {
    let set = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let Some(bootstrap_servers) = set(&settings.kafka.bootstrap_servers) else {
        tracing::info!("BOOTSTRAP_SERVERS is not set: Kafka endpoints answer 503");
        return Ok((None, None));
    };
    let predictions: Arc<dyn PredictionSource> = Arc::new(KafkaPredictionSource::new(bootstrap_servers.clone()));
    let Some(control_topic) = set(&settings.kafka.control_topic) else {
        tracing::info!("CONTROL_TOPIC is not set: POST /datasources/kafka answers 503");
        return Ok((None, Some(predictions)));
    };
    let config = KafkaConfig { bootstrap_servers, control_topic, timeout: settings.kafka.timeout() };
    let publisher = KafkaControlPublisher::new(&config)?;
    tokio::spawn(async move {
        match ensure_topic(&config).await {
            Ok(TopicStatus::Created) => tracing::info!(topic = %config.control_topic, "created the control topic"),
            Ok(TopicStatus::Existed) => tracing::debug!(topic = %config.control_topic, "the control topic exists"),
            Err(e) => tracing::warn!(
                topic = %config.control_topic, bootstrap_servers = %config.bootstrap_servers, error = %e,
                "could not make sure the control topic exists; going on"
            ),
        }
    });
    Ok((Some(Arc::new(publisher)), Some(predictions)))
}
