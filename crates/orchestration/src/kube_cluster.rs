//! The kube implementation of [`Cluster`]: the default cluster from the in-cluster service
//! account, `KUBECONFIG`, or `KUBE_HOST` + `KUBE_TOKEN`; external clusters of inferences from their
//! API URL and token. TLS is verified unless told otherwise; every call has a time limit.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ReplicationController;
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Client, Config};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::cluster::{Cluster, ClusterConnector, ClusterError, Deletion};
use crate::labels::TRAINING_SELECTOR;
use crate::watch::{gone_of, present_of, JobEvent};
use kafkaml_domain::cause::innermost;

/// Default time limit of one API call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Grace period of deletions, as the reference.
const DELETE_GRACE_SECONDS: u32 = 5;

/// How to reach clusters: the default one and the TLS rules for every one. The token does not
/// print in `Debug`.
#[derive(Debug, Clone, Default)]
pub struct ClusterSettings {
    /// `KUBE_HOST`: API server URL of the default cluster (takes precedence over `kubeconfig`).
    pub host: Option<String>,
    /// `KUBE_TOKEN`: bearer token for `host`; exposed only in the client's `Authorization` header.
    pub token: Option<SecretString>,
    /// `KUBECONFIG`: a kubeconfig file (its current context) for the default cluster.
    pub kubeconfig: Option<PathBuf>,
    /// `KUBE_CA_CERT`: a PEM file of CA certificates to trust (for `host`, the kubeconfig and
    /// external clusters).
    pub ca_cert: Option<PathBuf>,
    /// `KUBE_INSECURE_SKIP_TLS_VERIFY`: accept any server certificate (what the reference did).
    pub insecure_skip_tls_verify: bool,
    /// `KUBE_NAMESPACE`: where Jobs and ReplicationControllers go.
    pub namespace: String,
    /// Time limit of one API call.
    pub timeout: Duration,
}

fn non_blank(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

fn config_error(e: impl fmt::Display) -> ClusterError {
    ClusterError::Config(e.to_string())
}

/// A kubeconfig of one cluster, one token user and one context, as `KUBE_HOST` + `KUBE_TOKEN` and
/// external clusters describe it.
fn token_kubeconfig(host: &str, token: Option<&str>, settings: &ClusterSettings) -> Result<Kubeconfig, ClusterError> {
    pinned_kubeconfig(host, None, token, settings)
}

/// [`token_kubeconfig`], reaching the server at `address` when given: the URL's host becomes the
/// address and the name is kept for TLS (`tls-server-name`: SNI and certificate verification).
fn pinned_kubeconfig(
    host: &str,
    address: Option<SocketAddr>,
    token: Option<&str>,
    settings: &ClusterSettings,
) -> Result<Kubeconfig, ClusterError> {
    let mut cluster = match address {
        None => json!({ "server": host }),
        Some(address) => {
            let uri: http::Uri = host.parse().map_err(config_error)?;
            let name = uri.host().ok_or_else(|| ClusterError::Config(format!("{host} names no host")))?;
            let scheme = uri.scheme_str().unwrap_or("https");
            let path = uri.path().trim_end_matches('/');
            json!({
                "server": format!("{scheme}://{address}{path}"),
                "tls-server-name": name.trim_start_matches('[').trim_end_matches(']'),
            })
        }
    };
    if let Some(ca) = &settings.ca_cert {
        cluster["certificate-authority"] = json!(ca.display().to_string());
    }
    if settings.insecure_skip_tls_verify {
        cluster["insecure-skip-tls-verify"] = json!(true);
    }
    let user = match token {
        Some(token) => json!({ "token": token }),
        None => json!({}),
    };
    serde_json::from_value(json!({
        "clusters": [{ "name": "kafkaml", "cluster": cluster }],
        "users": [{ "name": "kafkaml", "user": user }],
        "contexts": [{ "name": "kafkaml", "context": { "cluster": "kafkaml", "user": "kafkaml" } }],
        "current-context": "kafkaml",
    }))
    .map_err(config_error)
}

async fn config_from_kubeconfig(
    mut kubeconfig: Kubeconfig,
    settings: &ClusterSettings,
) -> Result<Config, ClusterError> {
    for named in &mut kubeconfig.clusters {
        if let Some(cluster) = named.cluster.as_mut() {
            if let Some(ca) = &settings.ca_cert {
                cluster.certificate_authority = Some(ca.display().to_string());
                cluster.certificate_authority_data = None;
            }
            if settings.insecure_skip_tls_verify {
                cluster.insecure_skip_tls_verify = Some(true);
            }
        }
    }
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.map_err(config_error)
}

/// What a call does to an object, for messages and for reading the API server's answer (a 409
/// to a creation means the object already exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    Delete,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Create => "create",
            Action::Delete => "delete",
        })
    }
}

/// A cluster reached with kube, in one namespace, with a time limit per call.
#[derive(Clone)]
pub struct KubeCluster {
    client: Client,
    namespace: String,
    url: String,
    timeout: Duration,
}

impl fmt::Debug for KubeCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeCluster")
            .field("url", &self.url)
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl KubeCluster {
    /// Wraps a kube client (tests use one built on a mock service).
    pub fn new(client: Client, namespace: impl Into<String>, url: impl Into<String>, timeout: Duration) -> Self {
        Self { client, namespace: namespace.into(), url: url.into(), timeout }
    }

    /// The default cluster of `settings`: `KUBE_HOST` (+ `KUBE_TOKEN`) when set, else the
    /// `KUBECONFIG` file, else the in-cluster service account when running in a pod; `None` when
    /// none of them is available.
    ///
    /// Nothing is contacted here: an unreachable cluster shows up on the first call.
    pub async fn from_settings(settings: &ClusterSettings) -> Result<Option<Self>, ClusterError> {
        let config = if let Some(host) = non_blank(settings.host.as_deref()) {
            let token = settings.token.as_ref().map(ExposeSecret::expose_secret);
            let kubeconfig = token_kubeconfig(host, non_blank(token), settings)?;
            config_from_kubeconfig(kubeconfig, settings).await?
        } else if let Some(path) = &settings.kubeconfig {
            let kubeconfig = Kubeconfig::read_from(path)
                .map_err(|e| ClusterError::Config(format!("reading {}: {e}", path.display())))?;
            config_from_kubeconfig(kubeconfig, settings).await?
        } else if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            let mut config = Config::incluster().map_err(config_error)?;
            config.accept_invalid_certs |= settings.insecure_skip_tls_verify;
            config
        } else {
            return Ok(None);
        };
        Self::from_config(config, settings).map(Some)
    }

    /// A cluster at `host` authenticated with `token`, with the TLS rules, namespace and time
    /// limit of `settings`.
    pub async fn connect(host: &str, token: &str, settings: &ClusterSettings) -> Result<Self, ClusterError> {
        Self::connect_at(host, None, token, settings).await
    }

    /// [`KubeCluster::connect`], reaching the server at `address` when given (the name of
    /// `host` is not resolved again; TLS verifies it).
    pub async fn connect_at(
        host: &str,
        address: Option<SocketAddr>,
        token: &str,
        settings: &ClusterSettings,
    ) -> Result<Self, ClusterError> {
        let kubeconfig = pinned_kubeconfig(host.trim(), address, non_blank(Some(token)), settings)?;
        let config = config_from_kubeconfig(kubeconfig, settings).await?;
        Self::from_config(config, settings)
    }

    fn from_config(mut config: Config, settings: &ClusterSettings) -> Result<Self, ClusterError> {
        let timeout = if settings.timeout.is_zero() { DEFAULT_TIMEOUT } else { settings.timeout };
        config.default_namespace = settings.namespace.clone();
        config.connect_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
        // Failures surface within the time limit; the caller decides what to retry.
        config.default_retry = false;
        let url = config.cluster_url.to_string().trim_end_matches('/').to_owned();
        let client = Client::try_from(config).map_err(config_error)?;
        Ok(Self::new(client, settings.namespace.clone(), url, timeout))
    }

    fn jobs(&self) -> Api<Job> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn controllers(&self) -> Api<ReplicationController> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Runs one call within the time limit and maps its error.
    async fn call<T>(
        &self,
        action: Action,
        kind: &'static str,
        name: &str,
        fut: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, ClusterError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => Err(ClusterError::Timeout {
                cluster: self.url.clone(),
                action: format!("{action} {kind} {name}"),
                after: self.timeout,
            }),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.map_error(action, kind, name, e)),
        }
    }

    fn map_error(&self, action: Action, kind: &'static str, name: &str, e: kube::Error) -> ClusterError {
        if let kube::Error::Api(status) = &e {
            // The answer's text is the server's: logged here, never put in a message.
            tracing::debug!(cluster = %self.url, status = status.code, reason = ?status.reason,
                body = ?status.message, "the Kubernetes API refused a call");
        }
        match e {
            kube::Error::Api(status) if status.code == 409 && action == Action::Create => {
                ClusterError::AlreadyExists { kind, name: name.to_owned() }
            }
            kube::Error::Api(status) => ClusterError::Rejected {
                action: format!("{action} {kind} {name}"),
                status: status.code,
                message: if status.message.is_empty() { status.reason.clone() } else { status.message.clone() },
            },
            kube::Error::HyperError(e) => {
                ClusterError::Unreachable { cluster: self.url.clone(), reason: innermost(&e).to_string() }
            }
            kube::Error::Service(e) => {
                ClusterError::Unreachable { cluster: self.url.clone(), reason: innermost(e.as_ref()).to_string() }
            }
            other => {
                tracing::debug!(cluster = %self.url, error = %other, "unusable answer of the Kubernetes API");
                ClusterError::Rejected {
                    action: format!("{action} {kind} {name}"),
                    status: 0,
                    message: format!("unusable answer: {other}"),
                }
            }
        }
    }

    async fn delete<K>(&self, api: Api<K>, kind: &'static str, name: &str) -> Result<Deletion, ClusterError>
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + fmt::Debug,
    {
        let params = DeleteParams {
            grace_period_seconds: Some(DELETE_GRACE_SECONDS),
            propagation_policy: Some(PropagationPolicy::Foreground),
            ..DeleteParams::default()
        };
        match self.call(Action::Delete, kind, name, api.delete(name, &params)).await {
            Ok(_) => Ok(Deletion::Deleted),
            Err(ClusterError::Rejected { status: 404, .. }) => Ok(Deletion::NotFound),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Cluster for KubeCluster {
    fn describe(&self) -> String {
        self.url.clone()
    }

    async fn create_job(&self, job: &Job) -> Result<(), ClusterError> {
        let name = job.metadata.name.clone().unwrap_or_default();
        let jobs = self.jobs();
        self.call(Action::Create, "Job", &name, jobs.create(&PostParams::default(), job)).await.map(|_| ())
    }

    async fn delete_job(&self, name: &str) -> Result<Deletion, ClusterError> {
        self.delete(self.jobs(), "Job", name).await
    }

    async fn create_replication_controller(&self, rc: &ReplicationController) -> Result<(), ClusterError> {
        let name = rc.metadata.name.clone().unwrap_or_default();
        let controllers = self.controllers();
        self.call(Action::Create, "ReplicationController", &name, controllers.create(&PostParams::default(), rc))
            .await
            .map(|_| ())
    }

    async fn delete_replication_controller(&self, name: &str) -> Result<Deletion, ClusterError> {
        self.delete(self.controllers(), "ReplicationController", name).await
    }

    fn job_events(&self) -> BoxStream<'static, JobEvent> {
        let follow = Follow {
            api: self.jobs(),
            url: self.url.clone(),
            watch: None,
            listing: BTreeSet::new(),
            errors: 0,
            pause: None,
        };
        futures::stream::unfold(follow, |mut follow| async move {
            let event = follow.next().await;
            Some((event, follow))
        })
        .boxed()
    }
}

type JobWatch = BoxStream<'static, Result<watcher::Event<Job>, watcher::Error>>;

/// Longest pause between two attempts to watch the Jobs again.
const MAX_WATCH_PAUSE: Duration = Duration::from_secs(30);

/// The state of [`KubeCluster::job_events`]: a kube-runtime watcher that is dropped at the first
/// error and started afresh (so it lists again) after a pause that doubles with each error in a
/// row, from 0.5 s up to [`MAX_WATCH_PAUSE`].
struct Follow {
    api: Api<Job>,
    url: String,
    watch: Option<JobWatch>,
    /// The names listed since the last `Init`.
    listing: BTreeSet<String>,
    /// Errors since the last complete list.
    errors: u32,
    /// To wait before watching again.
    pause: Option<Duration>,
}

impl Follow {
    async fn next(&mut self) -> JobEvent {
        loop {
            if let Some(pause) = self.pause.take() {
                tokio::time::sleep(pause).await;
            }
            let (api, config) = (self.api.clone(), watcher::Config::default().labels(TRAINING_SELECTOR));
            let watch = self.watch.get_or_insert_with(|| watcher(api, config).boxed());
            match watch.next().await {
                Some(Ok(watcher::Event::Init)) => self.listing.clear(),
                Some(Ok(watcher::Event::InitApply(job))) => {
                    self.listing.insert(job.metadata.name.clone().unwrap_or_default());
                    return present_of(&job);
                }
                Some(Ok(watcher::Event::InitDone)) => {
                    self.errors = 0;
                    return JobEvent::Listed(std::mem::take(&mut self.listing));
                }
                Some(Ok(watcher::Event::Apply(job))) => return present_of(&job),
                Some(Ok(watcher::Event::Delete(job))) => {
                    if let Some(gone) = gone_of(&job) {
                        return JobEvent::Gone(gone);
                    }
                }
                Some(Err(e)) => {
                    self.errors = self.errors.saturating_add(1);
                    let pause = Duration::from_millis(500)
                        .saturating_mul(2u32.saturating_pow(self.errors.min(16) - 1))
                        .min(MAX_WATCH_PAUSE);
                    tracing::warn!(cluster = %self.url, error = %e, retry_in = ?pause,
                        "watching training Jobs failed; listing them again");
                    self.watch = None;
                    self.pause = Some(pause);
                    return JobEvent::Interrupted;
                }
                // The watcher never ends; should it, start afresh.
                None => self.watch = None,
            }
        }
    }
}

/// Opens external clusters with kube, with the CA certificates, namespace and time limit of the
/// default cluster's settings. TLS is always verified: `insecure_skip_tls_verify` is for the
/// default cluster only.
#[derive(Debug, Clone)]
pub struct KubeConnector {
    settings: ClusterSettings,
}

impl KubeConnector {
    /// A connector using `settings`' CA certificates, namespace and time limit (its host, token,
    /// kubeconfig and `insecure_skip_tls_verify` are ignored).
    pub fn new(settings: ClusterSettings) -> Self {
        Self { settings: ClusterSettings { insecure_skip_tls_verify: false, ..settings } }
    }
}

#[async_trait]
impl ClusterConnector for KubeConnector {
    async fn connect(&self, host: &str, token: &str) -> Result<Arc<dyn Cluster>, ClusterError> {
        let cluster = KubeCluster::connect(host, token, &self.settings).await?;
        Ok(Arc::new(cluster))
    }

    async fn connect_at(&self, host: &str, address: SocketAddr, token: &str) -> Result<Arc<dyn Cluster>, ClusterError> {
        let cluster = KubeCluster::connect_at(host, Some(address), token, &self.settings).await?;
        Ok(Arc::new(cluster))
    }
}

#[cfg(test)]
mod tests;
