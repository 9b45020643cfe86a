//! In-memory fakes of [`Cluster`] and [`ClusterConnector`] for tests of callers (cargo feature
//! `test-support`): no socket, no API server, everything the code under test asked is recorded as
//! typed k8s-openapi objects and names.
//!
//! * [`FakeCluster`] keeps the Jobs and ReplicationControllers that exist, the ones created and
//!   deleted, and every call in order ([`ClusterCall`]). It answers like the API server where it
//!   matters to callers: creating an object whose name exists is [`ClusterError::AlreadyExists`],
//!   deleting a missing one is [`Deletion::NotFound`]. It can be told to fail the next creations
//!   or deletions, or every call, with any [`ClusterError`] ([`unreachable()`] builds the usual
//!   "unavailable" one). Its [`Cluster::job_events`] streams start with a list of the Jobs, report
//!   its own deletions as [`JobEvent::Gone`], and are fed further by a [`JobEventFeed`] the test
//!   keeps (failures, deletions by others, lists).
//! * [`FakeConnector`] hands out one [`FakeCluster`] per host (made on first use, or given with
//!   [`FakeConnector::add_cluster`]), or a configured error, and records the hosts and tokens it
//!   was asked for.
//!
//! Both are cheap handles over shared state: clone one, give the clone to the code under test
//! (`Arc::new(fake.clone())`), and inspect the original.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::Arc;
//! use kafkaml_orchestration::fake::{unreachable, FakeCluster};
//! use kafkaml_orchestration::{Cluster, ClusterError, Deletion, Job};
//!
//! let fake = FakeCluster::new();
//! let cluster: Arc<dyn Cluster> = Arc::new(fake.clone());
//! let mut job = Job::default();
//! job.metadata.name = Some("model-training-7".into());
//! cluster.create_job(&job).await.unwrap();
//! assert_eq!(fake.job_names(), ["model-training-7"]);
//! assert!(matches!(cluster.create_job(&job).await, Err(ClusterError::AlreadyExists { kind: "Job", .. })));
//!
//! fake.fail_all(unreachable(&fake.describe()));
//! assert!(cluster.delete_job("model-training-7").await.unwrap_err().is_unavailable());
//! fake.recover();
//! assert_eq!(cluster.delete_job("model-training-7").await.unwrap(), Deletion::Deleted);
//! assert_eq!(fake.deleted_jobs(), ["model-training-7"]);
//! # }
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use futures::channel::mpsc;
use futures::stream::BoxStream;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ReplicationController;

use crate::cluster::{Cluster, ClusterConnector, ClusterError, Deletion};
use crate::watch::{gone_of, JobEvent, JobFailure};

/// The URL a [`FakeCluster::new`] describes itself with.
pub const FAKE_CLUSTER_URL: &str = "https://fake-cluster.invalid";

/// The error of a cluster that cannot be reached (`connection refused`): what a down API server
/// gives. [`ClusterError::is_unavailable`] is `true` for it.
pub fn unreachable(cluster: &str) -> ClusterError {
    ClusterError::Unreachable { cluster: cluster.to_owned(), reason: "connection refused".to_owned() }
}

/// One call made to a [`FakeCluster`], with the object's name, whether it succeeded or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterCall {
    /// [`Cluster::create_job`].
    CreateJob(String),
    /// [`Cluster::delete_job`].
    DeleteJob(String),
    /// [`Cluster::create_replication_controller`].
    CreateReplicationController(String),
    /// [`Cluster::delete_replication_controller`].
    DeleteReplicationController(String),
}

#[derive(Default)]
struct ClusterState {
    jobs: Vec<Job>,
    controllers: Vec<ReplicationController>,
    created_jobs: Vec<Job>,
    created_controllers: Vec<ReplicationController>,
    deleted_jobs: Vec<String>,
    deleted_controllers: Vec<String>,
    calls: Vec<ClusterCall>,
    failing_creates: VecDeque<ClusterError>,
    failing_deletes: VecDeque<ClusterError>,
    fail_all: Option<ClusterError>,
    /// Events pushed by tests, replayed to every new stream.
    pushed: Vec<JobEvent>,
    watchers: Vec<mpsc::UnboundedSender<JobEvent>>,
}

fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock has failed already; the state is still usable.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An in-memory [`Cluster`]; see the [module documentation](self).
#[derive(Clone)]
pub struct FakeCluster {
    url: String,
    state: Arc<Mutex<ClusterState>>,
}

impl std::fmt::Debug for FakeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("FakeCluster")
            .field("url", &self.url)
            .field("jobs", &state.jobs.iter().map(name_of_job).collect::<Vec<_>>())
            .field("replication_controllers", &state.controllers.iter().map(name_of_rc).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for FakeCluster {
    fn default() -> Self {
        Self::new()
    }
}

fn name_of_job(job: &Job) -> String {
    job.metadata.name.clone().unwrap_or_default()
}

fn name_of_rc(rc: &ReplicationController) -> String {
    rc.metadata.name.clone().unwrap_or_default()
}

impl FakeCluster {
    /// An empty, working cluster at [`FAKE_CLUSTER_URL`].
    pub fn new() -> Self {
        Self::with_url(FAKE_CLUSTER_URL)
    }

    /// An empty, working cluster that describes itself as `url`.
    pub fn with_url(url: impl Into<String>) -> Self {
        Self { url: url.into(), state: Arc::default() }
    }

    /// The next `n` creations (Jobs or ReplicationControllers) fail with `error`, then creations
    /// work again. Failed creations create nothing and are not in [`FakeCluster::created_jobs`].
    pub fn fail_next_creates(&self, n: usize, error: ClusterError) {
        lock(&self.state).failing_creates.extend(std::iter::repeat_n(error, n));
    }

    /// The next `n` deletions fail with `error`, then deletions work again.
    pub fn fail_next_deletes(&self, n: usize, error: ClusterError) {
        lock(&self.state).failing_deletes.extend(std::iter::repeat_n(error, n));
    }

    /// Every call fails with `error` until [`FakeCluster::recover`] (the streams of
    /// [`Cluster::job_events`] are not affected).
    pub fn fail_all(&self, error: ClusterError) {
        lock(&self.state).fail_all = Some(error);
    }

    /// Every call fails with [`unreachable()`] until [`FakeCluster::recover`].
    pub fn fail_unreachable(&self) {
        self.fail_all(unreachable(&self.url));
    }

    /// Forgets every failure set with `fail_*`: calls work again.
    pub fn recover(&self) {
        let mut state = lock(&self.state);
        state.fail_all = None;
        state.failing_creates.clear();
        state.failing_deletes.clear();
    }

    /// Puts a Job in the cluster as if created earlier by someone else (it is not recorded as
    /// created); creating another of the same name is then [`ClusterError::AlreadyExists`].
    pub fn insert_job(&self, job: Job) {
        lock(&self.state).jobs.push(job);
    }

    /// Puts a ReplicationController in the cluster as if created earlier (not recorded as created).
    pub fn insert_replication_controller(&self, rc: ReplicationController) {
        lock(&self.state).controllers.push(rc);
    }

    /// The Jobs that exist now, in creation order.
    pub fn jobs(&self) -> Vec<Job> {
        lock(&self.state).jobs.clone()
    }

    /// The names of the Jobs that exist now, in creation order.
    pub fn job_names(&self) -> Vec<String> {
        lock(&self.state).jobs.iter().map(name_of_job).collect()
    }

    /// The Job named `name`, if it exists now.
    pub fn job(&self, name: &str) -> Option<Job> {
        lock(&self.state).jobs.iter().find(|j| j.metadata.name.as_deref() == Some(name)).cloned()
    }

    /// The ReplicationControllers that exist now, in creation order.
    pub fn replication_controllers(&self) -> Vec<ReplicationController> {
        lock(&self.state).controllers.clone()
    }

    /// The names of the ReplicationControllers that exist now, in creation order.
    pub fn replication_controller_names(&self) -> Vec<String> {
        lock(&self.state).controllers.iter().map(name_of_rc).collect()
    }

    /// The ReplicationController named `name`, if it exists now.
    pub fn replication_controller(&self, name: &str) -> Option<ReplicationController> {
        lock(&self.state).controllers.iter().find(|rc| rc.metadata.name.as_deref() == Some(name)).cloned()
    }

    /// Every Job this cluster accepted, in order (deleted ones included).
    pub fn created_jobs(&self) -> Vec<Job> {
        lock(&self.state).created_jobs.clone()
    }

    /// Every ReplicationController this cluster accepted, in order (deleted ones included).
    pub fn created_replication_controllers(&self) -> Vec<ReplicationController> {
        lock(&self.state).created_controllers.clone()
    }

    /// The names of the Jobs deleted ([`Deletion::Deleted`]), in order.
    pub fn deleted_jobs(&self) -> Vec<String> {
        lock(&self.state).deleted_jobs.clone()
    }

    /// The names of the ReplicationControllers deleted ([`Deletion::Deleted`]), in order.
    pub fn deleted_replication_controllers(&self) -> Vec<String> {
        lock(&self.state).deleted_controllers.clone()
    }

    /// Every call made, in order, whatever its outcome.
    pub fn calls(&self) -> Vec<ClusterCall> {
        lock(&self.state).calls.clone()
    }

    /// A handle that reports Job events to the [`Cluster::job_events`] streams of this cluster
    /// (and of its clones).
    pub fn event_feed(&self) -> JobEventFeed {
        JobEventFeed { state: self.state.clone() }
    }

    /// Reports `failure` as a [`JobEvent::Present`] of its Job, as [`JobEventFeed::push`].
    pub fn push_failure(&self, failure: JobFailure) {
        let job_name = failure.job_name.clone();
        self.event_feed().push(JobEvent::Present { job_name, failure: Some(failure) });
    }

    /// Reports `event`, as [`JobEventFeed::push`].
    pub fn push_event(&self, event: JobEvent) {
        self.event_feed().push(event);
    }

    /// Removes the Job `name` as someone else would (its time-to-live, `kubectl delete`): not
    /// recorded as a deletion, reported to the [`Cluster::job_events`] streams open now as
    /// [`JobEvent::Gone`]. Returns whether it existed.
    pub fn vanish_job(&self, name: &str) -> bool {
        let mut state = lock(&self.state);
        let Some(i) = state.jobs.iter().position(|j| j.metadata.name.as_deref() == Some(name)) else { return false };
        let job = state.jobs.remove(i);
        drop(state);
        self.report_deleted(&job);
        true
    }

    /// How many [`Cluster::job_events`] streams are still read.
    pub fn event_watchers(&self) -> usize {
        let mut state = lock(&self.state);
        state.watchers.retain(|w| !w.is_closed());
        state.watchers.len()
    }

    /// Reports the deletion of `job` to the open streams, as the API server's watch does.
    fn report_deleted(&self, job: &Job) {
        if let Some(gone) = gone_of(job) {
            lock(&self.state).watchers.retain(|w| w.unbounded_send(JobEvent::Gone(gone.clone())).is_ok());
        }
    }

    /// The error the next create or delete call gets, if one was set; consumes a queued one.
    fn injected(&self, queue: fn(&mut ClusterState) -> &mut VecDeque<ClusterError>) -> Option<ClusterError> {
        let mut state = lock(&self.state);
        if let Some(error) = &state.fail_all {
            return Some(error.clone());
        }
        queue(&mut state).pop_front()
    }

    fn create<K: Clone>(
        &self,
        kind: &'static str,
        object: &K,
        name: Option<&str>,
        call: fn(String) -> ClusterCall,
        objects: fn(&mut ClusterState) -> (&mut Vec<K>, &mut Vec<K>),
        name_of: fn(&K) -> String,
    ) -> Result<(), ClusterError> {
        let name = name.unwrap_or_default().to_owned();
        lock(&self.state).calls.push(call(name.clone()));
        if let Some(error) = self.injected(|s| &mut s.failing_creates) {
            return Err(error);
        }
        if name.is_empty() {
            return Err(ClusterError::Rejected {
                action: format!("create {kind} "),
                status: 422,
                message: format!("{kind}.metadata.name: Required value"),
            });
        }
        let mut state = lock(&self.state);
        let (existing, created) = objects(&mut state);
        if existing.iter().any(|o| name_of(o) == name) {
            return Err(ClusterError::AlreadyExists { kind, name });
        }
        existing.push(object.clone());
        created.push(object.clone());
        Ok(())
    }

    fn delete<K>(
        &self,
        name: &str,
        call: fn(String) -> ClusterCall,
        objects: fn(&mut ClusterState) -> (&mut Vec<K>, &mut Vec<String>),
        name_of: fn(&K) -> String,
    ) -> Result<Deletion, ClusterError> {
        lock(&self.state).calls.push(call(name.to_owned()));
        if let Some(error) = self.injected(|s| &mut s.failing_deletes) {
            return Err(error);
        }
        let mut state = lock(&self.state);
        let (existing, deleted) = objects(&mut state);
        match existing.iter().position(|o| name_of(o) == name) {
            Some(i) => {
                existing.remove(i);
                deleted.push(name.to_owned());
                Ok(Deletion::Deleted)
            }
            None => Ok(Deletion::NotFound),
        }
    }
}

#[async_trait]
impl Cluster for FakeCluster {
    fn describe(&self) -> String {
        self.url.clone()
    }

    async fn create_job(&self, job: &Job) -> Result<(), ClusterError> {
        self.create(
            "Job",
            job,
            job.metadata.name.as_deref(),
            ClusterCall::CreateJob,
            |s| (&mut s.jobs, &mut s.created_jobs),
            name_of_job,
        )
    }

    async fn delete_job(&self, name: &str) -> Result<Deletion, ClusterError> {
        let job = self.job(name);
        let deletion =
            self.delete(name, ClusterCall::DeleteJob, |s| (&mut s.jobs, &mut s.deleted_jobs), name_of_job)?;
        if let (Deletion::Deleted, Some(job)) = (deletion, job) {
            self.report_deleted(&job);
        }
        Ok(deletion)
    }

    async fn create_replication_controller(&self, rc: &ReplicationController) -> Result<(), ClusterError> {
        self.create(
            "ReplicationController",
            rc,
            rc.metadata.name.as_deref(),
            ClusterCall::CreateReplicationController,
            |s| (&mut s.controllers, &mut s.created_controllers),
            name_of_rc,
        )
    }

    async fn delete_replication_controller(&self, name: &str) -> Result<Deletion, ClusterError> {
        self.delete(
            name,
            ClusterCall::DeleteReplicationController,
            |s| (&mut s.controllers, &mut s.deleted_controllers),
            name_of_rc,
        )
    }

    /// As the real watcher's first list: every event pushed so far (the Jobs that failed
    /// already), then [`JobEvent::Listed`] with the Jobs that exist; then every event pushed from
    /// now on and the deletions of Jobs. The stream ends once the cluster, its clones and its
    /// feeds are all dropped.
    fn job_events(&self) -> BoxStream<'static, JobEvent> {
        let (tx, rx) = mpsc::unbounded();
        let mut state = lock(&self.state);
        for event in &state.pushed {
            let _ = tx.unbounded_send(event.clone());
        }
        let _ = tx.unbounded_send(JobEvent::Listed(state.jobs.iter().map(name_of_job).collect()));
        state.watchers.push(tx);
        rx.boxed()
    }
}

/// Reports Job events to the [`Cluster::job_events`] streams of a [`FakeCluster`]; made by
/// [`FakeCluster::event_feed`].
#[derive(Clone)]
pub struct JobEventFeed {
    state: Arc<Mutex<ClusterState>>,
}

impl std::fmt::Debug for JobEventFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobEventFeed").finish_non_exhaustive()
    }
}

impl JobEventFeed {
    /// Sends `event` to every stream open now, and to every stream opened later (the real
    /// watcher reports a failed Job again on every re-list).
    pub fn push(&self, event: JobEvent) {
        let mut state = lock(&self.state);
        state.watchers.retain(|w| w.unbounded_send(event.clone()).is_ok());
        state.pushed.push(event);
    }
}

/// What a [`FakeConnector`] was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    /// The API URL, as given.
    pub host: String,
    /// The bearer token, as given.
    pub token: String,
}

#[derive(Default)]
struct ConnectorState {
    clusters: BTreeMap<String, FakeCluster>,
    host_errors: BTreeMap<String, ClusterError>,
    error: Option<ClusterError>,
    requests: Vec<ConnectRequest>,
}

/// An in-memory [`ClusterConnector`]; see the [module documentation](self).
#[derive(Clone, Default)]
pub struct FakeConnector {
    state: Arc<Mutex<ConnectorState>>,
}

impl std::fmt::Debug for FakeConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("FakeConnector").field("hosts", &state.clusters.keys().collect::<Vec<_>>()).finish()
    }
}

impl FakeConnector {
    /// A connector that opens a fresh [`FakeCluster`] for every new host.
    pub fn new() -> Self {
        Self::default()
    }

    /// `connect(host, _)` hands out `cluster` (a clone sharing its state).
    pub fn add_cluster(&self, host: impl Into<String>, cluster: FakeCluster) {
        lock(&self.state).clusters.insert(host.into(), cluster);
    }

    /// The cluster handed out for `host`, if it was asked for (or added).
    pub fn cluster(&self, host: &str) -> Option<FakeCluster> {
        lock(&self.state).clusters.get(host).cloned()
    }

    /// Every `connect` fails with `error` until [`FakeConnector::recover`].
    pub fn fail_with(&self, error: ClusterError) {
        lock(&self.state).error = Some(error);
    }

    /// `connect(host, _)` fails with `error` until [`FakeConnector::recover`].
    pub fn fail_host(&self, host: impl Into<String>, error: ClusterError) {
        lock(&self.state).host_errors.insert(host.into(), error);
    }

    /// Forgets the errors set with [`FakeConnector::fail_with`] and [`FakeConnector::fail_host`].
    pub fn recover(&self) {
        let mut state = lock(&self.state);
        state.error = None;
        state.host_errors.clear();
    }

    /// Every `connect` call, in order, failed ones included.
    pub fn requests(&self) -> Vec<ConnectRequest> {
        lock(&self.state).requests.clone()
    }
}

#[async_trait]
impl ClusterConnector for FakeConnector {
    async fn connect(&self, host: &str, token: &str) -> Result<Arc<dyn Cluster>, ClusterError> {
        let mut state = lock(&self.state);
        state.requests.push(ConnectRequest { host: host.to_owned(), token: token.to_owned() });
        if let Some(error) = state.host_errors.get(host).or(state.error.as_ref()) {
            return Err(error.clone());
        }
        let cluster = state.clusters.entry(host.to_owned()).or_insert_with(|| FakeCluster::with_url(host)).clone();
        Ok(Arc::new(cluster))
    }
}

#[cfg(test)]
mod tests {

    use std::time::Duration;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;
    use crate::watch::JobGone;

    fn job(name: &str) -> Job {
        Job { metadata: ObjectMeta { name: Some(name.to_owned()), ..ObjectMeta::default() }, ..Job::default() }
    }

    fn rc(name: &str) -> ReplicationController {
        ReplicationController {
            metadata: ObjectMeta { name: Some(name.to_owned()), ..ObjectMeta::default() },
            ..ReplicationController::default()
        }
    }

    fn failure(id: i32) -> JobFailure {
        JobFailure {
            job_name: format!("model-training-{id}"),
            result_ids: vec![id],
            reason: format!("Job model-training-{id} failed: BackoffLimitExceeded"),
        }
    }

    #[tokio::test]
    async fn records_jobs_as_typed_objects_and_answers_like_the_api_server() {
        let fake = FakeCluster::new();
        let cluster: Arc<dyn Cluster> = Arc::new(fake.clone());
        assert_eq!(cluster.describe(), FAKE_CLUSTER_URL);
        cluster.create_job(&job("model-training-1")).await.unwrap();
        cluster.create_job(&job("model-training-2")).await.unwrap();
        let err = cluster.create_job(&job("model-training-1")).await.unwrap_err();
        assert_eq!(err, ClusterError::AlreadyExists { kind: "Job", name: "model-training-1".to_owned() });
        assert_eq!(fake.job_names(), ["model-training-1", "model-training-2"]);
        assert_eq!(fake.job("model-training-2"), Some(job("model-training-2")));
        assert_eq!(fake.created_jobs(), [job("model-training-1"), job("model-training-2")]);

        assert_eq!(cluster.delete_job("model-training-1").await.unwrap(), Deletion::Deleted);
        assert_eq!(cluster.delete_job("model-training-1").await.unwrap(), Deletion::NotFound);
        assert_eq!(fake.job_names(), ["model-training-2"]);
        assert_eq!(fake.deleted_jobs(), ["model-training-1"]);
        assert_eq!(fake.created_jobs().len(), 2);
        assert_eq!(
            fake.calls(),
            [
                ClusterCall::CreateJob("model-training-1".into()),
                ClusterCall::CreateJob("model-training-2".into()),
                ClusterCall::CreateJob("model-training-1".into()),
                ClusterCall::DeleteJob("model-training-1".into()),
                ClusterCall::DeleteJob("model-training-1".into()),
            ]
        );
        let err = cluster.create_job(&Job::default()).await.unwrap_err();
        assert!(matches!(err, ClusterError::Rejected { status: 422, .. }), "{err:?}");
    }

    #[tokio::test]
    async fn records_replication_controllers() {
        let fake = FakeCluster::with_url("https://10.0.0.1:6443");
        assert_eq!(fake.describe(), "https://10.0.0.1:6443");
        fake.insert_replication_controller(rc("model-inference-1"));
        fake.create_replication_controller(&rc("model-inference-2")).await.unwrap();
        let err = fake.create_replication_controller(&rc("model-inference-1")).await.unwrap_err();
        assert_eq!(
            err,
            ClusterError::AlreadyExists { kind: "ReplicationController", name: "model-inference-1".to_owned() }
        );
        assert_eq!(fake.replication_controller_names(), ["model-inference-1", "model-inference-2"]);
        assert_eq!(fake.created_replication_controllers(), [rc("model-inference-2")]);
        assert_eq!(fake.replication_controller("model-inference-2"), Some(rc("model-inference-2")));
        assert_eq!(fake.delete_replication_controller("model-inference-1").await.unwrap(), Deletion::Deleted);
        assert_eq!(fake.delete_replication_controller("model-inference-9").await.unwrap(), Deletion::NotFound);
        assert_eq!(fake.deleted_replication_controllers(), ["model-inference-1"]);
        assert_eq!(fake.replication_controllers(), [rc("model-inference-2")]);
        assert!(fake.jobs().is_empty());
    }

    #[tokio::test]
    async fn fails_the_next_creates_then_recovers() {
        let fake = FakeCluster::new();
        let exists = ClusterError::AlreadyExists { kind: "Job", name: "model-training-1".to_owned() };
        fake.fail_next_creates(2, exists.clone());
        assert_eq!(fake.create_job(&job("model-training-1")).await.unwrap_err(), exists);
        assert_eq!(fake.create_replication_controller(&rc("r")).await.unwrap_err(), exists);
        fake.create_job(&job("model-training-1")).await.unwrap();
        assert_eq!(fake.created_jobs(), [job("model-training-1")]);
        assert!(fake.created_replication_controllers().is_empty());

        let refused = ClusterError::Rejected { action: "delete Job x".into(), status: 403, message: "no".into() };
        fake.fail_next_deletes(1, refused.clone());
        assert_eq!(fake.delete_job("model-training-1").await.unwrap_err(), refused);
        assert_eq!(fake.delete_job("model-training-1").await.unwrap(), Deletion::Deleted);
    }

    #[tokio::test]
    async fn fails_every_call_while_unavailable() {
        let fake = FakeCluster::new();
        fake.insert_job(job("j"));
        fake.fail_unreachable();
        let err = fake.create_job(&job("k")).await.unwrap_err();
        assert_eq!(err, unreachable(FAKE_CLUSTER_URL));
        assert!(err.is_unavailable());
        assert!(fake.delete_job("j").await.unwrap_err().is_unavailable());
        assert!(fake.delete_replication_controller("r").await.unwrap_err().is_unavailable());
        fake.fail_all(ClusterError::NotConfigured);
        assert_eq!(fake.create_replication_controller(&rc("r")).await.unwrap_err(), ClusterError::NotConfigured);
        fake.recover();
        assert_eq!(fake.delete_job("j").await.unwrap(), Deletion::Deleted);
        assert_eq!(fake.calls().len(), 5);
        assert!(fake.created_jobs().is_empty());
    }

    fn present(id: i32) -> JobEvent {
        JobEvent::Present { job_name: format!("model-training-{id}"), failure: Some(failure(id)) }
    }

    fn labelled_job(name: &str, ids: &str) -> Job {
        let mut j = job(name);
        j.metadata.labels =
            Some([("app.kubernetes.io/managed-by".to_owned(), "kafkaml-backend".to_owned())].into_iter().collect());
        j.metadata.annotations = Some([("kafkaml.io/result-ids".to_owned(), ids.to_owned())].into_iter().collect());
        j
    }

    #[tokio::test]
    async fn job_events_list_replay_the_feed_and_report_deletions() {
        let fake = FakeCluster::new();
        fake.insert_job(labelled_job("model-training-9", "9"));
        let feed = fake.event_feed();
        feed.push(present(1));
        let mut early = fake.job_events();
        assert_eq!(fake.event_watchers(), 1);
        feed.push(present(2));
        let listed = JobEvent::Listed(["model-training-9".to_owned()].into());
        assert_eq!(early.next().await, Some(present(1)));
        assert_eq!(early.next().await, Some(listed.clone()));
        assert_eq!(early.next().await, Some(present(2)));
        let mut late = fake.clone().job_events();
        assert_eq!(late.next().await, Some(present(1)));
        assert_eq!(late.next().await, Some(present(2)));
        assert_eq!(late.next().await, Some(listed));
        fake.push_failure(failure(3));
        assert_eq!(early.next().await, Some(present(3)));
        assert_eq!(late.next().await, Some(present(3)));
        // A deletion by the caller and one by someone else are both reported.
        fake.insert_job(labelled_job("model-training-4", "4"));
        assert_eq!(fake.delete_job("model-training-9").await.unwrap(), Deletion::Deleted);
        assert!(fake.vanish_job("model-training-4"));
        assert!(!fake.vanish_job("model-training-4"));
        let gone = |id: i32| {
            Some(JobEvent::Gone(JobGone {
                job_name: format!("model-training-{id}"),
                result_ids: vec![id],
                failure: None,
            }))
        };
        assert_eq!(early.next().await, gone(9));
        assert_eq!(early.next().await, gone(4));
        assert_eq!(fake.deleted_jobs(), ["model-training-9"]);
        // Nothing more, and the stream does not end while the cluster lives.
        assert!(tokio::time::timeout(Duration::from_millis(50), early.next()).await.is_err());
        drop(late);
        assert_eq!(fake.event_watchers(), 1);
        drop((fake, feed));
        assert_eq!(early.next().await, None);
    }

    #[tokio::test]
    async fn connector_hands_out_one_cluster_per_host_and_records_requests() {
        let connector = FakeConnector::new();
        let given = FakeCluster::with_url("https://given");
        connector.add_cluster("https://a:6443", given.clone());
        let a = connector.connect("https://a:6443", "token-a").await.unwrap();
        assert_eq!(a.describe(), "https://given");
        a.create_job(&job("j")).await.unwrap();
        assert_eq!(given.job_names(), ["j"]);
        let b = connector.connect("https://b:6443", "token-b").await.unwrap();
        assert_eq!(b.describe(), "https://b:6443");
        b.create_replication_controller(&rc("model-inference-4")).await.unwrap();
        let b_again = connector.connect("https://b:6443", "token-b2").await.unwrap();
        assert_eq!(b_again.delete_replication_controller("model-inference-4").await.unwrap(), Deletion::Deleted);
        assert_eq!(
            connector.cluster("https://b:6443").unwrap().deleted_replication_controllers(),
            ["model-inference-4"]
        );
        assert!(connector.cluster("https://c").is_none());
        assert_eq!(
            connector.requests(),
            [
                ConnectRequest { host: "https://a:6443".into(), token: "token-a".into() },
                ConnectRequest { host: "https://b:6443".into(), token: "token-b".into() },
                ConnectRequest { host: "https://b:6443".into(), token: "token-b2".into() },
            ]
        );
    }

    #[tokio::test]
    async fn connector_errors_are_configurable() {
        let connector = FakeConnector::new();
        connector.fail_host("https://bad", ClusterError::Config("bad CA".into()));
        assert_eq!(connector.connect("https://bad", "t").await.err(), Some(ClusterError::Config("bad CA".into())));
        assert!(connector.connect("https://good", "t").await.is_ok());
        connector.fail_with(unreachable("https://good"));
        assert!(connector.connect("https://good", "t").await.err().unwrap().is_unavailable());
        connector.recover();
        assert!(connector.connect("https://bad", "t").await.is_ok());
        assert_eq!(connector.requests().len(), 4);
    }
}
