//! The API's side of orchestration: the clusters from the settings, what the manifests receive
//! from the settings, and the Job failure watcher that turns results `failed`.

use std::sync::Arc;

use anyhow::Context;
use futures_util::StreamExt;
use kafkaml_domain::{Framework, ResultStatus};
use kafkaml_orchestration::inference::InferenceEnvironment;
use kafkaml_orchestration::training::{BlockchainEnvironment, TrainingEnvironment};
use kafkaml_orchestration::{Cluster, ClusterSettings, KubeCluster, KubeConnector};
use kafkaml_persistence::repo::results;
use kafkaml_persistence::Pool;
use secrecy::ExposeSecret;

use crate::error::{ApiError, ApiResult};
use crate::settings::Settings;

/// How the settings reach clusters.
pub fn cluster_settings(settings: &Settings) -> ClusterSettings {
    ClusterSettings {
        host: settings.kube.host.clone(),
        token: settings.kube.token.as_ref().map(|t| t.expose_secret().to_owned()),
        kubeconfig: settings.kube.kubeconfig.clone(),
        ca_cert: settings.kube.ca_cert.clone(),
        insecure_skip_tls_verify: settings.kube.insecure_skip_tls_verify,
        namespace: settings.kube.namespace.clone(),
        timeout: settings.kube.timeout(),
    }
}

/// The default cluster of the settings (`None` when none is configured) and the connector of
/// external clusters.
pub async fn clusters(settings: &Settings) -> anyhow::Result<(Option<Arc<dyn Cluster>>, KubeConnector)> {
    let cluster_settings = cluster_settings(settings);
    let cluster = KubeCluster::from_settings(&cluster_settings).await.context("configuring Kubernetes access")?;
    match &cluster {
        Some(c) => {
            tracing::info!(cluster = %c.describe(), namespace = %settings.kube.namespace, "Kubernetes configured")
        }
        None => tracing::info!("no Kubernetes cluster configured: deployments and inferences answer 503"),
    }
    Ok((cluster.map(|c| Arc::new(c) as Arc<dyn Cluster>), KubeConnector::new(cluster_settings)))
}

fn required<'a>(value: Option<&'a str>, what: &str, variable: &str) -> ApiResult<&'a str> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::Unavailable(format!("{what} is not configured: set {variable}.")))
}

/// `BACKEND_URL`, which pods need to reach the back-end.
pub fn backend_url(settings: &Settings) -> ApiResult<String> {
    required(settings.images.backend_url.as_deref(), "The back-end URL for training and inference pods", "BACKEND_URL")
        .map(str::to_owned)
}

/// The training image of a framework.
pub fn training_image(settings: &Settings, framework: Framework) -> ApiResult<String> {
    let (value, variable) = match framework {
        Framework::Tf => (&settings.images.tensorflow_training, "TENSORFLOW_TRAINING_MODEL_IMAGE"),
        Framework::Pth => (&settings.images.pytorch_training, "PYTORCH_TRAINING_MODEL_IMAGE"),
    };
    let what = format!("The training image of {} models", framework.as_str());
    required(value.as_deref(), &what, variable).map(str::to_owned)
}

/// The inference image of a model: TensorFlow's for distributed models, else by framework.
pub fn inference_image(settings: &Settings, framework: Framework, distributed: bool) -> ApiResult<String> {
    let framework = if distributed { Framework::Tf } else { framework };
    let (value, variable) = match framework {
        Framework::Tf => (&settings.images.tensorflow_inference, "TENSORFLOW_INFERENCE_MODEL_IMAGE"),
        Framework::Pth => (&settings.images.pytorch_inference, "PYTORCH_INFERENCE_MODEL_IMAGE"),
    };
    let what = format!("The inference image of {} models", framework.as_str());
    required(value.as_deref(), &what, variable).map(str::to_owned)
}

/// Blockchain federated training (case 9) needs the deployed token contract: its address and ABI.
/// The reference deployed one at start-up (`ENABLE_FEDML_BLOCKCHAIN`); this back-end takes it
/// from the settings, so without them such a deployment is refused instead of launching Jobs
/// that cannot work.
pub fn blockchain_token(settings: &Settings) -> ApiResult<()> {
    let what = "The blockchain token contract for blockchain federated training";
    required(
        settings.blockchain.token_address.as_deref(),
        &format!("{what} (address)"),
        "FEDML_BLOCKCHAIN_TOKEN_ADDRESS",
    )?;
    required(settings.blockchain.abi.as_deref(), &format!("{what} (ABI)"), "FEDML_BLOCKCHAIN_ABI")?;
    Ok(())
}

/// What every training Job receives from the settings.
pub fn training_environment(settings: &Settings, backend_url: String) -> TrainingEnvironment {
    TrainingEnvironment {
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
            wallet_key: settings.blockchain.wallet_key.as_ref().map(|k| k.expose_secret().to_owned()),
            blockscout_url: settings.blockchain.blockscout_url.clone(),
        },
    }
}

/// What every inference receives from the settings.
pub fn inference_environment(settings: &Settings, backend_url: String) -> InferenceEnvironment {
    InferenceEnvironment { bootstrap_servers: settings.kafka.bootstrap_servers.clone(), backend_url }
}

/// Watches the cluster's training Jobs and marks the results of failed ones `failed`, with the
/// reason. Only `created` and `deployed` results change, so `finished` and `stopped` ones are never
/// overwritten and repeated reports change nothing: every replica may run this.
pub fn spawn_failure_watcher(cluster: Arc<dyn Cluster>, pool: Pool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut failures = cluster.job_failures();
        while let Some(failure) = failures.next().await {
            let pool = pool.clone();
            let ids = failure.result_ids.clone();
            let reason = failure.reason.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                let mut conn = pool.get()?;
                results::transition(
                    &mut conn,
                    &ids,
                    &[ResultStatus::Created, ResultStatus::Deployed],
                    ResultStatus::Failed,
                    Some(&reason),
                )
            })
            .await;
            match outcome {
                Ok(Ok(0)) => {}
                Ok(Ok(changed)) => {
                    tracing::info!(job = %failure.job_name, results = ?failure.result_ids, changed, reason = %failure.reason,
                        "training Job failed; results marked failed");
                }
                Ok(Err(e)) => tracing::warn!(job = %failure.job_name, error = %e, "could not record a Job failure"),
                Err(e) => tracing::warn!(job = %failure.job_name, error = %e, "Job failure task panicked"),
            }
        }
    })
}
