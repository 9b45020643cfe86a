//! Cluster access as a small trait, so that the API can be tested with in-process fakes (the
//! `test-support` feature's `fake` module) and the kube implementation ([`crate::KubeCluster`])
//! against a protocol-level fake API server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ReplicationController;

use crate::watch::JobEvent;

/// What a deletion found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// The object existed and its deletion was accepted.
    Deleted,
    /// There was no such object (already deleted, or never created).
    NotFound,
}

/// Why a cluster call failed. Messages name the cluster and the object and can be shown to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// No cluster is configured (no in-cluster account, `KUBECONFIG` or `KUBE_HOST`).
    #[error(
        "Kubernetes is not configured: run the back-end in a cluster, or set KUBECONFIG, or KUBE_HOST and KUBE_TOKEN"
    )]
    NotConfigured,
    /// The configuration cannot be used (bad URL, unreadable CA certificate, …).
    #[error("the Kubernetes configuration is invalid: {0}")]
    Config(String),
    /// No connection could be made or it broke.
    #[error("the Kubernetes API at {cluster} is unreachable: {reason}")]
    Unreachable {
        /// The API server URL.
        cluster: String,
        /// What went wrong.
        reason: String,
    },
    /// The call did not complete in time.
    #[error("the Kubernetes API at {cluster} did not answer within {} s ({action})", .after.as_secs_f64())]
    Timeout {
        /// The API server URL.
        cluster: String,
        /// What was being done (`create Job model-training-1`).
        action: String,
        /// The time limit.
        after: Duration,
    },
    /// The object to create already exists (409).
    #[error("{kind} {name} already exists in the cluster")]
    AlreadyExists {
        /// `Job` or `ReplicationController`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// The API server refused the call (403, 422, 5xx, …), or answered what could not be read
    /// (status 0). The message is the server's own text: it is kept for logs and never shown,
    /// since an external cluster's URL is chosen by users and any server may answer there.
    #[error("{}", rejected(action, *status))]
    Rejected {
        /// What was being done.
        action: String,
        /// The HTTP status it answered (0 when the answer could not be read).
        status: u16,
        /// Its message, for logs only.
        message: String,
    },
}

/// The words of [`ClusterError::Rejected`]: the action and the status, not the server's text.
fn rejected(action: &str, status: u16) -> String {
    if status == 0 {
        format!("the Kubernetes API gave an unusable answer to {action}")
    } else {
        format!("the Kubernetes API refused to {action} (HTTP {status})")
    }
}

impl ClusterError {
    /// `true` when the cluster could not be used at all (not configured, unreachable, too slow,
    /// or overloaded): the API answers 503. Other errors are 409 (exists) or 502.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::NotConfigured | Self::Config(_) | Self::Unreachable { .. } | Self::Timeout { .. } => true,
            Self::Rejected { status, .. } => matches!(status, 429 | 503 | 504),
            Self::AlreadyExists { .. } => false,
        }
    }
}

/// The calls the back-end makes to a Kubernetes cluster, in the cluster's namespace.
#[async_trait]
pub trait Cluster: Send + Sync {
    /// A short description of the cluster for logs and messages (its API URL).
    fn describe(&self) -> String;

    /// Creates a training Job.
    async fn create_job(&self, job: &Job) -> Result<(), ClusterError>;

    /// Deletes a Job and its pods (propagation `Foreground`, grace period 5 s).
    async fn delete_job(&self, name: &str) -> Result<Deletion, ClusterError>;

    /// Creates an inference ReplicationController.
    async fn create_replication_controller(&self, rc: &ReplicationController) -> Result<(), ClusterError>;

    /// Deletes a ReplicationController and its pods (propagation `Foreground`, grace period 5 s).
    async fn delete_replication_controller(&self, name: &str) -> Result<Deletion, ClusterError>;

    /// The back-end's training Jobs as they are seen: a [`JobEvent::Listed`] after the first list
    /// and after every list that follows a watch error (each listed Job also as
    /// [`JobEvent::Present`], with its failure), then changes and deletions. The stream does not
    /// end: it reports [`JobEvent::Interrupted`] and lists again, with back-off, when the API
    /// cannot be reached or the watch breaks.
    fn job_events(&self) -> BoxStream<'static, JobEvent>;
}

/// Opens clusters given by an API URL and a bearer token (the external clusters of inferences).
#[async_trait]
pub trait ClusterConnector: Send + Sync {
    /// A cluster at `host` authenticated with `token`, in the back-end's namespace.
    async fn connect(&self, host: &str, token: &str) -> Result<Arc<dyn Cluster>, ClusterError>;

    /// Like [`ClusterConnector::connect`], but reaching `host`'s server at `address` — the
    /// address its name resolved to when the caller checked it — instead of resolving the name
    /// again (TLS still verifies the name). By default the address is not used.
    async fn connect_at(&self, host: &str, address: SocketAddr, token: &str) -> Result<Arc<dyn Cluster>, ClusterError> {
        let _ = address;
        self.connect(host, token).await
    }
}
