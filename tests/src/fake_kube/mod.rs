//! A fake Kubernetes API server for tests.
//!
//! [`FakeKube`] listens on `http://127.0.0.1:<free port>` (plain HTTP) and answers kube-rs
//! clients the way the real API server does, for the three kinds the back-end uses, kept in
//! memory per namespace:
//!
//! | kind | paths |
//! | --- | --- |
//! | [`Kind::Job`] (`batch/v1`) | `/apis/batch/v1/namespaces/{ns}/jobs[/{name}]`, `/apis/batch/v1/jobs` |
//! | [`Kind::ReplicationController`] (`v1`) | `/api/v1/namespaces/{ns}/replicationcontrollers[/{name}]`, `/api/v1/replicationcontrollers` |
//! | [`Kind::Pod`] (`v1`) | `/api/v1/namespaces/{ns}/pods[/{name}]`, `/api/v1/pods` |
//!
//! | request | answer |
//! | --- | --- |
//! | any request without `Authorization: Bearer <token>` | 401 `Status` `Unauthorized` |
//! | `POST` collection | 201 with the object as stored: `metadata.uid`, `resourceVersion`, `creationTimestamp`, `namespace` (and `generation: 1` for Jobs and RCs) set, `generateName` honoured, `status` reset as the API server does (`{}` for Jobs, `{"replicas":0}` for RCs, `{"phase":"Pending"}` for Pods); 409 `AlreadyExists`; 400 `BadRequest` for a body that is not a valid object of the kind or names another namespace; 422 `Invalid` without a name or for a Job name longer than 63 characters |
//! | `GET` item | 200 with the object; 404 `NotFound` |
//! | `GET` collection | 200 `JobList`/… with `metadata.resourceVersion`; `labelSelector` (`k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, comma-separated) and `fieldSelector` (`path=v`, `path!=v` on any string field, e.g. `metadata.name`) filter it; `limit` is ignored (one page) |
//! | `GET` collection with `watch=true` or `watch=1` | 200 stream of newline-delimited `{"type":"ADDED"\|"MODIFIED"\|"DELETED"\|"BOOKMARK","object":…}`: with `resourceVersion` absent or `0`, first `ADDED` for every matching object; with `resourceVersion=N`, every change after `N` (the fake keeps its whole history, so never 410 Gone); with `sendInitialEvents=true`, the `ADDED` events then a `BOOKMARK` annotated `k8s.io/initial-events-end`; then live events until `timeoutSeconds` |
//! | `DELETE` item, body `DeleteOptions` (or query `propagationPolicy`/`gracePeriodSeconds`) | 200 with the object as at deletion (`deletionTimestamp` set; `finalizers: ["foregroundDeletion"]` for `Foreground`, `["orphan"]` for `Orphan`); 404; 409 when `preconditions` do not hold. The object is gone at once (a `MODIFIED` event first for `Foreground`/`Orphan`, then `DELETED`). Pods owned by the deleted object (`ownerReferences[].uid`) are deleted for `Background`/`Foreground`, and lose that owner reference for `Orphan` — the default of `batch/v1` Jobs and `v1` RCs, as in Kubernetes. `dryRun` deletes nothing |
//! | `DELETE` collection | 200 list of the deleted objects (same options and selectors as above) |
//! | `GET /version`, `/api`, `/apis`, `/apis/batch`, `/api/v1`, `/apis/batch/v1` | minimal discovery documents (Kubernetes v1.33) |
//! | anything else | 404 `NotFound` or 405 `MethodNotAllowed` `Status` |
//!
//! Every request is recorded ([`FakeKube::requests`], [`FakeKube::recorded_requests`]) and
//! every deletion with its options ([`FakeKube::deletions`], [`FakeKube::deletion_records`]).
//! A test drives the fake with [`FakeKube::set_latency`], [`FakeKube::fail_on`],
//! [`FakeKube::set_unresponsive`] and [`FakeKube::set_job_status`] (which emits a `MODIFIED`
//! watch event, e.g. to fail a Job with [`FakeKube::failed_job_status`]); it plays the other
//! actors of a cluster with [`FakeKube::add_job`] (a Job created by someone else),
//! [`FakeKube::expire`] (the time-to-live controller or `kubectl delete` removing an object:
//! `DELETED` event), [`FakeKube::forget`] (an object gone while the events about it were lost, as
//! when a watch gap outlasts the API server's history) and [`FakeKube::drop_watches`] (the open
//! watch connections break).
//!
//! The server is actix-web on its own thread with its own actix system, so tests on Tokio,
//! actix-rt or no runtime at all can use it; it stops (and ends every watch stream) when the
//! [`FakeKube`] is dropped.
//!
//! Not modelled: updates (`PUT`/`PATCH`, the `status` subresource), pagination (`limit` and
//! `continue`), periodic bookmarks, `410 Gone`, controllers (no Pod is created for a Job, no
//! status changes by itself), graceful deletion delays (everything is deleted at once), and
//! label-selector changes turning `MODIFIED` into `DELETED` for a watcher.

// Scope. The back-end (`crates/orchestration/src/kube_cluster.rs`) only creates and deletes
// (`Foreground`) Jobs and ReplicationControllers and watches Jobs by label; the test-driving
// handles (`set_job_status`, `fail_on`, `set_latency`, …) serve the tests of that path. The
// rest serves only the fake's own tests (`tests/tests/fake_kube.rs` and the unit tests here):
// Pods and owner cascades (`Orphan` included), field selectors, `dryRun`, preconditions,
// deletecollection and the discovery documents.

mod error;
mod http;
mod kind;
mod selectors;
mod store;
mod watch;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::KeepAlive;
use actix_web::{web, App, HttpServer};
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use http::{dispatch, Fault};
use store::{Shared, State};

pub use http::RecordedRequest;
pub use kind::Kind;
pub use store::Deletion;

/// The Kubernetes version the fake claims to be.
pub const FAKE_VERSION: (&str, &str) = ("1", "33");

const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A running fake API server; see the [module documentation](self).
pub struct FakeKube {
    addr: SocketAddr,
    shared: Arc<Shared>,
    handle: ServerHandle,
    /// Disconnected when the server thread ends.
    stopped: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl fmt::Debug for FakeKube {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeKube").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl FakeKube {
    /// Starts a fake that accepts the bearer token `token`.
    ///
    /// # Panics
    /// When no port can be bound on 127.0.0.1 (a test environment failure).
    pub async fn start(token: impl Into<String>) -> FakeKube {
        Self::try_start(token).await.expect("the fake Kubernetes API server could not listen on 127.0.0.1")
    }

    /// Starts a fake that accepts the bearer token `token`; fails when no port can be bound.
    pub async fn try_start(token: impl Into<String>) -> io::Result<FakeKube> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared { token: token.into(), addr, state: Mutex::new(State::default()) });
        let (ready_tx, ready_rx) = oneshot::channel::<io::Result<ServerHandle>>();
        let data = web::Data::from(Arc::clone(&shared));
        let (stopped_tx, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new().name(format!("fake-kube-{}", addr.port())).spawn(move || {
            let _stopped_tx = stopped_tx;
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                        .default_service(web::to(dispatch))
                })
                .workers(2)
                .disable_signals()
                .shutdown_timeout(0)
                // Long keep-alive: a pooled client connection must not be closed under it.
                .keep_alive(KeepAlive::Timeout(Duration::from_secs(600)))
                .listen(listener);
                match server {
                    Ok(server) => {
                        let server = server.run();
                        let _ = ready_tx.send(Ok(server.handle()));
                        let _ = server.await;
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                    }
                }
            });
        })?;
        let handle = ready_rx
            .await
            .map_err(|_| io::Error::other("the fake Kubernetes API server thread ended before listening"))??;
        Ok(FakeKube { addr, shared, handle, stopped: Mutex::new(stopped) })
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing `/`): use it as `KUBE_HOST`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token the fake accepts: use it as `KUBE_TOKEN`.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// `KUBE_HOST` and `KUBE_TOKEN` for a process that should use this fake.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [("KUBE_HOST", self.url()), ("KUBE_TOKEN", self.shared.token.clone())]
    }

    /// The Jobs of namespace `ns`, by name.
    pub fn jobs(&self, ns: &str) -> Vec<Job> {
        self.typed(Kind::Job, ns)
    }

    /// The Job `name` of namespace `ns`.
    pub fn job(&self, ns: &str, name: &str) -> Option<Job> {
        self.typed_one(Kind::Job, ns, name)
    }

    /// The ReplicationControllers of namespace `ns`, by name.
    pub fn rcs(&self, ns: &str) -> Vec<ReplicationController> {
        self.typed(Kind::ReplicationController, ns)
    }

    /// The ReplicationController `name` of namespace `ns`.
    pub fn rc(&self, ns: &str, name: &str) -> Option<ReplicationController> {
        self.typed_one(Kind::ReplicationController, ns, name)
    }

    /// The Pods of namespace `ns`, by name.
    pub fn pods(&self, ns: &str) -> Vec<Pod> {
        self.typed(Kind::Pod, ns)
    }

    /// The Pod `name` of namespace `ns`.
    pub fn pod(&self, ns: &str, name: &str) -> Option<Pod> {
        self.typed_one(Kind::Pod, ns, name)
    }

    /// Every stored object of `kind` in `ns` as the JSON the fake answers, by name.
    pub fn objects(&self, kind: Kind, ns: &str) -> Vec<Value> {
        self.shared
            .lock()
            .objects
            .iter()
            .filter(|((k, n, _), _)| *k == kind && n == ns)
            .map(|(_, object)| object.clone())
            .collect()
    }

    /// Stores `pod` in `ns` as if a controller had created it (metadata set, `ADDED` event sent),
    /// e.g. a Job's Pod with an owner reference to the Job; returns it as stored.
    ///
    /// # Panics
    /// When the Pod has no name, or one that exists.
    pub fn add_pod(&self, ns: &str, pod: Pod) -> Pod {
        let body = serde_json::to_vec(&pod).expect("a Pod serialises");
        let stored =
            self.shared.lock().create(Kind::Pod, ns, &body).unwrap_or_else(|e| panic!("add_pod: {}", e.message));
        serde_json::from_value(stored).expect("a stored Pod parses")
    }

    /// Stores `job` in `ns` as if someone had created it earlier (metadata set, `ADDED` event
    /// sent); returns it as stored. Not recorded as a request.
    ///
    /// # Panics
    /// When the Job has no name, or one that exists.
    pub fn add_job(&self, ns: &str, job: Job) -> Job {
        let body = serde_json::to_vec(&job).expect("a Job serialises");
        let stored =
            self.shared.lock().create(Kind::Job, ns, &body).unwrap_or_else(|e| panic!("add_job: {}", e.message));
        serde_json::from_value(stored).expect("a stored Job parses")
    }

    /// Deletes the object `name` of `kind` in `ns` as another client of the API would (the Job
    /// time-to-live controller, `kubectl delete`): propagation `Background`, a `DELETED` watch
    /// event, owned Pods deleted; not recorded as a request nor in [`FakeKube::deletions`].
    /// Returns whether it existed.
    pub fn expire(&self, kind: Kind, ns: &str, name: &str) -> bool {
        let mut state = self.shared.lock();
        let options = store::DeleteRequest {
            options: None,
            propagation_policy: Some("Background".to_owned()),
            grace_period_seconds: None,
            orphan_dependents: None,
            dry_run: false,
        };
        let done = state.delete(kind, ns, name, &options).is_ok();
        // Not the back-end's deletion.
        if done {
            state.deletions.pop();
        }
        done
    }

    /// Removes the object `name` of `kind` in `ns` without any watch event and without a trace
    /// in the history a resumed watch replays: what a watcher sees of an object deleted during a
    /// watch gap longer than the API server keeps events (it answers `410 Gone` and the client
    /// lists again). Returns whether it existed.
    pub fn forget(&self, kind: Kind, ns: &str, name: &str) -> bool {
        let mut state = self.shared.lock();
        let removed = state.objects.remove(&(kind, ns.to_owned(), name.to_owned())).is_some();
        if removed {
            state.next_rv();
        }
        removed
    }

    /// Ends every open watch stream on `kind`, as a broken connection would (the client sees the
    /// stream end); returns how many were open.
    pub fn drop_watches(&self, kind: Kind) -> usize {
        let mut state = self.shared.lock();
        let before = state.watchers.len();
        state.watchers.retain(|w| w.kind != kind);
        before - state.watchers.len()
    }

    /// Every deletion so far as `(kind, namespace, name, propagationPolicy)`, in order.
    pub fn deletions(&self) -> Vec<(Kind, String, String, Option<String>)> {
        self.shared
            .lock()
            .deletions
            .iter()
            .map(|d| (d.kind, d.namespace.clone(), d.name.clone(), d.propagation_policy.clone()))
            .collect()
    }

    /// Every deletion so far with all its options, in order.
    pub fn deletion_records(&self) -> Vec<Deletion> {
        self.shared.lock().deletions.clone()
    }

    /// Every request so far as `(method, path)`, in arrival order (rejected ones included).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.shared.lock().requests.iter().map(|r| (r.method.clone(), r.path.clone())).collect()
    }

    /// Every request so far, complete, in arrival order.
    pub fn recorded_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Forgets the recorded requests and deletions.
    pub fn clear_requests(&self) {
        let mut state = self.shared.lock();
        state.requests.clear();
        state.deletions.clear();
    }

    /// Delays every later answer by `latency` (zero: answer at once). A watch stream's head is
    /// delayed, not its events.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// Makes the `nth` (1-based) request with `method` (e.g. `POST`, case-insensitive) on `kind`
    /// counted from this call fail with `status` and a `Status` body, without effect; e.g.
    /// `fail_on("POST", Kind::Job, 3, 500)` fails the third Job creation. Each call adds one
    /// one-shot fault. `GET` counts gets, lists and watches alike. Note that kube-rs clients
    /// retry 429, 503 and 504 by default, so such a fault is usually invisible to them.
    pub fn fail_on(&self, method: &str, kind: Kind, nth: usize, status: u16) {
        self.shared.lock().faults.push(Fault { method: method.to_ascii_uppercase(), kind, nth, seen: 0, status });
    }

    /// While `true`, requests are accepted and read but never answered (a hung API server);
    /// requests already waiting stay unanswered after it is set back to `false`.
    pub fn set_unresponsive(&self, unresponsive: bool) {
        self.shared.lock().unresponsive = unresponsive;
    }

    /// Replaces the status of the Job `name` of `ns` (bumping its `resourceVersion`) and sends
    /// a `MODIFIED` watch event, as the Job controller would.
    ///
    /// # Panics
    /// When there is no such Job.
    pub fn set_job_status(&self, ns: &str, name: &str, status: JobStatus) {
        let status = serde_json::to_value(status).expect("a JobStatus serialises");
        let mut state = self.shared.lock();
        let rv = state.next_rv();
        let key = (Kind::Job, ns.to_owned(), name.to_owned());
        let object = state.objects.get_mut(&key).unwrap_or_else(|| panic!("set_job_status: no Job {ns}/{name}"));
        object["status"] = status;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let object = object.clone();
        state.emit(Kind::Job, ns, "MODIFIED", &object);
    }

    /// The status of a Job the Job controller gave up on: `failed: 1` and the conditions
    /// `FailureTarget` and `Failed` with `reason` (e.g. `BackoffLimitExceeded`,
    /// `DeadlineExceeded`) and `message`.
    pub fn failed_job_status(reason: &str, message: &str) -> JobStatus {
        let condition = |type_: &str| JobCondition {
            type_: type_.to_owned(),
            status: "True".to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            ..JobCondition::default()
        };
        JobStatus {
            failed: Some(1),
            active: Some(0),
            conditions: Some(vec![condition("FailureTarget"), condition("Failed")]),
            ..JobStatus::default()
        }
    }

    /// How many watch streams on `kind` are open, e.g. to wait until a back-end's watcher is
    /// connected (a stream whose client went away counts until the fake notices, at the latest
    /// when it next has an event for it).
    pub fn open_watches(&self, kind: Kind) -> usize {
        self.shared.lock().watchers.iter().filter(|w| w.kind == kind && !w.tx.is_closed()).count()
    }

    fn typed<K: DeserializeOwned>(&self, kind: Kind, ns: &str) -> Vec<K> {
        self.objects(kind, ns).into_iter().map(|o| serde_json::from_value(o).expect("a stored object parses")).collect()
    }

    fn typed_one<K: DeserializeOwned>(&self, kind: Kind, ns: &str, name: &str) -> Option<K> {
        let object = self.shared.lock().objects.get(&(kind, ns.to_owned(), name.to_owned())).cloned()?;
        Some(serde_json::from_value(object).expect("a stored object parses"))
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        // Ends every watch stream, stops the server without waiting for open requests, and
        // waits (briefly) until it no longer listens.
        self.shared.lock().watchers.clear();
        drop(self.handle.stop(false));
        let stopped = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = stopped.recv_timeout(Duration::from_secs(5));
    }
}
