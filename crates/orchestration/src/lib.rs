//! Kafka-ML orchestration: the Kubernetes side of the control plane.
//!
//! * [`plan`] — which training Jobs a deployment needs: one per non-distributed result and one per
//!   distributed chain (docs/contract.md §5.3.2, decisions.md item 3);
//! * [`training`] and [`inference`] — pure builders of typed manifests (k8s-openapi [`Job`] and
//!   [`ReplicationController`]) with the reference's environment tables, `imagePullPolicy: Always`
//!   on the container, labels to find them again, and the [`gpu`] patch; the URLs given to pods
//!   carry the capability a [`PodSigner`] gives ([`signer`]);
//! * [`Cluster`] — the calls made to a cluster, behind a trait; [`KubeCluster`] implements it with
//!   kube (in-cluster account, `KUBECONFIG`, or `KUBE_HOST` + `KUBE_TOKEN`; external clusters
//!   through [`KubeConnector`]), with a time limit on every call;
//! * [`workload`] — how the pods are confined (no service-account token, a restrictive
//!   `securityContext`) and sized (requests, limits, deadline, time-to-live of finished Jobs);
//! * [`watch`] — Job tracking: [`Cluster::job_events`] reports the back-end's training Jobs as
//!   they are listed, change (with their failure when their `Failed` condition is true) and
//!   disappear;
//! * `fake` (cargo feature `test-support`) — `FakeCluster` and `FakeConnector`, in-memory
//!   implementations of [`Cluster`] and [`ClusterConnector`] that record what they were asked, for
//!   tests of callers.
//!
//! ```
//! use kafkaml_domain::rules::TrainingCase;
//! use kafkaml_domain::Framework;
//! use kafkaml_orchestration::plan::PlannedJob;
//! use kafkaml_orchestration::training::{training_job, TrainingDeployment, TrainingEnvironment, TrainingUnit};
//! use kafkaml_domain::settings::DeploymentSettings;
//!
//! let env = TrainingEnvironment { backend_url: "http://backend:8000".into(), ..Default::default() };
//! let settings = DeploymentSettings::default();
//! let deployment = TrainingDeployment { id: 1, settings: &settings, gpumem: 0.0 };
//! let unit = TrainingUnit {
//!     job: PlannedJob { case: TrainingCase::SingleClassic, framework: Framework::Tf, result_ids: vec![7] },
//!     image: "kafkaml/tensorflow_model_training".into(),
//!     kwargs_fit: r#"{"epochs": 5}"#.into(),
//!     kwargs_val: "{}".into(),
//!     federated_string_id: String::new(),
//! };
//! let job = training_job(&env, &deployment, &unit);
//! assert_eq!(job.metadata.name.as_deref(), Some("model-training-7"));
//! ```
//!
//! [`Job`]: k8s_openapi::api::batch::v1::Job
//! [`ReplicationController`]: k8s_openapi::api::core::v1::ReplicationController

#![warn(missing_docs)]

mod cluster;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
pub mod gpu;
pub mod inference;
mod kube_cluster;
pub mod labels;
pub mod plan;
pub mod python;
pub mod signer;
pub mod training;
pub mod watch;
pub mod workload;

pub use cluster::{Cluster, ClusterConnector, ClusterError, Deletion};
pub use k8s_openapi::api::batch::v1::Job;
pub use k8s_openapi::api::core::v1::ReplicationController;
pub use kube_cluster::{ClusterSettings, KubeCluster, KubeConnector, DEFAULT_TIMEOUT};
pub use signer::{PodPurpose, PodSigner};
pub use watch::{JobEvent, JobFailure, JobGone};
pub use workload::{Resources, WorkloadPolicy};
